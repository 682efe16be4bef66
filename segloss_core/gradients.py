"""Loss values and the gradients they send back, for a whole batch at once.

"Gradient" means the gradient of the per-sample loss with respect to the prediction logits z
(what backpropagation hands the network), with p = sigmoid(z) (softmax for C>1). Samples are
independent, so one backward of the batch sum gives every sample's own gradient. The gradient with
respect to the probabilities is available on request.

Summaries per sample: the L2 norm of the gradient over the image and the mean |∂L/∂z| over the
TP, FP, FN and TN regions of the prediction thresholded at p = 0.5 (binary input), with the pixel
count of each region (a region with no pixel reports a mean of 0 and count 0).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import torch

from .distance import TargetMaps
from .registry import get
from .tensors import check_pair, probs

REGIONS = ("tp", "fp", "fn", "tn")


@dataclass
class LossResult:
    """Everything computed for one loss over a batch."""

    value: torch.Tensor  # (B,)
    grad: torch.Tensor  # (B, C, *spatial), d loss / d logits
    grad_p: torch.Tensor | None = None  # (B, C, *spatial), d loss / d probabilities
    l2: torch.Tensor | None = None  # (B,)
    region_mean: dict[str, torch.Tensor] = field(default_factory=dict)  # region -> (B,)


@dataclass
class GradientReport:
    losses: dict[str, LossResult]
    region_count: dict[str, torch.Tensor]  # region -> (B,) pixel counts


def region_masks(logits: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """TP/FP/FN/TN masks of the thresholded prediction (binary: p > 0.5; multi-class: argmax,
    counted on the non-background classes)."""
    if logits.shape[1] == 1:
        pred = logits.detach() > 0
        gt = (target > 0.5).expand_as(pred)
    else:
        k = logits.shape[1]
        pred = torch.nn.functional.one_hot(logits.detach().argmax(1), k).movedim(-1, 1)[:, 1:].bool()
        gt = (target[:, 1:] > 0.5).expand_as(pred)
    return {"tp": pred & gt, "fp": pred & ~gt, "fn": ~pred & gt, "tn": ~pred & ~gt}


def loss_gradients(logits: torch.Tensor, target: torch.Tensor, keys: Iterable[str],
                   params: dict[str, dict[str, Any]] | None = None, *, maps: TargetMaps | None = None,
                   wrt_probs: bool = False, summaries: bool = True) -> GradientReport:
    """Values, per-pixel gradients and gradient summaries of several losses on one batch.

    Parameters
    ----------
    logits, target : the library's convention (``(B, C, *spatial)``, target batch 1 broadcasts).
    keys : registry keys.
    params : ``{key: {param: value}}`` overrides, validated against the registry.
    maps : ground-truth distance maps to reuse (built once here if any loss needs them).
    wrt_probs : also return the gradient with respect to the probabilities.
    """
    check_pair(logits, target)
    keys = list(keys)
    specs = [get(k) for k in keys]
    params = params or {}
    if maps is None and any(s.needs_maps for s in specs) and logits.shape[1] == 1:
        maps = TargetMaps(target)
    regions = region_masks(logits, target) if summaries else {}
    out: dict[str, LossResult] = {}
    for key, spec in zip(keys, specs):
        z = logits.detach().requires_grad_(True)
        with torch.enable_grad():
            value = spec(z, target, maps=maps, **params.get(key, {}))
            (grad,) = torch.autograd.grad(value.sum(), z)
        res = LossResult(value=value.detach(), grad=grad)
        if wrt_probs:
            res.grad_p = _grad_wrt_probs(spec, logits, target, maps, params.get(key, {}), grad)
        if summaries:
            flat = grad.flatten(1)
            res.l2 = flat.norm(dim=1)
            a = grad.abs()
            if logits.shape[1] > 1:
                a = a[:, 1:]
            for r, m in regions.items():
                n = m.flatten(1).sum(1)
                s = (a * m).flatten(1).sum(1)
                res.region_mean[r] = torch.where(n > 0, s / n.clamp_min(1), torch.zeros_like(s))
        out[key] = res
    counts = {r: m.flatten(1).sum(1) for r, m in regions.items()}
    return GradientReport(out, counts)


def _grad_wrt_probs(spec, logits, target, maps, params, grad_z):
    """d loss / d p. Binary: chain rule ``dL/dz / (p (1-p))`` (exact, no second pass). Multi-class:
    a second pass with the probabilities as the leaf and ``z = log p``."""
    if logits.shape[1] == 1:
        p = torch.sigmoid(logits.detach())
        return grad_z / (p * (1 - p)).clamp_min(torch.finfo(p.dtype).tiny)
    p = probs(logits.detach()).requires_grad_(True)
    with torch.enable_grad():
        v = spec(torch.log(p), target, maps=maps, **params)
        (gp,) = torch.autograd.grad(v.sum(), p)
    return gp
