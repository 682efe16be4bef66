"""Loss values and the gradients they send back, for a whole batch at once.

"Gradient" means the gradient of the per-sample loss with respect to the prediction logits z
(what backpropagation hands the network), with p = sigmoid(z) (softmax for C>1). Samples are
independent, so one backward of the batch sum gives every sample's own gradient. The gradient with
respect to the probabilities is available on request.

Summaries per sample: the L2 norm of the gradient over the image and the mean |∂L/∂z| over the
TP, FP, FN and TN regions of the prediction thresholded at p = 0.5 (binary input), with the pixel
count of each region (a region with no pixel reports a mean of 0 and count 0).

Speed: binary losses flagged ``reducible`` in the registry are evaluated on each sample's distinct
``(z, g)`` pairs, and those with ``pixel_maps`` on the distinct ``(z, g, map values)`` tuples,
weighted by their pixel counts (:mod:`segloss_core.compression`); the values and gradients are
exactly those of the full image, and the per-pixel map is expanded back only when asked for. The
losses that need the whole image (CMSS, Hausdorff DT) run on a worker thread meanwhile, and the
distance fields of the thresholded predictions are started in the background
(:meth:`~segloss_core.distance.TargetMaps.prefetch_prediction_distance`).
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterable

import torch

from .compression import Compressed, Ranks, compress, compress_with_maps
from .distance import TargetMaps
from .registry import get
from .tensors import check_pair, probs, weighted_pixels

REGIONS = ("tp", "fp", "fn", "tn")


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


def region_index(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per pixel 0 TP, 1 FP, 2 FN, 3 TN of the thresholded prediction, shape ``(B, M)``, uint8
    (binary: p > 0.5; multi-class: argmax, over the non-background channels)."""
    if logits.shape[1] == 1:
        pred = logits.detach() > 0
        gt = target > 0.5
    else:
        k = logits.shape[1]
        pred = torch.nn.functional.one_hot(logits.detach().argmax(1), k).movedim(-1, 1)[:, 1:].bool()
        gt = target[:, 1:] > 0.5
    idx = (~pred).to(torch.uint8) * 2 + (~gt).to(torch.uint8)  # bytes: cheap to build and keep
    return idx.reshape(idx.shape[0], -1)


class Regions:
    """TP/FP/FN/TN membership of every pixel (``(B, M)`` region ids), with optional pixel
    multiplicities, so that each loss's region sums are one ``scatter_add`` per batch."""

    LANES = 8  # partial sums per region: consecutive pixels of one region do not wait on one accumulator

    def __init__(self, idx: torch.Tensor, dtype: torch.dtype, weight: torch.Tensor | None = None):
        lane = torch.arange(idx.shape[1], device=idx.device) % self.LANES
        self.idx = idx.long().mul_(self.LANES).add_(lane)  # (B, M) slot of each pixel among 4 regions × LANES
        self.weight = None if weight is None else weight.to(dtype)
        ones = torch.ones((), dtype=torch.float64, device=idx.device).expand(idx.shape)  # no allocation
        # pixel counts in float64 (exact for any image size); the same dtype as the sums for the means
        self.counts_f64 = self._sums(ones if self.weight is None else self.weight.double())  # (B, 4)
        self.counts = self.counts_f64.to(dtype)

    def _sums(self, x: torch.Tensor) -> torch.Tensor:
        slots = torch.zeros(x.shape[0], 4 * self.LANES, dtype=x.dtype, device=x.device).scatter_add_(1, self.idx, x)
        return slots.view(x.shape[0], 4, self.LANES).sum(-1)

    def summarize(self, abs_grad: torch.Tensor):
        """``(B, M)`` per-pixel |grad| -> L2 norm ``(B,)`` and per-region means ``{region: (B,)}``."""
        if self.weight is None:
            sums = self._sums(abs_grad)
            l2 = torch.linalg.vector_norm(abs_grad, dim=1).double()  # in the gradient's dtype: no copy
        else:
            wa = abs_grad * self.weight
            sums = self._sums(wa)
            l2 = (abs_grad * wa).sum(1, dtype=torch.float64).sqrt()
        mean = torch.where(self.counts > 0, sums / self.counts.clamp_min(1), torch.zeros_like(sums)).double()
        return l2, {r: mean[:, i] for i, r in enumerate(REGIONS)}


def summarize(abs_grad: torch.Tensor, idx: torch.Tensor, weight: torch.Tensor | None = None):
    """L2 and per-region mean |grad| from ``(B, M)`` per-pixel |grad|, region ids and multiplicities."""
    return Regions(idx, abs_grad.dtype, weight).summarize(abs_grad)


def loss_gradients(logits: torch.Tensor, target: torch.Tensor, keys: Iterable[str],
                   params: dict[str, dict[str, Any]] | None = None, *, maps: TargetMaps | None = None,
                   wrt_probs: bool = False, compress_pixels: bool = True) -> GradientReport:
    """Values, per-pixel gradients and gradient summaries of several losses on one batch.

    Parameters
    ----------
    logits, target : the library's convention (``(B, C, *spatial)``, target batch 1 broadcasts).
    keys : registry keys.
    params : ``{key: {param: value}}`` overrides, validated against the registry.
    maps : ground-truth distance maps to reuse (built once here if any loss needs them).
    wrt_probs : also provide the gradient with respect to the probabilities (``grad_p``).
    compress_pixels : evaluate ``reducible`` losses on distinct (z, g) pairs (exact; faster).
    """
    check_pair(logits, target)
    keys = list(keys)
    specs = [get(k) for k in keys]
    params = params or {}
    binary = logits.shape[1] == 1
    if maps is None and binary and any(s.needs_maps for s in specs):
        maps = TargetMaps(target)
    regions = _Lazy(lambda: Regions(region_index(logits, target), logits.dtype))  # built on first use
    ranks = _Lazy(lambda: Ranks(logits))  # shared by both compressions
    pairs = _Lazy(lambda: compress(logits, target, ranks=ranks()) if compress_pixels and binary else None)
    map_names = tuple(dict.fromkeys(m for s in specs for m in s.pixel_maps))
    tuples = _Lazy(lambda: compress_with_maps(logits, target, maps, map_names, ranks=ranks())
                   if compress_pixels and binary and maps is not None else None)
    if maps is not None and binary and any(s.prediction_distance for s in specs):
        maps.prefetch_prediction_distance(logits)  # overlaps with the losses evaluated before it

    def full(spec, kw):
        return _on_full(spec, logits, target, maps, kw, regions)

    # Losses that always need the full image (spatial statistics, prediction distance fields) run on
    # a worker thread while this one evaluates the compressed ones: their large tensor operations
    # release the GIL, the many small compressed ones mostly hold it, so the two overlap. Whichever
    # thread is free takes the next one (the worker from the front, this thread from the back).
    always_full = [(k, s) for k, s in zip(keys, specs)
                   if not ((s.reducible or s.pixel_maps) and compress_pixels and binary)]
    always_full.sort(key=lambda ks: ks[1].prediction_distance)  # those waiting for the prefetch last
    queue = _FullQueue(always_full, lambda ks: full(ks[1], params.get(ks[0], {})))
    job = _full_worker().submit(queue.drain_front) if len(always_full) < len(keys) else None
    out: dict[str, LossResult] = {}
    for key, spec in zip(keys, specs):
        if key in queue.keys:
            continue
        kw = params.get(key, {})
        comp = pairs() if spec.reducible else tuples()
        value, l2, reg, grad_fn = _on_compressed(spec, comp, kw, logits.shape) if comp is not None else full(spec, kw)
        out[key] = _result(spec, kw, value, l2, reg, grad_fn, logits, target, maps, wrt_probs)
    queue.drain_back()
    if job is not None:
        job.result()
    for (key, spec), (value, l2, reg, grad_fn) in zip(always_full, queue.results):
        kw = params.get(key, {})
        out[key] = _result(spec, kw, value, l2, reg, grad_fn, logits, target, maps, wrt_probs)
    cnt = regions().counts_f64
    return GradientReport({k: out[k] for k in keys}, {r: cnt[:, i] for i, r in enumerate(REGIONS)})


class _FullQueue:
    """Items evaluated by two threads, one taking from the front and one from the back."""

    def __init__(self, items, fn):
        self.items, self.fn = items, fn
        self.keys = {k for k, _ in items}
        self.results: list = [None] * len(items)
        self._lock = threading.Lock()
        self._front, self._back = 0, len(items)

    def _take(self, front: bool) -> int | None:
        with self._lock:
            if self._front >= self._back:
                return None
            if front:
                self._front += 1
                return self._front - 1
            self._back -= 1
            return self._back

    def _drain(self, front: bool) -> None:
        while (i := self._take(front)) is not None:
            self.results[i] = self.fn(self.items[i])

    def drain_front(self) -> None:
        self._drain(True)

    def drain_back(self) -> None:
        self._drain(False)


_FULL: ThreadPoolExecutor | None = None


def _full_worker() -> ThreadPoolExecutor:
    global _FULL
    if _FULL is None:
        _FULL = ThreadPoolExecutor(max_workers=1)
    return _FULL


def _result(spec, kw, value, l2, reg, grad_fn, logits, target, maps, wrt_probs) -> LossResult:
    gp = (lambda g: _grad_wrt_probs(spec, logits, target, maps, kw, g)) if wrt_probs else None
    return LossResult(value.detach(), l2, reg, grad_fn, gp)


def _on_full(spec, logits, target, maps, kw, regions):
    """Value, L2, region means and the gradient of one loss on the full batch."""
    z = logits.detach().requires_grad_(True)
    with torch.enable_grad():
        value = spec(z, target, maps=maps, **kw)
        (grad,) = torch.autograd.grad(value.sum(), z)
    binary = logits.shape[1] == 1
    a = grad.abs() if binary else grad[:, 1:].abs()
    l2, reg = regions().summarize(a.reshape(a.shape[0], -1))
    if not binary:  # the summaries cover the foreground channels; the norm covers all
        l2 = grad.flatten(1).square().sum(1, dtype=torch.float64).sqrt()
    return value, l2, reg, (lambda: grad)


class _Lazy:
    """A value computed on first call (compressions and region ids are built only when a loss needs them)."""

    def __init__(self, fn):
        self._fn, self._done, self._value = fn, False, None
        self._lock = threading.Lock()  # the worker thread and this one may ask at once

    def __call__(self):
        if not self._done:
            with self._lock:
                if not self._done:
                    self._value, self._done = self._fn(), True
        return self._value


def _on_compressed(spec, comp: Compressed, kw, shape):
    """Value, L2, region means and a per-pixel gradient expander of one loss on a compressed batch."""
    z = comp.z.detach().requires_grad_(True)
    extra = {"maps": comp.maps} if spec.needs_maps else {}
    with torch.enable_grad(), weighted_pixels(comp.w, comp.n_pixels):
        value = spec.fn(z, comp.g, **extra, **spec.resolve(kw))
        (gz,) = torch.autograd.grad(value.sum(), z)
    b = gz.shape[0]
    per_entry = (gz / comp.w.clamp_min(1)).reshape(b, -1)  # the gradient of each of the entry's pixels
    if comp.regions is None:
        comp.regions = Regions(region_index(comp.z, comp.g), comp.z.dtype, comp.w.reshape(b, -1))
    l2, reg = comp.regions.summarize(per_entry.abs())
    return value, l2, reg, (lambda: comp.expand(per_entry, shape))


def _grad_wrt_probs(spec, logits, target, maps, params, grad_z):
    """d loss / d p. Binary: chain rule ``dL/dz / (p (1-p))`` (exact, no second pass). Multi-class:
    a second pass with the probabilities as the leaf and ``z = log p``."""
    if logits.shape[1] == 1:
        p = torch.sigmoid(logits.detach())
        return grad_z / (p * (1 - p)).clamp_min(torch.finfo(p.dtype).tiny)
    p = probs(logits.detach()).requires_grad_(True)
    with torch.enable_grad():
        v = spec(torch.log(p), target, maps=maps, **params)
        (gp,) = torch.autograd.grad(v.sum(), p)
    return gp
