"""Input checks and the probability helpers every loss shares.

One calling convention for the whole library:

* ``logits``: ``(B, C, *spatial)`` float tensor, 2-D or 3-D spatial dims. ``C == 1`` means a binary
  problem with ``p = sigmoid(z)``; ``C > 1`` means mutually exclusive classes with
  ``p = softmax(z, dim=1)``.
* ``target``: ``(B, C, *spatial)`` or ``(1, C, *spatial)`` (one ground truth broadcast over a batch of
  predictions, as in a sweep), values in {0, 1}; one-hot when ``C > 1``.
* every loss returns one value per sample, shape ``(B,)``; a sample's value never depends on the
  other samples.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

import torch
import torch.nn.functional as F

# (weights (B, 1, U, 1), pixels per image) while a compressed batch is evaluated; see weighted_pixels.
_PIXEL_WEIGHTS: ContextVar = ContextVar("pixel_weights", default=None)


@contextmanager
def weighted_pixels(weights: torch.Tensor, n_pixels: float):
    """Evaluate losses on a compressed batch: inside this context each "pixel" of a ``(B, C, U, 1)``
    input stands for ``weights[b, 0, u, 0]`` identical pixels out of ``n_pixels`` per image.

    Only the two spatial reductions below (and :func:`pixel_count`) look at the weights, so a loss
    whose value depends on the pixels only through per-pixel terms and their sums or means (registry
    flag ``reducible``) gives exactly the value it has on the full image.
    """
    token = _PIXEL_WEIGHTS.set((weights, float(n_pixels)))
    try:
        yield
    finally:
        _PIXEL_WEIGHTS.reset(token)


def pixel_count(x: torch.Tensor) -> float:
    """Pixels per image (the full count inside :func:`weighted_pixels`)."""
    w = _PIXEL_WEIGHTS.get()
    return w[1] if w is not None else float(x[0, 0].numel())


def pixel_weights() -> torch.Tensor | None:
    """Multiplicity of each "pixel" ``(B, 1, U, 1)`` inside :func:`weighted_pixels`, else None (every
    pixel counts once). For losses that need more than sums, such as the Lovász sort."""
    w = _PIXEL_WEIGHTS.get()
    return None if w is None else w[0]


def eps_for(dtype: torch.dtype) -> float:
    """Probability clamp used before logs: ~1e-7 in float32, 1e-12 in float64."""
    return 1e-12 if dtype == torch.float64 else 1e-7


def pow_floor(dtype: torch.dtype) -> float:
    """Floor for ``x**γ`` with γ < 1 where x may be exactly 0: sqrt of the smallest normal number
    (1e-19 in float32), so the value at x = 0 is ~0 in any dtype and the gradient stays finite."""
    return torch.finfo(dtype).tiny ** 0.5


def check_pair(logits: torch.Tensor, target: torch.Tensor) -> None:
    """Validate the calling convention; raise ``ValueError`` with the shapes received."""
    if not isinstance(logits, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise TypeError("logits and target must be torch tensors")
    if logits.ndim not in (4, 5):
        raise ValueError(f"expected logits of shape (B, C, H, W) or (B, C, D, H, W); got {tuple(logits.shape)}")
    if not logits.is_floating_point():
        raise ValueError(f"logits must be floating point; got {logits.dtype}")
    if target.ndim != logits.ndim or target.shape[1:] != logits.shape[1:] or target.shape[0] not in (1, logits.shape[0]):
        raise ValueError(
            f"target shape {tuple(target.shape)} does not match logits {tuple(logits.shape)} "
            "(target batch must be 1 or equal to the logits batch)"
        )
    if logits.shape[0] == 0 or any(s == 0 for s in logits.shape[2:]):
        raise ValueError(f"empty input: logits shape {tuple(logits.shape)}")


def require_binary(name: str, logits: torch.Tensor) -> None:
    if logits.shape[1] != 1:
        raise ValueError(f"{name} supports binary input only (C=1); got C={logits.shape[1]}")


def spatial_sum(x: torch.Tensor) -> torch.Tensor:
    """Sum over all spatial dims: ``(B, C, *spatial) -> (B, C)``."""
    w = _PIXEL_WEIGHTS.get()
    if w is None:
        return x.flatten(2).sum(-1)
    return (x.flatten(2) * w[0].flatten(2)).sum(-1)


def spatial_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean over channels-and-space per sample: ``(B, C, *spatial) -> (B,)``."""
    w = _PIXEL_WEIGHTS.get()
    if w is None:
        return x.flatten(1).mean(-1)
    return (x.flatten(2) * w[0].flatten(2)).sum((1, 2)) / (w[1] * x.shape[1])


def probs(logits: torch.Tensor) -> torch.Tensor:
    """Foreground probability (C=1, sigmoid) or class probabilities (C>1, softmax)."""
    return torch.sigmoid(logits) if logits.shape[1] == 1 else torch.softmax(logits, dim=1)


def class_log_probs(logits: torch.Tensor):
    """Two-class view of the prediction as ``(p, log p, g-index layout)``.

    Returns ``(p_all, logp_all)`` of shape ``(B, K, *spatial)`` where K = 2 for binary input
    (channel 0 = background ``1-p``, channel 1 = foreground ``p``) and K = C otherwise. Logs come
    from log-sigmoid / log-softmax, so no clamping is needed.
    """
    if logits.shape[1] == 1:
        logp = torch.cat([F.logsigmoid(-logits), F.logsigmoid(logits)], dim=1)
    else:
        logp = torch.log_softmax(logits, dim=1)
    return logp.exp(), logp


def class_targets(target: torch.Tensor) -> torch.Tensor:
    """Targets in the layout of :func:`class_log_probs` (binary -> ``[1-g, g]``)."""
    return torch.cat([1 - target, target], dim=1) if target.shape[1] == 1 else target


def class_weights(target: torch.Tensor, fg, bg) -> torch.Tensor:
    """Per-class weights in the layout of :func:`class_log_probs`: channel 0 (background) gets
    ``bg``, every other channel ``fg``. ``fg``/``bg`` are scalars or per-sample ``(B,)`` tensors."""
    k = 2 if target.shape[1] == 1 else target.shape[1]
    view = (-1,) + (1,) * (target.ndim - 1)
    fg_t = torch.as_tensor(fg, dtype=target.dtype, device=target.device).reshape(view)
    bg_t = torch.as_tensor(bg, dtype=target.dtype, device=target.device).reshape(view)
    is_bg = (torch.arange(k, device=target.device) == 0).reshape((1, k) + (1,) * (target.ndim - 2))
    return torch.where(is_bg, bg_t, fg_t)


def pt_log(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``log p_t``: log of the probability given to the true class, per pixel ``(B, 1|C, ...)``."""
    if logits.shape[1] == 1:  # log σ(z) for g = 1, log σ(-z) for g = 0: one log-sigmoid of ±z
        return F.logsigmoid(logits * torch.where(target > 0.5, 1.0, -1.0).to(logits.dtype))
    return (torch.log_softmax(logits, dim=1) * target).sum(1, keepdim=True)


def safe_ratio(num: torch.Tensor, den: torch.Tensor, empty: float = 1.0) -> torch.Tensor:
    """``num / den`` with ``empty`` where the denominator is exactly 0 (no NaN, no NaN gradient)."""
    ok = den > 0
    return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.full_like(num, empty))


def logits_from_probs(p: torch.Tensor, eps: float | None = None) -> torch.Tensor:
    """Inverse of :func:`probs` for C=1 (logit) and C>1 (log), clamped to ``[eps, 1-eps]``.

    The logit is ``log(x / (1 - x))`` of the clamped ``x`` written as three tensor operations: the
    same numbers as ``torch.logit(p, eps)`` bit for bit (its kernel computes exactly this; checked in
    float32 and float64, vectorized and scalar tails), but ``torch.logit`` in torch 2.13 enters an
    OpenMP parallel region even for a handful of elements and waits there ~5-12 ms whenever the
    other core of a 2-core machine is busy (measured on 82 elements: 12 ms vs 10 µs; on the
    41 × 256×256 stack single-threaded 2.6 ms vs 3.6 ms for the three operations)."""
    eps = eps_for(p.dtype) if eps is None else eps
    if p.shape[1] != 1:
        return torch.log(p.clamp(eps, 1 - eps))
    x = p.clamp(eps, 1 - eps)
    return (x / (1 - x)).log_()


def per_sample(value, like: torch.Tensor):
    """Broadcast a parameter against ``like``: scalars pass through; a ``(B,)`` tensor (one value per
    sample, as in a parameter-grid sweep) becomes ``(B, 1, ..., 1)`` with ``like.ndim`` dims."""
    if isinstance(value, torch.Tensor) and value.ndim == 1:
        return value.to(like.dtype).reshape((-1,) + (1,) * (like.ndim - 1))
    return value
