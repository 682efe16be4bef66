"""Thin structures: why Dice does not care that a vessel is broken, and which losses do."""
from __future__ import annotations

import streamlit as st

from segloss_app import thin_view as TV
from segloss_app.common import (UrlParam, chart, export_buttons, number_columns, page_header, show_error, sync_url,
                                url_state)
from segloss_app.lessons import lesson_box
from segloss_core.thin_masks import THIN_KINDS
from segloss_core.registry import KEYS

SPEC = {
    "thin_kind": UrlParam("vessel_tree", str, choices=THIN_KINDS),
    "thin_size": UrlParam(128, int, 64, 256),
    "thin_seed": UrlParam(0, int, 0, 999),
    "thin_mode": UrlParam("gaps", str, choices=tuple(TV.MODES)),
    "thin_n": UrlParam(4, int, 0, 40),
    "thin_width": UrlParam(1, int, 1, 5),
    "thin_conf": UrlParam(0.99, float, 0.51, 1.0),
    "thin_levels": UrlParam(13, int, 2, 25),
}
KIND_NAMES = {"vessel_tree": "vessel tree", "lines": "lines", "rings": "rings", "touching_cells": "touching cells"}

present = page_header(
    "Thin structures",
    "*Why does Dice not care that my vessel is broken?* A one-pixel gap cuts a vessel in two but costs only a "
    "pixel or two of its area, and every overlap loss counts pixels. Here the ground truth is a vessel-like tree "
    "(or lines, rings, touching cells), the prediction cuts it, thins it, thickens it, shifts it or grows false "
    "branches, and the topology read-outs (components β0, holes β1, clDice, skeleton recall and precision) stand "
    "beside every loss. The sweep below cuts the tree one gap at a time and compares each loss with a control "
    "that removes exactly the same number of pixels *without* cutting anything.")
lesson_box("thin")
v = url_state(SPEC)

with st.sidebar:
    st.subheader("Structure")
    kind = st.selectbox("Ground truth", THIN_KINDS, key="thin_kind", format_func=KIND_NAMES.get)
    size = st.select_slider("Image size", [64, 96, 128, 192, 256], key="thin_size")
    seed = int(st.number_input("Seed", 0, 999, step=1, key="thin_seed", help="tree jitter and the order of the errors"))
    conf = st.slider("Confidence c", 0.51, 1.0, step=0.01, key="thin_conf",
                     help="the soft prediction is c on predicted pixels and 1 - c elsewhere")

try:
    gt = TV.thin_gt(kind, size, seed)
except ValueError as exc:
    show_error(exc)
    sync_url(SPEC, {k: st.session_state.get(k) for k in SPEC})
    st.stop()

c1, c2, c3 = st.columns([2, 1, 1])
mode = c1.radio("Error", tuple(TV.MODES), key="thin_mode", format_func=TV.MODES.get, horizontal=True)
n = int(c2.number_input("How many (gaps / branches)", 0, 40, step=1, key="thin_n", disabled=mode not in ("gaps", "branches")))
width = int(c3.number_input("Gap width (px)", 1, 5, step=1, key="thin_width", disabled=mode != "gaps"))

mask, counts, applied, messages = TV.perturbed(kind, size, seed, mode, n, width)
for m in messages:
    st.info(m)

left, right = st.columns([1, 1])
with left:
    chart(TV.overlay_figure(gt, mask), key="thin_overlay", width="stretch")
    st.caption(f"Green: kept; blue: missed (FN {counts['fn']} px); orange: false (FP {counts['fp']} px); "
               f"TP {counts['tp']} px of {int(gt.sum())}. Components: {applied['components_gt']} in the ground truth, "
               f"{applied['components_pred']} in the prediction.")
with right:
    st.markdown("**Topology read-outs** (hard masks; scikit-image skeletons, labels and Euler numbers)")
    t = TV.topology(gt, mask)
    topo = TV.topology_table(t)
    st.dataframe(topo, hide_index=True, width="stretch", column_config=number_columns(topo))
    dice_hard = 2 * counts["tp"] / max(2 * counts["tp"] + counts["fp"] + counts["fn"], 1)
    st.markdown(f"Hard Dice **{dice_hard:.4f}** against clDice **{t['cldice']:.4f}**; "
                f"components **{t['betti0_gt']} → {t['betti0_pred']}**.")

st.subheader("Every loss on this prediction")
with st.spinner("Computing every loss…"):
    table = TV.pair_losses(gt, mask, float(conf))
st.caption("Value on the intact prediction (the ground truth itself, softened with c) and on this one; "
           "the change is what this error costs.")
st.dataframe(table.sort_values("family", kind="stable"), hide_index=True, width="stretch",
             column_config=number_columns(table, sig=5))

st.subheader("The sweep: a vessel tree with a growing number of one-pixel gaps")
c1, _ = st.columns([1, 3])
levels = int(c1.slider("Levels (0 .. K-1 gaps)", 2, 25, key="thin_levels"))
# keys on the chips, as in the legend: "key — name" chips ran past the box's edge and were cut (at 1280 and
# 1400 px wide, six chips); the whole row holds the default six keys
keys = st.multiselect("Losses drawn (keys, as in the legend)", KEYS, default=list(TV.DEFAULT_KEYS), key="thin_keys",
                      help="the registry's keys; the Catalogue page and the verdict table below give their names")
try:
    with st.spinner("Sweeping both ladders with every loss…"):
        sw = TV.vessel_sweep(size, levels, width, seed, float(conf))
except ValueError as exc:
    show_error(exc)
    sync_url(SPEC, {k: st.session_state.get(k) for k in SPEC})
    st.stop()
for m in sw.messages:
    st.info(m)
st.markdown("**What the computation shows.** " + sw.summary())
fig = TV.sweep_figure(sw.curves, keys or list(TV.DEFAULT_KEYS))
chart(fig, key="thin_sweep", width="stretch")
st.caption("Solid: the gaps ladder (level k has k gaps and 1 + k components). Dotted: the control, the same "
           "number of pixels removed from the vessel's edge, skeleton kept, one component. Where the two lines "
           "coincide the loss cannot tell a broken vessel from a thinner one.")
st.dataframe(sw.levels, hide_index=True, width="stretch", column_config=number_columns(sw.levels))
st.dataframe(sw.verdicts.sort_values("ratio", ascending=False), hide_index=True, width="stretch",
             column_config={**number_columns(sw.verdicts), "ratio": st.column_config.NumberColumn(
                 format="%.3g", help="rise on the gaps ladder / rise on the control (same pixels removed, nothing cut)")})
export_buttons(fig, sw.curves, "thin_sweep", {"page": "thin", "params": {k: st.session_state.get(k) for k in SPEC}})

with st.expander("How the ladders are built"):
    st.markdown(
        "- **Gaps**: each gap is a slab one pixel thick (the gap width) across the vessel at a skeleton point, "
        "away from junctions, end points and the other gaps, widened by a pixel only where a diagonal vessel "
        "would stay 8-connected; each gap adds exactly one component. Level k is a prefix of level k + 1.\n"
        "- **Control**: the same number of pixels, taken from the vessel's one-pixel inner boundary but never "
        "from its scikit-image skeleton, so the tree stays in one piece.\n"
        "- Losses that see only the multiset of (p, g) values (Dice, CE, Tversky, focal, MCC, ...) give "
        "*exactly* the same values on both ladders: they are marked *blind*. clDice and Skeleton Recall compare "
        "skeletons, the distance-based losses weigh where the missing pixels are.")

sync_url(SPEC, {k: st.session_state.get(k) for k in SPEC})
