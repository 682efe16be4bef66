"""Playground: one ground truth, one prediction, every loss.

The first screen (1280×720 too) holds the main figure, the controls that change it and a computed
"what to notice": the FN / FP / confidence / hard controls beside the level player (the overlay at
error level k, the player's losses vs k with a marker, their values at k; ▶ Play steps k in the
browser) and "Pin as A". Below: the hard metrics, the ground-truth and prediction pickers
(:mod:`segloss_app.playground_inputs`), every loss's value and the per-pixel gradient maps
(:mod:`segloss_app.playground_sections`).

Controls in, cached core calls (segloss_app.compute, segloss_app.playground_player), figures out. No
loss math here. Every setting lives in the URL under a short ``pg_*`` name (hand drawings and
uploads excepted).
"""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from segloss_app import compute as C
from segloss_app import compute_analysis as CA
from segloss_app import playground_inputs as I
from segloss_app import playground_player as PL
from segloss_app import playground_sections as S
from segloss_app import validate as V
from segloss_app import thin_view as TVW
from segloss_app.common import (UrlParam, bad_entry, bad_link_notice, chart, is_present,
                                loss_param_widgets, open_page, page_header, param_url_spec, show_error, sync_url,
                                url_state)
from segloss_app.plaintext import plain, plain_list
from segloss_app.lessons import lesson_box
from segloss_app.presets import PRESETS, params_from_config
from segloss_core import figures_survey as SF
from segloss_core.masks import REAL_MASKS, SHAPES, mask_stats
from segloss_core.thin_masks import THIN_KINDS
from segloss_core.perturb import FN_MODES, FP_MODES, UNITS
from segloss_core.registry import FAMILIES, KEYS, REGISTRY

# ---------------------------------------------------------------------------------------------
# Settings and their URL names
# ---------------------------------------------------------------------------------------------
GT_SOURCES, PRED_SOURCES, SIZES = I.GT_SOURCES, I.PRED_SOURCES, I.SIZES
DEFAULT_GRADS = ("bce", "dice", "focal", "boundary")
PARAM_KEYS = tuple(k for k in KEYS if REGISTRY[k].params)
SHIFT_MAX = I.SHIFT_MAX

LISTS = {"pg_fams": FAMILIES, "pg_losses": KEYS, "pg_gkeys": KEYS, "pg_pkeys": KEYS}
ORDERED_LISTS = ("pg_gkeys", "pg_pkeys")  # kept in the order chosen (the others in registry order), at most 8

SPEC: dict[str, UrlParam] = {
    "pg_src": UrlParam("shape", str, choices=tuple(GT_SOURCES)),
    "pg_size": UrlParam("256", str, choices=SIZES),
    "pg_shape": UrlParam("disk", str, choices=SHAPES),
    "pg_sizeby": UrlParam("fraction", str, choices=("fraction", "radius")),
    "pg_frac": UrlParam(0.02, float, 1e-4, 0.9),
    "pg_r": UrlParam(20.0, float, 0.5, 250.0),
    "pg_cy": UrlParam(0.5, float, 0.0, 1.0),
    "pg_cx": UrlParam(0.5, float, 0.0, 1.0),
    "pg_nobj": UrlParam(1, int, 1, 16),
    "pg_gseed": UrlParam(0, int, 0, 99999),
    "pg_real": UrlParam("horse", str, choices=REAL_MASKS),
    "pg_thin": UrlParam("vessel_tree", str, choices=THIN_KINDS),
    "pg_pred": UrlParam("perturb", str, choices=tuple(PRED_SOURCES)),
    "pg_units": UrlParam("fraction", str, choices=UNITS),
    "pg_fn": UrlParam(0.1, float, 0.0, 1e7),
    "pg_fp": UrlParam(0.1, float, 0.0, 1e7),
    "pg_fnmode": UrlParam("boundary", str, choices=FN_MODES),
    "pg_fpmode": UrlParam("boundary", str, choices=FP_MODES),
    "pg_dy": UrlParam(0, int, -SHIFT_MAX, SHIFT_MAX),
    "pg_dx": UrlParam(0, int, -SHIFT_MAX, SHIFT_MAX),
    "pg_conf": UrlParam(0.99, float, 0.501, 0.999),
    "pg_hard": UrlParam(False, bool),
    "pg_blur": UrlParam(0.0, float, 0.0, 5.0),
    "pg_seed": UrlParam(0, int, 0, 99999),
    "pg_fams": UrlParam(",".join(FAMILIES), str),
    "pg_losses": UrlParam(",".join(KEYS), str),
    "pg_gkeys": UrlParam(",".join(DEFAULT_GRADS), str),
    "pg_gshared": UrlParam(False, bool),
    "pg_barlog": UrlParam(True, bool),
    "pg_wrt": UrlParam("logits", str, choices=("logits", "probabilities")),
    "pg_ploss": UrlParam("dice", str, choices=PARAM_KEYS),
    "pg_pkeys": UrlParam(",".join(PL.DEFAULT_KEYS), str),  # the level player's losses
    "pg_steps": UrlParam(PL.STEPS, int, *PL.STEPS_RANGE),  # the level player's N (k = 0 … N)
    "pg_gmaps": UrlParam(False, bool),  # the per-pixel gradient maps shown (computed only then)
}
PARAM_SPEC: dict[str, UrlParam] = {}
for _k in PARAM_KEYS:
    PARAM_SPEC.update(param_url_spec(_k, "pg_"))
SPEC.update(PARAM_SPEC)
GRAD_PARAMS = ("pg_gkeys", "pg_gshared", "pg_wrt")
AUTO_PARAMS = {f"pg_{k}.{p.name}": (k, p) for k in PARAM_KEYS for p in REGISTRY[k].params if p.auto}
_SEED_FLAG = "_url_seeded_" + ",".join(sorted(SPEC))
DEFAULTS = {k: p.dump(p.default) for k, p in SPEC.items()}  # as the URL writes them (pin A's comparison)


def _fmt_name(k: str) -> str:
    return f"{REGISTRY[k].name} ({k})"


# ---------------------------------------------------------------------------------------------
# URL state: seeding, list and "auto" parameters, write-back
# ---------------------------------------------------------------------------------------------
def restore_state() -> None:
    """Seed the session from the URL (url_state), then turn the list and auto parameters, which
    travel as text, into widget values; bad ones fall back with the same notice."""
    ss = st.session_state
    first = not ss.get(_SEED_FLAG, False)
    # Keep values of widgets that are not shown in this run (e.g. radius while sizing by fraction).
    for name in SPEC:
        if name in ss and name not in AUTO_PARAMS:
            ss[name] = ss[name]
        for sub in (".auto", ".value"):
            if name + sub in ss:
                ss[name + sub] = ss[name + sub]
    url_state(SPEC, notice=False)
    bad: list[str] = []
    for name, allowed in LISTS.items():
        v = ss.get(name)
        if isinstance(v, str):
            items = [s.strip() for s in v.split(",") if s.strip()]
            if any(s not in allowed for s in items):
                bad.append(bad_entry(name, v))
                items = [s for s in SPEC[name].default.split(",")]
            items = list(dict.fromkeys(items))
            ss[name] = items[:8] if name in ORDERED_LISTS else items
    if first:
        if any(n in st.query_params for n in GRAD_PARAMS) and "pg_gmaps" not in st.query_params:
            ss["pg_gmaps"] = True  # a link that sets the maps' options opens them
        for name, (key, p) in AUTO_PARAMS.items():
            raw = ss.get(name, "auto")
            try:
                v = p.validate(raw)
            except ValueError:
                bad.append(bad_entry(name, raw))
                v = p.default
            ss[name + ".auto"] = v is None
            if v is not None:
                ss[name + ".value"] = float(v)
    if bad:
        ss["_url_bad"] = list(dict.fromkeys(ss.get("_url_bad", []) + bad))
    if ss.get("_url_bad"):
        bad_link_notice(ss["_url_bad"])


def current_values() -> dict[str, Any]:
    """Every setting as it travels in the URL (lists joined by commas, auto params as text)."""
    ss = st.session_state
    out = {}
    for name, p in SPEC.items():
        v = ss.get(name, p.default)
        if name in LISTS:
            if isinstance(v, (list, tuple)):  # families and losses in registry order; maps as chosen
                v = ",".join(v if name in ORDERED_LISTS else [k for k in LISTS[name] if k in v])
            v = str(v)
        elif name in AUTO_PARAMS:
            if ss.get(name + ".auto", True):
                v = "auto"
            else:
                v = f"{float(ss.get(name + '.value', 1.0)):.6g}"
            ss[name] = v
        out[name] = v
    return out


def changed_values() -> dict[str, str]:
    return {k: SPEC[k].dump(v) for k, v in current_values().items() if v != SPEC[k].default}


def export_config() -> dict[str, Any]:
    """The JSON configuration: every setting that differs from its default (as in the URL)."""
    return {"page": "playground", "params": changed_values(),
            "note": "hand-drawn and uploaded masks are not part of the configuration; "
                    "load this file with 'Load a configuration (JSON)' in the sidebar"}


def push_url() -> None:
    sync_url(SPEC, current_values())


def loss_params() -> dict[str, dict[str, Any]]:
    """``{key: {param: value}}`` for every parameter that differs from its default."""
    ss = st.session_state
    out: dict[str, dict[str, Any]] = {}
    for k in PARAM_KEYS:
        for p in REGISTRY[k].params:
            name = f"pg_{k}.{p.name}"
            if p.auto:
                v = None if ss.get(name + ".auto", True) else float(ss.get(name + ".value", 1.0))
            else:
                v = ss.get(name, p.default)
                if p.numeric and v is not None:
                    v = float(v)
            if v != p.default:
                out.setdefault(k, {})[p.name] = v
    return out


def reset_page_state(prefix: str) -> None:
    """Forget the settings of a page (keys starting with ``prefix``) so a preset starts from defaults."""
    for k in [k for k in st.session_state if str(k).startswith(prefix) and "_canvas_" not in str(k)]:
        del st.session_state[k]


def go(page: str, params: dict[str, Any]) -> None:
    reset_page_state({"playground": "pg_", "tune": "tune_", "large_vs_small": "lvs_"}.get(page, "\0"))
    open_page(page, params)


# ---------------------------------------------------------------------------------------------
# Sidebar: presets and configuration
# ---------------------------------------------------------------------------------------------
def sidebar(present: bool) -> None:
    sb = st.sidebar
    sb.subheader("Teaching presets")
    for i, p in enumerate(PRESETS):
        if sb.button(p.name, key=f"pg_preset_{i}", help=p.explanation, width="stretch"):
            go(p.page, p.params)
    with sb.expander("What the presets show"):
        for p in PRESETS:
            st.markdown(f"**{p.name}**: {p.explanation}")
    if present:
        return
    sb.subheader("Configuration")
    sb.caption("Every setting is in the page's URL: copy the link to share this exact view. "
               "Hand-drawn and uploaded masks are not: download them as files.")
    up = sb.file_uploader("Load a configuration (JSON)", type=["json"], key="pg_cfg_file", max_upload_size=1,
                          help="a file saved with 'Settings (JSON)' below")
    if up is not None:
        data = I.upload_bytes(up, V.MAX_CONFIG_BYTES)
        digest = hashlib.sha1(data or b"").hexdigest()
        if data is None:
            sb.error(f"{plain(up.name)} is {up.size / 2**20:.1f} MiB; a configuration file is at most "
                     f"{V.MAX_CONFIG_BYTES / 2**20:g} MiB")
        elif st.session_state.get("_pg_cfg_applied") != digest:
            try:
                params, ignored = params_from_config(data, "pg_", known=SPEC)
            except ValueError as exc:
                sb.error(plain(exc, max_len=300))
            else:
                st.session_state["_pg_cfg_applied"] = digest
                st.session_state["_pg_cfg_ignored"] = ignored
                go("playground", params)
    # shown after the reload too (going to the loaded settings resets the uploader, a pg_ widget)
    if st.session_state.get("_pg_cfg_ignored"):
        ignored = st.session_state["_pg_cfg_ignored"]
        sb.caption(f"Ignored {len(ignored)} entr{'y' if len(ignored) == 1 else 'ies'} that are not Playground "
                   "settings (or whose value is not a short text or number): " + plain_list(ignored))

# ---------------------------------------------------------------------------------------------
# The first screen: the level player, pin A, what to notice
# ---------------------------------------------------------------------------------------------
PAGE_CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.2rem; }
.st-key-pg_first [data-testid="stSlider"] { margin-bottom: -0.4rem; }
</style>
"""
PRESENT_NOTICE_CSS = """
<style>
.st-key-pg_notice p { font-size: 1.1rem !important; line-height: 1.45; }
</style>
"""  # presenter mode: the two computed lines still fit the first screen at 1280×720
PLAYER_HELP = ("**k** scales the errors: level k of N removes round(k·FN/N) object pixels and adds round(k·FP/N) "
               "background pixels with the same patterns, shift and seed (k = N is the prediction the sliders "
               "make; k = 0 has no FN/FP, only the shift). ▶ Play and the slider step k in the browser. Overlay "
               "colours: true positive green, false positive vermillion, false negative blue, true negative grey.")


def _on_pin(pin: bool) -> None:
    st.session_state[PL.PIN_KEY] = st.session_state.get("_pg_last") if pin else None


def pin_buttons() -> None:
    """"Pin as A" (keep this setting's numbers on screen) and "Unpin"."""
    pinned = st.session_state.get(PL.PIN_KEY)
    c1, c2 = st.columns(2)
    c1.button("Pin as A", key="pg_pin", on_click=_on_pin, args=(True,), width="stretch",
              help="keep this setting's loss values (dotted curves, ◆ on the bars below) while you change another")
    c2.button("Unpin", key="pg_unpin", on_click=_on_pin, args=(False,), width="stretch", disabled=not pinned)


def player_curves(gt: np.ndarray, pred: dict[str, Any], keys: list[str], steps: int, params_json: str,
                  values: dict[str, float]):
    """The ladder's hard masks, counts, the player's curves (one batched sweep) and the overlay PNGs
    with their crop, all cached."""
    if pred.get("source") == "perturb":
        p = pred["perturb"]
        args = (gt, p["fn_px"], p["fp_px"], p["fn_mode"], p["fp_mode"], p["dy"], p["dx"], p["seed"], steps)
        masks, counts = PL.cached_ladder(*args)
        curves = PL.cached_ladder_values(*args, tuple(keys), params_json, float(p["confidence"]), float(p["blur"]))
    else:
        hard = np.asarray(pred["hard"], bool)
        g = np.asarray(gt, bool)
        masks = hard[None]
        counts = [{"tp": int((g & hard).sum()), "fp": int((~g & hard).sum()), "fn": int((g & ~hard).sum()),
                   "tn": int((~g & ~hard).sum())}]
        curves = {k: [float(values[k])] for k in keys}
    box, scale, _ = SF.player_zoom(gt.shape, CA.crop_box([gt, masks[-1], masks[0]]))
    if pred.get("source") == "perturb":
        images = PL.cached_pngs(*args, (box[0].start, box[0].stop, box[1].start, box[1].stop), scale)
    else:
        images = SF.overlay_pngs(gt, masks, box, scale)
    return masks, counts, curves, box, images


@st.fragment
def player_section(gt: np.ndarray, pred: dict[str, Any], params_json: str, table: pd.DataFrame,
                   metrics: dict[str, Any], present: bool) -> None:
    """The main figure (level player), its caption and the computed 'what to notice' (the player's
    own settings rerun only this)."""
    ss = st.session_state
    keys = PL.parse_keys(ss.get("pg_pkeys")) or list(PL.DEFAULT_KEYS)
    steps = int(ss.get("pg_steps", PL.STEPS))
    values = dict(zip(table["loss"], table["value"]))
    masks, counts, curves, box, images = player_curves(gt, pred, keys, steps, params_json, values)
    pinned = ss.get(PL.PIN_KEY)
    fig = SF.pair_player(gt, masks, curves, counts, box=box, pinned=pinned["curves"] if pinned else None,
                         font=16 if present else 12, height=385 if present else 370, images=images)
    chart(fig, key="pg_player", config={"displayModeBar": False})  # presenter mode: every text >= 16 px
    ss["_pg_last"] = PL.snapshot(changed_values(), values, curves, counts[-1])
    diff = PL.settings_diff(pinned["settings"], changed_values(), DEFAULTS) if pinned else ""
    line1 = PL.notice_ladder(curves, counts)
    line2 = PL.notice_second(values, metrics, pred["soft"], gt, pred["hard"], pinned, diff, keys)
    with st.container(border=True, key="pg_notice"):
        st.markdown(f"**What to notice.** {line1}  \n{line2}")
    with st.expander("Player: its losses and steps; what k is"):
        st.markdown(PLAYER_HELP)
        c1, c2 = st.columns([3, 1])
        if not isinstance(ss.get("pg_pkeys"), list):
            ss["pg_pkeys"] = keys
        c1.multiselect("Losses on the player", KEYS, key="pg_pkeys", format_func=_fmt_name,
                       max_selections=PL.MAX_KEYS, help="at most 8; the bars below show every loss")
        c2.number_input("Steps N", *PL.STEPS_RANGE, step=1, key="pg_steps", help="levels k = 0 … N")
    if pinned:
        st.caption(f"Pinned A: {diff or 'the same settings as now'} (dotted curves; ◆ on the bars below).")
    push_url()


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------
present = page_header(  # presenter mode: no intro line, the first screen needs the height
    "Playground",
    "" if is_present() else
    "Make a prediction worse with the FN and FP sliders and read every loss. The link keeps every setting.",
)
st.markdown(PRESENT_NOTICE_CSS if present else PAGE_CSS, unsafe_allow_html=True)
restore_state()
sidebar(present)
lesson_box("playground")

top = st.container()  # the first screen and the results: one fragment (filled below)
st.subheader("Ground truth and prediction")
col_gt, col_pred = st.columns(2, gap="large")
with col_gt:
    gt, gt_notes, original = I.ground_truth_ui(present)
    if gt is not None:
        st.session_state["_pg_gt"] = gt  # the Tune page can tune on this ground truth ("given" object)
        s = mask_stats(gt)
        st.caption(f"{gt.shape[0]}×{gt.shape[1]} px · object {s['pixels']:,} px "
                   f"(fraction {s['fraction']:.3g}) · {s['n_objects']} connected object(s)")
        for n in gt_notes:
            st.caption(n)
if gt is None:
    with top:
        st.info("No ground truth yet: choose or make one under *Ground truth and prediction* below.")
    push_url()
    st.stop()
with col_pred:
    pred_details = I.prediction_details_ui(gt, present, original)
if pred_details is None:
    with top:
        st.info("No prediction yet: see *Prediction* below.")
    push_url()
    st.stop()
if not gt.any():
    with col_gt:
        st.info("The ground truth is empty. The losses are still defined and computed "
                "(each loss's convention for an empty object applies); the Hausdorff distances are n/a unless the "
                "prediction is empty too.")

with st.expander("Loss parameters", expanded="pg_ploss" in st.query_params):
    c1, c2 = st.columns([1, 2])
    pkey = c1.selectbox("Loss", PARAM_KEYS, key="pg_ploss", format_func=_fmt_name,
                        help="the parameters of every loss are kept, whichever loss is shown here")
    with c2:
        loss_param_widgets(pkey, prefix="pg_")
    params = loss_params()
    if params:
        st.caption("Changed from the defaults: " + "; ".join(
            f"{k}.{p}={'auto' if v is None else f'{v:g}' if isinstance(v, float) else v}"
            for k, d in params.items() for p, v in d.items()))
params_json = C.params_key(params)


@st.fragment
def results(gt: np.ndarray, pred_details: dict[str, Any], params_json: str, present: bool) -> None:
    """Everything the first screen's controls change (the prediction, the player, the values, the
    metrics, the gradient maps): a move of FN, FP, c or the hard toggle reruns this alone, not the
    sidebar, the pickers below or the parameter widgets."""
    ctrl, fig_col = st.columns([1, 2.3] if present else [1, 2.6], gap="medium")
    with ctrl:
        pred = I.prediction_controls_ui(gt, pred_details)
    if pred is None:
        push_url()
        return
    st.session_state["_pg_pred"] = pred["hard"]  # the Tune page can start its error ladder from this pair
    try:
        with st.spinner(f"Computing {len(KEYS)} losses and their gradients…"):
            report = C.pair_values(gt, pred["soft"], tuple(KEYS), params_json)
    except ValueError as exc:
        show_error(exc)
        push_url()
        return
    with ctrl:
        pin_buttons()
        c = report["counts"] if pred["counts"] is None else pred["counts"]
        st.caption(f"TP {int(c['tp']):,} · FP {int(c['fp']):,} · FN {int(c['fn']):,} · TN {int(c['tn']):,} pixels")
    with fig_col:
        player_section(gt, pred, params_json, report["table"], report["metrics"], present)
    for m in pred["messages"]:
        st.info(m)
    S.metrics_row(report["metrics"], present)
    TVW.topology_row(gt, pred["soft"] > 0.5)  # components, holes, clDice, skeleton recall/precision
    pinned = st.session_state.get(PL.PIN_KEY)
    S.values_section(report["table"], pinned["values"] if pinned else None, push_url=push_url,
                     export_config=export_config)
    S.gradients_section(gt, pred["soft"], params_json, present, push_url=push_url, export_config=export_config)
    push_url()


with top:
    with st.container(key="pg_first"):
        results(gt, pred_details, params_json, present)
push_url()
