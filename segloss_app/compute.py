"""Cached calls into ``segloss_core``: plain-value arguments, bounded cache entries.

Pages call these and draw; no tensor math lives in a page. Every function returns plain NumPy /
pandas / dict data so that ``st.cache_data`` can store it.
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


@st.cache_data(max_entries=64, show_spinner=False)
def prediction(gt: np.ndarray, fn: float, fp: float, fn_mode: str, fp_mode: str, units: str, dy: int, dx: int,
               seed: int, confidence: float, blur: float) -> dict[str, Any]:
    """Hard and soft prediction from the perturbation controls, with the counts produced."""
    pert = P.perturb(gt, fn=fn, fp=fp, fn_mode=fn_mode, fp_mode=fp_mode, units=units, shift=(dy, dx), seed=seed)
    soft = P.soften(pert.mask, confidence=confidence, blur_sigma=blur)
    return {"hard": pert.mask, "soft": soft.astype(np.float32), "counts": dict(pert.counts),
            "messages": list(pert.messages)}


@st.cache_data(max_entries=32, show_spinner=False)
def pair_report(gt: np.ndarray, soft: np.ndarray, keys: tuple[str, ...], params_json: str,
                wrt: str = "logits") -> dict[str, Any]:
    """Values, per-pixel gradient maps, gradient summaries and hard metrics for one pair."""
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


@st.cache_data(max_entries=32, show_spinner=False)
def soften_mask(mask: np.ndarray, confidence: float, blur: float) -> np.ndarray:
    """Probabilities ``c`` / ``1 - c`` (optionally blurred) for a hand-made hard prediction."""
    return P.soften(mask, confidence=confidence, blur_sigma=blur).astype(np.float32)
