"""Topology read-outs of hard masks (not losses): Betti numbers, the clDice metric, skeleton recall
and precision. scikit-image does the work: :func:`skimage.measure.label` for components,
:func:`skimage.measure.euler_number` for the Euler characteristic, :func:`skimage.morphology.skeletonize`
for centrelines.

Connectivity: the foreground is 8-connected in 2-D (26 in 3-D) and the background 4-connected
(6 in 3-D), the dual pair for which the Euler characteristic equals ``β0 - β1 (+ β2)``.

* ``betti0``: connected components of the mask.
* ``betti1``: holes (2-D: background regions enclosed by the mask), from ``χ = β0 - β1`` in 2-D and
  ``χ = β0 - β1 + β2`` in 3-D (tunnels), with ``β2`` the enclosed cavities.
* clDice metric (Shit et al., CVPR 2021): ``Tprec = |S(P) ∩ G| / |S(P)|``, ``Tsens = |S(G) ∩ P| / |S(G)|``,
  ``clDice = 2 Tprec Tsens / (Tprec + Tsens)``. ``Tsens`` is the skeleton recall, ``Tprec`` the
  skeleton precision.

Empty sets (documented, never NaN): an empty skeleton has precision/recall 1 (nothing of it is
wrong); clDice is 1 when both are 1, 0 when either is 0.
"""
from __future__ import annotations

import numpy as np
from skimage.measure import euler_number, label

from .skeletons import cached_skeleton

TOPOLOGY = ("betti0_gt", "betti1_gt", "betti0_pred", "betti1_pred", "d_betti0", "d_betti1",
            "cldice", "skeleton_recall", "skeleton_precision")


def _enclosed_background(mask: np.ndarray) -> int:
    """Background components (face connectivity) that do not touch the image border."""
    lab, n = label(~mask, connectivity=1, return_num=True)
    if n == 0:
        return 0
    border = np.zeros(mask.shape, bool)
    for axis in range(mask.ndim):
        idx = [slice(None)] * mask.ndim
        idx[axis] = 0
        border[tuple(idx)] = True
        idx[axis] = -1
        border[tuple(idx)] = True
    touching = np.unique(lab[border & (lab > 0)])
    return int(n - len(touching))


def betti_numbers(mask: np.ndarray) -> tuple[int, int]:
    """``(β0, β1)`` of a 2-D or 3-D binary mask: components and holes (3-D: tunnels)."""
    m = np.asarray(mask).astype(bool)
    if m.ndim not in (2, 3):
        raise ValueError(f"Betti numbers need a 2-D or 3-D mask; got shape {m.shape}")
    if not m.any():
        return 0, 0
    b0 = int(label(m, connectivity=m.ndim, return_num=True)[1])
    chi = int(euler_number(m, connectivity=m.ndim))
    if m.ndim == 2:
        return b0, b0 - chi
    b2 = _enclosed_background(m)
    return b0, b0 + b2 - chi


def skeleton_scores(gt: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Skeleton precision ``Tprec``, recall ``Tsens`` and the clDice metric of hard masks."""
    g = np.asarray(gt).astype(bool)
    p = np.asarray(pred).astype(bool)
    if g.shape != p.shape:
        raise ValueError(f"ground truth {g.shape} and prediction {p.shape} differ in shape")
    sp, sg = cached_skeleton(p), cached_skeleton(g)
    tprec = float((sp & g).sum() / sp.sum()) if sp.any() else 1.0
    tsens = float((sg & p).sum() / sg.sum()) if sg.any() else 1.0
    cl = 2 * tprec * tsens / (tprec + tsens) if tprec + tsens > 0 else 0.0
    return {"cldice": cl, "skeleton_recall": tsens, "skeleton_precision": tprec}


def topology_metrics(gt: np.ndarray, pred: np.ndarray) -> dict[str, float | int]:
    """Every topology read-out for one pair of masks (the keys of :data:`TOPOLOGY`); the
    differences are prediction minus ground truth (a broken vessel: ``d_betti0 > 0``)."""
    g = np.asarray(gt).astype(bool)
    p = np.asarray(pred).astype(bool)
    b0g, b1g = betti_numbers(g)
    b0p, b1p = betti_numbers(p)
    out: dict[str, float | int] = {"betti0_gt": b0g, "betti1_gt": b1g, "betti0_pred": b0p, "betti1_pred": b1p,
                                   "d_betti0": b0p - b0g, "d_betti1": b1p - b1g}
    out.update(skeleton_scores(g, p))
    return out
