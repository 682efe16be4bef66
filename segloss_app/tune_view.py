"""Cached calls and small helpers behind the Tune page (the math is in :mod:`segloss_core.tuning`).

Grids go through the byte-bounded store of :mod:`segloss_app.compute_analysis` (``"tune"``), so a
progress bar can follow a long gradient grid; one setting's summary is cached by ``st.cache_data``.
A ground truth handed over by the Playground (``st.session_state["_pg_gt"]``) is keyed by its hash.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict
from typing import Any

import numpy as np
import streamlit as st

from segloss_app import compute_analysis as ca
from segloss_core import tune_readouts as TR
from segloss_core import tuning as T
from segloss_core.registry import REGISTRY

#: Where the Playground leaves its current ground truth and hard prediction for the Tune page.
PLAYGROUND_GT = "_pg_gt"
PLAYGROUND_PRED = "_pg_pred"
#: Grid sides: level-based quantities are batched (fast); gradient ones need a pass per cell.
SIDE = {"batched": 25, "gradient_reducible": 9, "gradient_full": 5, "full": 11, "maps": 7}


def given_gt() -> np.ndarray | None:
    g = st.session_state.get(PLAYGROUND_GT)
    return None if g is None else np.asarray(g, bool)


def given_pred() -> np.ndarray | None:
    p = st.session_state.get(PLAYGROUND_PRED)
    return None if p is None else np.asarray(p, bool)


def gt_digest(g: np.ndarray | None, p: np.ndarray | None = None) -> str:
    """A key for the given ground truth (and prediction, when the ladder starts from it)."""
    if g is None:
        return ""
    h = hashlib.sha1()
    for a in (g, p):
        if a is not None:
            a = np.ascontiguousarray(np.asarray(a, bool))
            h.update(a.tobytes() + str(a.shape).encode())
    return h.hexdigest()[:16]


def setup_key(setup: T.TuneSetup) -> tuple:
    return tuple(sorted(asdict(setup.validate()).items()))


def side_for(key: str, quantity: str) -> int:
    spec = REGISTRY[key]
    if quantity in T.GRADIENT_QUANTITIES:
        return SIDE["gradient_reducible"] if spec.reducible else SIDE["gradient_full"]
    if spec.reducible:
        return SIDE["batched"]
    return SIDE["maps"] if spec.needs_maps else SIDE["full"]


def axis(key: str, name: str, n: int) -> list[float]:
    return ca.axis_values(key, name, n)


def grid(key: str, quantity: str, skey: tuple, x: str, xs: tuple, y: str | None, ys: tuple | None,
         base_json: str, level: int, digest: str, progress=None) -> T.TuneGrid:
    """:func:`segloss_core.tuning.evaluate`, cached (read-only arrays)."""
    def compute():
        g = T.evaluate(key, quantity, T.TuneSetup(**dict(skey)), x, list(xs), y, list(ys) if ys else None,
                       json.loads(base_json), level, given=given_gt() if digest else None,
                       given_pred=given_pred() if digest else None, progress=progress)
        g.q.flags.writeable = False
        return g
    return ca._memo("tune", (key, quantity, skey, x, xs, y, ys, base_json, level, digest), compute)


def grid_is_cached(*args) -> bool:
    return ca.is_cached("tune", args)


@st.cache_data(max_entries=64, show_spinner=False)
def summary(key: str, skey: tuple, params_json: str, level: int, digest: str, _given=None,
            _given_pred=None) -> dict[str, Any]:
    """:func:`segloss_core.tuning.summary` of one setting (curve, quantities, verdict)."""
    return T.summary(key, T.TuneSetup(**dict(skey)), json.loads(params_json), level,
                     given=_given if digest else None, given_pred=_given_pred if digest else None)


@st.cache_data(max_entries=128, show_spinner=False)
def acts_under(key: str, name: str, quantity: str, base_json: str) -> list[str]:
    """Setups (labels) under which ``name`` changes ``quantity``: the suggestion when it does not."""
    return TR.where_it_acts(key, name, quantity, json.loads(base_json))


def parse_pin(text: str, key: str) -> dict[str, Any]:
    """``"alpha:0.3,beta:0.7"`` -> validated parameters of ``key`` (ValueError on anything else)."""
    spec = REGISTRY[key]
    out = {}
    for part in [t for t in str(text).split(",") if t.strip()]:
        if ":" not in part:
            raise ValueError(part)
        name, value = part.split(":", 1)
        out[name.strip()] = spec.param(name.strip()).validate(value.strip())
    return out


def dump_pin(params: dict[str, Any]) -> str:
    return ",".join(f"{k}:{'auto' if v is None else (f'{v:.6g}' if isinstance(v, float) else v)}"
                    for k, v in params.items())


def fmt(v: Any) -> str:
    """Three significant digits, powers of ten for the very small and large (no SI prefixes)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if isinstance(v, str):
        return v
    v = float(v)
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        m, e = f"{v:.2e}".split("e")
        return f"{m}·10^{int(e)}"
    return f"{v:.3g}"
