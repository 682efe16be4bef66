"""Cached calls into ``segloss_core``: plain-value arguments, caches bounded in entries and bytes.

Pages call these and draw; no tensor math lives in a page. Every function returns plain NumPy /
pandas / dict data so that ``st.cache_data`` can store it.

``st.cache_data`` bounds a cache by its number of entries only, so the results that grow with the
image (per-pixel gradient maps, predictions, softened masks) are kept in two caches each: one for
images up to :data:`LARGE_PIXELS` (512 x 512, what the Playground's generators make) with the
usual number of entries, and one with :data:`LARGE_ENTRIES` entries for the larger uploads (up to
1024 x 1024, ``segloss_app.limits.MAX_FULL_SIDE``). :data:`WORST_CASE_BYTES` adds up what they
can hold at most (~0.6 GB); a test keeps it under 1 GiB.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from segloss_core import masks as M
from segloss_core import perturb as P
from segloss_core.registry import REGISTRY


def params_key(params: dict[str, dict[str, Any]] | None) -> str:
    """Canonical JSON of loss parameters, to pass as a hashable cache argument."""
    return json.dumps(params or {}, sort_keys=True, default=str)


@st.cache_data(max_entries=64, show_spinner=False)
def shape_mask(shape: str, size: int, fraction: float | None, radius: float | None, n_objects: int,
               cy: float, cx: float, seed: int) -> tuple[np.ndarray, str]:
    info = M.make_shape_info(shape, size=size, fraction=fraction, radius=radius, n_objects=n_objects,
                             center=(cy, cx), seed=seed)
    return info.mask, info.message


@st.cache_data(max_entries=16, show_spinner=False)
def real_mask(name: str, size: int) -> np.ndarray:
    return M.real_mask(name, size=size)


#: Images above this many pixels go to the small "large" caches.
LARGE_PIXELS = 512 * 512
#: Entries of each "large" cache.
LARGE_ENTRIES = 2
#: Most gradient maps one pair report holds (Playground 8, Gradients gallery 12).
MAX_MAPS = 12
_SMALL_ENTRIES = {"prediction": 64, "soften": 32, "pair_report": 16}


def _is_large(a: np.ndarray) -> bool:
    return int(np.asarray(a).size) > LARGE_PIXELS


def prediction(gt: np.ndarray, fn: float, fp: float, fn_mode: str, fp_mode: str, units: str, dy: int, dx: int,
               seed: int, confidence: float, blur: float) -> dict[str, Any]:
    """Hard and soft prediction from the perturbation controls, with the counts produced."""
    f = _prediction_large if _is_large(gt) else _prediction_small
    return f(gt, fn, fp, fn_mode, fp_mode, units, dy, dx, seed, confidence, blur)


@st.cache_data(max_entries=_SMALL_ENTRIES["prediction"], show_spinner=False)
def _prediction_small(gt, fn, fp, fn_mode, fp_mode, units, dy, dx, seed, confidence, blur):
    return _prediction(gt, fn, fp, fn_mode, fp_mode, units, dy, dx, seed, confidence, blur)


@st.cache_data(max_entries=LARGE_ENTRIES, show_spinner=False)
def _prediction_large(gt, fn, fp, fn_mode, fp_mode, units, dy, dx, seed, confidence, blur):
    return _prediction(gt, fn, fp, fn_mode, fp_mode, units, dy, dx, seed, confidence, blur)


def _prediction(gt, fn, fp, fn_mode, fp_mode, units, dy, dx, seed, confidence, blur) -> dict[str, Any]:
    pert = P.perturb(gt, fn=fn, fp=fp, fn_mode=fn_mode, fp_mode=fp_mode, units=units, shift=(dy, dx), seed=seed)
    soft = P.soften(pert.mask, confidence=confidence, blur_sigma=blur)
    return {"hard": pert.mask, "soft": soft.astype(np.float32), "counts": dict(pert.counts),
            "messages": list(pert.messages)}


def pair_report(gt: np.ndarray, soft: np.ndarray, keys: tuple[str, ...], params_json: str,
                wrt: str = "logits") -> dict[str, Any]:
    """Values, per-pixel gradient maps, gradient summaries and hard metrics for one pair (at most
    :data:`MAX_MAPS` losses)."""
    if len(keys) > MAX_MAPS:
        raise ValueError(f"at most {MAX_MAPS} gradient maps at a time; got {len(keys)}")
    f = _pair_report_large if _is_large(gt) else _pair_report_small
    return f(gt, soft, tuple(keys), params_json, wrt)


@st.cache_data(max_entries=_SMALL_ENTRIES["pair_report"], show_spinner=False)
def _pair_report_small(gt, soft, keys, params_json, wrt):
    return _pair_report(gt, soft, keys, params_json, wrt)


@st.cache_data(max_entries=LARGE_ENTRIES, show_spinner=False)
def _pair_report_large(gt, soft, keys, params_json, wrt):
    return _pair_report(gt, soft, keys, params_json, wrt)


def _pair_report(gt, soft, keys, params_json, wrt) -> dict[str, Any]:
    from segloss_core.metrics import hard_metrics
    from segloss_core.sweep import run_sweep

    params = json.loads(params_json)
    res = run_sweep(gt, soft[None], list(keys), params, keep_grads=True, wrt_probs=(wrt == "probabilities"))
    table = pd.DataFrame([{
        "loss": k, "name": REGISTRY[k].name, "family": REGISTRY[k].family, "value": res.values[k][0],
        "grad_l2": res.grad_l2[k][0], **{f"grad_{r}": res.region_grad[k][r][0] for r in ("tp", "fp", "fn", "tn")},
    } for k in keys])
    return {"table": table, "grads": {k: res.grads[k][0] for k in keys},
            "counts": {r: int(res.region_count[r][0]) for r in res.region_count},
            "metrics": hard_metrics(gt, soft > 0.5), "device": res.device}


@st.cache_data(max_entries=8, show_spinner=False)
def survey(config: tuple[tuple[str, Any], ...], keys: tuple[str, ...], params_json: str = "{}"):
    """The large vs small comparison for a configuration (given as sorted key/value pairs)."""
    from segloss_core.survey import SurveyConfig, run_survey
    cfg = SurveyConfig(**dict(config))
    res = run_survey(cfg, keys, json.loads(params_json), keep_predictions=True)
    return res


@st.cache_data(max_entries=16, show_spinner=False)
def grid(gt: np.ndarray, preds: np.ndarray, key: str, x_name: str, x_values: tuple[float, ...], y_name: str,
         y_values: tuple[float, ...], base_json: str) -> np.ndarray:
    """Loss values over a 2-D parameter grid × levels: shape ``(len(y), len(x), L)``."""
    from segloss_core.sweep import param_grid
    base = json.loads(base_json)
    return param_grid(gt, preds, key, {y_name: y_values, x_name: x_values}, base)


# ---- Playground (appended): values without per-pixel maps, and a hand-made prediction softened
@st.cache_data(max_entries=64, show_spinner=False)
def pair_values(gt: np.ndarray, soft: np.ndarray, keys: tuple[str, ...], params_json: str) -> dict[str, Any]:
    """Like :func:`pair_report` without the per-pixel gradient maps (small cache entries): the
    value table (values, gradient L2 norms, region means), region counts and hard metrics."""
    from segloss_core.metrics import hard_metrics
    from segloss_core.sweep import run_sweep

    params = json.loads(params_json)
    res = run_sweep(gt, soft[None], list(keys), params, keep_grads=False)
    table = pd.DataFrame([{
        "loss": k, "name": REGISTRY[k].name, "family": REGISTRY[k].family, "value": res.values[k][0],
        "grad_l2": res.grad_l2[k][0], **{f"grad_{r}": res.region_grad[k][r][0] for r in ("tp", "fp", "fn", "tn")},
    } for k in keys])
    return {"table": table, "counts": {r: int(res.region_count[r][0]) for r in res.region_count},
            "metrics": hard_metrics(gt, soft > 0.5), "device": res.device}


def soften_mask(mask: np.ndarray, confidence: float, blur: float) -> np.ndarray:
    """Probabilities ``c`` / ``1 - c`` (optionally blurred) for a hand-made hard prediction."""
    return (_soften_large if _is_large(mask) else _soften_small)(mask, confidence, blur)


@st.cache_data(max_entries=_SMALL_ENTRIES["soften"], show_spinner=False)
def _soften_small(mask, confidence, blur):
    return P.soften(mask, confidence=confidence, blur_sigma=blur).astype(np.float32)


@st.cache_data(max_entries=LARGE_ENTRIES, show_spinner=False)
def _soften_large(mask, confidence, blur):
    return P.soften(mask, confidence=confidence, blur_sigma=blur).astype(np.float32)


def _worst_case_bytes() -> dict[str, int]:
    """Most bytes each per-pixel cache can hold: entries x (per-pixel bytes x pixels) for the
    small (<= LARGE_PIXELS) and large (<= MAX_FULL_SIDE², LARGE_ENTRIES) caches."""
    from segloss_app.limits import MAX_FULL_SIDE

    per_pixel = {"prediction": 1 + 4, "soften": 4, "pair_report": 4 * MAX_MAPS}  # bool + float32; float32 maps
    big = MAX_FULL_SIDE ** 2
    return {name: _SMALL_ENTRIES[name] * b * LARGE_PIXELS + LARGE_ENTRIES * b * big for name, b in per_pixel.items()}


#: Upper bound of the bytes held by the per-pixel caches above, by cache.
WORST_CASE_BYTES = _worst_case_bytes()
