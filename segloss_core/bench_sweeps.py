"""Benchmark of the sweeps the app runs most: one loss (or a few), one object, the whole ladder.

``sweep_one_loss``: for each loss of :data:`SWEEP_LOSSES` (and the seven together), the wall time
of :func:`~segloss_core.sweep.run_sweep` on one object of the survey protocol (41 levels of
256×256 soft predictions: values, gradients w.r.t. the logits, gradient L2 norms and TP/FP/FN/TN
means), best of ``repeat``. When MONAI is importable the same work is timed in the same run with
MONAI's losses, batched over the levels (``reduction="none"``, one forward and one backward of the
whole ladder, starting from the same probability stack), and both sides' values and gradient
norms are checked to agree as the naive check of :mod:`segloss_core.bench` does (relative 1e-3,
with 1e-6 added to the denominator; both sides compute in float32, and 1 - ratio near 0 leaves
float32 cancellation of ~1e-4 relative at the first levels). The two sides
are timed alternately, so a load change on a shared machine hits both.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from .survey import SurveyConfig, level_stack, object_masks
from .sweep import run_sweep
from .tensors import logits_from_probs

#: The losses of issue 11's comparison (those MONAI implements with our conventions).
SWEEP_LOSSES = ("dice", "jaccard", "tversky", "squared_dice", "generalized_dice", "focal", "hausdorff_dt")
SEVEN = "seven"  # the seven losses in one sweep


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def monai_references() -> dict | None:
    """``{key: fn(logits (L,1,H,W), target (L,1,H,W)) -> (L,)}`` with MONAI's losses set to our
    conventions (the mapping of tests/test_losses_reference.py), or None without MONAI."""
    try:
        from monai.losses import DiceLoss, FocalLoss, GeneralizedDiceLoss, HausdorffDTLoss, TverskyLoss
    except ImportError:
        return None

    def mean(fn):
        return lambda z, t: fn(z, t).reshape(z.shape[0], -1).mean(1)

    gdl = GeneralizedDiceLoss(w_type="square", smooth_nr=0.0, smooth_dr=0.0, include_background=True,
                              reduction="none")

    def generalized_dice(z, t):  # labels {background, foreground} as ours: the 2-channel [1-p, p]
        p = torch.sigmoid(z)
        return gdl(torch.cat([1 - p, p], 1), torch.cat([1 - t, t], 1)).reshape(z.shape[0], -1).mean(1)

    return {
        "dice": mean(DiceLoss(sigmoid=True, smooth_nr=1.0, smooth_dr=1.0, reduction="none")),
        "jaccard": mean(DiceLoss(sigmoid=True, jaccard=True, smooth_nr=2.0, smooth_dr=2.0, reduction="none")),
        "tversky": mean(TverskyLoss(sigmoid=True, alpha=0.3, beta=0.7, smooth_nr=1.0, smooth_dr=1.0,
                                    reduction="none")),
        "squared_dice": mean(DiceLoss(sigmoid=True, squared_pred=True, smooth_nr=1.0, smooth_dr=1.0,
                                      reduction="none")),
        "generalized_dice": generalized_dice,
        "focal": mean(FocalLoss(use_softmax=False, gamma=2.0, alpha=0.25, reduction="none")),
        "hausdorff_dt": mean(HausdorffDTLoss(alpha=2.0, sigmoid=True, include_background=True, reduction="none")),
    }


def monai_sweep(refs: dict, keys, gt: np.ndarray, preds: np.ndarray, dev: torch.device) -> dict:
    """MONAI's values and gradient norms ``{key: (values (L,), grad_l2 (L,))}``: the ladder as one
    batch per loss, one backward each."""
    target = torch.as_tensor(gt, dtype=torch.float32, device=dev)[None, None].expand(len(preds), 1, *gt.shape)
    z0 = logits_from_probs(torch.as_tensor(preds, dtype=torch.float32, device=dev)[:, None])
    out = {}
    for k in keys:
        z = z0.detach().requires_grad_(True)
        v = refs[k](z, target)
        (g,) = torch.autograd.grad(v.sum(), z)
        out[k] = (v.detach().double().cpu().numpy(), g.flatten(1).norm(dim=1).double().cpu().numpy())
    return out


def _agree(ours, theirs, what: str) -> float:
    worst = float(np.max(np.abs(ours - theirs) / (np.abs(theirs) + 1e-6)))
    if worst > 1e-3:
        raise AssertionError(f"{what}: ours and MONAI disagree (max relative difference {worst:.2e})")
    return worst


def sweep_one_loss(cfg: SurveyConfig, dev: torch.device, repeat: int = 5, keys=SWEEP_LOSSES,
                   objects=("large", "small")) -> dict:
    """Times (s) of one-loss sweeps and of the seven together, per object, ours and MONAI's."""
    refs = monai_references()
    groups = [(k, [k]) for k in keys] + [(SEVEN, list(keys))]
    ours_s = {name: {} for name, _ in groups}
    monai_s = {name: {} for name, _ in groups} if refs else None
    worst = 0.0
    masks = object_masks(cfg)
    for obj in objects:
        gt = masks[obj]
        preds, _ = level_stack(gt, cfg)
        for name, ks in groups:
            run_sweep(gt, preds, ks, device=dev)  # warm-up
            best_o = best_m = float("inf")
            for _ in range(repeat):
                _sync(dev)
                t = time.perf_counter()
                res = run_sweep(gt, preds, ks, device=dev)
                _sync(dev)
                best_o = min(best_o, time.perf_counter() - t)
                if refs:
                    t = time.perf_counter()
                    ref = monai_sweep(refs, ks, gt, preds, dev)
                    _sync(dev)
                    best_m = min(best_m, time.perf_counter() - t)
            ours_s[name][obj] = round(best_o, 5)
            if refs:
                monai_s[name][obj] = round(best_m, 5)
                for k in ks:
                    worst = max(worst, _agree(res.values[k], ref[k][0], f"{k} values ({obj})"),
                                _agree(res.grad_l2[k], ref[k][1], f"{k} gradient norms ({obj})"))
    out = {"sweep_one_loss_s": ours_s}
    if refs:
        out["monai_sweep_s"] = monai_s
        out["vs_monai"] = {name: {obj: round(monai_s[name][obj] / ours_s[name][obj], 2) for obj in objects}
                           for name, _ in groups}
        out["max_rel_diff_vs_monai"] = worst
    return out
