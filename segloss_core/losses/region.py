"""Region-based (overlap) losses on soft counts, per sample and per class.

Soft counts per sample and class: ``TP = Σ p g``, ``FP = Σ p (1-g)``, ``FN = Σ (1-p) g``. The
smoothing constant ``s`` is added to numerator and denominator and exposed as a parameter: it is
what keeps an empty ground truth with an empty prediction at loss 0, and it is what makes the soft
Dice of a tiny object so different from that of a large one.

Binary input (C=1) scores the foreground channel. Multi-class input (C>1, softmax) scores every
channel and averages over the classes present in the sample's ground truth (``classes="present"``).
A denominator that is exactly 0 (only possible with ``s = 0`` and empty masks) counts as a
perfect score, never as NaN.

``s = 0`` is allowed (the no-smoothing variant some pipelines use). Then an empty ground truth gives
loss 0 only for an *exactly* empty prediction (every p = 0, logits −∞); a sigmoid output is always
positive, so in practice an empty image scores the maximum loss 1, with gradient 0 (TP = 0 whatever
the prediction): the image teaches nothing. With ``s > 0`` the same case gives ``1 - s/(Σp + s)``,
which falls to 0 as the prediction empties.
"""
from __future__ import annotations

import torch

from ..tensors import class_log_probs, class_targets, per_sample, pow_floor, probs, require_binary, safe_ratio, spatial_sum


def _counts(logits: torch.Tensor, target: torch.Tensor):
    p = probs(logits)
    g = target.expand_as(p)
    tp = spatial_sum(p * g)
    return p, g, tp, spatial_sum(p) - tp, spatial_sum(g) - tp


def class_mean(per_class: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``(B, C) -> (B,)``: binary returns the single channel; multi-class averages over the classes
    present in each sample's ground truth (all classes if none is present)."""
    if per_class.shape[1] == 1:
        return per_class[:, 0]
    present = (spatial_sum(target.expand(per_class.shape[0], *target.shape[1:])) > 0).to(per_class.dtype)
    present = torch.where(present.sum(1, keepdim=True) > 0, present, torch.ones_like(present))
    return (per_class * present).sum(1) / present.sum(1)


def tversky_index(logits, target, alpha: float, beta: float, smooth: float) -> torch.Tensor:
    """``(TP + s)/(TP + α FP + β FN + s)`` per sample and class, shape ``(B, C)``."""
    _, _, tp, fp, fn = _counts(logits, target)
    alpha, beta, smooth = (per_sample(v, tp) for v in (alpha, beta, smooth))
    return safe_ratio(tp + smooth, tp + alpha * fp + beta * fn + smooth)


def dice(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    r"""Soft Dice loss (Drozdzal et al. 2016; no squares).

    .. math:: L = 1 - \frac{2\,TP + s}{\sum p + \sum g + s}

    Empty ground truth and an exactly empty prediction give 0 (with any s, also s=0; with s=0 any
    positive prediction on an empty ground truth gives 1, see the module docstring). The per-pixel gradient
    w.r.t. p is ``-(2g(Σp+Σg+s) - (2TP+s))/(Σp+Σg+s)^2``: it grows as the object shrinks.
    """
    _, _, tp, fp, fn = _counts(logits, target)
    smooth = per_sample(smooth, tp)
    return class_mean(1 - safe_ratio(2 * tp + smooth, 2 * tp + fp + fn + smooth), target)


def squared_dice(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    r"""V-Net Dice loss (Milletari et al. 2016), squares in the denominator.

    .. math:: L = 1 - \frac{2\sum p g + s}{\sum p^2 + \sum g^2 + s}

    (Σp² and Σg², not squared TP/FP/FN.)
    """
    p = probs(logits)
    g = target.expand_as(p)
    s = spatial_sum(p * g)
    smooth = per_sample(smooth, s)
    score = safe_ratio(2 * s + smooth, spatial_sum(p * p) + spatial_sum(g * g) + smooth)
    return class_mean(1 - score, target)


def jaccard(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    r"""Soft IoU / Jaccard loss (Rahman & Wang 2016).

    .. math:: L = 1 - \frac{TP + s}{\sum p + \sum g - TP + s}

    Equal to Tversky with α=β=1.
    """
    return class_mean(1 - tversky_index(logits, target, 1.0, 1.0, smooth), target)


def tversky(logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.3, beta: float = 0.7,
            smooth: float = 1.0) -> torch.Tensor:
    r"""Tversky loss (Salehi et al. 2017).

    .. math:: TI = \frac{TP + s}{TP + \alpha FP + \beta FN + s},\quad L = 1 - TI

    α weighs false positives, β false negatives. α=β=1 is Jaccard (same s); α=β=0.5 is Dice with
    *double* the smoothing: ``Tversky(0.5, 0.5, s) = (TP + s)/(TP + (FP+FN)/2 + s)
    = (2TP + 2s)/(Σp + Σg + 2s) = Dice(2s)``. Multi-class
    counts are per class (never micro-summed), so α and β keep their meaning.
    """
    return class_mean(1 - tversky_index(logits, target, alpha, beta, smooth), target)


def focal_tversky(logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.3, beta: float = 0.7,
                  gamma: float = 0.75, smooth: float = 1.0) -> torch.Tensor:
    r"""Focal Tversky loss (Abraham & Khan 2019).

    .. math:: L = (1 - TI)^{\gamma}

    γ here is the paper's 1/γ (the paper's 4/3 is 0.75 here). γ=1 is Tversky. Multi-class: the mean
    over classes of the powers (not the power of the mean). ``1 - TI`` is floored at ~1e-19 (float32),
    so γ<1 keeps a finite gradient at a perfect prediction and the value there is ~0.
    """
    ti = tversky_index(logits, target, alpha, beta, smooth)
    return class_mean((1 - ti).clamp_min(pow_floor(ti.dtype)) ** per_sample(gamma, ti), target)


def log_cosh_dice(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    r"""Log-cosh Dice loss (Jadon 2020).

    .. math:: L = \log\cosh(L_{Dice})

    Multi-class: log-cosh of the class-averaged Dice loss.
    """
    return torch.log(torch.cosh(dice(logits, target, smooth)))


def generalized_dice(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r"""Generalized Dice loss (Sudre et al. 2017).

    .. math:: L = 1 - 2\frac{\sum_l w_l \sum_x p_l g_l}{\sum_l w_l \sum_x (p_l + g_l)},
              \quad w_l = \frac{1}{(\sum_x g_l)^2}

    Labels: ``{background, foreground}`` for binary input, the C channels otherwise. A label absent
    from the ground truth would get an infinite weight; it gets the largest finite weight instead
    (MONAI's choice). No smoothing term.
    """
    p, _ = class_log_probs(logits)
    g = class_targets(target).expand_as(p)
    vol = spatial_sum(g)
    w = torch.where(vol > 0, 1.0 / vol.clamp_min(1) ** 2, torch.zeros_like(vol))
    wmax = w.max(1, keepdim=True).values
    w = torch.where(vol > 0, w, wmax)
    num = (w * spatial_sum(p * g)).sum(1)
    den = (w * spatial_sum(p + g)).sum(1)
    return 1 - safe_ratio(2 * num, den)


def sensitivity_specificity(logits: torch.Tensor, target: torch.Tensor, lam: float = 0.05,
                            eps: float = 1e-5) -> torch.Tensor:
    r"""Sensitivity-specificity loss (Brosch et al. 2015; NiftyNet form).

    .. math:: L = \lambda\frac{\sum (g-p)^2 g}{\sum g + \varepsilon}
                 + (1-\lambda)\frac{\sum (g-p)^2 (1-g)}{\sum (1-g) + \varepsilon}

    The first term is the foreground (sensitivity) error, the second the background
    (specificity) error; λ=0.05 as in NiftyNet's ``r``. Binary only (NiftyNet sums the two-class
    version over both channels; here the binary foreground form).
    """
    require_binary("sensitivity_specificity", logits)
    p = probs(logits)
    g = target.expand_as(p)
    err = (g - p) ** 2
    n_fg, n_bg = spatial_sum(g), spatial_sum(1 - g)
    eps = per_sample(eps, n_fg)
    sens = spatial_sum(err * g) / (n_fg + eps)
    spec = spatial_sum(err * (1 - g)) / (n_bg + eps)
    lam = per_sample(lam, sens)
    return (lam * sens + (1 - lam) * spec)[:, 0]
