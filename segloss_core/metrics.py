"""Hard-threshold read-outs (not losses): Dice, IoU, precision, sensitivity, specificity,
Hausdorff distance and HD95, in pixels.

Conventions for empty sets (documented, never NaN):

* Dice, IoU: both masks empty -> 1 (perfect agreement); one empty -> 0.
* precision = TP/(TP+FP): nothing predicted -> 1 if the ground truth is empty too, else 0.
* sensitivity = TP/(TP+FN): empty ground truth -> 1 if nothing is predicted, else 0.
* specificity = TN/(TN+FP): no background in the ground truth -> 1 if no FP (always), else 0.
* Hausdorff and HD95 are measured between the contours (``mask XOR erosion(mask)``, as MONAI
  does): both empty -> 0; exactly one empty -> ``None`` (undefined; shown as "n/a").
  HD95 is the larger of the two directed 95th percentiles.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

METRICS = ("dice", "iou", "precision", "sensitivity", "specificity", "hd", "hd95")


def _ratio(num: int, den: int, when_empty: float) -> float:
    return float(num) / den if den > 0 else when_empty


def _edges(mask: np.ndarray) -> np.ndarray:
    return mask ^ ndi.binary_erosion(mask, structure=ndi.generate_binary_structure(mask.ndim, 1), border_value=0)


def surface_distances(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Directed contour distances (pred->gt, gt->pred); ``None`` if exactly one mask is empty."""
    if not gt.any() and not pred.any():
        return np.zeros(1), np.zeros(1)
    if not gt.any() or not pred.any():
        return None
    eg, ep = _edges(gt), _edges(pred)
    d_to_g = ndi.distance_transform_edt(~eg)
    d_to_p = ndi.distance_transform_edt(~ep)
    return d_to_g[ep], d_to_p[eg]


def hard_metrics(gt: np.ndarray, pred: np.ndarray) -> dict[str, float | None]:
    """All read-outs for one pair of binary masks of the same shape."""
    gt = np.asarray(gt).astype(bool)
    pred = np.asarray(pred).astype(bool)
    if gt.shape != pred.shape:
        raise ValueError(f"ground truth {gt.shape} and prediction {pred.shape} differ in shape")
    tp = int(np.count_nonzero(gt & pred))
    fp = int(np.count_nonzero(~gt & pred))
    fn = int(np.count_nonzero(gt & ~pred))
    tn = gt.size - tp - fp - fn
    both_empty = tp + fp + fn == 0
    out: dict[str, float | None] = {
        "dice": 1.0 if both_empty else 2 * tp / (2 * tp + fp + fn),
        "iou": 1.0 if both_empty else tp / (tp + fp + fn),
        "precision": _ratio(tp, tp + fp, 1.0 if fn == 0 else 0.0),
        "sensitivity": _ratio(tp, tp + fn, 1.0 if fp == 0 else 0.0),
        "specificity": _ratio(tn, tn + fp, 1.0),
    }
    sd = surface_distances(gt, pred)
    if sd is None:
        out["hd"] = out["hd95"] = None
    else:
        a, b = sd
        out["hd"] = float(max(a.max(), b.max()))
        out["hd95"] = float(max(np.percentile(a, 95), np.percentile(b, 95)))
    return out


def counts(gt: np.ndarray, pred: np.ndarray) -> dict[str, int]:
    """Pixel counts of TP, FP, FN, TN."""
    gt = np.asarray(gt).astype(bool)
    pred = np.asarray(pred).astype(bool)
    tp = int(np.count_nonzero(gt & pred))
    fp = int(np.count_nonzero(~gt & pred))
    fn = int(np.count_nonzero(gt & ~pred))
    return {"tp": tp, "fp": fp, "fn": fn, "tn": gt.size - tp - fp - fn}
