"""The per-pixel term of a pixel-wise loss as a function of p_t, and its gradient.

For a loss that is the mean of one term per pixel, evaluating it on a one-pixel image whose label
is 1 gives that term at ``p = p_t`` exactly; the gradient w.r.t. the logit comes from autograd. The
catalogue draws these curves (the conservative loss beside cross-entropy, for example), so what a
text says about a loss's shape can be read off the computation.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .registry import get

#: Losses whose value is the plain mean of a per-pixel term of (z, g) with fixed weights.
PIXEL_WISE = ("bce", "focal", "conservative")


def pixel_term(key: str, pt, params: dict[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(term, d term / d z)`` of loss ``key`` at the probabilities ``pt`` of the true class
    (a foreground pixel with p = p_t), in float64."""
    if key not in PIXEL_WISE:
        raise ValueError(f"{key} is not a plain mean of per-pixel terms; these are: {', '.join(PIXEL_WISE)}")
    pt = np.asarray(pt, dtype=np.float64)
    if pt.ndim != 1 or not ((pt > 0) & (pt < 1)).all():
        raise ValueError("p_t must be a 1-D array of probabilities strictly between 0 and 1")
    z = torch.tensor(np.log(pt) - np.log1p(-pt), dtype=torch.float64).reshape(-1, 1, 1, 1).requires_grad_(True)
    v = get(key)(z, torch.ones(1, 1, 1, 1, dtype=torch.float64), **(params or {}))
    (gz,) = torch.autograd.grad(v.sum(), z)
    return v.detach().numpy(), gz.reshape(-1).numpy()
