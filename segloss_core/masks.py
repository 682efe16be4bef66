"""Ground-truth masks: synthetic shapes, real masks shipped with scikit-image, files.

Every mask is a 2-D ``numpy`` array of ``bool`` with shape ``(H, W)``; ``True`` is the object.

* :func:`make_shape` / :func:`make_shape_info` rasterize a disk, ellipse, rectangle, star or
  polygon (one object or several on a grid) sized by radius, by pixel count or by foreground
  fraction. Sizing by area searches the scale so that the *rasterized* pixel count is as close as
  possible to the request; :class:`MaskInfo` reports what was actually produced.
* :func:`real_mask` gives masks made from images bundled with scikit-image (no download).
* :func:`load_mask`, :func:`load_probabilities` and :func:`save_mask_png` read and write files
  (PNG/JPEG/BMP/TIFF through Pillow, ``.npy`` through ``numpy.load(allow_pickle=False)``). Every
  failure is a :class:`MaskLoadError` (a ``ValueError``) with a one-line message.
* :func:`mask_stats` summarizes a mask.

Pixel coordinates: pixel ``(i, j)`` has its centre at ``(i, j)``; the image spans
``[-0.5, H - 0.5] x [-0.5, W - 0.5]``. A centre given as fractions ``(fy, fx)`` maps to
``(fy * H - 0.5, fx * W - 0.5)``, so ``(0.5, 0.5)`` is the geometric centre of the image.
"""
from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from PIL import Image, UnidentifiedImageError
from scipy import ndimage as ndi
from skimage import data as skdata
from skimage import draw
from skimage.filters import threshold_otsu
from skimage.morphology import remove_small_objects
from skimage.segmentation import clear_border
from skimage.transform import resize

__all__ = [
    "MAX_FRACTION",
    "MAX_SIDE",
    "MIN_FRACTION",
    "MIN_SIDE",
    "REAL_MASKS",
    "SHAPES",
    "MaskInfo",
    "MaskLoadError",
    "NonBinaryMaskError",
    "load_mask",
    "load_probabilities",
    "make_shape",
    "npy_header",
    "make_shape_info",
    "mask_stats",
    "real_mask",
    "save_mask_png",
]

SHAPES = ("disk", "ellipse", "rectangle", "star", "polygon")
REAL_MASKS = ("horse", "coins", "cells")
MIN_SIDE = 8
MAX_SIDE = 1024
MIN_FRACTION = 1e-4
MAX_FRACTION = 0.9

_DEFAULT_POINTS = {"star": 5, "polygon": 7}
_STAR_INNER = 0.45  # inner radius of the star as a fraction of its outer radius
_PHASE_LIMIT = 2000  # below this many pixels per object, also try half-pixel centre shifts
_AREA_TOLERANCE = 0.01  # a request may exceed what fits by this relative amount before raising
_IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "TIFF")
_NPY_MAGIC = b"\x93NUMPY"
_8CONN = np.ones((3, 3), dtype=bool)


# --------------------------------------------------------------------------------------------
# Errors and results
# --------------------------------------------------------------------------------------------
class MaskLoadError(ValueError):
    """A mask or probability file could not be used; the message is one line saying why."""


class NonBinaryMaskError(MaskLoadError):
    """The file holds more than two distinct values and no threshold was given.

    Attributes
    ----------
    threshold : float
        Otsu's threshold of the values (foreground would be ``value > threshold``), which a user
        interface can offer as the default.
    n_values : int
        Number of distinct values found.
    """

    def __init__(self, message: str, threshold: float, n_values: int):
        super().__init__(message)
        self.threshold = float(threshold)
        self.n_values = int(n_values)


@dataclass
class MaskInfo:
    """A synthetic mask and what was actually produced.

    Attributes
    ----------
    mask : numpy.ndarray
        ``bool`` array ``(H, W)``, ``True`` on the object(s).
    shape : str
        One of :data:`SHAPES`.
    size : tuple of int
        ``(H, W)``.
    radius : float
        Scale actually used, in pixels (disk radius; half-height of ellipse and rectangle; outer
        radius of star and polygon).
    pixels : int
        Foreground pixel count of ``mask``.
    fraction : float
        ``pixels / (H * W)``.
    requested_area : float or None
        Requested total pixel count (from ``area`` or ``fraction``), ``None`` when sized by radius.
    n_objects : int
        Number of objects drawn.
    centers : list of tuple of float
        Centre of each object, in pixel coordinates ``(row, col)``.
    message : str
        One line describing the result (requested vs actual).
    """

    mask: np.ndarray
    shape: str
    size: tuple[int, int]
    radius: float
    pixels: int
    fraction: float
    requested_area: float | None
    n_objects: int
    centers: list[tuple[float, float]] = field(default_factory=list)
    message: str = ""

    @property
    def relative_error(self) -> float | None:
        """``(pixels - requested_area) / requested_area``, or ``None`` when sized by radius."""
        if self.requested_area is None:
            return None
        return (self.pixels - self.requested_area) / self.requested_area


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------
def _parse_size(size: Any) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        hw = (int(size), int(size))
    else:
        try:
            h, w = size
        except (TypeError, ValueError):
            raise ValueError(f"size must be an int or a pair (H, W); got {size!r}") from None
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (h, w)):
            raise ValueError(f"size must hold integers; got {size!r}")
        hw = (int(h), int(w))
    if not all(MIN_SIDE <= v <= MAX_SIDE for v in hw):
        raise ValueError(f"image size must be between {MIN_SIDE} and {MAX_SIDE} pixels per side; got {hw[0]}x{hw[1]}")
    return hw


def _finite(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite; got {value!r}")
    return v


# --------------------------------------------------------------------------------------------
# Shape geometry
# --------------------------------------------------------------------------------------------
def _rot(points: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate ``(N, 2)`` offsets ``(dy, dx)`` counter-clockwise on screen (y points down)."""
    t = math.radians(degrees)
    dy, dx = points[:, 0], points[:, 1]
    # Counter-clockwise on screen: in (x, up) coordinates rotate by +t, with up = -dy.
    x = dx * math.cos(t) + dy * math.sin(t)
    y = -dx * math.sin(t) + dy * math.cos(t)
    return np.stack([y, x], axis=1)


def _unit_outline(shape: str, aspect: float, rotation: float, n_points: int, rng: np.random.Generator) -> np.ndarray | None:
    """Polygon vertices ``(N, 2)`` as offsets ``(dy, dx)`` at scale 1, or ``None`` for conics."""
    if shape in ("disk", "ellipse"):
        return None
    if shape == "rectangle":
        pts = np.array([[-1.0, -aspect], [-1.0, aspect], [1.0, aspect], [1.0, -aspect]])
    elif shape == "star":
        k = np.arange(2 * n_points)
        ang = math.pi / 2 + k * math.pi / n_points
        rad = np.where(k % 2 == 0, 1.0, _STAR_INNER)
        pts = np.stack([-rad * np.sin(ang), rad * np.cos(ang)], axis=1)
    else:  # polygon: random, star-shaped about its centre (so scaling gives nested shapes)
        base = 2 * math.pi * np.arange(n_points) / n_points
        ang = base + rng.uniform(-0.35, 0.35, n_points) * (2 * math.pi / n_points)
        rad = rng.uniform(0.55, 1.0, n_points)
        rad[int(rng.integers(n_points))] = 1.0  # the scale is the largest vertex radius
        pts = np.stack([-rad * np.sin(ang), rad * np.cos(ang)], axis=1)
    return _rot(pts, rotation)


def _unit_area(shape: str, aspect: float, outline: np.ndarray | None) -> float:
    """Continuous area of the shape at scale 1 (used only to bracket the search)."""
    if shape == "disk":
        return math.pi
    if shape == "ellipse":
        return math.pi * aspect
    y, x = outline[:, 0], outline[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


class _Rasterizer:
    """Rasterizes one shape family at any scale, at a list of centres, without clipping."""

    def __init__(self, shape: str, aspect: float, rotation: float, outlines: list[np.ndarray | None]):
        self.shape = shape
        self.aspect = aspect
        self.rotation = rotation
        self.outlines = outlines
        self._cache: tuple | None = None

    def coords(self, r: float, centers: list[tuple[float, float]]) -> list[tuple[np.ndarray, np.ndarray]]:
        key = (r, tuple(centers))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        out = self._coords(r, centers)
        self._cache = (key, out)
        return out

    def _coords(self, r: float, centers: list[tuple[float, float]]) -> list[tuple[np.ndarray, np.ndarray]]:
        out = []
        for (cy, cx), outline in zip(centers, self.outlines):
            if r <= 0:
                out.append((np.empty(0, np.intp), np.empty(0, np.intp)))
            elif self.shape == "disk":
                out.append(draw.disk((cy, cx), r))
            elif self.shape == "ellipse":
                out.append(draw.ellipse(cy, cx, r, r * self.aspect, rotation=math.radians(self.rotation)))
            else:
                out.append(draw.polygon(cy + r * outline[:, 0], cx + r * outline[:, 1]))
        return out

    def count(self, r: float, centers) -> int:
        return int(sum(len(rr) for rr, _ in self.coords(r, centers)))

    def fits(self, r: float, centers, boxes) -> bool:
        for (rr, cc), (r0, c0, r1, c1) in zip(self.coords(r, centers), boxes):
            if len(rr) and (rr.min() < r0 or rr.max() > r1 or cc.min() < c0 or cc.max() > c1):
                return False
        return True


def _layout(hw: tuple[int, int], n: int, center: tuple[float, float] | None):
    """Centres (pixel coordinates) and allowed boxes (inclusive) for ``n`` objects."""
    H, W = hw
    if n == 1:
        fy, fx = (0.5, 0.5) if center is None else center
        return [(fy * H - 0.5, fx * W - 0.5)], [(0, 0, H - 1, W - 1)]
    cols = int(math.ceil(math.sqrt(n * W / H)))
    cols = max(1, min(cols, n))
    rows = int(math.ceil(n / cols))
    centers, boxes = [], []
    for k in range(n):
        i, j = divmod(k, cols)
        top, bottom = i * H / rows, (i + 1) * H / rows
        left, right = j * W / cols, (j + 1) * W / cols
        centers.append(((top + bottom) / 2 - 0.5, (left + right) / 2 - 0.5))
        # Leave the last row/column of each cell empty: neighbouring objects are >= 1 px apart.
        boxes.append((math.ceil(top - 1e-9), math.ceil(left - 1e-9), math.ceil(bottom - 1e-9) - 2, math.ceil(right - 1e-9) - 2))
    return centers, boxes


def _bisect(pred: Callable[[float], bool], lo: float, hi: float, iters: int = 60, tol: float = 1e-6) -> tuple[float, float]:
    """``pred(lo)`` False, ``pred(hi)`` True; shrink the bracket around the switch point."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if pred(mid):
            hi = mid
        else:
            lo = mid
        if hi - lo < tol:
            break
    return lo, hi


def _best_radius(ras: _Rasterizer, target: float, centers, unit_area: float, n: int) -> tuple[float, int]:
    """Scale whose rasterized count is nearest ``target`` (not clipped, not checked for fit).

    The count is a non-decreasing step function of the scale (the shapes are nested under
    scaling about their centres); bisection finds the step that crosses ``target``.
    """
    r0 = math.sqrt(target / (n * unit_area))
    lo, hi = max(0.0, r0 - 1.0), r0 + 1.0
    while lo > 0 and ras.count(lo, centers) >= target:
        lo = max(0.0, lo - 2.0 * (hi - lo))
    while ras.count(hi, centers) < target:
        hi += 2.0 * (hi - lo) + 1.0
    lo, hi = _bisect(lambda r: ras.count(r, centers) >= target, lo, hi, tol=1e-4 * max(1.0, r0))
    c_lo, c_hi = ras.count(lo, centers), ras.count(hi, centers)
    if c_lo >= 1 and abs(c_lo - target) < abs(c_hi - target):
        return lo, c_lo
    return hi, c_hi


def _max_fitting_radius(ras: _Rasterizer, centers, boxes, hw) -> float:
    hi = float(max(hw)) * 2.0
    if ras.fits(hi, centers, boxes):  # cannot happen for bounded shapes; guard anyway
        return hi
    lo, _ = _bisect(lambda r: not ras.fits(r, centers, boxes), 0.0, hi, tol=1e-4)
    return lo


def make_shape_info(
    shape: str = "disk",
    *,
    size: int | tuple[int, int] = 256,
    area: float | None = None,
    fraction: float | None = None,
    radius: float | None = None,
    center: tuple[float, float] | None = None,
    n_objects: int = 1,
    seed: int = 0,
    aspect: float = 1.5,
    rotation: float = 0.0,
    n_points: int | None = None,
) -> MaskInfo:
    """Rasterize a synthetic ground truth and report what was produced.

    Parameters
    ----------
    shape : {"disk", "ellipse", "rectangle", "star", "polygon"}
        Object shape. ``"polygon"`` is a random polygon (seeded, star-shaped about its centre);
        ``"star"`` a regular star with inner radius 0.45 of the outer one.
    size : int or (int, int), default 256
        Image size ``(H, W)``; each side between :data:`MIN_SIDE` and :data:`MAX_SIDE`.
    area : float, optional
        Target total foreground pixel count (all objects together).
    fraction : float, optional
        Target foreground fraction of the image, in ``[1e-4, 0.9]`` (``1e-4`` is 1:10 000).
    radius : float, optional
        Scale in pixels, used as is: disk radius; half-height of ellipse/rectangle (the
        half-width is ``radius * aspect``); outer radius of star/polygon. At most one of
        ``area``, ``fraction`` and ``radius`` may be given; with none, ``radius = min(H, W) / 4``.
    center : (float, float), optional
        Centre as fractions ``(fy, fx)`` of the image, each in ``[0, 1]``; default the middle.
        Validated but ignored when ``n_objects > 1`` (the grid fills the image; the message
        says so when the centre is not the middle).
    n_objects : int, default 1
        Objects laid out on a regular grid (row-major, cells of equal size), identical in scale,
        never overlapping or touching (at least one background pixel between neighbours).
    seed : int, default 0
        Seed of the random polygon (other shapes are deterministic).
    aspect : float, default 1.5
        Width / height before rotation, for ellipse and rectangle; in ``[0.1, 10]``.
    rotation : float, default 0.0
        Counter-clockwise rotation in degrees (ellipse, rectangle, star, polygon).
    n_points : int, optional
        Star points (default 5) or polygon vertices (default 7); in ``[3, 64]``.

    Returns
    -------
    MaskInfo
        The mask and the actual pixel count, scale, centres and a one-line message.

    Raises
    ------
    ValueError
        Invalid arguments; a request below one pixel (per object); an object that does not fit
        in the image (or in its grid cell) — the message says the largest area that fits.

    Notes
    -----
    Sizing by area: the scale is found by bisection on the rasterized pixel count (a step
    function of the scale), keeping the closer of the two counts around the target. The search
    also tries, for objects under 2000 px, the centre moved by half a pixel along each axis (four
    sub-pixel phases), which gives finer steps for small objects; the chosen centre is reported
    in ``centers``. Typical rasterized counts are within 1 % of the request (a few pixels for
    tiny objects, e.g. 104 px for 1e-4 of 1024x1024 = 104.9 px).
    """
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}; got {shape!r}")
    hw = _parse_size(size)
    H, W = hw
    if not isinstance(n_objects, (int, np.integer)) or isinstance(n_objects, bool) or not 1 <= n_objects <= 256:
        raise ValueError(f"n_objects must be an integer in [1, 256]; got {n_objects!r}")
    n = int(n_objects)
    given = [k for k, v in (("area", area), ("fraction", fraction), ("radius", radius)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"give at most one of area, fraction, radius; got {', '.join(given)}")
    center_note = ""
    if center is not None:
        try:
            fy, fx = (_finite("center", v) for v in center)
        except TypeError:
            raise ValueError(f"center must be a pair of fractions (fy, fx); got {center!r}") from None
        if not (0.0 <= fy <= 1.0 and 0.0 <= fx <= 1.0):
            raise ValueError(f"center fractions must be in [0, 1]; got {center!r}")
        center = (fy, fx)
        if n > 1:
            if center != (0.5, 0.5):
                center_note = "; center ignored: several objects are laid out on a grid"
            center = None
    aspect = _finite("aspect", aspect)
    if not 0.1 <= aspect <= 10.0:
        raise ValueError(f"aspect must be in [0.1, 10]; got {aspect!r}")
    rotation = _finite("rotation", rotation)
    if n_points is None:
        n_points = _DEFAULT_POINTS.get(shape, 5)
    if not isinstance(n_points, (int, np.integer)) or isinstance(n_points, bool) or not 3 <= n_points <= 64:
        raise ValueError(f"n_points must be an integer in [3, 64]; got {n_points!r}")

    target: float | None = None
    if fraction is not None:
        fraction = _finite("fraction", fraction)
        if not MIN_FRACTION <= fraction <= MAX_FRACTION:
            raise ValueError(f"fraction must be in [{MIN_FRACTION:g}, {MAX_FRACTION:g}]; got {fraction:g}")
        target = fraction * H * W
        what = f"fraction {fraction:g} of a {H}x{W} image is {target:.4g} px"
        smallest = f"the smallest fraction for this size is {n / (H * W):.3g}"
    elif area is not None:
        target = _finite("area", area)
        if target > MAX_FRACTION * H * W:
            raise ValueError(f"area must be at most {MAX_FRACTION:g} of the image ({MAX_FRACTION * H * W:.0f} px for {H}x{W}); got {target:g}")
        what = f"area {target:g} px"
        smallest = "ask for at least 1 px per object"
    if target is not None and target / n < 1.0:
        per = f" ({target / n:.3g} px per object)" if n > 1 else ""
        raise ValueError(f"{what}{per}: less than one pixel per object; {smallest}")

    rng = np.random.default_rng(seed)
    outlines = [_unit_outline(shape, aspect, rotation, int(n_points), rng) for _ in range(n)]
    ras = _Rasterizer(shape, aspect, rotation, outlines)
    centers, boxes = _layout(hw, n, center)
    unit = float(np.mean([_unit_area(shape, aspect, o) for o in outlines]))
    desc = f"{n} {shape}s" if n > 1 else f"a {shape}"
    where = "its grid cell" if n > 1 else f"a {H}x{W} image"

    if target is None:
        r = (min(H, W) / 4.0) if radius is None else _finite("radius", radius)
        if r <= 0:
            raise ValueError(f"radius must be positive; got {radius!r}")
        if not ras.fits(r, centers, boxes):
            r_fit = _max_fitting_radius(ras, centers, boxes, hw)
            raise ValueError(f"radius {r:g} does not fit: {desc} at this position fits in {where} up to radius {r_fit:.3g}")
        count = ras.count(r, centers)
        if count < 1:
            raise ValueError(f"radius {r:g} rasterizes to 0 pixels for {desc}; use a larger radius")
    else:
        best = None
        # Sub-pixel phases matter only for small objects (large ones have fine relative steps).
        phases = ((0.0, 0.0), (0.0, 0.5), (0.5, 0.0), (0.5, 0.5)) if target / n < _PHASE_LIMIT else ((0.0, 0.0),)
        for oy, ox in phases:
            cand = [(cy + oy, cx + ox) for cy, cx in centers]
            # Phases that move the object outside its allowed box are skipped unless nothing fits.
            r_k, c_k = _best_radius(ras, target, cand, unit, n)
            if not ras.fits(r_k, cand, boxes):
                r_k = _max_fitting_radius(ras, cand, boxes, hw)
                c_k = ras.count(r_k, cand)
                if c_k < 1 or target > c_k * (1.0 + _AREA_TOLERANCE) + 1.0:
                    continue
            err = abs(c_k - target)
            if best is None or err < best[0]:
                best = (err, r_k, c_k, cand)
        if best is None:
            r_fit = _max_fitting_radius(ras, centers, boxes, hw)
            most = ras.count(r_fit, centers)
            raise ValueError(
                f"{what}, which does not fit: {desc} in {where} holds at most {most} px "
                f"(fraction {most / (H * W):.3g} of the image)"
            )
        _, r, count, centers = best

    mask = np.zeros(hw, dtype=bool)
    for rr, cc in ras.coords(r, centers):
        mask[rr, cc] = True
    pixels = int(mask.sum())
    if pixels != count:  # objects overlapped or were clipped: a bug in the layout
        raise RuntimeError(f"internal error: {count} px drawn but {pixels} px in the mask")
    if pixels < 1:
        raise ValueError(f"{desc} rasterizes to 0 pixels; ask for a larger object")
    if target is None:
        msg = f"{desc} with radius {r:g}: {pixels} px ({pixels / (H * W):.3g} of {H}x{W})"
    else:
        msg = f"requested {target:.4g} px, got {pixels} px ({(pixels - target) / target:+.1%}) with radius {r:.4g}"
    return MaskInfo(mask, shape, hw, float(r), pixels, pixels / (H * W), target, n, list(centers), msg + center_note)


def make_shape(
    shape: str = "disk",
    *,
    size: int | tuple[int, int] = 256,
    area: float | None = None,
    fraction: float | None = None,
    radius: float | None = None,
    center: tuple[float, float] | None = None,
    n_objects: int = 1,
    seed: int = 0,
    aspect: float = 1.5,
    rotation: float = 0.0,
    n_points: int | None = None,
) -> np.ndarray:
    """Rasterize a synthetic ground-truth mask; see :func:`make_shape_info` for the parameters.

    Returns
    -------
    numpy.ndarray
        ``bool`` array ``(H, W)``, never empty.
    """
    return make_shape_info(
        shape, size=size, area=area, fraction=fraction, radius=radius, center=center,
        n_objects=n_objects, seed=seed, aspect=aspect, rotation=rotation, n_points=n_points,
    ).mask


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------
def mask_stats(mask: np.ndarray) -> dict[str, Any]:
    """Summarize a mask.

    Parameters
    ----------
    mask : array_like
        2-D mask; non-zero is foreground.

    Returns
    -------
    dict
        ``pixels`` (int), ``fraction`` (float), ``n_objects`` (connected components with
        8-connectivity), ``bbox`` (``(min_row, min_col, max_row, max_col)`` with exclusive
        maxima, as in scikit-image's ``regionprops``; ``None`` for an empty mask) and ``shape``.
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D; got shape {m.shape}")
    m = m.astype(bool)
    pixels = int(m.sum())
    _, n = ndi.label(m, structure=_8CONN)
    bbox = None
    if pixels:
        rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
        bbox = (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)
    return {"pixels": pixels, "fraction": pixels / m.size if m.size else 0.0, "n_objects": int(n), "bbox": bbox, "shape": m.shape}


# --------------------------------------------------------------------------------------------
# Real masks
# --------------------------------------------------------------------------------------------
def _horse() -> np.ndarray:
    # skimage.data.horse(): a black horse silhouette on white; True is the white background.
    return ~skdata.horse().astype(bool)


def _coins() -> np.ndarray:
    img = skdata.coins()
    m = img > threshold_otsu(img)
    m = ndi.binary_fill_holes(m)
    m = remove_small_objects(m, max_size=64)
    # The unevenly lit top-left background passes Otsu's threshold as one large region touching
    # the border (merged with one coin); clear_border drops it, leaving 23 of the 24 coins.
    return clear_border(m)


def _cells() -> np.ndarray:
    # assets/touching_cells.png (scripts/make_assets.py): nine disks separated by gaps of 2 px
    from pathlib import Path
    from PIL import Image
    path = Path(__file__).resolve().parents[1] / "assets" / "touching_cells.png"
    with Image.open(path) as im:
        return np.asarray(im.convert("L")) > 127


_REAL = {"horse": _horse, "coins": _coins, "cells": _cells}


def real_mask(name: str, size: int | tuple[int, int] = 256) -> np.ndarray:
    """A real mask made from an image bundled with scikit-image (no download).

    Parameters
    ----------
    name : {"horse", "coins", "cells"}
        ``"horse"``: the silhouette of ``skimage.data.horse()`` (the horse is ``True``).
        ``"cells"``: nine touching disks separated by gaps of 2 px, shipped in ``assets/`` (the U-Net
        border-weight lesson; made by ``scripts/make_assets.py``).
        ``"coins"``: ``skimage.data.coins()`` thresholded with Otsu, holes filled, objects under
        65 px removed, objects touching the border cleared (23 of the 24 coins at full resolution; the top-left
        coin merges with an unevenly lit background region and is dropped).
    size : int or (int, int), default 256
        Output ``(H, W)``, each side in ``[8, 1024]``.

    Returns
    -------
    numpy.ndarray
        ``bool`` array of shape ``(H, W)``.

    Notes
    -----
    The aspect ratio is kept by **padding** the source with background to the output's aspect
    ratio (centred), never cropping, so the whole object is always kept. The padded mask is
    resized with ``skimage.transform.resize(order=0, anti_aliasing=False)`` (nearest neighbour)
    and thresholded at 0.5.
    """
    if name not in _REAL:
        raise ValueError(f"real mask must be one of {', '.join(REAL_MASKS)}; got {name!r}")
    H, W = _parse_size(size)
    src = _REAL[name]()
    h, w = src.shape
    # Pad to the target aspect ratio H/W.
    if h * W > w * H:  # source is taller: widen it
        new_w = int(round(h * W / H))
        pad = new_w - w
        src = np.pad(src, ((0, 0), (pad // 2, pad - pad // 2)))
    elif h * W < w * H:  # source is wider: heighten it
        new_h = int(round(w * H / W))
        pad = new_h - h
        src = np.pad(src, ((pad // 2, pad - pad // 2), (0, 0)))
    out = resize(src.astype(np.float32), (H, W), order=0, anti_aliasing=False, preserve_range=True) > 0.5
    if not out.any():
        raise ValueError(f"real mask {name!r} vanished at size {H}x{W}; use a larger size")
    return out


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------
def _read_source(src: Any, name_hint: str | None, max_bytes: int) -> tuple[bytes, str]:
    """Return ``(data, name)`` from a path, bytes or a binary file-like object."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
        name = name_hint or "<bytes>"
    elif isinstance(src, (str, os.PathLike)):
        name = os.fspath(src)
        try:
            n_bytes = os.path.getsize(name)
        except OSError as exc:
            raise MaskLoadError(f"cannot read {name}: {exc.strerror or exc}") from None
        if n_bytes > max_bytes:
            raise MaskLoadError(f"{os.path.basename(name)} is {n_bytes / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.1f} MiB")
        try:
            with open(name, "rb") as fh:
                data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise MaskLoadError(f"cannot read {name}: {exc.strerror or exc}") from None
        name = name_hint or name
    elif hasattr(src, "read"):
        data = src.read(max_bytes + 1)
        if isinstance(data, str):
            raise MaskLoadError("the file was opened in text mode; open it in binary mode ('rb')")
        data = bytes(data)
        name = name_hint or str(getattr(src, "name", "<file>"))
    else:
        raise MaskLoadError(f"expected a path, bytes or a binary file; got {type(src).__name__}")
    label = os.path.basename(name) if name and not name.startswith("<") else "the file"
    if len(data) > max_bytes:
        raise MaskLoadError(f"{label} is larger than the limit of {max_bytes / 2**20:.1f} MiB")
    if not data:
        raise MaskLoadError(f"{label} is empty")
    return data, label


def _check_dims(shape: tuple[int, ...], label: str, max_side: int) -> None:
    if len(shape) != 2:
        raise MaskLoadError(f"{label} holds a {len(shape)}-D array of shape {shape}; a mask must be 2-D (H, W)")
    if min(shape) < 1:
        raise MaskLoadError(f"{label} holds an empty array of shape {shape}")
    if max(shape) > max_side:
        raise MaskLoadError(f"{label} is {shape[0]}x{shape[1]} pixels; the limit is {max_side} pixels per side")


def npy_header(data: bytes, label: str = "the file") -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, data offset)`` of a ``.npy`` file, read from its header alone.

    Nothing is allocated from what the header declares (a 100-byte file can declare 1e10 float64
    values, 74.5 GiB); the header is parsed by :mod:`numpy.lib.format`, which never unpickles.
    Raises :class:`MaskLoadError` (one line) for a missing or malformed header.
    """
    from numpy.lib import format as npy_format

    fp = io.BytesIO(data)
    try:
        version = npy_format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = npy_format.read_array_header_2_0(fp)
        else:
            raise MaskLoadError(f"{label} is a .npy file of format version {version[0]}.{version[1]}; "
                                "versions 1.0 and 2.0 are read")
    except MaskLoadError:
        raise
    except Exception as exc:  # truncated or malformed headers raise ValueError/EOFError/SyntaxError...
        raise MaskLoadError(f"{label} is not a valid .npy file (unreadable header: {type(exc).__name__})") from None
    return tuple(int(n) for n in shape), np.dtype(dtype), fp.tell()


def _load_npy(data: bytes, label: str, max_side: int) -> np.ndarray:
    """Decode a ``.npy`` file after checking what its header declares: a 2-D numeric or bool
    array within ``max_side`` per side, with exactly the bytes that shape needs behind it."""
    shape, dtype, offset = npy_header(data, label)
    if dtype.hasobject:
        raise MaskLoadError(f"{label} holds Python objects (pickled); only numeric .npy arrays are accepted")
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise MaskLoadError(f"{label} has dtype {dtype}; expected bool, integer or float")
    _check_dims(shape, label, max_side)
    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - offset < need:
        raise MaskLoadError(f"{label} is truncated: its header declares {shape[0]}x{shape[1]} {dtype} values "
                            f"({need:,} bytes) but {max(0, len(data) - offset):,} bytes follow")
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:
        raise MaskLoadError(f"{label} is not a valid .npy file ({type(exc).__name__})") from None
    if not isinstance(arr, np.ndarray):
        raise MaskLoadError(f"{label} is not a single .npy array")
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise MaskLoadError(f"{label} contains NaN or infinite values")
    return arr


def _load_image(data: bytes, label: str, max_side: int) -> np.ndarray:
    try:
        im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise MaskLoadError(f"{label} is not a readable image or .npy file (expected PNG, JPEG, BMP, TIFF or .npy)") from None
    except Exception as exc:
        raise MaskLoadError(f"{label} could not be opened as an image ({type(exc).__name__})") from None
    with im:
        if im.format not in _IMAGE_FORMATS:
            raise MaskLoadError(f"{label} is a {im.format} image; supported: {', '.join(_IMAGE_FORMATS)} and .npy")
        w, h = im.size
        _check_dims((h, w), label, max_side)  # from the header, before decoding any pixel
        try:
            im.load()
        except Exception as exc:
            raise MaskLoadError(f"{label} is truncated or corrupt ({type(exc).__name__})") from None
        if im.mode == "1":
            return np.asarray(im, dtype=bool)
        if im.mode in ("L", "I", "I;16", "I;16B", "I;16L", "F"):
            arr = np.asarray(im)
        else:
            arr = np.asarray(im.convert("L"))
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise MaskLoadError(f"{label} contains NaN or infinite values")
    return arr


def _load_array(src: Any, name_hint: str | None, max_side: int, max_bytes: int) -> tuple[np.ndarray, str, bool]:
    """Decode ``src`` into a 2-D array; returns ``(array, label, is_npy)``."""
    if not isinstance(max_side, (int, np.integer)) or max_side < 1:
        raise ValueError(f"max_side must be a positive integer; got {max_side!r}")
    if not isinstance(max_bytes, (int, np.integer)) or max_bytes < 1:
        raise ValueError(f"max_bytes must be a positive integer; got {max_bytes!r}")
    data, label = _read_source(src, name_hint, int(max_bytes))
    if data.startswith(_NPY_MAGIC):
        return _load_npy(data, label, int(max_side)), label, True
    if label.lower().endswith(".npy"):
        raise MaskLoadError(f"{label} is not a valid .npy file (missing the NumPy header)")
    return _load_image(data, label, int(max_side)), label, False


def load_mask(
    path_or_bytes: Any,
    *,
    name_hint: str | None = None,
    threshold: float | None = None,
    max_side: int = 2048,
    max_bytes: int = 20 * 1024 * 1024,
) -> np.ndarray:
    """Read a binary mask from an image or ``.npy`` file.

    Parameters
    ----------
    path_or_bytes : str, os.PathLike, bytes or binary file-like
        The file. The format is recognized from the content (the ``.npy`` magic number, else
        Pillow), not from the name.
    name_hint : str, optional
        File name used in messages (e.g. an upload's name).
    threshold : float, optional
        Foreground is ``value > threshold`` (in the file's own units, e.g. 0..255 for 8-bit
        images). Without it the file must hold at most two distinct values: with 0 among them,
        non-zero is foreground; otherwise the larger value is foreground.
    max_side : int, default 2048
        Largest accepted height or width (checked from the header before decoding).
    max_bytes : int, default 20 MiB
        Largest accepted file size.

    Returns
    -------
    numpy.ndarray
        ``bool`` array ``(H, W)``. An all-background mask is returned as is.

    Raises
    ------
    NonBinaryMaskError
        More than two distinct values and no ``threshold``; carries ``.threshold`` (Otsu's).
    MaskLoadError
        Empty, too large (bytes or pixels), unreadable or unsupported file, not 2-D, NaN or
        infinite values, non-numeric ``.npy``. Both are ``ValueError`` subclasses.

    Notes
    -----
    Colour images are converted to grayscale (Pillow's ``"L"`` mode); 16-bit and float
    grayscale images keep their values. JPEG compression creates intermediate grey levels, so a
    JPEG mask usually needs a threshold.
    """
    arr, label, _ = _load_array(path_or_bytes, name_hint, max_side, max_bytes)
    return _binarize(arr, label, threshold)


def _binarize(arr: np.ndarray, label: str, threshold: float | None) -> np.ndarray:
    """Apply :func:`load_mask`'s rules to a decoded 2-D array."""
    if threshold is not None:
        t = _finite("threshold", threshold)
        return np.asarray(arr > t, dtype=bool)
    if arr.dtype == bool:
        return arr.copy()
    values = np.unique(arr)
    if values.size > 2:
        t = float(threshold_otsu(arr))
        raise NonBinaryMaskError(
            f"{label} has {values.size} distinct values, not a binary mask; pass a threshold "
            f"(Otsu suggests {t:.4g}: foreground = value > {t:.4g})",
            threshold=t,
            n_values=values.size,
        )
    if values.size == 2 and values[0] != 0:
        return arr == values[1]
    return arr != 0


def load_probabilities(
    path_or_bytes: Any,
    *,
    name_hint: str | None = None,
    threshold: float | None = None,
    max_side: int = 2048,
    max_bytes: int = 20 * 1024 * 1024,
) -> np.ndarray:
    """Read a probability map: a ``.npy`` array in ``[0, 1]`` or an image (a hard mask).

    Parameters
    ----------
    path_or_bytes : str, os.PathLike, bytes or binary file-like
        The file.
    name_hint : str, optional
        File name used in messages.
    threshold : float, optional
        For images only: passed to :func:`load_mask`.
    max_side, max_bytes : int
        Limits, as in :func:`load_mask`.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` array with values in ``[0, 1]`` (0 or 1 for images): float64 when the file holds
        float64 (no precision is lost), float32 otherwise.

    Raises
    ------
    MaskLoadError
        As :func:`load_mask`, plus values outside ``[0, 1]`` in a ``.npy`` file.
    """
    arr, label, is_npy = _load_array(path_or_bytes, name_hint, max_side, max_bytes)
    if not is_npy:
        return _binarize(arr, label, threshold).astype(np.float32)
    if arr.dtype != bool:
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0.0 or hi > 1.0:
            raise MaskLoadError(f"{label} has values in [{lo:.4g}, {hi:.4g}]; probabilities must lie in [0, 1]")
    return arr.astype(np.float64 if arr.dtype == np.float64 else np.float32)


def save_mask_png(mask: np.ndarray) -> bytes:
    """Encode a mask as an 8-bit grayscale PNG (0 background, 255 object).

    Parameters
    ----------
    mask : array_like
        2-D mask; non-zero is foreground.

    Returns
    -------
    bytes
        PNG file contents; :func:`load_mask` reads them back exactly.
    """
    m = np.asarray(mask)
    if m.ndim != 2 or min(m.shape) < 1:
        raise ValueError(f"mask must be a non-empty 2-D array; got shape {m.shape}")
    buf = io.BytesIO()
    Image.fromarray(np.where(m.astype(bool), 255, 0).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Thin structures (issue 14): vessel trees, lines, rings, touching cells
# --------------------------------------------------------------------------------------------
#: The thin-structure ground truths of :func:`thin_mask`, with the Betti numbers each is built to have.
THIN_KINDS = ("vessel_tree", "lines", "rings", "touching_cells")


def _whole_side(size: Any) -> int:
    try:
        v = float(size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be a whole number of pixels in [32, {MAX_SIDE}]; got {size!r}") from None
    if not math.isfinite(v) or v != int(v) or not 32 <= v <= MAX_SIDE:
        raise ValueError(f"size must be a whole number of pixels in [32, {MAX_SIDE}]; got {size!r}")
    return int(v)


def _draw_segment(mask: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], width: int) -> None:
    """A straight segment of ``width`` pixels from ``p0`` to ``p1`` ((row, col), pixel centres):
    :func:`skimage.draw.line` for width 1, else a rotated rectangle (:func:`skimage.draw.polygon`)
    with round caps (:func:`skimage.draw.disk`)."""
    (r0, c0), (r1, c1) = p0, p1
    if width <= 1:
        rr, cc = draw.line(int(round(r0)), int(round(c0)), int(round(r1)), int(round(c1)))
    else:
        d = np.array([r1 - r0, c1 - c0], float)
        n = np.array([-d[1], d[0]]) / max(np.hypot(*d), 1e-9) * (width / 2.0)
        poly = np.array([[r0, c0] + n, [r1, c1] + n, [r1, c1] - n, [r0, c0] - n])
        rr, cc = draw.polygon(poly[:, 0], poly[:, 1], shape=mask.shape)
        mask[rr, cc] = True
        for r, c in (p0, p1):
            rr, cc = draw.disk((r, c), width / 2.0, shape=mask.shape)
            mask[rr, cc] = True
        return
    keep = (rr >= 0) & (rr < mask.shape[0]) & (cc >= 0) & (cc < mask.shape[1])
    mask[rr[keep], cc[keep]] = True


def vessel_tree(size: int = 128, depth: int = 4, width: int = 7, seed: int = 0, jitter: float = 8.0) -> np.ndarray:
    """A branching vessel-like tree: a trunk rising from the bottom centre that splits ``depth - 1``
    times into two children (±35° ± ``jitter``° seeded, length × 0.72), the width shrinking by 0.6
    per level down to one pixel (7, 4, 2, 1 px by default). Drawn with scikit-image; a tree: one
    component and no hole (β0 = 1, β1 = 0). A seeded draw whose branches would touch is redrawn
    with less jitter (the last attempt has none), so the Betti numbers hold by construction.
    """
    size = _whole_side(size)
    if isinstance(depth, bool) or int(depth) != depth or not 1 <= int(depth) <= 6:
        raise ValueError(f"depth must be a whole number in [1, 6]; got {depth!r}")
    if isinstance(width, bool) or int(width) != width or not 1 <= int(width) <= max(1, size // 8):
        raise ValueError(f"width must be a whole number of pixels in [1, {max(1, size // 8)}]; got {width!r}")
    from skimage.measure import euler_number, label

    for attempt, jit in enumerate((jitter, jitter / 2, jitter / 4, 0.0)):
        rng = np.random.default_rng([int(seed), attempt])
        mask = np.zeros((size, size), bool)
        stack = [((size - 1 - 0.04 * size, (size - 1) / 2.0), -90.0, 0.30 * size, int(width), 0)]
        while stack:
            p0, ang, length, w, level = stack.pop()
            a = math.radians(ang)
            p1 = (p0[0] + length * math.sin(a), p0[1] + length * math.cos(a))
            _draw_segment(mask, p0, p1, w)
            if level + 1 < int(depth):
                wc = max(1, int(round(w * 0.6)))
                for side in (-1, 1):
                    da = side * (35.0 + float(rng.uniform(-jit, jit)))
                    stack.append((p1, ang + da, length * 0.72, wc, level + 1))
        n = label(mask, connectivity=2, return_num=True)[1]
        if n == 1 and euler_number(mask, connectivity=2) == 1:
            return mask
    raise ValueError("could not draw a tree without touching branches at this size; use a larger size")


def line_mask(size: int = 128, n: int = 3, width: int = 1) -> np.ndarray:
    """``n`` horizontal lines of ``width`` pixels, evenly spaced, 10 % margins (β0 = n, β1 = 0)."""
    size = _whole_side(size)
    if int(n) != n or not 1 <= n <= size // (2 * width + 2) or int(width) != width or width < 1:
        raise ValueError(f"n lines of width {width!r} must fit: n in [1, {size // (2 * max(int(width), 1) + 2)}]; got {n!r}")
    mask = np.zeros((size, size), bool)
    lo, hi = int(0.1 * size), size - int(0.1 * size)
    for k in range(int(n)):
        r = int(round((k + 1) * size / (n + 1))) - int(width) // 2
        mask[r:r + int(width), lo:hi] = True
    return mask


def ring_mask(size: int = 128, n: int = 2, width: int = 2) -> np.ndarray:
    """``n`` rings (annuli of ``width`` pixels) side by side, not touching (β0 = n, β1 = n)."""
    size = _whole_side(size)
    if int(n) != n or not 1 <= n <= 4 or int(width) != width or width < 1:
        raise ValueError(f"n must be a whole number in [1, 4] and width >= 1; got n={n!r}, width={width!r}")
    mask = np.zeros((size, size), bool)
    outer = size / (2.0 * n) - 3
    if outer - width < 2:
        raise ValueError(f"rings of width {width} do not fit {n} to a {size}-pixel image")
    for k in range(int(n)):
        c = ((size - 1) / 2.0, (k + 0.5) * size / n - 0.5)
        rr, cc = draw.disk(c, outer, shape=mask.shape)
        mask[rr, cc] = True
        rr, cc = draw.disk(c, outer - width, shape=mask.shape)
        mask[rr, cc] = False
    return mask


def touching_cells(size: int = 128, rows: int = 3, cols: int = 3, radius: int = 10) -> np.ndarray:
    """A grid of round cells (:func:`skimage.draw.disk`) whose centres are ``2·radius`` apart, so
    neighbours are separated by a one-pixel gap on the line joining them: visually touching,
    topologically separate (β0 = rows·cols, β1 = 0). The U-Net border weight's case."""
    size = _whole_side(size)
    for name, v in (("rows", rows), ("cols", cols), ("radius", radius)):
        if isinstance(v, bool) or int(v) != v or v < 1:
            raise ValueError(f"{name} must be a positive whole number; got {v!r}")
    span_r, span_c = 2 * radius * (rows - 1) + 2 * radius, 2 * radius * (cols - 1) + 2 * radius
    if max(span_r, span_c) > size - 2:
        raise ValueError(f"{rows}x{cols} cells of radius {radius} do not fit a {size}-pixel image")
    mask = np.zeros((size, size), bool)
    r0 = (size - span_r) / 2.0 + radius
    c0 = (size - span_c) / 2.0 + radius
    for i in range(int(rows)):
        for j in range(int(cols)):
            rr, cc = draw.disk((round(r0 + 2 * radius * i), round(c0 + 2 * radius * j)), radius, shape=mask.shape)
            mask[rr, cc] = True
    return mask


def thin_mask(kind: str = "vessel_tree", size: int = 128, seed: int = 0) -> np.ndarray:
    """One of :data:`THIN_KINDS` at its default geometry (``seed`` varies the vessel tree)."""
    if kind == "vessel_tree":
        return vessel_tree(size, seed=seed, width=max(1, min(7, size // 18)))
    if kind == "lines":
        return line_mask(size, 3, 1)
    if kind == "rings":
        return ring_mask(size, 2, 2)
    if kind == "touching_cells":
        return touching_cells(size, 3, 3, max(2, size // 12))
    raise ValueError(f"kind must be one of {', '.join(THIN_KINDS)}; got {kind!r}")
