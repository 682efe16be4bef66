"""Compound losses: sums of a distribution-based and a region-based term. Binary only."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..tensors import per_sample, pow_floor, pt_log, require_binary, spatial_mean, spatial_sum
from .distribution import balanced_ce, bce, focal
from .region import dice


def combo(logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.5, beta: float = 0.5) -> torch.Tensor:
    r"""Combo loss (Taghanaki et al. 2019).

    .. math:: L = \alpha\,L_{mBCE} + (1-\alpha)(1 - DSC),\quad
              L_{mBCE} = -\frac1N\sum_x\big[\beta g\log p + (1-\beta)(1-g)\log(1-p)\big]

    DSC with s = 1. The paper writes ``α L_mBCE - (1-α) DSC``; this is that plus the constant
    (1-α), so the value stays ≥ 0 and is 0 at a perfect prediction. β > 0.5 penalizes false
    negatives more. Binary only.
    """
    require_binary("combo", logits)
    return alpha * balanced_ce(logits, target, beta=beta) + (1 - alpha) * dice(logits, target, smooth=1.0)


def exp_log(logits: torch.Tensor, target: torch.Tensor, gamma: float = 0.3, w_dice: float = 0.8,
            w_ce: float = 0.2) -> torch.Tensor:
    r"""Exponential logarithmic loss (Wong et al., MICCAI 2018).

    .. math:: L = w_d\,\mathbb{E}_l\big[(-\ln \mathrm{Dice}_l)^{\gamma}\big]
                 + w_c\,\mathbb{E}_x\big[w_{l(x)}(-\ln p_{l(x)}(x))^{\gamma}\big],\quad
              w_l = \Big(\frac{\sum_k f_k}{f_l}\Big)^{1/2}

    Labels ``{background, foreground}``; ``Dice_l`` with ε = 1 in numerator and denominator;
    ``f_l`` is the pixel count of label l. ``-ln p`` comes from log-sigmoid (exact even for
    confident pixels); both ``-ln`` terms are floored at ~1e-19, so γ < 1 keeps a finite gradient. Binary only.
    """
    require_binary("exp_log", logits)
    floor = pow_floor(logits.dtype)
    p = torch.sigmoid(logits)
    g = target.expand_as(p)
    pl = torch.cat([1 - p, p], dim=1)
    gl = torch.cat([1 - g, g], dim=1)
    dice_l = (2 * spatial_sum(pl * gl) + 1) / (spatial_sum(pl) + spatial_sum(gl) + 1)
    l_dice = ((-torch.log(dice_l)).clamp_min(floor) ** per_sample(gamma, dice_l)).mean(1)
    f = spatial_sum(gl)  # (B, 2)
    w = torch.sqrt(f.sum(1, keepdim=True) / f.clamp_min(1))  # unused label: no pixel uses it
    w_pix = (w[..., None] * gl.flatten(2)).sum(1).reshape_as(p)
    l_ce = spatial_mean(w_pix * (-pt_log(logits, target)).clamp_min(floor) ** per_sample(gamma, p))
    return w_dice * l_dice + w_ce * l_ce


def dice_bce(logits: torch.Tensor, target: torch.Tensor, lam: float = 1.0, smooth: float = 1.0,
             smooth_nr: float | None = None, smooth_dr: float | None = None, reduction: str = "sample",
             empty: str = "smooth", soft: str = "product", output: str = "one_minus") -> torch.Tensor:
    r"""Dice + BCE (common practice, seed 003).

    .. math:: L = L_{Dice} + \lambda\,L_{BCE}

    Binary only. The Dice term takes :func:`~segloss_core.losses.region.dice`'s conventions
    (``smooth_nr``/``smooth_dr``, ``reduction``, ``empty``, ``soft``, ``output``): MONAI's
    ``DiceCELoss`` (s = 1e-5) and nnU-Net's ``DC_and_CE_loss`` (s = 1e-5, ``output="negative"``, its
    ``batch_dice`` as ``reduction="batch"``) are settings of it. The BCE term stays per sample, so
    with ``reduction="batch"`` only the Dice term couples the samples; the batch mean of the values
    is then the libraries' value.
    """
    require_binary("dice_bce", logits)
    return (dice(logits, target, smooth, smooth_nr, smooth_dr, reduction, empty=empty, soft=soft, output=output)
            + lam * bce(logits, target))


def dice_focal(logits: torch.Tensor, target: torch.Tensor, lam: float = 0.5, gamma: float = 2.0,
               smooth: float = 1.0, smooth_nr: float | None = None, smooth_dr: float | None = None,
               reduction: str = "sample", empty: str = "smooth", soft: str = "product",
               output: str = "one_minus") -> torch.Tensor:
    r"""Dice + focal (Zhu et al., AnatomyNet 2019).

    .. math:: L = L_{Dice} - \frac{\lambda}{N}\sum_x\big[(1-p)^\gamma g\log p + p^\gamma (1-g)\log(1-p)\big]

    The focal term has no class weight (AnatomyNet sums it over all classes with weight 1), which
    is ``2 · focal(α=0.5)``. Binary only. The Dice term takes the conventions of
    :func:`~segloss_core.losses.region.dice` (``reduction="batch"`` couples the samples' Dice term).
    """
    require_binary("dice_focal", logits)
    return (dice(logits, target, smooth, smooth_nr, smooth_dr, reduction, empty=empty, soft=soft, output=output)
            + lam * 2.0 * focal(logits, target, alpha=0.5, gamma=gamma))


def _gaussian_1d(like: torch.Tensor, size: int = 3, sigma: float = 1.5) -> torch.Tensor:
    ax = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    k = torch.exp(-(ax**2) / (2 * sigma**2))
    return k / k.sum()


def _gaussian_blur(x: torch.Tensor) -> torch.Tensor:
    """Normalized 3-tap Gaussian (σ=1.5) along every spatial axis (separable, replicate padding).

    Per axis: ``k1 x + k0 x[i-1] + k2 x[i+1]`` with the edge value repeated past each end, added in
    place on shifted views (no padded copy)."""
    k0, k1, k2 = (float(v) for v in _gaussian_1d(x))
    out = x
    for axis in range(2, x.ndim):
        n = out.shape[axis]
        blurred = out * k1
        if n > 1:
            blurred.narrow(axis, 1, n - 1).add_(out.narrow(axis, 0, n - 1), alpha=k0)
            blurred.narrow(axis, 0, n - 1).add_(out.narrow(axis, 1, n - 1), alpha=k2)
        blurred.narrow(axis, 0, 1).add_(out.narrow(axis, 0, 1), alpha=k0)  # replicate padding
        blurred.narrow(axis, n - 1, 1).add_(out.narrow(axis, n - 1, 1), alpha=k2)
        out = blurred
    return out


def _local_standardize(x: torch.Tensor, c: float) -> torch.Tensor:
    """``(x - μ + C)/(σ + C)`` with Gaussian-window local mean and std (3×3[×3], σ=1.5, replicate pad)."""
    mu = _gaussian_blur(x)
    sd = _gaussian_blur(x * x).sub_(mu * mu).clamp_min_(0).sqrt_().add_(c)  # in place: large batches
    return mu.neg_().add_(x).add_(c).div_(sd)


def cmss(logits: torch.Tensor, target: torch.Tensor, beta: float = 0.1, c: float = 0.01) -> torch.Tensor:
    r"""Correlation-maximized structural similarity loss (Zhao et al. 2019).

    .. math:: e = \Big|\frac{g-\mu_g+C}{\sigma_g+C} - \frac{p-\mu_p+C}{\sigma_p+C}\Big|,\quad
              f = \mathbb{1}[e > \beta \max e],\quad
              L = \frac{\sum_x e f\,CE}{\sum_x f}

    Local mean and std over a 3×3 (3×3×3) Gaussian window with σ = 1.5; C = 0.01. ``e`` and ``f``
    carry no gradient (the loss weights CE). If no pixel passes the threshold (``e ≡ 0``, a perfect
    structural match) the loss is 0. Binary only.
    """
    require_binary("cmss", logits)
    with torch.no_grad():
        p = torch.sigmoid(logits)
        # the target is standardized once, then broadcast (one ground truth for a whole sweep)
        e = _local_standardize(p, c).sub_(_local_standardize(target.to(p.dtype), c)).abs_()
        emax = e.flatten(1).amax(1).reshape(-1, *([1] * (e.ndim - 1)))
        f = (e > per_sample(beta, emax) * emax).flatten(1)  # (B, N): the pixels whose structure disagrees
        rows, cols = f.nonzero(as_tuple=True)  # only they enter the sum (usually a few percent)
        den = f.sum(1).to(logits.dtype)
    z = logits.flatten(1)[rows, cols].reshape(1, 1, -1, 1)
    g = target.expand_as(logits).flatten(1)[rows, cols].reshape(1, 1, -1, 1)
    terms = e.flatten(1)[rows, cols] * -pt_log(z, g).flatten()
    num = torch.zeros(logits.shape[0], dtype=terms.dtype, device=terms.device).index_add(0, rows, terms)
    return torch.where(den > 0, num / den.clamp_min(1), torch.zeros_like(num))
