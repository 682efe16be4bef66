"""Losses published after the source surveys: Unified Focal, TopK CE, MCC, log-Hausdorff DT,
Hausdorff ER and Boundary DoU. Binary only (C = 1, p = sigmoid(z)); 2-D and 3-D.

Where a loss scores the two labels {background, foreground}, the background channel is
``(1 - p, 1 - g)``, as in the authors' two-channel softmax code.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..distance import TargetMaps
from ..tensors import per_sample, pixel_count, pixel_weights, pow_floor, pt_log, require_binary, spatial_mean, spatial_sum
from .boundary import hausdorff_dt


# ---------------------------------------------------------------- Unified Focal (Yeung et al. 2022)
def unified_focal(logits: torch.Tensor, target: torch.Tensor, lam: float = 0.5, delta: float = 0.6,
                  gamma: float = 0.5, variant: str = "asymmetric") -> torch.Tensor:
    r"""Unified Focal loss (Yeung, Sala, Schönlieb & Rundo, CMIG 2022).

    .. math::
        L = \lambda\,L_{mF} + (1-\lambda)\,L_{mFT}

    modified focal (per pixel mean; asymmetric: the foreground CE is not suppressed)

    .. math::
        L_{maF} = -\frac{\delta}{N}\sum g\log p - \frac{1-\delta}{N}\sum (1-g)\,p^{\gamma}\log(1-p)

    and modified focal Tversky over the labels {bg, fg}, mean of the two
    (mTI = (TP + ε)/(TP + δ FN + (1-δ) FP + ε), ε = 1e-7)

    .. math::
        L_{maFT} = \tfrac12\big[(1 - mTI_{bg}) + (1 - mTI_{fg})^{1-\gamma}\big]

    ``variant="symmetric"`` applies the focal factor ``(1-p_c)^γ`` to both labels' CE and the power
    ``1-γ`` to both Tversky terms. δ weighs the foreground's CE and its false negatives (δ > 0.5
    favours recall), γ ∈ [0, 1] suppresses easy background pixels and enhances the hard foreground.
    Defaults λ = 0.5, δ = 0.6, γ = 0.5 are the authors' code defaults.

    Conventions mapped: the focal term is the authors' sum over the two labels, meaned over pixels
    (MONAI's ``AsymmetricFocalLoss`` means over the two labels too, i.e. half of it); λ weighs the
    focal term as in the paper and MONAI (the authors' Keras code puts ``weight`` on the Tversky term;
    the two coincide at λ = 0.5). Logs are log-sigmoids (MONAI clamps p to [1e-7, 1-1e-7]).
    """
    require_binary("unified_focal", logits)
    logp = F.logsigmoid(logits)           # log p
    log1mp = F.logsigmoid(-logits)        # log (1 - p)
    p = logp.exp()
    g = target.expand_as(p)
    lam, delta, gamma = (per_sample(v, p) for v in (lam, delta, gamma))
    # modified focal: background CE suppressed by p^γ = (1 - p_bg)^γ; foreground by (1-p)^γ if symmetric
    back = (1 - delta) * torch.exp(gamma * logp) * (-(1 - g) * log1mp)
    fore_w = torch.exp(gamma * log1mp) if variant == "symmetric" else 1.0
    fore = delta * fore_w * (-g * logp)
    focal = spatial_mean(back + fore)
    # modified focal Tversky on both labels (δ on FN, 1-δ on FP), per sample
    eps = 1e-7
    tp_f, sp, sg = spatial_sum(p * g), spatial_sum(p), spatial_sum(g)
    n = pixel_count(p)
    fn_f, fp_f = sg - tp_f, sp - tp_f
    tp_b = n - sp - sg + tp_f                     # Σ (1-p)(1-g)
    fn_b, fp_b = fp_f, fn_f                       # background's misses are the foreground's false alarms
    d2 = per_sample(delta.flatten() if isinstance(delta, torch.Tensor) else delta, tp_f)
    g2 = per_sample(gamma.flatten() if isinstance(gamma, torch.Tensor) else gamma, tp_f)
    mti_f = (tp_f + eps) / (tp_f + d2 * fn_f + (1 - d2) * fp_f + eps)
    mti_b = (tp_b + eps) / (tp_b + d2 * fn_b + (1 - d2) * fp_b + eps)
    floor = pow_floor(p.dtype)
    fore_t = (1 - mti_f).clamp_min(floor) ** (1 - g2)
    back_t = (1 - mti_b).clamp_min(floor) ** (1 - g2) if variant == "symmetric" else (1 - mti_b)
    tversky = (0.5 * (back_t + fore_t))[:, 0]
    lam1 = lam.flatten() if isinstance(lam, torch.Tensor) else lam
    return lam1 * focal + (1 - lam1) * tversky


# ---------------------------------------------------------------- TopK CE (Wu, Shen & van den Hengel 2016)
def topk_ce(logits: torch.Tensor, target: torch.Tensor, k: float = 10.0) -> torch.Tensor:
    r"""TopK cross-entropy: the mean CE of the k % hardest pixels (Wu, Shen & van den Hengel,
    arXiv:1605.06885, 2016, "online bootstrapping"; nnU-Net's ``TopKLoss``, k = 10).

    .. math:: L = \frac{1}{n}\sum_{x \in \mathrm{top}_n(CE)} CE(x),\quad n = \max(1, \lfloor kN/100 \rfloor)

    Per sample (nnU-Net takes the top k % of the whole batch). n is at least 1 so a tiny image or
    k gives the largest CE rather than an empty mean. Pixels tied at the n-th largest CE share the
    remaining slots equally (each gets the weight ``(n - #above)/#tied``): the value is the same as
    any choice among them, and identical pixels get identical gradients (``torch.topk`` would pick
    some of them in memory order). k = 100 is plain CE.
    """
    require_binary("topk_ce", logits)
    ce = -pt_log(logits, target).flatten(1)             # (B, U)
    w = pixel_weights()
    m = torch.ones_like(ce) if w is None else w.flatten(1).to(ce.dtype).expand_as(ce)
    n_pix = pixel_count(logits)
    kk = per_sample(k, ce).flatten() if isinstance(k, torch.Tensor) else torch.full((ce.shape[0],), float(k), dtype=ce.dtype, device=ce.device)
    n = torch.clamp(torch.floor(kk * n_pix / 100.0 + 1e-9), min=1.0, max=float(n_pix))  # (B,)
    with torch.no_grad():
        order = torch.argsort(ce, dim=1, descending=True)
        cs = torch.gather(ce, 1, order)
        cm = torch.gather(m, 1, order)
        before = torch.cumsum(cm, 1) - cm                 # pixels strictly ahead in the order
        # the n-th largest value: first position whose cumulative count reaches n
        reach = (before + cm) >= n[:, None]
        idx = reach.to(torch.int64).argmax(1, keepdim=True)
        t = torch.gather(cs, 1, idx)                      # threshold value (B, 1)
        above = ce > t
        tied = ce == t
        n_above = (m * above).sum(1, keepdim=True)
        n_tied = (m * tied).sum(1, keepdim=True).clamp_min(1e-30)
        weight = m * (above.to(ce.dtype) + tied.to(ce.dtype) * (n[:, None] - n_above) / n_tied)
    return (weight * ce).sum(1) / n


# ---------------------------------------------------------------- MCC (Abhishek & Hamarneh 2021)
def mcc(logits: torch.Tensor, target: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    r"""Matthews correlation coefficient loss (Abhishek & Hamarneh, ISBI 2021).

    .. math::
        L = 1 - \frac{TP\cdot TN - FP\cdot FN}{\sqrt{(TP+FP)(TP+FN)(TN+FP)(TN+FN)}}

    on soft counts, each count plus ε (segmentation_models_pytorch's ``MCCLoss``, ε = 1e-5), per
    sample (smp sums the counts over the batch). Unlike Dice it counts the true negatives, so FP and FN
    weigh the same in [0, 2]. A perfect empty prediction of an empty ground truth gives MCC ≈ 1/2
    (the ε counts make TP, FP and FN equal): loss ≈ 0.5, not 0.
    """
    require_binary("mcc", logits)
    p = torch.sigmoid(logits)
    g = target.expand_as(p)
    eps = per_sample(eps, spatial_sum(p))
    tp = spatial_sum(p * g)
    sp, sg = spatial_sum(p), spatial_sum(g)
    n = pixel_count(p)
    fp, fn = sp - tp, sg - tp
    tn = n - sp - sg + tp
    tp, fp, fn, tn = tp + eps, fp + eps, fn + eps, tn + eps
    num = tp * tn - fp * fn
    den = torch.sqrt((tp + fp) * (tp + fn)) * torch.sqrt((tn + fp) * (tn + fn))
    return (1 - num / den)[:, 0]


# ---------------------------------------------------------------- log-Hausdorff DT (MONAI)
def log_hausdorff_dt(logits: torch.Tensor, target: torch.Tensor, *, maps: TargetMaps | None = None,
                     alpha: float = 2.0) -> torch.Tensor:
    r"""Log Hausdorff distance-transform loss (MONAI's ``LogHausdorffDTLoss``, after Karimi &
    Salcudean, IEEE TMI 2019).

    .. math:: L = \log\Big(1 + \frac1N\sum_x (p - g)^2\,(d_G^{\alpha} + d_P^{\alpha})\Big)

    The Hausdorff DT loss (``hausdorff_dt``) compressed by a log, so its scale (pixels^α) no longer
    swamps a region loss it is added to. Distance fields as in ``hausdorff_dt``. Binary only.
    """
    require_binary("log_hausdorff_dt", logits)
    return torch.log1p(hausdorff_dt(logits, target, maps=maps, alpha=alpha))


# ---------------------------------------------------------------- Hausdorff ER (Karimi & Salcudean 2019)
def _cross_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean over the face cross (the pixel and its 4 / 6 face neighbours, zero outside the image):
    kornia's convolution with the cross kernel 0.2 (3-D: 1/7), as shifted sums (~4× faster on CPU
    than a one-channel convolution, with its backward)."""
    nd = x.ndim - 2
    p = F.pad(x, (1, 1) * nd)
    if nd == 2:
        s = (p[:, :, 1:-1, 1:-1] + p[:, :, :-2, 1:-1] + p[:, :, 2:, 1:-1] + p[:, :, 1:-1, :-2] + p[:, :, 1:-1, 2:])
        return s * 0.2
    s = (p[:, :, 1:-1, 1:-1, 1:-1] + p[:, :, :-2, 1:-1, 1:-1] + p[:, :, 2:, 1:-1, 1:-1] + p[:, :, 1:-1, :-2, 1:-1]
         + p[:, :, 1:-1, 2:, 1:-1] + p[:, :, 1:-1, 1:-1, :-2] + p[:, :, 1:-1, 1:-1, 2:])
    return s * (1.0 / 7.0)


def hausdorff_er(logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, k: float = 10) -> torch.Tensor:
    r"""Hausdorff loss by morphological erosion (Karimi & Salcudean, IEEE TMI 2019, "HD-ER").

    .. math::
        L = \frac1N\sum_x\sum_{i=1}^{k} i^{\alpha}\,\big(f_i \ominus B\big)(x),\quad f_0 = (p - g)^2

    Each step convolves with the cross B normalized to sum 1 (3-D: the voxel and its 6 face
    neighbours), soft-thresholds at 0.5 (``max(·-0.5, 0)``) and min-max normalizes the result over
    the image (unchanged when it is constant), as kornia's ``HausdorffERLoss``; what survives i
    erosions is a thick error region, so large errors far from the boundary weigh i^α. ``k`` is
    rounded to an integer. Binary only.
    """
    require_binary("hausdorff_er", logits)
    p = torch.sigmoid(logits)
    bound = (p - target).square()
    dims = tuple(range(2, logits.ndim))
    ks = [int(round(float(v))) for v in k] if isinstance(k, torch.Tensor) and k.ndim == 1 else [int(round(float(k)))] * p.shape[0]
    alpha = per_sample(alpha, p)
    eroded = torch.zeros_like(bound)
    kmax = max(ks)
    active = torch.tensor(ks, device=p.device).reshape((-1,) + (1,) * (p.ndim - 1))
    for i in range(kmax):
        dil = _cross_mean(bound)
        ero = (dil - 0.5).masked_fill(dil < 0.5, 0)
        emax = ero.amax(dim=dims, keepdim=True)
        emin = ero.amin(dim=dims, keepdim=True)
        rng = emax - emin
        ok = rng != 0
        ero = torch.where(ok, (ero - emin) / torch.where(ok, rng, torch.ones_like(rng)), ero)
        term = ero * (float(i + 1) ** alpha if not isinstance(alpha, torch.Tensor) else torch.pow(float(i + 1), alpha))
        eroded = eroded + torch.where(active > i, term, torch.zeros_like(term))
        bound = ero
    return spatial_mean(eroded)


# ---------------------------------------------------------------- Boundary DoU (Sun et al. 2023)
def _boundary_fraction(hard: np.ndarray) -> np.ndarray:
    """``(C + 1e-5)/(S + 1e-5)`` per mask of a ``(B, *spatial)`` bool stack: S foreground pixels, C
    those with a face neighbour outside the mask, the image outside counting as background (the
    authors' zero-padded cross convolution, ``Y < 5``)."""
    b = hard.shape[0]
    padded = np.pad(hard, [(0, 0)] + [(1, 1)] * (hard.ndim - 1), constant_values=False)
    inner = padded.copy()
    for axis in range(1, hard.ndim):
        inner[:, ...] &= np.roll(padded, 1, axis) & np.roll(padded, -1, axis)
    inner = inner[(slice(None),) + (slice(1, -1),) * (hard.ndim - 1)]
    s = hard.reshape(b, -1).sum(1)
    c = (hard & ~inner).reshape(b, -1).sum(1)
    return (c + 1e-5) / (s + 1e-5)


def boundary_dou(logits: torch.Tensor, target: torch.Tensor, alpha_max: float = 0.8) -> torch.Tensor:
    r"""Boundary Difference over Union loss (Sun, Luo, Zhao, Yang & Wang, MICCAI 2023).

    .. math::
        L_c = \frac{\sum p^2 + \sum g^2 - 2\sum pg + s}{\sum p^2 + \sum g^2 - (1+\alpha)\sum pg + s},\quad
        \alpha = \min\Big(2\big(1 - \tfrac{C + s}{S + s}\big) - 1,\ \alpha_{max}\Big)

    per label c ∈ {bg, fg}, averaged (the authors' loop over every class, background included);
    s = 1e-5. S is the label's pixel count and C its boundary pixels (a face neighbour outside the
    label, the image border counting as outside), from the ground truth, no gradient. Thin structures
    (C ≈ S) get α ≈ -1: ``(|G∪P| - |G∩P|)/|G∪P|``, a Jaccard-like loss; large ones approach α_max,
    which weighs the boundary band; α_max = 0.8 is the authors' recommended truncation. An absent
    label gives α = -1 and L_c = 1 (no gradient). Binary only.
    """
    require_binary("boundary_dou", logits)
    p = torch.sigmoid(logits)
    g = target.expand_as(p)
    hard = (target.detach() > 0.5).cpu().numpy()[:, 0]
    fr_f = _boundary_fraction(hard)
    fr_b = _boundary_fraction(~hard)
    am = per_sample(alpha_max, p).flatten() if isinstance(alpha_max, torch.Tensor) else alpha_max
    out = 0.0
    for prob, lab, fr in ((1 - p, 1 - g, fr_b), (p, g, fr_f)):
        a = torch.as_tensor(2 * (1 - fr) - 1, dtype=p.dtype, device=p.device)
        a = a.expand(p.shape[0]) if a.shape[0] == 1 else a
        a = torch.minimum(a, am if isinstance(am, torch.Tensor) else torch.full_like(a, am))
        inter = spatial_sum(prob * lab)[:, 0]
        z = spatial_sum(prob * prob)[:, 0]
        y = spatial_sum(lab * lab)[:, 0]
        out = out + (z + y - 2 * inter + 1e-5) / (z + y - (1 + a) * inter + 1e-5)
    return out / 2
