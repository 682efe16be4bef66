"""The Playground's sections below its first screen: the hard metrics, every loss's value (bars and
table, with a pinned A beside them) and the per-pixel gradient maps (computed only while shown).

Each section is a fragment: its own controls rerun it alone. The page passes its URL sync
(``push_url``) and its export configuration (``export_config``), which know the page's settings.
Values come from :func:`segloss_app.compute.pair_values` and gradient maps from
:func:`segloss_app.compute.pair_report`; no loss math here.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import streamlit as st

from segloss_app import compute as C
from segloss_app import limits
from segloss_app import playground_player as PL
from segloss_app.common import chart, export_buttons, is_present
from segloss_core import figures as F
from segloss_core.registry import FAMILIES, KEYS, REGISTRY


def _fmt_name(k: str) -> str:
    return f"{REGISTRY[k].name} ({k})"


def _fmt_metric(k: str, v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:.1f} px" if k in ("hd", "hd95") else f"{v:.3f}"


METRIC_LABELS = {"dice": "Dice", "iou": "IoU", "precision": "Precision", "sensitivity": "Sensitivity",
                 "specificity": "Specificity", "hd": "Hausdorff", "hd95": "HD95"}


def metrics_row(metrics: dict[str, float | None], present: bool = False) -> None:
    n = len(METRIC_LABELS)
    cols = st.columns(n) if not present else st.columns(4) + st.columns(4)[:n - 4]  # big fonts: two rows
    for col, (k, label) in zip(cols, METRIC_LABELS.items()):
        col.metric(label, _fmt_metric(k, metrics.get(k)),
                   help="hard read-out of the prediction thresholded at 0.5" +
                        ("; n/a when exactly one of the two masks is empty" if k in ("hd", "hd95") else ""))


@st.fragment
def values_section(table: pd.DataFrame, pinned: dict[str, float] | None = None, *,
                   push_url: Callable[[], None], export_config: Callable[[], dict]) -> None:
    """Loss values for the selected families and losses: table and bar chart (reruns alone); with a
    pinned A its values as diamonds on the bars and as columns of the table."""
    st.subheader("Loss values")
    c1, c2 = st.columns([1.5, 3])
    fams = c1.multiselect("Families", FAMILIES, key="pg_fams")
    keys = c2.multiselect("Losses", KEYS, key="pg_losses", format_func=_fmt_name,
                          help=f"all {len(KEYS)} by default; the family filter applies on top")
    shown = [k for k in keys if REGISTRY[k].family in fams]
    push_url()
    if not shown:
        st.info("No loss selected: pick families and losses above.")
        return
    df = table.set_index("loss").loc[shown].reset_index()
    log = st.toggle("Log scale (|value|)", key="pg_barlog",
                    help="losses live on very different scales; on a log axis every bar is visible. "
                         "Negative values are drawn by their size and marked (−).")
    vals = dict(zip(df["loss"], df["value"]))
    fig = PL.value_figure(vals, log, pinned, font=16 if is_present() else None)
    if pinned:
        df = df.assign(A=[pinned.get(k, np.nan) for k in df["loss"]])
        df["B − A"] = df["value"] - df["A"]
    if is_present():  # big fonts: the chart gets the full width, the table folds away
        left, right = st.container(), st.expander("Values as a table")
    else:
        left, right = st.columns([1, 1])
    with left:
        chart(fig, width="stretch", key="pg_bars")
    with right:
        st.dataframe(df[["name", "value", "grad_l2"] + (["A", "B − A"] if pinned else [])], hide_index=True,
                     width="stretch",  # family = bar colour
                     height=min(35 * len(df) + 38, 760),
                     column_config={"name": st.column_config.TextColumn("loss", width="medium"),
                                    "value": st.column_config.NumberColumn(format="%.4g"),
                                    "grad_l2": st.column_config.NumberColumn(
                                        "‖∂L/∂z‖₂", format="%.3g", help="L2 norm of the gradient over the image"),
                                "A": st.column_config.NumberColumn("A (pinned)", format="%.4g"),
                                "B − A": st.column_config.NumberColumn(format="%.3g")})
    export_buttons(fig, df, "playground-losses", export_config())


@st.fragment
def gradients_section(gt: np.ndarray, soft: np.ndarray, params_json: str, present: bool, *,
                      push_url: Callable[[], None], export_config: Callable[[], dict]) -> None:
    """Per-pixel gradient maps of the chosen losses (reruns alone; computed only when shown)."""
    st.subheader("Per-pixel gradients")
    ss = st.session_state
    if not st.toggle("Show the per-pixel gradient maps", key="pg_gmaps",
                     help="each loss's ∂L/∂z at every pixel, with the mean per TP/FP/FN/TN region; computed "
                          "only while shown (it is the slowest part of the page)"):
        push_url()
        return
    keys = st.multiselect("Losses to map", KEYS, key="pg_gkeys", format_func=_fmt_name, max_selections=8)
    shared, wrt = bool(ss.get("pg_gshared", False)), ss.get("pg_wrt", "logits")
    if not present:
        c1, c2 = st.columns(2)
        shared = c1.toggle("One colour scale for all maps", key="pg_gshared",
                           help="off: each map gets its own scale (compare shapes, not sizes)")
        wrt = c2.radio("Gradient with respect to", ("logits", "probabilities"), key="pg_wrt", horizontal=True,
                       format_func={"logits": "logits z", "probabilities": "probabilities p"}.get)
    push_url()
    if not keys:
        st.info("Pick losses to map their gradients.")
        return
    with st.spinner("Computing gradient maps…"):
        rep = C.pair_report(gt, soft, tuple(keys), params_json, wrt)
    sym = "∂L/∂z" if wrt == "logits" else "∂L/∂p"
    maps, factor = limits.shrink_for_display(rep["grads"])
    shrunk = f"; shown at 1/{factor} resolution, each {factor}×{factor} block by its largest value" if factor > 1 else ""
    fig = F.gradient_heatmaps(maps, shared_scale=shared, cols=min(2 if present else 4, len(keys)),
                              title=f"Per-pixel gradient {sym} (red: raising {'the logit' if wrt == 'logits' else 'p'} "
                                    f"raises the loss{shrunk})")
    if present:
        fig.update_layout(font_size=16)
    chart(fig, width="stretch", key="pg_gradmaps")
    summary = rep["table"][["loss", "name", "grad_l2", "grad_tp", "grad_fp", "grad_fn", "grad_tn"]]
    st.caption(f"Mean |{sym}| per region of the thresholded prediction and the L2 norm over the image.")
    labels = {"grad_l2": "‖·‖₂ over the image", "grad_tp": "mean |·| on TP", "grad_fp": "mean |·| on FP",
              "grad_fn": "mean |·| on FN", "grad_tn": "mean |·| on TN"}
    st.dataframe(summary, hide_index=True, width="stretch",
                 column_config={"loss": "key", "name": "loss",
                                **{c: st.column_config.NumberColumn(labels[c], format="%.3g") for c in labels}})
    export_buttons(fig, summary, "playground-gradients", export_config())
