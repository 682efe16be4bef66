"""Thin-structure ground truths (issue 14): vessel trees, lines, rings, touching cells.

Each generator returns a 2-D ``bool`` mask built to have known Betti numbers (components, holes),
so that topology-aware losses (clDice, Skeleton Recall) and the Thin structures page can be checked
against what the structure is made to be. :func:`thin_mask` picks one by name (:data:`THIN_KINDS`).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from skimage import draw

from .masks import MAX_SIDE

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
