"""Boundary-based losses: weights from distance maps (scipy EDT, no gradient).

Ground-truth maps come from a :class:`~segloss_core.distance.TargetMaps`, computed once and
reusable across losses and sweep levels (pass ``maps=``). Maps of the prediction (thresholded at
p = 0.5) are recomputed per call, as they change with the prediction. Binary only.
"""
from __future__ import annotations

import torch

from ..distance import TargetMaps, resolve_maps
from ..tensors import per_sample, probs, pt_log, require_binary, spatial_mean
from .region import generalized_dice


def boundary(logits: torch.Tensor, target: torch.Tensor, *, maps: TargetMaps | None = None) -> torch.Tensor:
    r"""Boundary (surface) loss (Kervadec et al., MIDL 2019).

    .. math:: L = \frac1N\sum_x \varphi_G(x)\,p(x)

    φ_G is the signed distance to the ground-truth contour: ``-(d_fg - 1)`` inside (0 on the inner
    contour, negative deeper in), ``d_bg`` outside. The loss can be negative (its minimum is a
    perfect prediction of a large object). An empty or full ground truth has no contour: φ_G = 0
    and the loss is 0 whatever the prediction (Kervadec's and MONAI's convention). Binary only.
    """
    require_binary("boundary", logits)
    m = resolve_maps(maps, target)
    return spatial_mean(m.signed * probs(logits))


def gdl_boundary(logits: torch.Tensor, target: torch.Tensor, *, maps: TargetMaps | None = None,
                 alpha: float = 0.5) -> torch.Tensor:
    r"""Generalized Dice + boundary (Kervadec et al. 2019).

    .. math:: L = \alpha\,L_{GD} + (1-\alpha)\,L_B

    The paper schedules α during training (from 1 down); here it is a parameter. Binary only.
    """
    require_binary("gdl_boundary", logits)
    return alpha * generalized_dice(logits, target) + (1 - alpha) * boundary(logits, target, maps=maps)


def hausdorff_dt(logits: torch.Tensor, target: torch.Tensor, *, maps: TargetMaps | None = None,
                 alpha: float = 2.0) -> torch.Tensor:
    r"""Hausdorff distance-transform loss (Karimi & Salcudean 2019).

    .. math:: L = \frac1N\sum_x (p - g)^2\,\big(d_G^{\alpha} + d_P^{\alpha}\big)

    ``d``: unsigned distance field ``edt(fg) + edt(bg)`` of the ground truth (G) and of the
    prediction thresholded at 0.5 (P), as in MONAI's ``HausdorffDTLoss``; an empty mask gives a zero
    field. Binary only.
    """
    require_binary("hausdorff_dt", logits)
    m = resolve_maps(maps, target)
    p = probs(logits)
    alpha = per_sample(alpha, p)
    with torch.no_grad():  # the distance weight d_G^α + d_P^α, built in place (no gradient)
        weight = m.prediction_distance(logits).pow(alpha).add_(m.contour.pow(alpha))
    return spatial_mean((p - target).square() * weight)


def shape_aware(logits: torch.Tensor, target: torch.Tensor, *, maps: TargetMaps | None = None) -> torch.Tensor:
    r"""Shape-aware loss (Al Arif et al. 2017).

    .. math:: L = \frac1N\sum_x (1 + E(x))\,CE(x)

    ``E(x)`` is the distance from x to the ground-truth contour where x lies on the contour of the
    thresholded prediction, 0 elsewhere (seed 002 prints a minus sign; that is a typo: the
    penalty must add to CE). A perfect prediction gives ``E = 0`` and plain CE. Binary only.
    """
    require_binary("shape_aware", logits)
    m = resolve_maps(maps, target)
    e = m.prediction_contour(logits) * m.to_contour
    return -spatial_mean((1 + e) * pt_log(logits, target))
