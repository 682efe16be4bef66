"""The Thin structures page's helpers and the topology read-outs shown beside the hard metrics.

Cached calls into :mod:`segloss_core` (no tensor math here), the figures the page draws and the
Streamlit row of topology read-outs the Playground shows too.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from segloss_core import figures as F
from segloss_core.figure_style import TEMPLATE
from segloss_core.registry import REGISTRY

MODES = {"gaps": "gaps (cut the vessel)", "thin": "thin by one pixel", "thicken": "thicken by one pixel",
         "shift": "shift by one pixel", "branches": "spurious branches", "none": "no error"}
DEFAULT_KEYS = ("dice", "bce", "cldice", "skeleton_recall", "boundary_dou", "hausdorff_dt")
TOPO_LABELS = {"betti0": "components β0", "betti1": "holes β1", "cldice": "clDice (metric)",
               "skeleton_recall": "skeleton recall", "skeleton_precision": "skeleton precision"}


@st.cache_data(max_entries=16, show_spinner=False)
def thin_gt(kind: str, size: int, seed: int) -> np.ndarray:
    from segloss_core.thin_masks import thin_mask
    return thin_mask(kind, int(size), int(seed))


@st.cache_data(max_entries=32, show_spinner=False)
def perturbed(kind: str, size: int, seed: int, mode: str, n: int, width: int):
    """``(mask, counts, applied, messages)`` of one thin-structure perturbation of the ground truth."""
    from segloss_core import thin_perturb as P
    gt = thin_gt(kind, size, seed)
    if mode == "gaps":
        p = P.thin_gaps(gt, int(n), width=int(width), seed=int(seed))
    elif mode == "thin":
        p = P.thin_by_one(gt)
    elif mode == "thicken":
        p = P.thicken_by_one(gt)
    elif mode == "shift":
        p = P.shift_by(gt, 1, 0)
    elif mode == "branches":
        p = P.spurious_branches(gt, int(n), length=max(4, int(size) // 16), seed=int(seed))
    else:
        p = P.unchanged(gt)
    return p.mask, p.counts, p.applied, p.messages


@st.cache_data(max_entries=32, show_spinner=False)
def topology(gt: np.ndarray, hard: np.ndarray) -> dict:
    from segloss_core.topology import topology_metrics
    return topology_metrics(gt, hard)


def topology_table(t: dict) -> pd.DataFrame:
    """The read-outs as rows: ground truth, prediction, difference."""
    rows = [{"read-out": TOPO_LABELS["betti0"], "ground truth": t["betti0_gt"], "prediction": t["betti0_pred"],
             "difference": t["d_betti0"]},
            {"read-out": TOPO_LABELS["betti1"], "ground truth": t["betti1_gt"], "prediction": t["betti1_pred"],
             "difference": t["d_betti1"]}]
    for k in ("cldice", "skeleton_recall", "skeleton_precision"):
        rows.append({"read-out": TOPO_LABELS[k], "ground truth": 1.0, "prediction": round(float(t[k]), 4),
                     "difference": round(float(t[k]) - 1.0, 4)})
    return pd.DataFrame(rows)


def topology_row(gt: np.ndarray, hard: np.ndarray) -> None:
    """One row of metrics beside the hard metrics: β0 and β1 of the prediction (with the change from
    the ground truth), the clDice metric, skeleton recall and precision."""
    t = topology(np.asarray(gt, bool), np.asarray(hard, bool))
    cols = st.columns(5)
    cols[0].metric("Components β0", t["betti0_pred"], delta=int(t["d_betti0"]) or None, delta_color="off",
                   help=f"connected components of the prediction (ground truth: {t['betti0_gt']})")
    cols[1].metric("Holes β1", t["betti1_pred"], delta=int(t["d_betti1"]) or None, delta_color="off",
                   help=f"holes of the prediction (ground truth: {t['betti1_gt']})")
    cols[2].metric("clDice", f"{t['cldice']:.4f}", help="clDice metric of the hard masks (Shit et al. 2021)")
    cols[3].metric("Skel. recall", f"{t['skeleton_recall']:.4f}",
                   help="share of the ground truth's skeleton inside the prediction")
    cols[4].metric("Skel. precision", f"{t['skeleton_precision']:.4f}",
                   help="share of the prediction's skeleton inside the ground truth")


@st.cache_data(max_entries=16, show_spinner=False)
def pair_losses(gt: np.ndarray, pred: np.ndarray, confidence: float) -> pd.DataFrame:
    """Every loss on the intact prediction and on ``pred`` (both softened with ``confidence``)."""
    import torch

    from segloss_core.perturb import soften
    from segloss_core.registry import KEYS
    from segloss_core.sweep import run_sweep
    stack = soften(np.stack([gt, pred]), confidence=float(confidence), dtype=np.float64)
    r = run_sweep(gt, stack, KEYS, device="cpu", dtype=torch.float64)
    rows = [{"loss": k, "name": REGISTRY[k].name, "family": REGISTRY[k].family,
             "intact": float(r.values[k][0]), "value": float(r.values[k][1]),
             "change": float(r.values[k][1] - r.values[k][0])} for k in KEYS]
    return pd.DataFrame(rows)


@st.cache_data(max_entries=8, show_spinner=False)
def vessel_sweep(size: int, levels: int, width: int, seed: int, confidence: float):
    from segloss_core.vessel_study import vessel_sweep as run
    return run(size=int(size), levels=int(levels), width=int(width), seed=int(seed), confidence=float(confidence))


def overlay_figure(gt: np.ndarray, pred: np.ndarray, title: str = "") -> go.Figure:
    """TP / FP / FN / TN colours of a hard prediction (the app's region colours)."""
    rgb = np.zeros(gt.shape + (3,), np.uint8)
    for name, sel in (("tn", ~gt & ~pred), ("tp", gt & pred), ("fp", ~gt & pred), ("fn", gt & ~pred)):
        h = F.REGION_COLORS[name].lstrip("#")
        rgb[sel] = [int(h[i:i + 2], 16) for i in (0, 2, 4)]
    fig = go.Figure(go.Image(z=rgb, hoverinfo="skip"))
    fig.update_layout(height=360, margin=dict(l=0, r=0, t=30 if title else 0, b=0), title=title or None)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def sweep_figure(curves: pd.DataFrame, keys) -> go.Figure:
    """Rise of each loss over its intact value vs the number of gaps: solid = gaps, dotted = the
    control that removes the same pixels without cutting."""
    fig = go.Figure()
    for i, k in enumerate(keys):
        style = F.line_style(i)
        for proto, dash in (("gaps", "solid"), ("control", "dot")):
            c = curves[(curves.loss == k) & (curves.protocol == proto)].sort_values("level")
            if c.empty:
                continue
            rise = c.value - c.value.iloc[0]
            fig.add_trace(go.Scatter(x=c.level, y=rise, mode="lines+markers", name=f"{k} ({proto})",
                                     line=dict(color=style["color"], dash=dash), legendgroup=k))
    fig.update_layout(template=TEMPLATE, height=420, xaxis_title="one-pixel gaps (level)",
                      yaxis_title="loss − loss of the intact vessel", legend_title="loss (ladder)",
                      margin=dict(l=10, r=10, t=30, b=10))
    return fig
