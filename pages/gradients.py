"""Gradients: how hard each loss pushes on the logits, as the object shrinks at a fixed relative error."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from segloss_app import compute as C
from segloss_app import compute_analysis as ca
from segloss_app.common import (KeyListParam, UrlParam, chart, export_buttons, page_header, show_error, sync_url,
                                url_state)
from segloss_core import figures as F
from segloss_core.perturb import FN_MODES, FP_MODES
from segloss_core.registry import KEYS, REGISTRY

SIZE = 256
MAX_GALLERY = 12
DEFAULT_LOSSES = ["dice", "jaccard", "tversky", "generalized_dice", "bce", "focal", "combo", "boundary"]
SPEC = {
    "grad_losses": KeyListParam(DEFAULT_LOSSES),
    "grad_fn": UrlParam(0.2, float, 0.0, 1.0),
    "grad_fp": UrlParam(0.2, float, 0.0, 3.0),
    "grad_conf": UrlParam(0.99, float, 0.51, 0.9999),
    "grad_fnmode": UrlParam("boundary", str, choices=FN_MODES),
    "grad_fpmode": UrlParam("boundary", str, choices=FP_MODES),
    "grad_rmin": UrlParam(2.0, float, 1.0, 64.0),
    "grad_rmax": UrlParam(100.0, float, 2.0, 120.0),
    "grad_n": UrlParam(15, int, 3, 40),
    "grad_wrt": UrlParam("logits", str, choices=("logits", "probabilities")),
    "grad_region": UrlParam("fn_fp", str, choices=("fn_fp", "max", "value")),
    "grad_r": UrlParam(6.0, float, 1.0, 120.0),
    "grad_scale": UrlParam("shared", str, choices=("shared", "per map")),
    "grad_zoom": UrlParam(True, bool),
}
REGION_VIEWS = {"fn_fp": "mean |gradient| on missed (FN) and added (FP) pixels", "max": "largest |gradient| of any pixel",
                "value": "loss value"}


def current() -> dict:
    out = {k: st.session_state.get(k, p.default) for k, p in SPEC.items()}
    out["grad_losses"] = out["grad_losses"] or SPEC["grad_losses"].default  # none selected: the default set
    return out


present = page_header(
    "Gradients",
    "The same *relative* error — a fixed share of the object's pixels missed and as many added — on disks from "
    "2 to 100 px in radius in a 256×256 image. What the network receives is the gradient of the loss with "
    "respect to its logits z. For cross-entropy each pixel's gradient is (p − g)/N, whatever the object size; "
    "for Dice it scales like 1/(Σp + Σg) (the familiar form 2t²/(p + t)², which explodes when p and t are "
    "small), so it grows as the object shrinks.")
url_state(SPEC)

sb = st.sidebar
sb.subheader("Error and losses")
sb.multiselect("Losses", list(KEYS), key="grad_losses", format_func=lambda k: REGISTRY[k].name)
sb.slider("Missed pixels (FN), share of the object", 0.0, 1.0, step=0.05, key="grad_fn")
sb.slider("Added pixels (FP), share of the object", 0.0, 3.0, step=0.05, key="grad_fp")
if not present:
    with sb.expander("More settings", expanded=False):
        st.slider("Confidence c", 0.51, 0.9999, step=0.0001, format="%.4f", key="grad_conf",
                  help="probability inside the predicted mask, 1 − c outside; with c near 1 the soft background "
                       "mass shrinks and the Dice blow-up becomes extreme")
        st.selectbox("FN pattern", FN_MODES, key="grad_fnmode")
        st.selectbox("FP pattern", FP_MODES, key="grad_fpmode")
        st.slider("Smallest radius (px)", 1.0, 64.0, step=0.5, key="grad_rmin")
        st.slider("Largest radius (px)", 2.0, 120.0, step=1.0, key="grad_rmax")
        st.slider("Number of radii (log-spaced)", 3, 40, key="grad_n")
        st.radio("Gradient with respect to", ("logits", "probabilities"), key="grad_wrt", horizontal=True)
v = current()
if not st.session_state.get("grad_losses"):
    st.info("No loss selected: showing the default set.")
keys = [k for k in KEYS if k in v["grad_losses"]]
sym = "∂L/∂z" if v["grad_wrt"] == "logits" else "∂L/∂p"

try:
    if v["grad_rmin"] >= v["grad_rmax"]:
        raise ValueError(f"the smallest radius ({v['grad_rmin']:g}) must be below the largest ({v['grad_rmax']:g})")
    radii = ca.radii(float(v["grad_rmin"]), float(v["grad_rmax"]), int(v["grad_n"]))
    skey = ca.size_key(radii, keys, "{}", size=SIZE, fn=float(v["grad_fn"]), fp=float(v["grad_fp"]),
                       fn_mode=v["grad_fnmode"], fp_mode=v["grad_fpmode"], confidence=float(v["grad_conf"]),
                       wrt=v["grad_wrt"])
    df = ca.with_progress("size", skey, ca.size_sweep, "Computing gradients for every radius")
except ValueError as exc:
    show_error(exc)
    st.stop()

st.caption(
    f"Image {SIZE}×{SIZE}; disks of radius {radii[0]:g} … {radii[-1]:g} px ({len(radii)} radii, log-spaced, "
    f"{int(df['pixels'].min()):,} … {int(df['pixels'].max()):,} px). Each prediction misses {v['grad_fn']:.0%} of the "
    f"object's pixels ({v['grad_fnmode']}) and adds {v['grad_fp']:.0%} of its size as false positives "
    f"({v['grad_fpmode']}); probability {v['grad_conf']:g} inside the prediction, {1 - v['grad_conf']:.4g} outside. "
    f"Default loss parameters. Gradients with respect to the {v['grad_wrt']}.")


def region_figure(df: pd.DataFrame, view: str):
    panels = {"fn_fp": [("grad_fn", f"mean |{sym}| on missed (FN) pixels"),
                        ("grad_fp", f"mean |{sym}| on added (FP) pixels")],
              "max": [("grad_max", f"largest |{sym}| of any pixel")],
              "value": [("value", "loss value")]}[view]
    return F.size_panels(df, panels, log_y=view != "value")


@st.fragment
def curves(df: pd.DataFrame, keys: list[str]) -> None:
    v = current()
    conf = {**v, "radii": [float(r) for r in dict.fromkeys(df["radius"])], "losses": keys}
    fig = F.gradient_vs_size(df)
    fig.update_layout(title=f"‖{sym}‖₂ over the image vs object size (fixed relative error)")
    fig.update_yaxes(title_text=f"‖{sym}‖₂")
    chart(fig, key="grad_l2_fig")
    export_buttons(fig, df, "gradient_vs_size", conf)

    l2 = ca.size_blow_up(df, "grad_l2").set_index("loss")
    fn = ca.size_blow_up(df, "grad_fn").set_index("loss")
    r0, r1 = float(df["radius"].min()), float(df["radius"].max())
    region_keys = [k for k in keys if REGISTRY[k].family == "region"]
    ce_keys = [k for k in keys if k in ("bce", "focal", "balanced_ce", "wce")]
    lines = []
    ref = "dice" if "dice" in keys else (region_keys[0] if region_keys else None)
    if ref and df["fn_px"].min() > 0:
        lines.append(f"**{REGISTRY[ref].name}:** the mean |{sym}| on missed pixels is **{fn.loc[ref, 'ratio']:,.1f}×** "
                     f"larger at r = {r0:g} px than at r = {r1:g} px, and the L2 norm over the image "
                     f"**{l2.loc[ref, 'ratio']:,.1f}×**.")
        if l2.loc[ref, "ratio"] < fn.loc[ref, "ratio"] / 3:
            lines.append(f"The L2 norm grows less because a small object has few erroneous pixels, and with soft "
                         f"probabilities the background's 1 − c = {1 - v['grad_conf']:.4g} on ~{SIZE * SIZE:,} pixels adds "
                         f"~{(1 - v['grad_conf']) * SIZE * SIZE:,.0f} px of mass to Σp, which caps the denominator. "
                         "Raise the confidence c (More settings) to watch the blow-up grow.")
    if ce_keys and df["fn_px"].min() > 0:
        k = ce_keys[0]
        lines.append(f"**{REGISTRY[k].name}:** per-pixel gradient on missed pixels × {fn.loc[k, 'ratio']:.2f} "
                     f"(unchanged: (p − g)/N does not depend on the object), L2 norm × {l2.loc[k, 'ratio']:.3g} "
                     "(fewer erroneous pixels on a small object).")
    if lines:
        st.markdown("\n\n".join(lines))

    st.radio("Per-pixel view", list(REGION_VIEWS), key="grad_region", format_func=REGION_VIEWS.get, horizontal=True)
    view = st.session_state["grad_region"]
    rfig = region_figure(df, view)
    chart(rfig, key="grad_region_fig")
    export_buttons(rfig, df, "gradient_regions_vs_size", conf)

    table = pd.DataFrame({
        "loss": [REGISTRY[k].name for k in l2.index], "family": [REGISTRY[k].family for k in l2.index],
        f"‖{sym}‖₂ at r={r0:g}": l2["small"].to_numpy(), f"‖{sym}‖₂ at r={r1:g}": l2["large"].to_numpy(),
        "L2 ratio (small/large)": l2["ratio"].to_numpy(),
        "FN-pixel ratio (small/large)": fn.loc[l2.index, "ratio"].to_numpy()})
    st.markdown("**Blow-up factors** (ratio above 1: the gradient grows as the object shrinks)")
    st.dataframe(table, hide_index=True, column_config={
        c: st.column_config.NumberColumn(format="%.3g") for c in table.columns if c not in ("loss", "family")})
    sync_url(SPEC, current())


@st.fragment
def gallery(keys: list[str]) -> None:
    st.subheader("Per-pixel gradient maps for one setting")
    c = st.columns(3)
    c[0].slider("Object radius (px)", 1.0, 120.0, step=0.5, key="grad_r")
    c[1].radio("Colour scale", ("shared", "per map"), key="grad_scale", horizontal=True,
               help="shared: one scale for all maps (compare magnitudes); per map: each map its own (see patterns)")
    c[2].toggle("Zoom on the object", key="grad_zoom")
    v = current()
    shown = keys[:MAX_GALLERY]
    try:
        case = ca.size_case(float(v["grad_r"]), SIZE, float(v["grad_fn"]), float(v["grad_fp"]), v["grad_fnmode"],
                            v["grad_fpmode"], float(v["grad_conf"]), 0.0)
        with st.spinner("Computing the maps …"):
            rep = C.pair_report(case["gt"], case["soft"], tuple(shown), "{}", v["grad_wrt"])
    except ValueError as exc:
        show_error(exc)
        return
    gt, hard = case["gt"], case["hard"]
    full = (slice(0, gt.shape[0]), slice(0, gt.shape[1]))
    box = ca.crop_box([gt, hard], margin=None, min_side=8) if v["grad_zoom"] else full
    n = case["counts"]
    if len(keys) > MAX_GALLERY:
        st.caption(f"Showing the first {MAX_GALLERY} of {len(keys)} selected losses.")
    st.caption(ca.zoom_note(box, gt.shape) + (" The gradients outside the crop are those of the background: "
                                               "the table below sums over the whole image." if box != full else ""))
    left, right = st.columns([1, 3])
    with left:
        ofig = F.overlay(gt[box], hard[box], title=f"r = {v['grad_r']:g} px: {int(gt.sum()):,} object px")
        ofig.update_layout(height=380)
        chart(ofig, key="grad_overlay")
        st.caption(f"TP {n['tp']:,} · FN {n['fn']:,} · FP {n['fp']:,} px")
        if st.toggle("Show the soft prediction p", key="grad_show_p",
                     help="the probabilities the losses see: c inside the predicted mask, 1 − c on every other pixel"):
            c = float(v["grad_conf"])
            pfig = F.probability_map(case["soft"][box], title=f"p: {c:g} inside, {1 - c:.2g} outside")
            chart(pfig, key="grad_pmap")
            bg = (1 - c) * (gt.size - int(hard.sum()))
            st.caption(f"The background's 1 − c = {1 - c:.2g} on {gt.size - int(hard.sum()):,} px adds "
                       f"{bg:,.0f} px of probability mass to Σp, against {int(gt.sum()):,} object px.")
    with right:
        maps = {k: rep["grads"][k][box] for k in shown}
        gfig = F.gradient_heatmaps(maps, shared_scale=v["grad_scale"] == "shared", cols=4,
                                   title=f"Per-pixel {sym} (blue: the loss wants the logit up; red: down)")
        chart(gfig, key="grad_maps")
    t = rep["table"][["name", "value", "grad_l2", "grad_fn", "grad_fp", "grad_tp", "grad_tn"]]
    # compute.pair_report's summaries are always of ∂L/∂z (its maps follow the chosen variable)
    labels = {"value": "loss value", "grad_l2": "‖∂L/∂z‖₂", **{f"grad_{r}": f"mean |∂L/∂z| on {r.upper()}"
                                                               for r in ("fn", "fp", "tp", "tn")}}
    st.dataframe(t, hide_index=True, column_config={
        "name": st.column_config.TextColumn("loss"),
        **{c: st.column_config.NumberColumn(labels[c], format="%.3g" if c == "value" else "%.2e") for c in t.columns
           if c != "name"}})
    if sum(m.size for m in maps.values()) <= 200_000:  # the maps themselves, in long form (y, x from the crop)
        parts = []
        for k, m in maps.items():
            yy, xx = np.indices(m.shape)
            parts.append(pd.DataFrame({"loss": k, "y": yy.ravel(), "x": xx.ravel(), "grad": m.ravel()}))
        data = pd.concat(parts, ignore_index=True)
    else:  # full-size maps: the per-loss summaries (zoom in to export the pixels)
        data = rep["table"]
    export_buttons(gfig, data, "gradient_maps", {**v, "shown": shown, "crop": [box[0].start, box[0].stop,
                                                                               box[1].start, box[1].stop]})
    sync_url(SPEC, current())


curves(df, keys)
gallery(keys)
