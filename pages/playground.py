"""Playground: one ground truth, one prediction, every loss.

Controls in, cached core calls (segloss_app.compute), figures out. No loss math here.
Every setting lives in the URL under a short ``pg_*`` name (hand drawings and uploads excepted).
"""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from segloss_app import canvas as CV
from segloss_app import compute as C
from segloss_app import limits
from segloss_app import validate as V
from segloss_app import thin_view as TVW
from segloss_app.common import (UrlParam, bad_entry, bad_link_notice, export_buttons, is_present, loss_param_widgets,
                                open_page, page_header, param_url_spec, show_error, sync_url, url_state)
from segloss_app.plaintext import plain, plain_list
from segloss_app.lessons import lesson_box
from segloss_app.presets import PRESETS, params_from_config
from segloss_core import figures as F
from segloss_core.masks import REAL_MASKS, SHAPES, THIN_KINDS, mask_stats, save_mask_png
from segloss_core.perturb import FN_MODES, FP_MODES, UNITS
from segloss_core.registry import FAMILIES, KEYS, REGISTRY

# ---------------------------------------------------------------------------------------------
# Settings and their URL names
# ---------------------------------------------------------------------------------------------
GT_SOURCES = {"shape": "Shape generator", "thin": "Thin structure", "real": "Real mask", "upload": "Upload",
              "draw": "Draw"}
PRED_SOURCES = {"perturb": "Perturb the ground truth", "draw": "Draw", "upload": "Upload"}
SIZES = ("128", "256", "512")
DEFAULT_GRADS = ("bce", "dice", "focal", "boundary")
PARAM_KEYS = tuple(k for k in KEYS if REGISTRY[k].params)
FRAC_TICKS = sorted({round(m * 10.0 ** e, 6) for e in (-4, -3, -2, -1) for m in (1, 1.5, 2, 3, 5, 7)}
                    | {0.9})
FP_FRACTION_MAX = 5.0
SHIFT_MAX = 64
MAX_COMPUTE_SIDE = 512

LISTS = {"pg_fams": FAMILIES, "pg_losses": KEYS, "pg_gkeys": KEYS}

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
}
PARAM_SPEC: dict[str, UrlParam] = {}
for _k in PARAM_KEYS:
    PARAM_SPEC.update(param_url_spec(_k, "pg_"))
SPEC.update(PARAM_SPEC)
AUTO_PARAMS = {f"pg_{k}.{p.name}": (k, p) for k in PARAM_KEYS for p in REGISTRY[k].params if p.auto}
_SEED_FLAG = "_url_seeded_" + ",".join(sorted(SPEC))


def _frac_label(v: float) -> str:
    return f"{v:.4g} (1:{1 / v:,.0f})" if v < 0.5 else f"{v:.2g}"


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
            ss[name] = items[:8] if name == "pg_gkeys" else items
    if first:
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
                v = ",".join(v if name == "pg_gkeys" else [k for k in LISTS[name] if k in v])
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
        data = _upload_bytes(up, V.MAX_CONFIG_BYTES)
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
# Inputs
# ---------------------------------------------------------------------------------------------
def _pair(present: bool):
    """Two controls side by side, or stacked in presenter mode (large fonts need the width)."""
    return (st.container(), st.container()) if present else st.columns(2)


def _bump(counter: str) -> None:
    st.session_state[counter] = st.session_state.get(counter, 0) + 1


def _upload_ui(label: str, key: str, kind: str, size_hint: str) -> tuple[np.ndarray | None, str | None]:
    """An uploader; returns ``(array, name)``; messages go on the page. Grey-level images get a
    threshold slider defaulting to Otsu's threshold."""
    f = st.file_uploader(label, type=["png", "npy", "jpg", "jpeg", "bmp", "tif", "tiff"], key=key,
                         max_upload_size=CV.MAX_UPLOAD_BYTES // 2**20,
                         help=f"PNG/JPEG/BMP/TIFF or .npy, at most {CV.MAX_UPLOAD_SIDE} px per side and "
                              f"{CV.MAX_UPLOAD_BYTES // 2**20} MB. {size_hint}")
    if f is None:
        return None, None
    data = _upload_bytes(f, CV.MAX_UPLOAD_BYTES)
    if data is None:
        st.error(f"{plain(f.name)} is {f.size / 2**20:.1f} MiB; the limit is {CV.MAX_UPLOAD_BYTES // 2**20} MiB")
        return None, None
    digest = hashlib.sha1(data).hexdigest()
    thr_key = f"{key}_thr"
    res = CV.read_upload(data, f.name, kind=kind)
    if res.suggested_threshold is not None:
        st.warning(f"{plain(res.error, max_len=300)}. Choose the threshold with the slider below.")
        lo, hi = res.value_range or (0.0, 255.0)
        if st.session_state.get(f"_{thr_key}_for") != digest:
            st.session_state[f"_{thr_key}_for"] = digest
            st.session_state[thr_key] = float(res.suggested_threshold)
        thr = st.slider("Threshold (foreground = value > threshold)", float(lo), float(hi),
                        step=max((hi - lo) / 255, 1e-6), key=thr_key,
                        help="starts at the threshold Otsu's method suggests")
        res = CV.read_upload(data, f.name, kind=kind, threshold=thr)
    if res.error:
        st.error(plain(res.error, max_len=300))
        return None, None
    return res.array, f.name


def _upload_bytes(f, limit: int) -> bytes | None:
    """The bytes of an uploaded file, or None when it is over ``limit``: checked on the server from
    the stored size before the bytes are read or parsed (the browser-side cap can be bypassed;
    ``server.maxUploadSize`` in ``.streamlit/config.toml`` bounds what is stored at all)."""
    if f.size > limit:
        return None
    return f.getvalue()


def _source_radio(options: dict[str, str], key: str, default: str, present: bool) -> str:
    """A "Source" radio over ``options`` (value -> label); presenter mode hides "upload"."""
    sources = [s for s in options if not (present and s == "upload")]
    if st.session_state.get(key) not in sources:
        st.session_state[key] = default
    return st.radio("Source", sources, format_func=options.get, key=key, horizontal=True)


def ground_truth_ui(present: bool) -> tuple[np.ndarray | None, list[str], tuple[int, int] | None]:
    """The ground-truth controls; returns the mask (or None), notes, and the upload's original shape."""
    ss = st.session_state
    st.subheader("Ground truth")
    src = _source_radio(GT_SOURCES, "pg_src", "shape", present)
    size = int(ss.get("pg_size", "256"))
    notes: list[str] = []
    original = None
    if src in ("shape", "thin", "real", "draw"):
        st.selectbox("Image size", SIZES, key="pg_size", format_func=lambda s: f"{s} × {s} px",
                     help="side of the square image; larger is slower")
        size = int(ss["pg_size"])
    try:
        if src == "shape":
            c1, c2 = _pair(present)
            shape = c1.selectbox("Shape", SHAPES, key="pg_shape")
            n_obj = int(c2.number_input("Objects", 1, 16, step=1, key="pg_nobj"))
            by = st.radio("Size by", ("fraction", "radius"), key="pg_sizeby", horizontal=True,
                          format_func={"fraction": "foreground fraction", "radius": "radius (px)"}.get)
            if by == "fraction":
                opts = FRAC_TICKS if ss["pg_frac"] in FRAC_TICKS else sorted(set(FRAC_TICKS) | {ss["pg_frac"]})
                frac = st.select_slider("Foreground fraction (log scale)", opts, key="pg_frac",
                                        format_func=_frac_label,
                                        help="object pixels / image pixels, down to 1e-4 = 1:10 000")
                radius = None
            else:
                frac = None
                radius = st.slider("Radius (px)", 0.5, 250.0, step=0.5, key="pg_r")
            c1, c2 = _pair(present)
            cy = c1.slider("Centre y", 0.0, 1.0, step=0.01, key="pg_cy", disabled=n_obj > 1,
                           help="fraction of the height; several objects are laid out on a grid")
            cx = c2.slider("Centre x", 0.0, 1.0, step=0.01, key="pg_cx", disabled=n_obj > 1,
                           help="fraction of the width")
            gseed = ss["pg_gseed"]
            if not present:
                gseed = int(st.number_input("Shape seed", 0, 99999, step=1, key="pg_gseed",
                                            help="random polygons depend on it"))
            gt, msg = C.shape_mask(shape, size, frac, radius, n_obj, float(cy), float(cx), int(gseed))
            notes.append(msg)
        elif src == "thin":  # vessel tree, lines, rings, touching cells (segloss_core.masks.thin_mask)
            kind = st.selectbox("Structure", THIN_KINDS, key="pg_thin", format_func=lambda k: k.replace("_", " "),
                                help="thin structures; their errors (gaps, thinning, branches) are on the "
                                     "Thin structures page")
            gt = TVW.thin_gt(kind, size, int(ss.get("pg_gseed", 0)))
        elif src == "real":
            name = st.selectbox("Mask", REAL_MASKS, key="pg_real",
                                help="made from images bundled with scikit-image")
            gt = C.real_mask(name, size)
        elif src == "upload":
            gt, fname = _upload_ui("Ground-truth mask", "pg_gt_file", "mask",
                                   "A grey-level image gets a threshold slider.")
            if gt is None:
                st.info("Upload a mask (PNG or .npy): non-zero pixels are the object.")
                return None, notes, None
            original = gt.shape
            if max(gt.shape) > MAX_COMPUTE_SIDE:
                side = MAX_COMPUTE_SIDE
                if not st.checkbox(f"Downsample to at most {MAX_COMPUTE_SIDE} px per side (faster)", value=True,
                                   key="pg_gt_down"):
                    side = limits.MAX_FULL_SIDE
                    too_big = limits.full_side_notice(gt.shape, plain(fname))
                    if too_big:
                        st.warning(too_big)
                gt = CV.downsample_mask(gt, side)
                if gt.shape != original:
                    notes.append(f"{plain(fname)}: {original[0]}×{original[1]} downsampled to {gt.shape[0]}×{gt.shape[1]}")
        else:
            gt = _draw_gt_ui(size, present)
    except ValueError as exc:
        show_error(exc)
        return None, notes, None
    return gt, notes, original


def _clear_gt() -> None:
    st.session_state.pop("_pg_gt_initial", None)
    st.session_state.pop("_pg_gt_loaded_mask", None)
    _bump("_pg_gt_canvas_n")


def _draw_gt_ui(size: int, present: bool) -> np.ndarray:
    ss = st.session_state
    n = ss.get("_pg_gt_canvas_n", 0)
    c1, c2, c3 = st.columns([1.2, 1.2, 1])
    tool = c1.radio("Tool", ("Brush", "Eraser"), key="pg_gt_tool", horizontal=True)
    width = c2.slider("Brush size", 2, 60, 18, key="pg_gt_brush")
    c3.button("Clear", key="pg_gt_clear", on_click=_clear_gt, help="start a new, empty drawing")
    mask, fabric, sent = CV.draw_mask(f"pg_gt_canvas_{n}", (size, size), eraser=tool == "Eraser",
                                      stroke_width=width, initial=ss.get("_pg_gt_initial"))
    if not sent and ss.get("_pg_gt_loaded_mask") is not None:  # a loaded drawing, not yet touched
        mask = CV.resize_mask(ss["_pg_gt_loaded_mask"], (size, size))
    st.caption("Draw the object in black; the eraser paints white. The canvas toolbar has undo and redo.")
    if not mask.any():
        st.info("Nothing drawn yet: draw the object with the brush. Until then the ground truth is empty.")
    _drawing_downloads(mask, fabric, "pg_gt", "ground-truth")
    if not present:
        up = st.expander("Load a saved drawing").file_uploader(
            "Load a drawing (JSON)", type=["json"], key="pg_gt_drawing_file", max_upload_size=20,
            help="a drawing saved with 'Drawing as JSON' restores its strokes on the canvas")
        if up is not None:
            data = _upload_bytes(up, V.MAX_DRAWING_BYTES)
            digest = hashlib.sha1(data or b"").hexdigest()
            if data is None:
                st.error(f"{plain(up.name)} is {up.size / 2**20:.1f} MiB; a drawing file is at most "
                         f"{V.MAX_DRAWING_BYTES / 2**20:g} MiB")
            elif ss.get("_pg_gt_drawing_for") != digest:
                try:
                    drawing = V.read_drawing(data)
                except ValueError as exc:
                    show_error(exc)
                else:
                    ss["_pg_gt_drawing_for"] = digest
                    ss["_pg_gt_initial"] = drawing.canvas or None
                    ss["_pg_gt_loaded_mask"] = drawing.mask
                    ss["_pg_gt_drawing_notes"] = drawing.notes
                    _bump("_pg_gt_canvas_n")
                    st.rerun()
            if ss.get("_pg_gt_drawing_for") == digest and ss.get("_pg_gt_drawing_notes"):
                st.info("Loaded the drawing; " + "; ".join(ss["_pg_gt_drawing_notes"]) + ".")
    return mask


def _drawing_downloads(mask: np.ndarray, fabric: dict | None, key: str, what: str) -> None:
    if not mask.any():
        return
    c1, c2 = st.columns(2)
    c1.download_button("Drawing as PNG", save_mask_png(mask), f"{what}.png", "image/png", key=f"{key}_dl_png",
                       help="a mask file: upload it again as a ground truth or prediction")
    c2.download_button("Drawing as JSON", CV.drawing_json(mask, fabric), f"{what}.json", "application/json",
                       key=f"{key}_dl_json", help="the mask and the strokes; 'Load a drawing' restores it")
    st.caption("Hand drawings do not fit in a link: save them with these buttons.")


def _units_changed() -> None:
    """Keep the amount of error when switching between pixels and fractions of the object."""
    ss = st.session_state
    n = int(ss.get("_pg_npix", 0))
    to_frac = ss.get("pg_units") == "fraction"
    for k, hi in (("pg_fn", 1.0), ("pg_fp", FP_FRACTION_MAX)):
        v = float(ss.get(k, 0.0))
        if n <= 0:
            ss[k] = 0.0
        elif to_frac:
            ss[k] = min(hi, round(v / n, 3))
        else:
            ss[k] = float(round(v * n))


def prediction_ui(gt: np.ndarray, present: bool, original: tuple[int, int] | None) -> dict[str, Any] | None:
    """The prediction controls; returns ``{"hard", "soft", "counts", "messages"}`` or None."""
    ss = st.session_state
    st.subheader("Prediction")
    src = _source_radio(PRED_SOURCES, "pg_pred", "perturb", present)
    npix = int(gt.sum())
    ss["_pg_npix"] = npix
    hard = st.toggle("Hard prediction (c = 1)", key="pg_hard",
                     help="probabilities exactly 0 and 1; the losses clamp their logs at 1e-7, so they stay finite. "
                          "Gradients w.r.t. the logits then pass through a saturated sigmoid (p(1 − p) ≈ 1e-7): "
                          "the overlap losses' nearly vanish")
    conf = 1.0 if hard else float(st.slider("Confidence c", 0.501, 0.999, step=0.001, key="pg_conf", format="%.3f",
                                            help="probability c inside the predicted mask and 1 − c outside"))
    blur = float(ss.get("pg_blur", 0.0))
    if not present:
        blur = float(st.slider("Blur σ (px)", 0.0, 5.0, step=0.1, key="pg_blur", help="softens the edges"))
    try:
        if src == "perturb":
            return _perturb_ui(gt, npix, conf, blur, present)
        if src == "draw":
            n = ss.get("_pg_pred_canvas_n", 0)
            c1, c2, c3 = st.columns([1.2, 1.2, 1])
            tool = c1.radio("Tool", ("Brush", "Eraser"), key="pg_pred_tool", horizontal=True)
            width = c2.slider("Brush size", 2, 60, 18, key="pg_pred_brush")
            c3.button("Clear", key="pg_pred_clear", on_click=_bump, args=("_pg_pred_canvas_n",))
            mask, fabric, _ = CV.draw_mask(f"pg_pred_canvas_{n}", gt.shape, eraser=tool == "Eraser",
                                           stroke_width=width, background=gt)
            st.caption("Draw the prediction over the ground truth (light blue). The toolbar has undo and redo.")
            if not mask.any():
                st.info("Nothing drawn yet: the prediction is empty (every pixel predicted background).")
            _drawing_downloads(mask, fabric, "pg_pred", "prediction")
            soft = C.soften_mask(mask, conf, blur)
            return {"hard": mask, "soft": soft, "counts": None, "messages": []}
        arr, fname = _upload_ui("Prediction (mask or .npy probabilities)", "pg_pred_file", "probabilities",
                                "A .npy file may hold probabilities in [0, 1].")
        if arr is None:
            st.info("Upload a prediction of the same size as the ground truth.")
            return None
        if arr.shape != gt.shape and original is not None and arr.shape == original:
            arr = CV.downsample_probs(arr, max(gt.shape))  # the ground truth's own downsampling
        if arr.shape != gt.shape:
            st.error(f"The prediction {plain(fname)} is {arr.shape[0]}×{arr.shape[1]} px but the ground truth is "
                     f"{gt.shape[0]}×{gt.shape[1]} px: they must have the same size.")
            return None
        if np.isin(arr, (0.0, 1.0)).all():
            soft = C.soften_mask(arr > 0.5, conf, blur)
            msg = "hard mask softened with the confidence c (and blur)"
        else:
            soft = np.asarray(arr, np.float32)
            msg = "probabilities used as given (confidence and blur do not apply)"
        return {"hard": soft > 0.5, "soft": soft, "counts": None, "messages": [f"{plain(fname)}: {msg}"]}
    except ValueError as exc:
        show_error(exc)
        return None


def _perturb_ui(gt: np.ndarray, npix: int, conf: float, blur: float, present: bool) -> dict[str, Any] | None:
    ss = st.session_state
    nbg = gt.size - npix
    units = ss.get("pg_units", "fraction")
    if not present:
        units = st.radio("Errors in", UNITS, key="pg_units", horizontal=True, on_change=_units_changed,
                         format_func={"pixels": "pixels", "fraction": "fraction of the object"}.get)
    if units == "fraction":
        fn_max, fp_max, step, fmt = 1.0, FP_FRACTION_MAX, 0.01, "%.2f"
    else:
        fn_max = float(max(1, npix))
        fp_max = float(max(100, min(nbg, max(2000, 3 * npix))))
        step, fmt = 1.0, "%d"
    for k, hi in (("pg_fn", fn_max), ("pg_fp", fp_max)):
        ss[k] = min(max(float(ss.get(k, 0.0)), 0.0), hi)
    c1, c2 = _pair(present)
    what = "of the object" if units == "fraction" else "pixels"
    fn = c1.slider(f"False negatives ({what})", 0.0, fn_max, step=step, format=fmt, key="pg_fn",
                   help="object pixels removed")
    fp = c2.slider(f"False positives ({what})", 0.0, fp_max, step=step, format=fmt, key="pg_fp",
                   help="background pixels added" + (" (a multiple of the object's size)" if units == "fraction" else ""))
    fn_mode = c1.selectbox("FN pattern", FN_MODES, key="pg_fnmode",
                           help="boundary: peel from the edge; holes: round holes; noise: random pixels")
    fp_mode = c2.selectbox("FP pattern", FP_MODES, key="pg_fpmode",
                           help="boundary: grow outward; blobs: separate round blobs; noise: random pixels")
    dy, dx, seed = int(ss.get("pg_dy", 0)), int(ss.get("pg_dx", 0)), int(ss.get("pg_seed", 0))
    if not present:
        c1, c2, c3 = st.columns(3)
        dy = c1.slider("Shift y (px)", -SHIFT_MAX, SHIFT_MAX, step=1, key="pg_dy")
        dx = c2.slider("Shift x (px)", -SHIFT_MAX, SHIFT_MAX, step=1, key="pg_dx")
        seed = int(c3.number_input("Seed", 0, 99999, step=1, key="pg_seed", help="pattern of holes, blobs and noise"))
    if units == "fraction" and npix == 0:
        st.info("The ground truth is empty, so fractions of the object are 0 pixels: switch the units to "
                "pixels to add false positives.")
        units, fn, fp = "pixels", 0.0, 0.0
    if units == "pixels":
        fn, fp = float(round(fn)), float(round(fp))
    return C.prediction(gt, float(fn), float(fp), fn_mode, fp_mode, units, int(dy), int(dx), int(seed), conf, blur)


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------
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


def value_chart(df: pd.DataFrame, log: bool):
    """The bar chart of values grouped by family; on a log axis negative values show by size."""
    values = dict(zip(df["loss"], df["value"]))
    if not log:
        return F.value_bars(values)
    fig = F.value_bars({k: max(abs(v), 1e-12) for k, v in values.items()})
    by_name = {REGISTRY[k].name: v for k, v in values.items()}
    for tr in fig.data:
        names = list(tr.y)
        tr.customdata = [by_name[n] for n in names]
        tr.y = [f"{n} (−)" if by_name[n] < 0 else n for n in names]
    fig.update_traces(hovertemplate="%{y}: %{customdata:.4g}<extra></extra>")
    fig.update_xaxes(type="log", title_text="|loss value| (log scale; (−) marks a negative value)")
    return fig


@st.fragment
def values_section(table: pd.DataFrame) -> None:
    """Loss values for the selected families and losses: table and bar chart (reruns alone)."""
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
    fig = value_chart(df, log)
    if is_present():
        fig.update_layout(font_size=16, height=max(400, 34 * len(df) + 100))
    if is_present():  # big fonts: the chart gets the full width, the table folds away
        left, right = st.container(), st.expander("Values as a table")
    else:
        left, right = st.columns([1, 1])
    with left:
        st.plotly_chart(fig, width="stretch", key="pg_bars")
    with right:
        st.dataframe(df[["name", "value", "grad_l2"]], hide_index=True, width="stretch",  # family = bar colour
                     height=min(35 * len(df) + 38, 760),
                     column_config={"name": st.column_config.TextColumn("loss", width="medium"),
                                    "value": st.column_config.NumberColumn(format="%.4g"),
                                    "grad_l2": st.column_config.NumberColumn(
                                        "‖∂L/∂z‖₂", format="%.3g", help="L2 norm of the gradient over the image")})
    export_buttons(fig, df, "playground-losses", export_config())


@st.fragment
def gradients_section(gt: np.ndarray, soft: np.ndarray, params_json: str, present: bool) -> None:
    """Per-pixel gradient maps of the chosen losses (reruns alone)."""
    st.subheader("Per-pixel gradients")
    ss = st.session_state
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
    st.plotly_chart(fig, width="stretch", key="pg_gradmaps")
    summary = rep["table"][["loss", "name", "grad_l2", "grad_tp", "grad_fp", "grad_fn", "grad_tn"]]
    st.caption(f"Mean |{sym}| per region of the thresholded prediction and the L2 norm over the image.")
    labels = {"grad_l2": "‖·‖₂ over the image", "grad_tp": "mean |·| on TP", "grad_fp": "mean |·| on FP",
              "grad_fn": "mean |·| on FN", "grad_tn": "mean |·| on TN"}
    st.dataframe(summary, hide_index=True, width="stretch",
                 column_config={"loss": "key", "name": "loss",
                                **{c: st.column_config.NumberColumn(labels[c], format="%.3g") for c in labels}})
    export_buttons(fig, summary, "playground-gradients", export_config())


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------
present = page_header(
    "Playground",
    "Build a ground truth and a prediction, then read every loss, its gradient and the hard metrics "
    "for that pair. Everything you set is kept in the page's link.",
)
restore_state()
sidebar(present)
lesson_box("playground")

if present:  # larger fonts: the controls stacked on the left, the overlay beside them
    col_gt, col_fig = st.columns([1, 1.1], gap="large")
    col_pred = col_gt
else:
    col_gt, col_pred, col_fig = st.columns([1, 1, 1.15], gap="medium")
with col_gt:
    gt, gt_notes, original = ground_truth_ui(present)
    if gt is not None:
        st.session_state["_pg_gt"] = gt  # the Tune page can tune on this ground truth ("given" object)
        s = mask_stats(gt)
        st.caption(f"{gt.shape[0]}×{gt.shape[1]} px · object {s['pixels']:,} px "
                   f"(fraction {s['fraction']:.3g}) · {s['n_objects']} connected object(s)")
        for n in gt_notes:
            st.caption(n)
if gt is None:
    push_url()
    st.stop()

with col_pred:
    pred = prediction_ui(gt, present, original)
if pred is None:
    push_url()
    st.stop()
st.session_state["_pg_pred"] = pred["hard"]  # the Tune page can start its error ladder from this pair

with col_fig:
    st.subheader("Overlay")
    fig_overlay = F.overlay(gt, pred["hard"])
    if present:
        fig_overlay.update_layout(height=560, font_size=17)
    st.plotly_chart(fig_overlay, width="stretch", key="pg_overlay")
    if pred["counts"] is not None:
        c = pred["counts"]
        st.caption(f"TP {c['tp']:,} · FP {c['fp']:,} · FN {c['fn']:,} · TN {c['tn']:,} pixels")
    for m in pred["messages"]:
        st.info(m)
if not gt.any():
    st.info("The ground truth is empty. The losses are still defined and computed below "
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

try:
    with st.spinner(f"Computing {len(KEYS)} losses and their gradients…"):
        report = C.pair_values(gt, pred["soft"], tuple(KEYS), params_json)
except ValueError as exc:
    show_error(exc)
    push_url()
    st.stop()

metrics_row(report["metrics"], present)
TVW.topology_row(gt, pred["soft"] > 0.5)  # components, holes, clDice, skeleton recall/precision
values_section(report["table"])
gradients_section(gt, pred["soft"], params_json, present)
push_url()
