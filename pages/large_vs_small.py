"""Large vs small: the survey's loss-vs-error comparison, measured under a documented protocol."""
from __future__ import annotations

import streamlit as st

from segloss_app import compute_analysis as ca
from segloss_app import survey_text as stx
from segloss_app.lessons import lesson_box
from segloss_app.common import (KeyListParam, UrlParam, chart, export_buttons, is_present, page_header, show_error,
                                sync_url, url_state)
from segloss_core import figures as F
from segloss_core import figures_survey as SF
from segloss_core.perturb import FP_MODES
from segloss_core import claim
from segloss_core.registry import KEYS, REGISTRY
from segloss_core.robustness import holds_interval
from segloss_core.survey import PROTOCOL_HELP, PROTOCOLS

SIZE = 256
SPEC = {
    "lvs_small_r": UrlParam(6.0, float, 1.0, 40.0),
    "lvs_large_r": UrlParam(60.0, float, 10.0, 120.0),
    "lvs_delta": UrlParam(20, int, 1, 500),
    "lvs_levels": UrlParam(41, int, 2, 101),
    "lvs_conf": UrlParam(0.99, float, 0.51, 0.999),
    "lvs_fpmode": UrlParam("boundary", str, choices=FP_MODES),
    "lvs_protocol": UrlParam("boundary", str, choices=PROTOCOLS),
    "lvs_hard": UrlParam(False, bool),
    "lvs_step": UrlParam(1, int, 1, 8),
    "lvs_grow": UrlParam(False, bool),
    "lvs_blur": UrlParam(0.0, float, 0.0, 5.0),
    "lvs_tol": UrlParam(1e-3, float, 0.0, 0.5),
    "lvs_norm": UrlParam(True, bool),
    "lvs_losses": KeyListParam(list(ca.SURVEY_KEYS)),
}
FP_HELP = {"boundary": "grow outward from the contour", "blobs": "separate round blobs", "noise": "scattered pixels"}


QUICK = {
    "—": None,
    "the survey's 26 losses": list(ca.SURVEY_KEYS),
    f"all {len(KEYS)} losses (+ {len(ca.RECENT_KEYS)} since the survey)": list(KEYS),
    f"the {len(ca.RECENT_KEYS)} since the survey": list(ca.RECENT_KEYS),
    "the survey's two + Dice family": ["focal", "combo", "dice", "jaccard", "tversky", "focal_tversky", "log_cosh_dice"],
    **{f"{fam} family": [k for k in KEYS if REGISTRY[k].family == fam]
       for fam in ("distribution", "region", "boundary", "compound")},
}


def on_quick() -> None:
    pick = QUICK.get(st.session_state.get("lvs_quick"))
    if pick:
        st.session_state["lvs_losses"] = list(pick)
    st.session_state["lvs_quick"] = "—"


def current() -> dict:
    return {k: st.session_state.get(k, p.default) for k, p in SPEC.items()}


present = page_header(  # presenter mode: no intro line (the notice states the claim; the figure needs the height)
    "Large vs small",
    "" if is_present() else
    "Taghanaki et al. (2021) add the same number of wrong pixels to a large and a small object and state that for "
    "the small one *only combo and focal loss increase monotonically*. Here the protocol is documented and "
    "adjustable, and every verdict is computed from the curves, with the tolerance at which it flips.")
vals = url_state(SPEC)
lesson_box("large_vs_small")

# ---------------------------------------------------------------- protocol (recomputes the survey)
sb = st.sidebar
sb.subheader("Protocol")
sb.selectbox("Error protocol", PROTOCOLS, key="lvs_protocol", format_func=lambda p: f"{p}: {PROTOCOL_HELP[p]}")
sb.slider("Small object radius (px)", 1.0, 40.0, step=0.5, key="lvs_small_r")
sb.slider("Large object radius (px)", 10.0, 120.0, step=1.0, key="lvs_large_r")
hard = sb.toggle("Hard predictions (c = 1)", key="lvs_hard",
                 help="probabilities exactly 0 and 1; the losses clamp their logs at 1e-7, so they stay finite. "
                      "Shows which losses are exactly flat once no true positive is left.")
sb.slider("Confidence c (probability inside the predicted mask)", 0.51, 0.999, step=0.001, format="%.3f",
          key="lvs_conf", disabled=hard,
          help="outside the predicted mask the probability is 1 − c; soft losses see that mass")
if not present:
    with sb.expander("More protocol settings", expanded=False):
        st.slider("Δ: error pixels added per level (FN and FP)", 1, 500, key="lvs_delta")
        st.slider("Number of levels (k = 0 … levels − 1)", 2, 101, key="lvs_levels")
        st.selectbox("False-positive pattern (boundary protocol)", FP_MODES, key="lvs_fpmode",
                     format_func=lambda m: f"{m}: {FP_HELP[m]}")
        st.slider("Translation: pixels moved per level", 1, 8, key="lvs_step")
        st.toggle("Translation: also grow by Δ FP pixels per level", key="lvs_grow")
        st.slider("Edge blur σ (px)", 0.0, 5.0, step=0.25, key="lvs_blur")
vals = current()

try:
    cfg = ca.survey_key(size=SIZE, small_radius=float(vals["lvs_small_r"]), large_radius=float(vals["lvs_large_r"]),
                        levels=int(vals["lvs_levels"]), delta=int(vals["lvs_delta"]),
                        confidence=1.0 if vals["lvs_hard"] else float(vals["lvs_conf"]), fp_mode=vals["lvs_fpmode"],
                        blur=float(vals["lvs_blur"]), protocol=vals["lvs_protocol"], shift_step=int(vals["lvs_step"]),
                        translation_grow=bool(vals["lvs_grow"]))
    wanted = [k for k in KEYS if k in (st.session_state.get("lvs_losses") or ca.SURVEY_KEYS)]
    res = ca.survey_for(cfg, wanted, "Running the survey: its 26 losses on both objects")
except (ValueError, ArithmeticError) as exc:
    show_error(exc)
    st.stop()

c = res.config
px = {o: int(m.sum()) for o, m in res.masks.items()}
if c.small_radius >= c.large_radius:
    st.warning("The 'small' radius is not smaller than the 'large' one: the two panels are swapped in meaning.")


def protocol_caption(res) -> str:
    c = res.config
    small_curve = res.curves[(res.curves["object"] == "small") & (res.curves["loss"] == res.curves["loss"].iloc[0])]
    tp0 = small_curve[small_curve["tp"] == 0]["level"]
    return (f"Image {c.size}×{c.size}. Large disk r = {c.large_radius:g} px ({px['large']:,} px), small disk "
            f"r = {c.small_radius:g} px ({px['small']:,} px). Protocol *{c.protocol}*: {c.describe()}. "
            + (f"The small object has no true positive left from level {int(tp0.iloc[0])} on. " if len(tp0) else
               "The small object keeps a true positive at every level. ")
            + f"Default loss parameters (the Tune page varies them). Computed on {res.device}.")


def on_pin(cfg) -> None:
    st.session_state["lvs_pinned_cfg"] = cfg


# ---------------------------------------------------------------- results (display-only controls rerun just this)
@st.fragment
def results(res, cfg, present: bool) -> None:
    c = res.config
    cols = st.columns([1, 1, 1.2, 3] if not present else [1, 2])  # presenter mode: the view choice beside the toggle
    cols[0].toggle("Normalize per loss", key="lvs_norm",
                   help="min-max per loss and object to [0, 1]; off shows raw values (scales differ by orders of magnitude)")
    if not present:
        cols[1].number_input("Monotonicity tolerance", 0.0, 0.5, step=0.001, format="%g", key="lvs_tol",
                             help="a step counts as rising only if it rises by more than this fraction of the "
                                  "curve's range; changes the verdicts, not the curves")
        cols[2].selectbox("Quick selection", list(QUICK), key="lvs_quick", on_change=on_quick,
                          help="fills the loss list")
        cols[3].multiselect("Losses", list(KEYS), key="lvs_losses", format_func=lambda k: REGISTRY[k].name,
                            placeholder="the survey's 26 losses")
    v = current()
    sync_url(SPEC, {**v, "lvs_losses": v["lvs_losses"] or SPEC["lvs_losses"].default})
    keys = [k for k in KEYS if k in (v["lvs_losses"] or ca.SURVEY_KEYS)]
    if not v["lvs_losses"]:
        st.info("No loss selected: showing the survey's 26 losses.")
    if not set(keys) <= set(res.curves["loss"]):  # a later loss picked here: its survey part, in this fragment
        res = ca.survey_for(cfg, keys, "Running the survey")
    tol = float(v["lvs_tol"])
    norm = bool(v["lvs_norm"])
    curves = res.curves[res.curves["loss"].isin(keys)]
    all_v = ca.verdicts_at(cfg, tol, res)  # every loss: the interval and the notice use them all
    verdicts = all_v[all_v["loss"].isin(keys)].reset_index(drop=True)
    config = {**dict(cfg), "tolerance": tol, "losses": keys, "normalized": norm}

    n = len(keys)
    small_v = verdicts[verdicts.object == "small"]
    stated = verdicts[verdicts.survey_says != claim.NOT_STATED]
    lo, hi = holds_interval(all_v.query("object == 'small'"))
    with st.container(border=True):
        st.markdown(stx.what_to_notice(res, all_v, tol, lo, hi))

    view = (cols[1] if present else st).radio("View", ("one panel per loss", "all losses in one panel per object"),
                                             key="lvs_view", horizontal=True, label_visibility="collapsed")
    pinned_cfg = st.session_state.get("lvs_pinned_cfg")
    pinned = None
    if pinned_cfg is not None and pinned_cfg != cfg:
        pres = ca.survey_if_cached(pinned_cfg, keys)
        pinned = pres.curves[pres.curves["loss"].isin(keys)] if pres is not None else None
    fkey = (cfg, tuple(keys), present)  # what every figure below depends on (default loss parameters)
    if view.startswith("one panel"):
        fig = ca.figure_memo("small_multiples", fkey + (tol, norm, pinned_cfg if pinned is not None else None),
                             lambda: SF.small_multiples(curves, verdicts, keys, normalized=norm, pinned=pinned,
                                                        font=16 if present else 11, max_cols=5 if present else SF.COLS))
    else:
        fig = ca.figure_memo("loss_curves", fkey + (norm,), lambda: F.loss_curves(curves, normalized=norm, masks=res.masks)
                             .update_layout(hovermode="closest"))
    chart(fig, key="lvs_curves")
    pc = st.columns([1, 1, 3])
    pc[0].button("Pin this protocol as A", key="lvs_pin", on_click=on_pin, args=(cfg,),
                 help="keep these curves on screen (dotted) while you change the protocol in the sidebar")
    if pinned_cfg is not None:
        pc[1].button("Unpin", key="lvs_unpin", on_click=on_pin, args=(None,))
        if pinned is not None:
            diff = ", ".join(f"{k} {dict(pinned_cfg)[k]!s} → {dict(cfg)[k]!s}" for k in dict(cfg)
                             if dict(cfg)[k] != dict(pinned_cfg).get(k))
            pc[2].caption(f"Dotted: the pinned protocol A ({diff}).")
        elif pinned_cfg == cfg:
            pc[2].caption("Pinned A is the protocol shown: change a setting in the sidebar to compare.")
    st.caption(protocol_caption(res))
    export_buttons(fig, curves, "loss_vs_error", config)

    m = st.columns(4)
    rise_help = "losses that rise at every step by more than the tolerance"
    m[0].metric("Rising: large object", f"{int(verdicts[verdicts.object == 'large'].monotone.sum())} / {n}", help=rise_help)
    m[1].metric("Rising: small object", f"{int(small_v.monotone.sum())} / {n}", help=rise_help)
    m[2].metric("Agree with the survey", f"{int((stated.agrees == True).sum())} / {len(stated)}",  # noqa: E712
                help="counted over the (loss, object) pairs the survey's sentence names; the others are 'not stated'")
    m[3].metric("Survey's sentence holds at tol.",
                f"{stx.short_e(lo)}–{stx.short_e(hi)}" if lo < hi else "none",
                help="exact interval [from, below) computed from every named loss's flip tolerance "
                     "(every loss, whatever the selection)")
    if lo < hi and not lo <= tol < hi:
        st.info(f"At tolerance {tol:g} the survey's small-object sentence does not hold; it holds only for "
                f"tolerances from {lo:.1e} up to {hi:.1e}.")

    st.subheader("Play the error levels")
    st.caption("▶ Play animates the prediction level by level (in the browser) with a marker on the curves; drag "
               "the slider to step. Overlays are cropped to the object and enlarged (zoom stated). Colours: true "
               "positive green, false positive vermillion, false negative blue, true negative grey.")
    def player():  # the crop boxes too only when the player is built, not on every rerun
        boxes = {o: ca.crop_box([res.masks[o], res.predictions[o][-1] > 0.5]) for o in ("large", "small")}
        player_keys = [k for k in ca.PLAYER_DEFAULT if k in keys] or keys[:6]
        return SF.level_player(curves, res.masks, res.predictions, player_keys, boxes, font=16 if present else 12)

    pfig = ca.figure_memo("level_player", fkey, player)
    chart(pfig, key="lvs_player", config={"displayModeBar": False})

    st.subheader("Gradient magnitude vs error")
    st.caption("‖∂L/∂z‖₂ over the image, the gradient the loss sends back to the logits, on a log scale.")
    gfig = ca.figure_memo("gradient_curves", fkey, lambda: F.gradient_curves(curves, masks=res.masks))
    chart(gfig, key="lvs_grads")
    export_buttons(gfig, curves[["object", "level", "fp", "fn", "tp", "loss", "grad_l2"]], "gradient_vs_error", config)

    st.subheader("Verdicts beside the survey's claim")
    cells, fills = F.verdict_cells(verdicts)  # a data frame on screen (a Plotly table: ~0.5 s per redraw)
    st.caption("Measured verdicts beside the survey (red: disagrees; grey: the survey states nothing).")
    st.dataframe(cells.style.apply(lambda _: fills.map(lambda c: f"background-color: {c}; color: #222"), axis=None),
                 hide_index=True, key="lvs_verdicts", height=35 * len(cells) + 38, width="stretch",
                 column_config={c: st.column_config.TextColumn(width=250 if "measured" in c else 120 if "says" in c else 190)
                                for c in cells.columns})  # px: the five columns fit the main area at 1400 px
    export_buttons(ca.figure_memo("verdict_table", fkey + (tol,), lambda: F.verdict_table(verdicts)), verdicts,
                   "verdicts", config)  # the PNG / HTML: a Plotly table
    left, right = st.columns([1, 1])
    with left:
        st.markdown(f"**Measured here** at tolerance {tol:g} of each curve's range. *Rises*: every step rises by "
                    "more than that; *saturates*: every step rises, some by less; *flat*: some step does not change "
                    "the value at all (float precision); *falls*: some step lowers it.")
        for block in stx.agreement_summary(verdicts):
            st.markdown(block)
    with right:
        dz = stx.soft_dice_at_zero(res)
        if {"large", "small"} <= set(dz) and c.hard:
            st.markdown(
                f"**Soft Dice at perfect overlap, hard predictions.** With c = 1 the background carries no "
                f"probability, so the measured Dice loss at level 0 is **{dz['small']['value']:.3g}** on the small "
                f"object and **{dz['large']['value']:.3g}** on the large one: the class-imbalance offset of soft "
                f"predictions is gone. Turn *Hard predictions* off to see it come back.")
        elif {"large", "small"} <= set(dz):
            bg_mass = (1 - c.confidence) * (c.size * c.size - dz["small"]["pixels"])
            st.markdown(
                f"**Soft Dice at perfect overlap.** At level 0 the prediction covers the object exactly, yet the "
                f"measured soft Dice loss is **{dz['small']['value']:.3f}** on the small object "
                f"({dz['small']['pixels']:,} px) and **{dz['large']['value']:.3f}** on the large one "
                f"({dz['large']['pixels']:,} px), with c = {c.confidence:g}. The background's 1 − c probability "
                f"adds about {bg_mass:,.0f} px of false-positive mass, far more than the small object itself: class "
                f"imbalance at work. Move the confidence c in the sidebar to see it change.")
    if not c.hard and st.toggle("Compare with hard predictions (c = 1)", key="lvs_cmp_hard",
                                help="the same protocol with probabilities exactly 0 and 1 (one more survey run)"):
        hard_cfg = tuple((k, 1.0) if k == "confidence" else (k, v) for k, v in cfg)
        hres = ca.survey_for(hard_cfg, keys, "Running the survey with hard predictions")
        hv = ca.verdicts_at(hard_cfg, tol, hres)
        shown = keys[:8]
        chart(F.soft_hard_curves(curves[curves["loss"].isin(shown)],
                                           hres.curves[hres.curves["loss"].isin(shown)], soft_label=f"c={c.confidence:g}"),
                        key="lvs_soft_hard")
        if len(keys) > 8:
            st.caption(f"The first 8 of the {len(keys)} selected losses; the table has them all.")
        both = verdicts[verdicts.object == "small"][["loss", "verdict"]].merge(
            hv[hv.object == "small"][["loss", "verdict"]], on="loss", suffixes=(f" (c = {c.confidence:g})", " (hard)"))
        both.insert(0, "name", both.pop("loss").map(lambda k: REGISTRY[k].name))
        st.dataframe(both, hide_index=True)
        flat = [REGISTRY[k].name for k in hv[(hv.object == "small") & (hv.verdict == "flat")].loss if k in keys]
        st.markdown(f"With hard predictions, exactly flat on the small object: {', '.join(flat) or 'none'}.")

    st.markdown("**Why, loss by loss** (computed from each curve)")
    show = verdicts.assign(name=verdicts["loss"].map(lambda k: REGISTRY[k].name),
                           agrees=verdicts["agrees"].map({True: "yes", False: "no"}).fillna("—"))
    st.dataframe(show[["object", "name", "verdict", "min_step_rel", "flip_tolerance", "kendall_tau", "survey_says",
                       "agrees", "explanation"]], hide_index=True,
                 column_config={"name": st.column_config.TextColumn("loss"),
                                "min_step_rel": st.column_config.NumberColumn(
                                    "smallest step ÷ even rise", format="%.2g",
                                    help="smallest step relative to range / number of steps (1 = straight line)"),
                                "flip_tolerance": st.column_config.NumberColumn(
                                    "flips at tolerance", format="%.1e",
                                    help="rises below this tolerance, saturates from it on; empty: no tolerance changes it"),
                                "kendall_tau": st.column_config.NumberColumn("τ", format="%.2f"),
                                "survey_says": st.column_config.TextColumn("survey says"),
                                "explanation": st.column_config.TextColumn(width="large")})
    with st.expander("The same, as plain text"):
        st.text(stx.full_agreement_text(res, verdicts, keys))


results(res, cfg, present)


# ---------------------------------------------------------------- robustness (on demand: ~40 surveys)
@st.fragment
def robustness(cfg) -> None:
    st.subheader("For which settings does the survey's sentence hold?")
    st.markdown("The verdicts depend on the tolerance, the protocol, the confidence c and Δ. This map repeats the "
                "survey for 3 protocols × 4 confidences (0.9, 0.99, 0.999, hard) × Δ and reads every curve's "
                "verdict at 11 tolerances from 1e-6 to 1e-1, for the 26 losses of the source surveys (later losses "
                "are not stated by it). Green: every loss the small-object sentence names agrees with it.")
    key = ca.robustness_key(cfg)
    if not ca.is_cached("robust", key) and not st.button("Compute the robustness map (40 settings, about 20 s)",
                                                         key="lvs_robust_go"):
        return
    rob = ca.with_progress("robust", key, ca.robustness_full, "Robustness: 40 settings × both objects")
    labels = ca.robustness_labels(rob)
    fig = F.robustness_heatmap(rob.table, labels)
    chart(fig, key="lvs_robust")
    for line in ca.robustness_statements(rob):
        st.markdown(f"- {line}")
    export_buttons(fig, rob.table, "robustness", {"grid": "3 protocols × 4 confidences × Δ", **dict(key)})


robustness(cfg)
