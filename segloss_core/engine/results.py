"""What the engine returns: one :class:`LossResult` per loss and a :class:`GradientReport` per batch."""
from __future__ import annotations

from dataclasses import dataclass

import torch


class LossResult:
    """Everything computed for one loss over a batch. ``grad`` (``d loss / d logits``, the shape of
    the logits) and ``grad_p`` (w.r.t. probabilities) are expanded on first access."""

    def __init__(self, value, l2, region_mean, grad_fn, grad_p_fn=None):
        self.value: torch.Tensor = value  # (B,)
        self.l2: torch.Tensor = l2  # (B,)
        self.region_mean: dict[str, torch.Tensor] = region_mean  # region -> (B,)
        self._grad_fn, self._grad_p_fn = grad_fn, grad_p_fn
        self._grad = self._grad_p = None

    @property
    def grad(self) -> torch.Tensor:
        if self._grad is None:
            self._grad = self._grad_fn()
        return self._grad

    @property
    def grad_p(self) -> torch.Tensor | None:
        if self._grad_p is None and self._grad_p_fn is not None:
            self._grad_p = self._grad_p_fn(self.grad)
        return self._grad_p


@dataclass
class GradientReport:
    losses: dict[str, LossResult]
    region_count: dict[str, torch.Tensor]  # region -> (B,) pixel counts
