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

Conventions (registry parameters of dice, squared_dice, jaccard, tversky, focal_tversky,
log_cosh_dice, generalized_dice and the Dice terms of dice_bce / dice_focal; the defaults are the
behaviour described above, and each library's combination is in :mod:`segloss_core.conventions`):

* ``reduction``: where the counts TP, FP, FN (Σp, Σg) are summed. ``"sample"`` (default) per
  sample and class; ``"batch"`` over the whole batch too, per class (MONAI ``batch=True``,
  segmentation_models_pytorch, nnU-Net ``batch_dice``): one value for the batch, reported for each
  sample. **The batch reduction couples the samples**: ``loss(x)[i]`` then depends on every other
  sample and ``loss(x)[i] != loss(x[i:i+1])`` in general; that is its lesson (a small object's
  pixels are a small share of the batch sums, so its gradient shrinks). ``"classes"`` pools the
  counts over the scored classes per sample (micro average, kornia's ``average="micro"``); a binary
  input is then pooled over its two-class view (1-p, p) unless ``background="exclude"``.
* ``smooth_nr`` / ``smooth_dr``: the smoothing of the numerator and of the denominator
  (MONAI's names); ``None`` (``auto``) = ``smooth``. ``(2TP + s_nr)/(Σp + Σg + s_dr)``.
* ``background``: ``"include"`` (default) scores every channel of a multi-class input;
  ``"exclude"`` drops channel 0 (MONAI ``include_background=False``, nnU-Net ``do_bg=False``).
  A binary input (C=1) always scores its foreground channel (except the pooled reduction above).
* ``empty``: the score of a class whose ground truth is empty (in the reduction's unit: a sample,
  the batch or the pooled classes). ``"smooth"`` (default): whatever the smoothed formula gives;
  ``"one"``: score 1, loss 0 (segmentation_models_pytorch masks such a class to loss 0 and still
  counts it in the class mean); ``"zero"``: score 0, loss 1; ``"ignore"``: the class leaves the
  class average (a unit with no class left gets loss 0).
* ``average``: the class mean runs over the classes ``"present"`` in the ground truth (default; all
  classes when none is) or over ``"all"`` classes (MONAI, nnU-Net, segmentation_models_pytorch).
* ``soft``: ``"product"`` (default) TP = Σ p g; ``"semimetric"`` TP = (Σp + Σg - Σ|p - g|)/2, the
  Dice/Jaccard semimetric losses of Wang & Blaschko, "Dice Semimetric Losses: Optimizing the Dice
  Score with Soft Labels", MICCAI 2023 (arXiv:2303.16296), used by segmentation_models_pytorch 0.6.
  The two agree on hard targets (|p - g| = p + g - 2pg when g ∈ {0, 1}); on a soft target only the
  semimetric form is 0 when p equals g. (The squared Dice needs no option: it already equals its
  semimetric form, ``2Σpg = Σp² + Σg² - Σ(p-g)²``.)
* ``output`` (dice and the compounds' Dice term): ``"one_minus"`` (default) 1 - score;
  ``"negative"`` -score, nnU-Net's ``SoftDiceLoss`` (same gradient, shifted by -1).

Every option is computed from per-pixel terms through :func:`spatial_sum`, so the losses stay
``reducible`` (exact on the engine's distinct-pixel compression).
"""
from __future__ import annotations

import math

import torch

from ..tensors import class_log_probs, class_targets, per_sample, pow_floor, probs, require_binary, safe_ratio, spatial_sum

REDUCTIONS = ("sample", "batch", "classes")
BACKGROUND = ("include", "exclude")
EMPTY = ("smooth", "one", "zero", "ignore")
AVERAGE = ("present", "all")
SOFT = ("product", "semimetric")
OUTPUT = ("one_minus", "negative")


def _check(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _views(logits: torch.Tensor, target: torch.Tensor, background: str = "include", reduction: str = "sample"):
    """The scored channels ``(p, g)``, ``(B, K, *spatial)`` (see the module docstring)."""
    _check("background", background, BACKGROUND)
    _check("reduction", reduction, REDUCTIONS)
    p = probs(logits)
    g = target.expand_as(p)
    if p.shape[1] == 1:
        if reduction == "classes" and background == "include":
            p = torch.cat([torch.sigmoid(-logits), p], dim=1)
            g = torch.cat([1 - g, g], dim=1)
    elif background == "exclude":
        p, g = p[:, 1:], g[:, 1:]
    return p, g


def _pool(x: torch.Tensor, reduction: str) -> torch.Tensor:
    """``(B, K)`` sums -> summed over the batch (kept as B equal rows) or over the classes."""
    if reduction == "batch":
        return x.sum(0, keepdim=True).expand_as(x)
    if reduction == "classes":
        return x.sum(1, keepdim=True)
    return x


def overlap_counts(logits: torch.Tensor, target: torch.Tensor, background: str = "include",
                   reduction: str = "sample", soft: str = "product"):
    """Soft ``(TP, FP, FN, Σg)``, each ``(B, K)`` after the reduction (``K = 1`` when pooled)."""
    _check("soft", soft, SOFT)
    p, g = _views(logits, target, background, reduction)
    sp, sg = spatial_sum(p), spatial_sum(g)
    tp = (sp + sg - spatial_sum((p - g).abs())) / 2 if soft == "semimetric" else spatial_sum(p * g)
    tp, sp, sg = (_pool(v, reduction) for v in (tp, sp, sg))
    return tp, sp - tp, sg - tp, sg


def _smooths(smooth, smooth_nr, smooth_dr, like: torch.Tensor):
    nr = smooth if smooth_nr is None else smooth_nr
    dr = smooth if smooth_dr is None else smooth_dr
    return per_sample(nr, like), per_sample(dr, like)


def reduce_classes(per_class: torch.Tensor, sum_g: torch.Tensor, empty: str = "smooth",
                   average: str = "present") -> torch.Tensor:
    """Per-class losses ``(B, K) -> (B,)`` under the ``empty`` and ``average`` conventions.

    ``sum_g`` is Σg per class in the same reduction. One class: its value. Several: the mean over the
    classes present in the ground truth (all if none is) or over all classes; ``empty="ignore"``
    leaves the classes with an empty ground truth out (loss 0 if none is left)."""
    _check("empty", empty, EMPTY)
    _check("average", average, AVERAGE)
    has = sum_g > 0
    if empty in ("one", "zero"):
        per_class = torch.where(has, per_class, torch.full_like(per_class, 0.0 if empty == "one" else 1.0))
    if per_class.shape[1] == 1 and empty != "ignore":
        return per_class[:, 0]
    if average == "present":
        w = has.to(per_class.dtype)
        w = torch.where(w.sum(1, keepdim=True) > 0, w, torch.ones_like(w))
    else:
        w = torch.ones_like(per_class)
    if empty == "ignore":
        w = w * has.to(per_class.dtype)
    n = w.sum(1)
    return torch.where(n > 0, (per_class * w).sum(1) / n.clamp_min(1), torch.zeros_like(n))


def class_mean(per_class: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``(B, C) -> (B,)``: binary returns the single channel; multi-class averages over the classes
    present in each sample's ground truth (all classes if none is present)."""
    return reduce_classes(per_class, spatial_sum(target.expand(per_class.shape[0], *target.shape[1:])))


def tversky_index(logits, target, alpha: float, beta: float, smooth: float, smooth_nr=None, smooth_dr=None,
                  reduction: str = "sample", background: str = "include", soft: str = "product"):
    """``(TP + s_nr)/(TP + α FP + β FN + s_dr)`` per sample and class and Σg, each ``(B, K)``."""
    tp, fp, fn, sg = overlap_counts(logits, target, background, reduction, soft)
    alpha, beta = per_sample(alpha, tp), per_sample(beta, tp)
    nr, dr = _smooths(smooth, smooth_nr, smooth_dr, tp)
    return safe_ratio(tp + nr, tp + alpha * fp + beta * fn + dr), sg


def dice(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0, smooth_nr: float | None = None,
         smooth_dr: float | None = None, reduction: str = "sample", background: str = "include",
         empty: str = "smooth", average: str = "present", soft: str = "product",
         output: str = "one_minus") -> torch.Tensor:
    r"""Soft Dice loss (Drozdzal et al. 2016; no squares).

    .. math:: L = 1 - \frac{2\,TP + s_{nr}}{\sum p + \sum g + s_{dr}},\quad s_{nr} = s_{dr} = s \text{ by default}

    Empty ground truth and an exactly empty prediction give 0 (with any s, also s=0; with s=0 any
    positive prediction on an empty ground truth gives 1, see the module docstring). The per-pixel gradient
    w.r.t. p is ``-(2g(Σp+Σg+s) - (2TP+s))/(Σp+Σg+s)^2``: it grows as the object shrinks.
    The conventions (``reduction``, ``smooth_nr``/``smooth_dr``, ``background``, ``empty``,
    ``average``, ``soft``, ``output``) are described in the module docstring; ``reduction="batch"``
    couples the samples (one value for the batch, reported for each sample).
    """
    _check("output", output, OUTPUT)
    tp, fp, fn, sg = overlap_counts(logits, target, background, reduction, soft)
    nr, dr = _smooths(smooth, smooth_nr, smooth_dr, tp)
    loss = reduce_classes(1 - safe_ratio(2 * tp + nr, 2 * tp + fp + fn + dr), sg, empty, average)
    return loss - 1 if output == "negative" else loss


def squared_dice(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0, smooth_nr: float | None = None,
                 smooth_dr: float | None = None, reduction: str = "sample", background: str = "include",
                 empty: str = "smooth", average: str = "present") -> torch.Tensor:
    r"""V-Net Dice loss (Milletari et al. 2016), squares in the denominator.

    .. math:: L = 1 - \frac{2\sum p g + s_{nr}}{\sum p^2 + \sum g^2 + s_{dr}}

    (Σp² and Σg², not squared TP/FP/FN.) It equals its own semimetric form (Wang & Blaschko 2023)
    on any soft target, since ``2Σpg = Σp² + Σg² - Σ(p-g)²``. Conventions: module docstring.
    """
    p, g = _views(logits, target, background, reduction)
    s = _pool(spatial_sum(p * g), reduction)
    nr, dr = _smooths(smooth, smooth_nr, smooth_dr, s)
    den = _pool(spatial_sum(p * p), reduction) + _pool(spatial_sum(g * g), reduction)
    sg = _pool(spatial_sum(g), reduction)
    return reduce_classes(1 - safe_ratio(2 * s + nr, den + dr), sg, empty, average)


def jaccard(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0, smooth_nr: float | None = None,
            smooth_dr: float | None = None, reduction: str = "sample", background: str = "include",
            empty: str = "smooth", average: str = "present", soft: str = "product") -> torch.Tensor:
    r"""Soft IoU / Jaccard loss (Rahman & Wang 2016).

    .. math:: L = 1 - \frac{TP + s_{nr}}{\sum p + \sum g - TP + s_{dr}}

    Equal to Tversky with α=β=1. ``soft="semimetric"`` is Wang & Blaschko's Jaccard semimetric loss
    ``1 - (Σp + Σg - Σ|p-g|)/(Σp + Σg + Σ|p-g|)`` (with s = 0). Conventions: module docstring.
    """
    ti, sg = tversky_index(logits, target, 1.0, 1.0, smooth, smooth_nr, smooth_dr, reduction, background, soft)
    return reduce_classes(1 - ti, sg, empty, average)


def tversky(logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.3, beta: float = 0.7,
            smooth: float = 1.0, smooth_nr: float | None = None, smooth_dr: float | None = None,
            reduction: str = "sample", background: str = "include", empty: str = "smooth",
            average: str = "present", soft: str = "product") -> torch.Tensor:
    r"""Tversky loss (Salehi et al. 2017).

    .. math:: TI = \frac{TP + s_{nr}}{TP + \alpha FP + \beta FN + s_{dr}},\quad L = 1 - TI

    α weighs false positives, β false negatives (as MONAI and segmentation_models_pytorch).
    α=β=1 is Jaccard (same s); α=β=0.5 is Dice with
    *double* the smoothing: ``Tversky(0.5, 0.5, s) = (TP + s)/(TP + (FP+FN)/2 + s)
    = (2TP + 2s)/(Σp + Σg + 2s) = Dice(2s)``. Multi-class
    counts are per class (never micro-summed unless ``reduction="classes"``), so α and β keep their
    meaning. Conventions: module docstring.
    """
    ti, sg = tversky_index(logits, target, alpha, beta, smooth, smooth_nr, smooth_dr, reduction, background, soft)
    return reduce_classes(1 - ti, sg, empty, average)


def focal_tversky(logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.3, beta: float = 0.7,
                  gamma: float = 0.75, smooth: float = 1.0, smooth_nr: float | None = None,
                  smooth_dr: float | None = None, reduction: str = "sample", background: str = "include",
                  empty: str = "smooth", average: str = "present", soft: str = "product") -> torch.Tensor:
    r"""Focal Tversky loss (Abraham & Khan 2019).

    .. math:: L = (1 - TI)^{\gamma}

    γ here is the paper's 1/γ (the paper's 4/3 is 0.75 here). γ=1 is Tversky. Multi-class: the mean
    over classes of the powers (not the power of the mean). ``1 - TI`` is floored at ~1e-19 (float32),
    so γ<1 keeps a finite gradient at a perfect prediction and the value there is ~0.
    Conventions: module docstring (``empty`` sets the class's value: "one" → 0, "zero" → 1).
    """
    ti, sg = tversky_index(logits, target, alpha, beta, smooth, smooth_nr, smooth_dr, reduction, background, soft)
    return reduce_classes((1 - ti).clamp_min(pow_floor(ti.dtype)) ** per_sample(gamma, ti), sg, empty, average)


def log_cosh_dice(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0, smooth_nr: float | None = None,
                  smooth_dr: float | None = None, reduction: str = "sample", background: str = "include",
                  empty: str = "smooth", average: str = "present", soft: str = "product") -> torch.Tensor:
    r"""Log-cosh Dice loss (Jadon 2020).

    .. math:: L = \log\cosh(L_{Dice})

    Multi-class: log-cosh of the class-averaged Dice loss. Conventions: those of :func:`dice`.
    """
    x = dice(logits, target, smooth, smooth_nr, smooth_dr, reduction, background, empty, average, soft)
    # |x| > 1 only when s_nr > s_dr on an empty ground truth; cosh overflows past ~89 (float32), so
    # there log cosh x = |x| - log 2 + log1p(e^{-2|x|}) (the default range |x| <= 1 is computed as before)
    big = x.abs() > 20
    small = torch.log(torch.cosh(torch.where(big, torch.zeros_like(x), x)))
    return torch.where(big, x.abs() - math.log(2.0) + torch.log1p(torch.exp(-2 * x.abs())), small)


def generalized_dice(logits: torch.Tensor, target: torch.Tensor, reduction: str = "sample",
                     background: str = "include") -> torch.Tensor:
    r"""Generalized Dice loss (Sudre et al. 2017).

    .. math:: L = 1 - 2\frac{\sum_l w_l \sum_x p_l g_l}{\sum_l w_l \sum_x (p_l + g_l)},
              \quad w_l = \frac{1}{(\sum_x g_l)^2}

    Labels: ``{background, foreground}`` for binary input, the C channels otherwise;
    ``background="exclude"`` drops label 0 (binary: the foreground alone). A label absent
    from the ground truth would get an infinite weight; it gets the largest finite weight instead
    (MONAI's choice). No smoothing term. ``reduction="batch"`` sums the volumes and overlaps over
    the batch first (MONAI ``batch=True``): it couples the samples.
    """
    _check("background", background, BACKGROUND)
    if reduction not in ("sample", "batch"):
        raise ValueError(f"reduction must be one of sample, batch; got {reduction!r}")
    p, _ = class_log_probs(logits)
    g = class_targets(target).expand_as(p)
    if background == "exclude":
        p, g = p[:, 1:], g[:, 1:]
    vol = _pool(spatial_sum(g), reduction)
    w = torch.where(vol > 0, 1.0 / vol.clamp_min(1) ** 2, torch.zeros_like(vol))
    wmax = w.max(1, keepdim=True).values
    w = torch.where(vol > 0, w, wmax)
    num = (w * _pool(spatial_sum(p * g), reduction)).sum(1)
    den = (w * _pool(spatial_sum(p + g), reduction)).sum(1)
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
