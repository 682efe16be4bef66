"""Ground-truth masks: synthetic shapes and real masks shipped with scikit-image.

Every mask is a 2-D ``numpy`` array of ``bool`` with shape ``(H, W)``; ``True`` is the object.

* :func:`make_shape` / :func:`make_shape_info` rasterize a disk, ellipse, rectangle, star or
  polygon (one object or several on a grid) sized by radius, by pixel count or by foreground
  fraction. Sizing by area searches the scale so that the *rasterized* pixel count is as close as
  possible to the request; :class:`MaskInfo` reports what was actually produced.
* :func:`real_mask` gives masks made from images bundled with scikit-image (no download).
* mask files (reading, writing, their errors) are :mod:`segloss_core.mask_files`; the thin-structure
  ground truths (vessel trees, lines, rings, touching cells) are :mod:`segloss_core.thin_masks`.
* :func:`mask_stats` summarizes a mask.

Pixel coordinates: pixel ``(i, j)`` has its centre at ``(i, j)``; the image spans
``[-0.5, H - 0.5] x [-0.5, W - 0.5]``. A centre given as fractions ``(fy, fx)`` maps to
``(fy * H - 0.5, fx * W - 0.5)``, so ``(0.5, 0.5)`` is the geometric centre of the image.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
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
    "make_shape",
    "make_shape_info",
    "mask_stats",
    "real_mask",
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
_8CONN = np.ones((3, 3), dtype=bool)


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------
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


