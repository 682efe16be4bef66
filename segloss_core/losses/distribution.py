"""Distribution-based (pixel-wise) losses. Per sample: the mean over pixels of a weighted
cross-entropy. All use log-sigmoid / log-softmax of the logits, so no probability is clamped
except where a formula needs ``log(-log p)`` (the conservative loss).

Multi-class input (C>1, softmax) uses one weight per class: background (channel 0) gets the
"negative" weight and every other class the "positive" one, so that a 2-class softmax with logits
``[0, z]`` gives exactly the binary value for logit ``z``.
"""
from __future__ import annotations

import math

import torch

from ..distance import TargetMaps, resolve_maps
from ..tensors import (class_log_probs, class_targets, class_weights, eps_for, per_sample, pixel_count, pt_log,
                       require_binary, spatial_mean, spatial_sum)


def _weighted_ce(logits, target, w_fg, w_bg, gamma: float = 0.0) -> torch.Tensor:
    """``-mean_x Σ_c w_c (1-p_c)^γ g_c log p_c``; the focusing term is ``exp(γ log(1-p_c))``,
    finite with a finite gradient even where ``p_c`` rounds to 1."""
    p, logp = class_log_probs(logits)
    g = class_targets(target)
    w = class_weights(g, w_fg, w_bg)
    term = w * g * logp
    if not (isinstance(gamma, (int, float)) and gamma == 0):
        # log(1 - p_c): exact for binary (the other channel), clamped for softmax.
        log1mp = logp.flip(1) if logits.shape[1] == 1 else torch.log1p(-p.clamp(max=1 - eps_for(p.dtype)))
        term = term * torch.exp(per_sample(gamma, log1mp) * log1mp)
    return -spatial_mean(term.sum(1, keepdim=True))


def bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r"""Binary / categorical cross-entropy.

    .. math:: L = -\frac1N\sum_x \big[g\log p + (1-g)\log(1-p)\big]
              \quad(\text{multi-class: } -\tfrac1N\sum_x\sum_c g_c\log p_c)

    Reference: standard. Gradient w.r.t. the logits: ``(p - g)/N`` per pixel.
    """
    return _weighted_ce(logits, target, 1.0, 1.0)


def _auto_beta(target: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-sample automatic β from the foreground count (binary: channel 0; multi-class: non-background)."""
    fg = spatial_sum(target[:, -1:] if target.shape[1] == 1 else target[:, 1:]).sum(1)
    n = pixel_count(target)
    if kind == "wce":  # (N - Σg) / Σg; empty GT -> 1 (the β term is zero anyway)
        return torch.where(fg > 0, (n - fg) / fg.clamp_min(1), torch.ones_like(fg))
    return 1 - fg / n  # balanced: 1 - Σg/N


def wce(logits: torch.Tensor, target: torch.Tensor, beta: float | None = None) -> torch.Tensor:
    r"""Weighted cross-entropy (Long et al. 2015).

    .. math:: L = -\frac1N\sum_x\big[\beta g\log p + (1-g)\log(1-p)\big]

    ``beta=None`` ("auto") uses ``(N - Σg)/Σg`` per sample (seed 003); an empty ground truth gives
    β=1 and a full one β=0 (the formula's value: nothing is weighted). β>1 cuts false negatives,
    β<1 false positives.
    """
    b = _auto_beta(target, "wce") if beta is None else beta
    return _weighted_ce(logits, target, b, 1.0)


def balanced_ce(logits: torch.Tensor, target: torch.Tensor, beta: float | None = None) -> torch.Tensor:
    r"""Balanced cross-entropy (Xie & Tu, HED, 2015).

    .. math:: L = -\frac1N\sum_x\big[\beta g\log p + (1-\beta)(1-g)\log(1-p)\big]

    ``beta=None`` ("auto") uses ``1 - Σg/N`` per sample (seed 002).
    """
    b = _auto_beta(target, "balanced") if beta is None else beta
    return _weighted_ce(logits, target, b, 1 - b)


def focal(logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0) -> torch.Tensor:
    r"""Focal loss (Lin et al. 2017).

    .. math:: L = -\frac1N\sum_x\big[\alpha(1-p)^\gamma g\log p + (1-\alpha)p^\gamma(1-g)\log(1-p)\big]

    Identities: γ=0 gives balanced CE with β=α; γ=0, α=0.5 gives CE/2. Multi-class: α weighs the
    foreground classes, 1-α the background (channel 0).
    """
    return _weighted_ce(logits, target, alpha, 1 - alpha, gamma)


def unet_weighted_ce(logits: torch.Tensor, target: torch.Tensor, *, maps: TargetMaps | None = None,
                     w0: float = 10.0, sigma: float = 5.0, class_weight: str = "none",
                     border: str = "background") -> torch.Tensor:
    r"""U-Net weight-map cross-entropy (Ronneberger et al. 2015).

    .. math:: L = \frac1N\sum_x w(x)\,CE(x),\quad
              w = w_c(x) + w_0\exp\!\big(-\tfrac{(d_1+d_2)^2}{2\sigma^2}\big)\,b(x)

    ``d1, d2``: distances to the nearest and second-nearest ground-truth object (connected
    component). The paper's equation applies the border term at every pixel (``border="everywhere"``:
    ``b = 1``); its text and figure aim it at the background gaps separating touching objects, which
    ``border="background"`` (the default) follows with ``b = [g(x) = 0]``. Fewer than two objects gives
    no border term. ``class_weight="inverse_frequency"`` sets ``w_c`` to ``N/(2 N_class)`` (mean 1
    over the image); ``"none"`` sets ``w_c = 1``. Binary only.
    """
    require_binary("unet_weighted_ce", logits)
    if class_weight not in ("none", "inverse_frequency"):
        raise ValueError(f"class_weight must be 'none' or 'inverse_frequency'; got {class_weight!r}")
    if border not in ("background", "everywhere"):
        raise ValueError(f"border must be 'background' or 'everywhere'; got {border!r}")
    m = resolve_maps(maps, target)
    d1, d2, n_obj = m.objects
    w0, sigma = per_sample(w0, logits), per_sample(sigma, logits)
    border_w = w0 * torch.exp(-((d1 + d2) ** 2) / (2 * sigma**2))
    border = border_w * (1 - m.target) if border == "background" else border_w
    border = border * (n_obj >= 2).to(border.dtype).reshape(-1, *([1] * (border.ndim - 1)))
    if class_weight == "inverse_frequency":
        n = pixel_count(target)
        nfg = spatial_sum(m.target).reshape(-1, *([1] * (target.ndim - 1)))
        both = (nfg > 0) & (nfg < n)
        wc = torch.where(m.target > 0.5, n / (2 * nfg.clamp_min(1)), n / (2 * (n - nfg).clamp_min(1)))
        wc = torch.where(both, wc, torch.ones_like(wc))
    else:
        wc = torch.ones_like(m.target)
    return -spatial_mean((wc + border) * pt_log(logits, target))


def distance_penalized_ce(logits: torch.Tensor, target: torch.Tensor, *, maps: TargetMaps | None = None) -> torch.Tensor:
    r"""Distance-map penalized cross-entropy (Caliva et al., MIDL 2019).

    .. math:: L = \frac1N\sum_x (1+\varphi(x))\,CE(x),\quad
              \varphi = \frac{\max d - d}{\max d}\ \text{per side (fg, bg)}

    ``d`` is the EDT of the ground truth on each side of its contour, so pixels at the boundary
    weigh ~2 and the farthest ones 1. Binary only.
    """
    require_binary("distance_penalized_ce", logits)
    m = resolve_maps(maps, target)
    return -spatial_mean((1 + m.side_penalty) * pt_log(logits, target))


def conservative(logits: torch.Tensor, target: torch.Tensor, lam: float = 5.0, a: float = math.e) -> torch.Tensor:
    r"""Conservative loss (Zhu et al., ECCV 2018).

    .. math:: L = \frac1N\sum_x \lambda\,(1+\log_a p_t)^2\,\log_a(-\log_a p_t)

    Zhu et al. ("Penalizing top performers", ECCV 2018) intend the loss to penalize both the badly
    and the over-confidently classified pixels and to favour moderate confidence, for adaptation.
    The printed formula, implemented here as printed, does not do that: its per-pixel term is
    *strictly decreasing* in ``p_t`` (with λ = 5, a = e: +∞ as p_t → 0, 0 at ``p_t = 1/a``, about
    -0.17 at 0.5, -9.0 at 0.9, -22.5 at 0.99, -∞ as p_t → 1), so minimizing it pushes every pixel to
    ``p_t = 1``. For a = e, with ``u = -ln p_t``, its derivative w.r.t. the logit is
    ``-(1-p_t) λ [(1-u)²/u - 2(1-u) ln u]``, which tends to ``-λ`` as ``p_t → 1``
    where cross-entropy's ``-(1-p_t)`` tends to 0: it pushes confident pixels *harder* than CE.
    ``p_t`` is clamped to ``[eps, 1-eps]`` (eps 1e-7 in float32) so the value stays finite; near
    ``p_t = 1`` the value is then set by the clamp. Binary only.
    """
    require_binary("conservative", logits)
    eps = eps_for(logits.dtype)
    log_pt = pt_log(logits, target).clamp(min=math.log(eps), max=math.log1p(-eps))
    ln_a = per_sample(torch.log(torch.as_tensor(a, dtype=log_pt.dtype, device=log_pt.device)), log_pt)
    la = log_pt / ln_a  # log_a p_t, in (-inf, 0)
    return spatial_mean(per_sample(lam, log_pt) * (1 + la) ** 2 * torch.log(-la) / ln_a)
