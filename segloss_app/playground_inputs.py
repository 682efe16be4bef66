"""The Playground's inputs: the ground-truth and prediction pickers (sources, generators, uploads,
drawings, the perturbation controls) and the helpers they share.

``ground_truth_ui`` draws its controls where it is called; ``prediction_ui`` splits its controls in
two: the ones that change the main figure (FN and FP amounts, confidence, hard toggle) go into
``controls`` (the first screen, beside the figure) and the rest (source, patterns, units, shift,
seed, blur, canvas, upload) into ``details`` (below). Every widget keeps its ``pg_*`` key, so the
URL names and the tests that drive them are unchanged. Controls in, cached core calls
(:mod:`segloss_app.compute`) out; no loss math here.
"""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import streamlit as st

from segloss_app import canvas as CV
from segloss_app import compute as C
from segloss_app import limits
from segloss_app import thin_view as TVW
from segloss_app import validate as V
from segloss_app.common import show_error
from segloss_app.plaintext import plain
from segloss_core.mask_files import save_mask_png
from segloss_core.masks import REAL_MASKS, SHAPES
from segloss_core.thin_masks import THIN_KINDS
from segloss_core.perturb import FN_MODES, FP_MODES, UNITS

GT_SOURCES = {"shape": "Shape generator", "thin": "Thin structure", "real": "Real mask", "upload": "Upload",
              "draw": "Draw"}
PRED_SOURCES = {"perturb": "Perturb the ground truth", "draw": "Draw", "upload": "Upload"}
SIZES = ("128", "256", "512")
FRAC_TICKS = sorted({round(m * 10.0 ** e, 6) for e in (-4, -3, -2, -1) for m in (1, 1.5, 2, 3, 5, 7)}
                    | {0.9})
FP_FRACTION_MAX = 5.0
SHIFT_MAX = 64
MAX_COMPUTE_SIDE = 512


def _frac_label(v: float) -> str:
    return f"{v:.4g} (1:{1 / v:,.0f})" if v < 0.5 else f"{v:.2g}"


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
    data = upload_bytes(f, CV.MAX_UPLOAD_BYTES)
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


def upload_bytes(f, limit: int) -> bytes | None:
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
        elif src == "thin":  # vessel tree, lines, rings, touching cells (segloss_core.thin_masks.thin_mask)
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
            data = upload_bytes(up, V.MAX_DRAWING_BYTES)
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




def error_pixels(fn: float, fp: float, units: str, npix: int) -> tuple[int, int]:
    """The FN and FP amounts in pixels, rounded as :func:`segloss_core.perturb.perturb` rounds them."""
    if units == "fraction":
        return int(round(float(fn) * npix)), int(round(float(fp) * npix))
    return int(round(float(fn))), int(round(float(fp)))


def prediction_details_ui(gt: np.ndarray, present: bool, original: tuple[int, int] | None) -> dict[str, Any] | None:
    """The prediction's settings that are not on the first screen (source, blur, units, patterns,
    shift, seed; the canvas or the uploader), drawn where this is called. Returns what
    :func:`prediction_controls_ui` needs (``{"source", "blur", ...}``) or None when there is no
    prediction yet (the reason is on the page)."""
    ss = st.session_state
    npix = int(gt.sum())
    ss["_pg_npix"] = npix
    st.subheader("Prediction")
    src = _source_radio(PRED_SOURCES, "pg_pred", "perturb", present)
    blur = float(ss.get("pg_blur", 0.0))
    if not present:
        blur = float(st.slider("Blur σ (px)", 0.0, 5.0, step=0.1, key="pg_blur", help="softens the edges"))
    out: dict[str, Any] = {"source": src, "blur": blur, "npix": npix}
    try:
        if src == "perturb":
            units = ss.get("pg_units", "fraction")
            if not present:
                units = st.radio("Errors in", UNITS, key="pg_units", horizontal=True, on_change=_units_changed,
                                 format_func={"pixels": "pixels", "fraction": "fraction of the object"}.get)
            c1, c2 = st.columns(2)
            fn_mode = c1.selectbox("FN pattern", FN_MODES, key="pg_fnmode",
                                   help="boundary: peel from the edge; holes: round holes; noise: random pixels")
            fp_mode = c2.selectbox("FP pattern", FP_MODES, key="pg_fpmode",
                                   help="boundary: grow outward; blobs: separate round blobs; noise: random pixels")
            dy, dx, seed = int(ss.get("pg_dy", 0)), int(ss.get("pg_dx", 0)), int(ss.get("pg_seed", 0))
            if not present:
                c1, c2, c3 = st.columns(3)
                dy = c1.slider("Shift y (px)", -SHIFT_MAX, SHIFT_MAX, step=1, key="pg_dy")
                dx = c2.slider("Shift x (px)", -SHIFT_MAX, SHIFT_MAX, step=1, key="pg_dx")
                seed = int(c3.number_input("Seed", 0, 99999, step=1, key="pg_seed",
                                           help="pattern of holes, blobs and noise"))
            if units == "fraction" and npix == 0:
                st.info("The ground truth is empty, so fractions of the object are 0 pixels: switch the units to "
                        "pixels to add false positives.")
            return {**out, "units": units, "fn_mode": fn_mode, "fp_mode": fp_mode, "dy": int(dy), "dx": int(dx),
                    "seed": int(seed)}
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
            return {**out, "mask": mask, "probabilities": None, "messages": []}
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
            return {**out, "mask": arr > 0.5, "probabilities": None,
                    "messages": [f"{plain(fname)}: hard mask softened with the confidence c (and blur)"]}
        return {**out, "mask": None, "probabilities": np.asarray(arr, np.float32),
                "messages": [f"{plain(fname)}: probabilities used as given (confidence and blur do not apply)"]}
    except ValueError as exc:
        show_error(exc)
        return None


def prediction_controls_ui(gt: np.ndarray, details: dict[str, Any]) -> dict[str, Any] | None:
    """The first screen's controls (FN and FP amounts for a perturbed prediction, the confidence and
    the hard toggle), drawn where this is called; returns ``{"hard", "soft", "counts", "messages",
    "source"}`` (with the perturbation's settings under ``"perturb"``) or None."""
    ss = st.session_state
    src, blur, npix = details["source"], details["blur"], details["npix"]
    try:
        if src == "perturb":
            return _perturb_controls(gt, npix, blur, details)
        conf = _confidence_ui()
        st.caption(f"The prediction is {'drawn' if src == 'draw' else 'uploaded'} (below): the FN / FP sliders and "
                   "▶ Play need 'Perturb the ground truth'.")
        if details["probabilities"] is not None:
            soft = details["probabilities"]
            return {"hard": soft > 0.5, "soft": soft, "counts": None, "messages": details["messages"], "source": src}
        soft = C.soften_mask(details["mask"], conf, blur)
        return {"hard": details["mask"], "soft": soft, "counts": None, "messages": details["messages"], "source": src}
    except ValueError as exc:
        show_error(exc)
        return None
    finally:
        ss["_pg_npix"] = npix


def _confidence_ui() -> float:
    """The confidence slider and the hard toggle; returns c (1 when hard)."""
    hard = bool(st.session_state.get("pg_hard", False))
    conf = st.slider("Confidence c", 0.501, 0.999, step=0.001, key="pg_conf", format="%.3f", disabled=hard,
                     help="probability c inside the predicted mask and 1 − c outside")
    hard = st.toggle("Hard prediction (c = 1)", key="pg_hard",
                     help="probabilities exactly 0 and 1; the losses clamp their logs at 1e-7, so they stay "
                          "finite. Gradients w.r.t. the logits then pass through a saturated sigmoid "
                          "(p(1 − p) ≈ 1e-7): the overlap losses' nearly vanish")
    return 1.0 if hard else float(conf)


def _perturb_controls(gt: np.ndarray, npix: int, blur: float, d: dict[str, Any]) -> dict[str, Any]:
    ss = st.session_state
    nbg = gt.size - npix
    units = d["units"]
    if units == "fraction":
        fn_max, fp_max, step, fmt = 1.0, FP_FRACTION_MAX, 0.01, "%.2f"
    else:
        fn_max = float(max(1, npix))
        fp_max = float(max(100, min(nbg, max(2000, 3 * npix))))
        step, fmt = 1.0, "%d"
    for k, hi in (("pg_fn", fn_max), ("pg_fp", fp_max)):
        ss[k] = min(max(float(ss.get(k, 0.0)), 0.0), hi)
    what = "of the object" if units == "fraction" else "pixels"
    fn = st.slider(f"False negatives ({what})", 0.0, fn_max, step=step, format=fmt, key="pg_fn",
                   help="object pixels removed")
    fp = st.slider(f"False positives ({what})", 0.0, fp_max, step=step, format=fmt, key="pg_fp",
                   help="background pixels added" + (" (a multiple of the object's size)" if units == "fraction"
                                                     else ""))
    conf = _confidence_ui()
    if units == "fraction" and npix == 0:
        units, fn, fp = "pixels", 0.0, 0.0
    if units == "pixels":
        fn, fp = float(round(fn)), float(round(fp))
    pred = C.prediction(gt, float(fn), float(fp), d["fn_mode"], d["fp_mode"], units, d["dy"], d["dx"], d["seed"],
                        conf, blur)
    fn_px, fp_px = error_pixels(fn, fp, units, npix)
    return {**pred, "source": "perturb",
            "perturb": {"fn_px": fn_px, "fp_px": fp_px, "fn_mode": d["fn_mode"], "fp_mode": d["fp_mode"],
                        "dy": d["dy"], "dx": d["dx"], "seed": d["seed"], "confidence": conf, "blur": blur}}
