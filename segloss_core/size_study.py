"""Gradient magnitude vs object size at a fixed *relative* error.

The survey comparison (SURVEY.md) uses the same absolute error step for a large and a small object.
This study asks the complementary question: with the *same relative error* (say 20 % of the
object's pixels missed and as many pixels, 20 % of the object, added outside it), how large are the
gradients that each loss sends back, as the object shrinks from a radius of 100 px to 2 px in a
fixed-size image?

For Dice-type losses the per-pixel gradient scales like ``1 / (Σp + Σg)`` (seed 004: the Dice
gradient has the form ``2t² / (p + t)²`` and explodes when ``p`` and ``t`` are small), so it grows
as the object shrinks; for cross-entropy the per-pixel gradient is ``(p - g) / N`` whatever the
object size, so its value on a false-negative pixel does not change and its L2 norm shrinks with
the number of erroneous pixels.

Every radius is one ground truth, so the study runs one batched :func:`~segloss_core.sweep.run_sweep`
per radius (every selected loss in that pass; the ground-truth distance maps are built once per
radius). No Streamlit here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .masks import make_shape
from .perturb import FN_MODES, FP_MODES, perturb, soften
from .registry import get
from .sweep import run_sweep

__all__ = ["SizeCase", "COLUMNS", "log_radii", "size_case", "gradient_vs_size", "blow_up"]

#: Columns of the tidy table returned by :func:`gradient_vs_size`.
COLUMNS = ("radius", "pixels", "fraction", "tp_px", "fn_px", "fp_px", "loss", "value", "grad_l2",
           "grad_tp", "grad_fn", "grad_fp", "grad_tn", "grad_max")


@dataclass
class SizeCase:
    """One ground truth of a given radius and its perturbed soft prediction."""

    radius: float
    gt: np.ndarray  # bool (H, W)
    hard: np.ndarray  # bool (H, W), the perturbed prediction
    soft: np.ndarray  # float32 (H, W), probabilities c / 1 - c (optionally blurred)
    counts: dict[str, int]  # tp, fp, fn, tn of the hard prediction
    messages: list[str] = field(default_factory=list)


def log_radii(r_min: float = 2.0, r_max: float = 100.0, n: int = 15) -> np.ndarray:
    """``n`` log-spaced radii from ``r_min`` to ``r_max`` (rounded to 0.01 px, duplicates removed).

    >>> log_radii(2, 100, 3).tolist()
    [2.0, 14.14, 100.0]
    """
    if not (math.isfinite(r_min) and math.isfinite(r_max)) or not 0 < r_min < r_max:
        raise ValueError(f"radii need 0 < r_min < r_max; got r_min={r_min!r}, r_max={r_max!r}")
    if isinstance(n, bool) or int(n) != n or not 2 <= n <= 100:
        raise ValueError(f"the number of radii must be an integer in [2, 100]; got {n!r}")
    return np.unique(np.round(np.geomspace(r_min, r_max, int(n)), 2))


def _check_fraction(name: str, v: float, high: float) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a fraction of the object's pixels; got {v!r}") from None
    if not math.isfinite(f) or not 0 <= f <= high:
        raise ValueError(f"{name} must be in [0, {high:g}] (a fraction of the object's pixels); got {v!r}")
    return f


def size_case(radius: float, *, size: int = 256, fn: float = 0.2, fp: float = 0.2, fn_mode: str = "boundary",
              fp_mode: str = "boundary", confidence: float = 0.99, blur: float = 0.0, seed: int = 0,
              shape: str = "disk") -> SizeCase:
    """The ground truth of ``radius`` in a ``size × size`` image and a prediction with ``fn`` of its
    pixels removed and ``fp`` × its pixel count added outside it, softened to probabilities.

    Parameters
    ----------
    radius : float
        Object radius in pixels, in ``[1, size / 2]``.
    fn, fp : float
        Relative error: false negatives in ``[0, 1]`` and false positives in ``[0, 10]``, as
        fractions of the object's pixel count (rounded to whole pixels; FP is clamped to the
        background, said in ``messages``).
    fn_mode, fp_mode, seed : as in :func:`segloss_core.perturb.perturb`.
    confidence, blur : as in :func:`segloss_core.perturb.soften`.
    """
    r = float(radius)
    if not math.isfinite(r) or not 1 <= r <= size / 2:
        raise ValueError(f"radius must be in [1, {size / 2:g}] px for a {size}x{size} image; got {radius!r}")
    fn = _check_fraction("fn", fn, 1.0)
    fp = _check_fraction("fp", fp, 10.0)
    if fn_mode not in FN_MODES:
        raise ValueError(f"fn_mode must be one of {', '.join(FN_MODES)}; got {fn_mode!r}")
    if fp_mode not in FP_MODES:
        raise ValueError(f"fp_mode must be one of {', '.join(FP_MODES)}; got {fp_mode!r}")
    gt = make_shape(shape, size=size, radius=r)
    pert = perturb(gt, fn=fn, fp=fp, fn_mode=fn_mode, fp_mode=fp_mode, units="fraction", seed=seed)
    soft = soften(pert.mask, confidence=confidence, blur_sigma=blur, dtype=np.float32)
    return SizeCase(r, gt, pert.mask, soft, dict(pert.counts), list(pert.messages))


def gradient_vs_size(radii: Iterable[float], keys: Sequence[str], params: dict[str, dict[str, Any]] | None = None, *,
                     size: int = 256, fn: float = 0.2, fp: float = 0.2, fn_mode: str = "boundary",
                     fp_mode: str = "boundary", confidence: float = 0.99, blur: float = 0.0, seed: int = 0,
                     shape: str = "disk", wrt_probs: bool = False, device: str = "auto",
                     progress: Callable[[float, str], None] | None = None) -> pd.DataFrame:
    """Loss value and gradient summaries for every radius × loss, as a tidy table.

    Returns
    -------
    pandas.DataFrame
        One row per (radius, loss), columns :data:`COLUMNS`: ``pixels`` (object size),
        ``fraction`` (of the image), ``tp_px``/``fn_px``/``fp_px`` (pixel counts of the hard
        prediction), ``value``, ``grad_l2`` (‖∂L/∂z‖₂ over the image), ``grad_tp``/``grad_fn``/
        ``grad_fp``/``grad_tn`` (mean |∂L/∂z| over each region of the prediction thresholded at
        0.5; 0 for an empty region) and ``grad_max`` (largest |∂L/∂z| of any pixel). With
        ``wrt_probs`` the gradients are taken with respect to the probabilities instead.
    """
    keys = list(keys)
    if not keys:
        raise ValueError("choose at least one loss")
    for k in keys:
        get(k)
    radii = [float(r) for r in radii]
    if not radii:
        raise ValueError("give at least one radius")
    cases = [size_case(r, size=size, fn=fn, fp=fp, fn_mode=fn_mode, fp_mode=fp_mode, confidence=confidence,
                       blur=blur, seed=seed, shape=shape) for r in radii]
    rows = []
    for i, case in enumerate(cases):
        res = run_sweep(case.gt, case.soft[None], keys, params, device=device, keep_grads=True, wrt_probs=wrt_probs)
        pixels = int(case.gt.sum())
        for k in keys:  # the sweep's summaries are of ∂L/∂z, or of ∂L/∂p with wrt_probs
            g = np.abs(res.grads[k][0].astype(np.float64))
            l2 = float(res.grad_l2[k][0])
            rg = {r: float(res.region_grad[k][r][0]) for r in ("tp", "fp", "fn", "tn")}
            rows.append({"radius": case.radius, "pixels": pixels, "fraction": pixels / case.gt.size,
                         "tp_px": case.counts["tp"], "fn_px": case.counts["fn"], "fp_px": case.counts["fp"],
                         "loss": k, "value": float(res.values[k][0]), "grad_l2": l2,
                         "grad_tp": rg["tp"], "grad_fn": rg["fn"], "grad_fp": rg["fp"], "grad_tn": rg["tn"],
                         "grad_max": float(g.max())})
        if progress:
            progress((i + 1) / len(cases), f"radius {case.radius:g} px ({i + 1} of {len(cases)})")
    return pd.DataFrame(rows, columns=list(COLUMNS))


def blow_up(df: pd.DataFrame, column: str = "grad_l2") -> pd.DataFrame:
    """Per loss: ``column`` at the smallest and at the largest radius and their ratio (small / large),
    sorted by that ratio, largest first. A ratio above 1 means the quantity grows as the object shrinks.
    """
    if column not in df:
        raise ValueError(f"unknown column {column!r}; expected one of {', '.join(COLUMNS)}")
    out = []
    for k, d in df.groupby("loss", sort=False):
        d = d.sort_values("radius")
        small, large = float(d[column].iloc[0]), float(d[column].iloc[-1])
        ratio = small / large if large != 0 else (math.inf if small != 0 else 1.0)
        out.append({"loss": k, "r_small": float(d["radius"].iloc[0]), "small": small,
                    "r_large": float(d["radius"].iloc[-1]), "large": large, "ratio": ratio})
    return pd.DataFrame(out).sort_values("ratio", ascending=False, ignore_index=True)
