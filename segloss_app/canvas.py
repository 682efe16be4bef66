"""Hand-made inputs for the pages: drawing canvases and uploaded files.

The conversions (:func:`canvas_to_mask`, :func:`read_upload`, :func:`drawing_json`) are plain
functions of plain data, tested without a running app. :func:`draw_mask` is the only function
that touches ``streamlit_drawable_canvas``; it imports it when called (importing the component
outside a running Streamlit app raises, see STACK.md).

A canvas result reaches the page through ``st.session_state[<canvas key>]``: in a browser the
component writes it there; a test injects ``{"drawing": {"raw": fabric_json, "data":
"data:image/png;base64,..."}}`` under the same key.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from segloss_app import validate as V
from segloss_core import mask_files as MF

BRUSH = "#000000"   # foreground strokes
ERASER = "#FFFFFF"  # the eraser paints the background colour
CANVAS_PX = 272  # fits a third of a 1400-px-wide page (the playground has three columns)
MAX_UPLOAD_SIDE = 2048
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Largest canvas image accepted from the browser: the canvas at a device pixel ratio up to 4.
MAX_CANVAS_SIDE = 4 * CANVAS_PX
#: Longest canvas data URL accepted (an incompressible RGBA PNG of that size is ~6.3 MB in base64).
MAX_CANVAS_URL_CHARS = 8 * 1024 * 1024


# --------------------------------------------------------------------------------------------
# Canvas -> mask
# --------------------------------------------------------------------------------------------
def rgba_from_data_url(url: str | None, *, max_side: int = MAX_CANVAS_SIDE,
                       max_chars: int = MAX_CANVAS_URL_CHARS) -> np.ndarray | None:
    """Decode the canvas's ``data:image/png;base64,...`` into an RGBA array (``None`` if absent).

    The message comes from the browser, so nothing is trusted: the URL's length is checked before
    the base64 is decoded, and the PNG's declared format and width x height (read from its header
    by Pillow, before any pixel is decompressed) before the image is decoded. A canvas sends
    at most ``CANVAS_PX`` times the screen's pixel ratio per side; anything above ``max_side``
    raises ``ValueError`` with one line (a 0.4 MiB PNG can declare 9000 x 9000 pixels, 324 MB
    decoded).
    """
    if not url or not isinstance(url, str) or ";base64," not in url:
        return None
    if len(url) > max_chars:
        raise ValueError(f"the drawing sent by the canvas is {len(url) / 2**20:.1f} MB; "
                         f"the limit is {max_chars / 2**20:.0f} MB")
    _, encoded = url.split(";base64,", 1)
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the drawing sent by the canvas is not valid base64") from None
    try:
        im = Image.open(io.BytesIO(raw), formats=["PNG"])
    except Image.DecompressionBombError:
        raise ValueError(f"the drawing sent by the canvas declares too many pixels; the limit is {max_side} per side") from None
    except Exception:
        raise ValueError("the drawing sent by the canvas is not a PNG image") from None
    with im:
        w, h = im.size
        if not (1 <= w <= max_side and 1 <= h <= max_side):
            raise ValueError(f"the drawing sent by the canvas declares {w}x{h} pixels; "
                             f"the limit is {max_side} per side")
        try:
            return np.asarray(im.convert("RGBA"))
        except Exception as exc:
            raise ValueError(f"the drawing sent by the canvas is truncated or corrupt ({type(exc).__name__})") from None


def canvas_to_mask(rgba: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """Foreground = opaque dark pixels (brush strokes); eraser strokes are white, the background
    transparent or white. The drawing is resampled (box filter, then threshold 0.5) to ``shape``.

    Returns a ``bool`` array of ``shape``; all ``False`` when nothing was drawn.
    """
    H, W = int(shape[0]), int(shape[1])
    if rgba is None:
        return np.zeros((H, W), dtype=bool)
    a = np.asarray(rgba)
    if a.ndim == 2:
        a = np.stack([a, a, a, np.full_like(a, 255)], axis=-1)
    if a.ndim != 3 or a.shape[-1] not in (3, 4):
        raise ValueError(f"canvas image must be (H, W, 3|4); got shape {a.shape}")
    rgb = a[..., :3].astype(np.float32)
    alpha = a[..., 3].astype(np.float32) / 255.0 if a.shape[-1] == 4 else np.ones(a.shape[:2], np.float32)
    gray = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    ink = alpha * (1.0 - gray / 255.0)  # 1 for an opaque black stroke, 0 for white or transparent
    if ink.shape != (H, W):
        ink = np.asarray(Image.fromarray(ink).resize((W, H), Image.Resampling.BOX))
    return ink > 0.5


def canvas_state_mask(state: Any, shape: tuple[int, int]) -> tuple[np.ndarray, dict | None]:
    """Mask and Fabric JSON from a canvas's session-state value (or a ``CanvasResult``)."""
    raw, url = None, None
    if state is None:
        pass
    elif isinstance(state, dict) or hasattr(state, "get"):
        drawing = state.get("drawing") or {}
        raw, url = drawing.get("raw"), drawing.get("data")
    else:  # CanvasResult
        raw = getattr(state, "json_data", None)
        url = getattr(state, "_image_data_url", None)
    return canvas_to_mask(rgba_from_data_url(url), shape), raw


def n_objects_drawn(fabric: dict | None) -> int:
    return len((fabric or {}).get("objects", []) or [])


def drawing_json(mask: np.ndarray, fabric: dict | None) -> bytes:
    """A drawing as JSON: the mask (row-major run lengths, starting with a background run) and
    the canvas's own Fabric JSON (reduced to brush strokes by
    :func:`segloss_app.validate.clean_fabric`), which :func:`mask_from_drawing_json` reads back."""
    m = np.asarray(mask, bool)
    flat = m.ravel().astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        runs = [0] + runs
    doc = {"format": "segloss-lab-drawing", "version": 1, "shape": list(m.shape),
           "runs": runs, "note": "runs alternate background/object pixel counts, row-major, starting with background",
           "canvas": V.clean_fabric(fabric)[0]}
    return json.dumps(doc).encode()


def mask_from_drawing_json(data: bytes) -> tuple[np.ndarray, dict | None]:
    """Inverse of :func:`drawing_json` (:func:`segloss_app.validate.read_drawing`, which also
    says what it dropped); ``ValueError`` with one clear line for a bad file."""
    d = V.read_drawing(data)
    return d.mask, d.canvas


# --------------------------------------------------------------------------------------------
# Uploads
# --------------------------------------------------------------------------------------------
@dataclass
class Upload:
    """What an uploaded file gave: an array, or a message (and, for a grey-level image, the
    threshold Otsu suggests)."""

    array: np.ndarray | None = None
    error: str | None = None
    suggested_threshold: float | None = None
    n_values: int | None = None
    value_range: tuple[float, float] | None = None


def read_upload(data: bytes, name: str, *, kind: str = "mask", threshold: float | None = None,
                max_side: int = MAX_UPLOAD_SIDE, max_bytes: int = MAX_UPLOAD_BYTES) -> Upload:
    """Read an uploaded PNG/NPY (any format :func:`segloss_core.mask_files.load_mask` reads).

    ``kind="mask"``: a binary mask; a grey-level image without ``threshold`` gives an
    :class:`Upload` with ``error`` and ``suggested_threshold`` (Otsu's). ``kind="probabilities"``:
    a ``.npy`` probability map or an image (a hard mask). Oversize files (more than ``max_side``
    pixels per side or ``max_bytes``) and unreadable files give ``error``; nothing raises.
    """
    if len(data) > max_bytes:
        return Upload(error=f"{name} is {len(data) / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB")
    try:
        if kind == "probabilities":
            arr = MF.load_probabilities(data, name_hint=name, threshold=threshold, max_side=max_side, max_bytes=max_bytes)
        else:
            arr = MF.load_mask(data, name_hint=name, threshold=threshold, max_side=max_side, max_bytes=max_bytes)
    except MF.NonBinaryMaskError as exc:
        rng = None
        try:
            raw = _raw_values(data, name)
            rng = (float(raw.min()), float(raw.max()))
        except Exception:
            pass
        return Upload(error=str(exc), suggested_threshold=exc.threshold, n_values=exc.n_values, value_range=rng)
    except ValueError as exc:
        return Upload(error=str(exc))
    return Upload(array=arr)


def _raw_values(data: bytes, name: str) -> np.ndarray:
    """The decoded values of a grey-level file (to bound a threshold slider)."""
    if data.startswith(b"\x93NUMPY"):
        return np.load(io.BytesIO(data), allow_pickle=False)
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im if im.mode in ("L", "I", "I;16", "F") else im.convert("L"))


def _box_shrink(a: np.ndarray, max_side: int) -> np.ndarray:
    """Float image shrunk (box filter) so that its longer side is at most ``max_side``."""
    H, W = a.shape
    s = max(H, W)
    a = np.asarray(a, np.float32)
    if s <= max_side:
        return a
    h, w = max(1, round(H * max_side / s)), max(1, round(W * max_side / s))
    return np.asarray(Image.fromarray(a).resize((w, h), Image.Resampling.BOX))


def downsample_mask(mask: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink a mask so that its longer side is at most ``max_side`` (box filter, threshold 0.5)."""
    return mask if max(mask.shape) <= max_side else _box_shrink(mask, max_side) > 0.5


def downsample_probs(p: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink a probability map so that its longer side is at most ``max_side`` (box filter)."""
    return p if max(p.shape) <= max_side else np.clip(_box_shrink(p, max_side), 0, 1)


# --------------------------------------------------------------------------------------------
# The canvas widget
# --------------------------------------------------------------------------------------------
def mask_background(mask: np.ndarray, size: int = CANVAS_PX) -> Image.Image:
    """A light picture of ``mask`` to draw over (object light blue, background white)."""
    m = np.asarray(mask, bool)
    rgb = np.full(m.shape + (3,), 255, np.uint8)
    rgb[m] = (190, 220, 245)
    return Image.fromarray(rgb).resize((size, size), Image.Resampling.NEAREST)


def resize_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resample a mask to ``shape`` (box filter when shrinking, nearest when growing; threshold 0.5)."""
    m = np.asarray(mask, bool)
    H, W = int(shape[0]), int(shape[1])
    if m.shape == (H, W):
        return m
    img = Image.fromarray(m.astype(np.float32))
    shrink = H * W < m.size
    return np.asarray(img.resize((W, H), Image.Resampling.BOX if shrink else Image.Resampling.NEAREST)) > 0.5


def draw_mask(key: str, shape: tuple[int, int], *, eraser: bool = False, stroke_width: int = 18,
              background: np.ndarray | None = None, initial: dict | None = None,
              size: int = CANVAS_PX) -> tuple[np.ndarray, dict | None, bool]:
    """Show a drawing canvas under ``key``; return ``(mask at shape, Fabric JSON, has_image)``.

    Brush strokes are black, the eraser paints white (the background colour); the canvas
    toolbar has undo/redo. ``background`` (a mask) is shown faintly underneath. ``has_image`` is
    False until the canvas has sent a picture (an ``initial`` drawing is shown but not sent
    before the first stroke).
    """
    from streamlit_drawable_canvas import st_canvas  # only inside a running app (STACK.md)

    kwargs: dict[str, Any] = {}
    if background is not None:
        kwargs["background_image"] = mask_background(background, size)
    else:
        kwargs["background_color"] = "#FFFFFF"
    res = st_canvas(stroke_width=int(stroke_width), stroke_color=ERASER if eraser else BRUSH,
                    fill_color="rgba(0,0,0,0)", drawing_mode="freedraw", update_streamlit=True,
                    height=size, width=size, return_image_data=True, initial_drawing=initial, key=key, **kwargs)
    mask, fabric = canvas_state_mask(res, shape)
    return mask, fabric, getattr(res, "_image_data_url", None) is not None
