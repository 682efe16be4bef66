"""Thin-structure perturbations (issue 14): the errors that matter for vessels and cell borders.

Gaps that break connectivity (:func:`thin_gaps`, cut along :func:`gap_order`), thinning and
thickening by one pixel (:func:`thin_by_one`, :func:`thicken_by_one`), a one-pixel shift
(:func:`shift_by`) and spurious branches (:func:`spurious_branches`). Each returns a
:class:`segloss_core.perturb.Perturbation` whose counts are recomputed from the masks, with the
components of both masks among the applied amounts. Skeletons and morphology are scikit-image's,
distances ``scipy.ndimage``'s.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from .perturb import (Perturbation, _as_mask, _count_pixels, _counts, _seed, _shifted,  # the shared checks, counts
                      _signed_int, _whole)

THIN_PERTURBATIONS = ("gaps", "thin", "thicken", "shift", "branches")


def _thin_result(pred: np.ndarray, gt: np.ndarray, requested: dict, messages: list[str],
                 extra: dict | None = None) -> Perturbation:
    from skimage.measure import label

    applied = {"removed": int(np.count_nonzero(gt & ~pred)), "added": int(np.count_nonzero(pred & ~gt)),
               "components_gt": int(label(gt, connectivity=2, return_num=True)[1]),
               "components_pred": int(label(pred, connectivity=2, return_num=True)[1])}
    applied.update(extra or {})
    return Perturbation(pred, _counts(pred, gt), requested, messages, applied)


def _skeleton_graph(gt: np.ndarray):
    """Skeleton (scikit-image), its 8-neighbour counts and the distance to the background."""
    from skimage.morphology import skeletonize

    skel = skeletonize(gt)
    nb = ndi.convolve(skel.astype(np.int32), np.ones((3, 3), np.int32), mode="constant") - skel
    return skel, nb * skel, ndi.distance_transform_edt(np.pad(gt, 1))[1:-1, 1:-1]


def _direction(skel: np.ndarray, r: int, c: int, reach: int = 3) -> np.ndarray:
    """Unit tangent of the skeleton at (r, c): principal axis of its pixels within ``reach``."""
    H, W = skel.shape
    ys, xs = np.nonzero(skel[max(r - reach, 0):r + reach + 1, max(c - reach, 0):c + reach + 1])
    pts = np.stack([ys + max(r - reach, 0) - r, xs + max(c - reach, 0) - c], 1).astype(float)
    if len(pts) < 2:
        return np.array([1.0, 0.0])
    w, v = np.linalg.eigh(pts.T @ pts)
    return v[:, -1]


def gap_order(gt: Any, width: int = 1, seed: int = 0, max_gaps: int = 64) -> list[np.ndarray]:
    """The cuts of :func:`thin_gaps` in the order they are made: a list of bool masks, each the
    pixels one gap removes. Each cut is a slab ``width`` pixels thick across the structure at a
    skeleton point (seeded order; away from junctions, end points and earlier cuts), widened by one
    pixel at a time (at most 3) until it disconnects the structure there, so every cut adds exactly
    one connected component (8-connectivity)."""
    from skimage.measure import label

    G = _as_mask(gt)
    width = _whole(width, f"width must be a whole number of pixels; got {width!r}",
                   f"width must be a whole number of pixels >= 1; got {width!r}", nonnegative=True)
    if width < 1:
        raise ValueError(f"width must be a whole number of pixels >= 1; got {width!r}")
    seed = _seed(seed)
    if not G.any():
        return []
    skel, nb, dist = _skeleton_graph(G)
    special = (nb >= 3) | (nb == 1)  # junctions and end points
    d_special = ndi.distance_transform_edt(~special) if special.any() else np.full(G.shape, np.inf)
    cand = np.argwhere(skel & (nb == 2))
    rng = np.random.default_rng([seed, 14])
    cand = cand[rng.permutation(len(cand))]
    cur = G.copy()
    n_comp = label(cur, connectivity=2, return_num=True)[1]
    taken: list[tuple[int, int, float]] = []
    cuts: list[np.ndarray] = []
    H, W = G.shape
    yy, xx = np.mgrid[0:H, 0:W]
    for r, c in cand:
        if len(cuts) >= max_gaps:
            break
        R = float(dist[r, c])
        if d_special[r, c] < R + width + 3:
            continue
        if any(math.hypot(r - a, c - b) < R + q + width + 4 for a, b, q in taken):
            continue
        t = _direction(skel, int(r), int(c))
        nvec = np.array([-t[1], t[0]])
        box = (slice(max(int(r - R - width - 3), 0), int(r + R + width + 4)),
               slice(max(int(c - R - width - 3), 0), int(c + R + width + 4)))
        dy, dx = yy[box] - r, xx[box] - c
        along, across = dy * t[0] + dx * t[1], dy * nvec[0] + dx * nvec[1]
        for thick in range(width, width + 4):
            slab = np.zeros_like(G)
            slab[box] = (np.abs(along) < thick / 2.0 + 1e-9) & (np.abs(across) <= R + 1.5) & cur[box]
            trial = cur & ~slab
            n_new = label(trial, connectivity=2, return_num=True)[1]
            if n_new == n_comp + 1:
                cur, n_comp = trial, n_new
                cuts.append(slab)
                taken.append((int(r), int(c), R))
                break
            if n_new > n_comp + 1:  # the slab cut off more than one piece: not a clean gap
                break
    return cuts


def thin_gaps(gt: Any, n_gaps: int, width: int = 1, seed: int = 0) -> Perturbation:
    """The ground truth with ``n_gaps`` gaps of ``width`` pixels that each break its connectivity
    (:func:`gap_order`; a smaller request is a prefix of a larger one). ``applied`` reports the
    pixels removed, the components before and after and the gaps made (fewer than asked, with a
    message, when the structure has no more room)."""
    G = _as_mask(gt)
    n = _count_pixels("n_gaps", n_gaps)
    cuts = gap_order(G, width, seed, max_gaps=max(n, 1))
    messages = []
    if len(cuts) < n:
        messages.append(f"only {len(cuts)} gaps fit (away from junctions, end points and each other); asked for {n}")
    pred = G.copy()
    for cut in cuts[:n]:
        pred &= ~cut
    return _thin_result(pred, G, {"mode": "gaps", "n_gaps": n, "width": width, "seed": seed}, messages,
                        {"gaps": min(n, len(cuts))})


def thin_by_one(gt: Any) -> Perturbation:
    """One pixel peeled off the structure's boundary (erosion by the face cross), its skeleton kept
    (scikit-image), so one-pixel branches survive and the connectivity is unchanged."""
    from skimage.morphology import skeletonize

    G = _as_mask(gt)
    pred = ndi.binary_erosion(G, structure=ndi.generate_binary_structure(2, 1), border_value=1) | skeletonize(G)
    return _thin_result(pred, G, {"mode": "thin"}, [])


def thicken_by_one(gt: Any) -> Perturbation:
    """One pixel added around the structure (dilation by the face cross); branches one pixel apart
    may merge (the components are reported)."""
    G = _as_mask(gt)
    pred = ndi.binary_dilation(G, structure=ndi.generate_binary_structure(2, 1))
    return _thin_result(pred, G, {"mode": "thicken"}, [])


def shift_by(gt: Any, dy: int = 1, dx: int = 0) -> Perturbation:
    """The structure moved by ``(dy, dx)`` pixels (background enters at the border): for a one-pixel
    vessel a one-pixel shift is a complete miss, whatever its length."""
    G = _as_mask(gt)
    dy = _signed_int("dy", dy)
    dx = _signed_int("dx", dx)
    return _thin_result(_shifted(G, dy, dx), G, {"mode": "shift", "dy": dy, "dx": dx}, [])


def spurious_branches(gt: Any, n: int, length: int = 8, seed: int = 0) -> Perturbation:
    """``n`` false one-pixel branches of ``length`` pixels outside the structure
    (:func:`skimage.draw.line`), each leaving a skeleton point across the vessel (seeded side and
    point), kept only when it touches nothing but its own vessel: the components and holes are
    unchanged, only the false positives and the skeleton grow."""
    from skimage.draw import line

    G = _as_mask(gt)
    n = _count_pixels("n", n)
    length = _count_pixels("length", length)
    seed = _seed(seed)
    pred = G.copy()
    if not G.any() or n == 0 or length == 0:
        return _thin_result(pred, G, {"mode": "branches", "n": n, "length": length, "seed": seed}, [], {"branches": 0})
    skel, nb, dist = _skeleton_graph(G)
    cand = np.argwhere(skel & (nb == 2))
    rng = np.random.default_rng([seed, 15])
    cand = cand[rng.permutation(len(cand))]
    H, W = G.shape
    made = 0
    eight = np.ones((3, 3), bool)
    for r, c in cand:
        if made >= n:
            break
        t = _direction(skel, int(r), int(c))
        side = 1 if rng.random() < 0.5 else -1
        nvec = side * np.array([-t[1], t[0]])
        R = float(dist[r, c])
        end = (r + nvec[0] * (R + length), c + nvec[1] * (R + length))
        if not (0 <= end[0] <= H - 1 and 0 <= end[1] <= W - 1):
            continue
        rr, cc = line(int(r), int(c), int(round(end[0])), int(round(end[1])))
        new = np.zeros_like(G)
        new[rr, cc] = True
        new &= ~pred
        if not new.any():
            continue
        # the branch may touch the mask only where it leaves its own vessel
        lab, k = ndi.label(new, structure=eight)
        if k != 1:
            continue
        touch = ndi.binary_dilation(new, structure=eight) & pred
        own = np.zeros_like(G)
        own[max(int(r - R - 2), 0):int(r + R + 3), max(int(c - R - 2), 0):int(c + R + 3)] = True
        if (touch & ~own).any():
            continue
        pred |= new
        made += 1
    messages = [] if made == n else [f"only {made} branches fit without touching another part; asked for {n}"]
    return _thin_result(pred, G, {"mode": "branches", "n": n, "length": length, "seed": seed}, messages,
                        {"branches": made})


def unchanged(gt: Any) -> Perturbation:
    """The ground truth itself as the prediction (the "none" error of the Thin structures page),
    with the same counts and components as every other thin perturbation."""
    g = _as_mask(gt)
    return _thin_result(g.copy(), g, {"mode": "none"}, [])
