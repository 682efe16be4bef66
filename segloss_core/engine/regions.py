"""TP/FP/FN/TN regions of the thresholded prediction and the gradient summaries over them.

Per sample: the L2 norm of the gradient and the mean |∂L/∂z| over each region (a region with no
pixel reports a mean of 0 and count 0), with the pixel count of each region.

Two ways to get the region sums, both exact (each pixel's term is added once, to its own region):

* :class:`Regions` over pixels: the prediction mask splits ``|g|`` into ``a·pred`` and
  ``a - a·pred`` (exact: one of the two is ``a``, the other 0), and four matrix-vector products with
  the ground-truth indicators ``g`` and ``1-g`` give the four sums. Replaces an int64 region id per
  pixel and a ``scatter_add`` (measured on the survey's 41 × 256×256 stack: the uint8 -> int64
  conversion and the scatter cost ~4 ms per summary, the products ~0.3 ms).
* :class:`EntryRegions` over the entries of a compressed batch (:mod:`.compression`): each entry
  (a distinct per-pixel input, weighted by its pixel count) lies in one region, so the sums are a
  product of the ``(B, U)`` weighted values with a ``(B, U, 4)`` one-hot: no pass over pixels at
  all, and the region counts come from the entry weights.
"""
from __future__ import annotations

import numpy as np
import torch

from ..distance import above_tensor

REGIONS = ("tp", "fp", "fn", "tn")


def region_index(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per pixel 0 TP, 1 FP, 2 FN, 3 TN of the thresholded prediction, shape ``(B, M)``, uint8
    (binary: p > 0.5; multi-class: argmax, over the non-background channels)."""
    pred, gt = _masks(logits, target)
    idx = (~pred).to(torch.uint8) * 2 + (~gt).to(torch.uint8)
    return idx.expand(pred.shape[0], -1) if idx.shape[0] != pred.shape[0] else idx


def _masks(logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(pred (B, M), gt (1|B, M))`` bool masks of the thresholded prediction and the ground truth."""
    if logits.shape[1] == 1:  # in NumPy on the CPU (distance.above: no OpenMP wait)
        pred = above_tensor(logits, 0)
        gt = above_tensor(target, 0.5)
    else:
        k = logits.shape[1]
        pred = torch.nn.functional.one_hot(logits.detach().argmax(1), k).movedim(-1, 1)[:, 1:].bool()
        gt = target[:, 1:] > 0.5
    return pred.reshape(pred.shape[0], -1), gt.reshape(gt.shape[0], -1)


def _bit_counts(pred: np.ndarray, gt: np.ndarray) -> torch.Tensor:
    """``(B, 4)`` float64 pixel counts of TP, FP, FN, TN from bool masks ``pred`` ``(B, M)`` and
    ``gt`` ``(1, M)``: popcounts of the packed masks (~0.3 ms on 41 × 65 536 pixels, where float
    sums over the masks take ~4 ms)."""
    pp, pg = np.packbits(pred, axis=1), np.packbits(gt, axis=1)
    tp = np.bitwise_count(pp & pg).sum(1, dtype=np.int64)
    n_pred = np.bitwise_count(pp).sum(1, dtype=np.int64)
    n_fg = np.bitwise_count(pg).sum(1, dtype=np.int64)
    fp, fn = n_pred - tp, n_fg - tp
    return torch.from_numpy(np.stack([tp, fp, fn, pred.shape[1] - tp - fp - fn], 1).astype(np.float64))


def _finish(sums: torch.Tensor, counts: torch.Tensor, l2: torch.Tensor):
    mean = torch.where(counts > 0, sums / counts.clamp_min(1), torch.zeros_like(sums)).double()
    return l2, {r: mean[:, i] for i, r in enumerate(REGIONS)}


class Regions:
    """Region membership of every pixel of a batch (from the masks of :func:`_masks`, or from the
    ``(B, M)`` ids of :func:`region_index`), with optional pixel multiplicities ``weight``."""

    def __init__(self, idx: torch.Tensor | None, dtype: torch.dtype, weight: torch.Tensor | None = None, *,
                 pred: torch.Tensor | None = None, gt: torch.Tensor | None = None):
        if idx is not None:  # ids 0 TP, 1 FP, 2 FN, 3 TN
            pred, gt = idx < 2, (idx % 2) == 0
        self.pred, self.dtype = pred, dtype
        self.weight = None if weight is None else weight.to(dtype)
        self._gt = gt.to(dtype)  # (1|B, M) 0/1
        if weight is None and pred.device.type == "cpu" and gt.shape[0] == 1:
            self.counts_f64 = _bit_counts(pred.numpy(), gt.numpy())
            self.counts = self.counts_f64.to(dtype)
            return
        # counts: sums of 0/1 (or integer weights) are exact in float32 below 2**24 pixels
        cdt = torch.float32 if dtype == torch.float32 and pred.shape[1] < 2**24 and weight is None else torch.float64
        inside = self.pred.to(cdt) if self.weight is None else self.pred * self.weight.to(cdt)
        total = torch.ones((), dtype=cdt, device=pred.device).expand(pred.shape) \
            if self.weight is None else self.weight.to(cdt).expand(pred.shape)
        self.counts_f64 = self._sums(inside, total, self._gt.to(cdt)).double()  # (B, 4)
        self.counts = self.counts_f64.to(dtype)

    @classmethod
    def of(cls, logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> "Regions":
        pred, gt = _masks(logits, target)
        return cls(None, logits.dtype, weight, pred=pred, gt=gt)

    @staticmethod
    def _sums(inside: torch.Tensor, total: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        """``(B, 4)`` sums over TP, FP, FN, TN of a value whose predicted-foreground part is ``inside``."""
        outside = total - inside  # exact: per pixel one of the two is the value, the other 0
        if gt.shape[0] == 1 and inside.shape[0] > 1:  # one ground truth: matrix-vector products
            g = gt[0].contiguous()
            bg = 1 - g
            # four (B, M) @ (M,) products: measured 0.3 ms on 41 × 65 536 where one (B, M) @ (M, 2)
            # product takes 5-15 ms (a skinny-matrix path of the BLAS) and a scatter_add ~4 ms
            return torch.stack([inside @ g, inside @ bg, outside @ g, outside @ bg], 1)
        return torch.stack([(inside * gt).sum(1), (inside - inside * gt).sum(1),
                            (outside * gt).sum(1), (outside - outside * gt).sum(1)], 1)

    def summarize(self, abs_grad: torch.Tensor):
        """``(B, M)`` per-pixel |grad| -> L2 norm ``(B,)`` and per-region means ``{region: (B,)}``."""
        a = abs_grad if self.weight is None else abs_grad * self.weight
        sums = self._sums(a * self.pred, a, self._gt.to(a.dtype))
        if self.weight is None:
            l2 = torch.linalg.vector_norm(abs_grad, dim=1).double()  # in the gradient's dtype: no copy
        else:
            l2 = (abs_grad * a).sum(1, dtype=torch.float64).sqrt()
        return _finish(sums, self.counts.to(sums.dtype), l2)


class EntryRegions:
    """Regions of the entries of a compressed binary batch: ``z, g, w`` are ``(B, 1, U, 1)``."""

    def __init__(self, z: torch.Tensor, g: torch.Tensor, w: torch.Tensor):
        b = z.shape[0]
        rid = (z.reshape(b, -1) <= 0).to(torch.uint8) * 2 + (g.reshape(b, -1) <= 0.5).to(torch.uint8)
        # (4, B, U) 0/1 membership in the dtype of the sums: a product and a sum per summary (a
        # one-hot (B, U, 4) in float64 took ~8 ms on the survey's ~5 500 map tuples × 41 levels)
        self.member = torch.stack([rid == r for r in range(4)]).to(z.dtype)
        self.w = w.reshape(b, -1).to(z.dtype)
        self.counts_f64 = (self.member.double() * self.w.double()).sum(-1).T  # integer weights: exact
        self.counts = self.counts_f64.to(z.dtype)

    def summarize(self, abs_grad: torch.Tensor):
        """``(B, U)`` |grad| of one pixel of each entry -> L2 ``(B,)`` and region means."""
        wa = self.w * abs_grad
        sums = (self.member * wa).sum(-1).T
        l2 = (wa * abs_grad).sum(1, dtype=torch.float64).sqrt()
        return _finish(sums, self.counts, l2)


def summarize(abs_grad: torch.Tensor, idx: torch.Tensor, weight: torch.Tensor | None = None):
    """L2 and per-region mean |grad| from ``(B, M)`` per-pixel |grad|, region ids and multiplicities."""
    return Regions(idx, abs_grad.dtype, weight).summarize(abs_grad)
