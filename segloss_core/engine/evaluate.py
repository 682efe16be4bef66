"""One engine call: every requested loss on one batch, its value, gradient and summaries.

The plan of a call (:func:`evaluate`):

1. Binary losses flagged ``reducible`` run on each sample's distinct ``(z, g)`` pairs and those with
   ``pixel_maps`` on the distinct ``(z, g, map values)`` tuples (:mod:`.compression`), weighted by
   their pixel counts. Two-valued levels (:mod:`.profile`) get their pairs, ranks and thresholded
   masks from one profile of the stack; other stacks the sort-based ranks.
2. The losses that need the whole image run meanwhile on a worker thread (:mod:`.full`), the
   thresholded predictions' distance fields start in the background.
3. Region sums (:mod:`.regions`) come from the entries of a compressed batch when there is one
   (no pass over the pixels), else from the pixel masks with one matrix product.

Everything that depends only on the batch (profile, logits, ranks, masks, compressions, regions)
is built at most once per call, on first use, and shared by all losses.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterable

import numpy as np
import torch

from ..distance import TargetMaps, above
from ..registry import get
from ..tensors import check_pair, logits_from_probs, probs, weighted_pixels
from .compression import Compressed, Ranks, compress, compress_with_maps
from .full import FullQueue, Lazy, full_worker, on_full
from .profile import two_valued
from .regions import REGIONS, EntryRegions, Regions
from .results import GradientReport, LossResult


class Batch:
    """The predictions of one call: given as logits (:func:`loss_gradients`), or as probabilities
    ``(B, *spatial)`` NumPy (:func:`~segloss_core.sweep.run_sweep`), whose full logits are then
    computed only if a loss needs the whole image (``lo``/``hi``: row minima and maxima the caller
    already has; ``scanned``: the caller's :func:`~segloss_core.engine.profile.scan` of the rows)."""

    def __init__(self, shape, dtype, device, *, logits=None, probs=None, lo=None, hi=None, scanned=None):
        self.shape, self.dtype, self.device = torch.Size(shape), dtype, device
        self._logits, self._probs, self.lo, self.hi = logits, probs, lo, hi
        self.scanned = scanned
        if scanned is not None:
            self.lo, self.hi = scanned.lo, scanned.hi
        self._full = Lazy(self._make_logits)  # thread-safe: the worker may ask first

    @classmethod
    def of_logits(cls, logits: torch.Tensor) -> "Batch":
        return cls(logits.shape, logits.dtype, logits.device, logits=logits)

    @classmethod
    def of_probs(cls, p: np.ndarray, dtype: torch.dtype, device, lo=None, hi=None, scanned=None) -> "Batch":
        return cls((p.shape[0], 1) + p.shape[1:], dtype, device, probs=p, lo=lo, hi=hi, scanned=scanned)

    def _make_logits(self) -> torch.Tensor:
        if self._logits is not None:
            return self._logits
        return logits_from_probs(torch.as_tensor(self._probs, dtype=self.dtype, device=self.device)[:, None])

    @property
    def logits(self) -> torch.Tensor:
        return self._full()

    def values(self) -> np.ndarray:
        """``(B, N)`` NumPy array whose distinct values per row are the distinct logits."""
        if self._probs is not None:
            return self._probs.reshape(self.shape[0], -1)
        return self._logits.detach().reshape(self.shape[0], -1).cpu().numpy()

    def logits_of(self, v: np.ndarray) -> torch.Tensor:
        """``(B, k)`` values of :meth:`values` -> their logits, computed as for the full batch."""
        t = torch.as_tensor(v, dtype=self.dtype, device=self.device)
        return logits_from_probs(t[:, None])[:, 0] if self._probs is not None else t


class _Inputs:
    """The batch-dependent inputs of one call, each built on first use and shared by the losses."""

    def __init__(self, batch: Batch, target: torch.Tensor, maps: TargetMaps | None, map_names, compressing: bool,
                 labels: np.ndarray | None = None):
        self.batch, self.target, self.maps = batch, target, maps
        # labels: the (1|B, N) bool ground truth when the caller has it in NumPy (no torch op: small torch
        # ops on 65 536 pixels run on two threads and wait ~ms for the second one on a loaded machine)
        self.labels = Lazy(lambda: labels if labels is not None else
                           above(target, 0.5).reshape(target.shape[0], -1))
        self.profile = Lazy(lambda: two_valued(batch.values(), self.labels(), batch.lo, batch.hi, batch.scanned)
                            if compressing else None)
        self.z_two = Lazy(lambda: batch.logits_of(np.stack([self.profile().lo, self.profile().hi], 1)))
        self.ranks = Lazy(lambda: Ranks.of_two_valued(self.z_two().cpu().numpy(), self.profile().is_hi)
                          if self.profile() is not None else Ranks(batch.logits))
        self.pairs = Lazy(self._pairs if compressing else lambda: None)
        self.tuples = Lazy((lambda: self._tuples(map_names)) if compressing and maps is not None else lambda: None)
        self.regions = Lazy(lambda: Regions.of(batch.logits, target))

    def _pairs(self) -> Compressed | None:
        prof = self.profile()
        if prof is not None:
            z = self.z_two()
            return prof.compressed(torch.stack([z[:, 0], z[:, 0], z[:, 1], z[:, 1]], 1), self.labels())
        return compress(self.batch.logits, self.target, ranks=self.ranks())

    def hard(self) -> np.ndarray:
        """The thresholded prediction (logit > 0) ``(B, 1, *spatial)`` bool."""
        prof = self.profile()
        if prof is None:
            return above(self.batch.logits, 0)
        pos = (self.z_two() > 0).cpu().numpy()  # (B, 2): the lo and hi values' side
        if pos[:, 0].any() or not pos[:, 1].all():
            hard = np.where(prof.is_hi, pos[:, 1:], pos[:, :1])
        else:
            hard = prof.is_hi
        return hard.reshape(self.batch.shape)

    def _tuples(self, names) -> Compressed | None:
        hard = self.hard() if "prediction_contour" in names else None
        return compress_with_maps(self.batch, self.target, self.maps, names, ranks=self.ranks(), hard=hard)

    def region_counts(self) -> torch.Tensor:
        """``(B, 4)`` pixels per region, from a compressed batch already built if there is one."""
        for lazy in (self.pairs, self.tuples):
            if lazy.done and lazy() is not None:
                return _entry_regions(lazy()).counts_f64
        return self.regions().counts_f64


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
    return evaluate(Batch.of_logits(logits), target, keys, params, maps=maps, wrt_probs=wrt_probs,
                    compress_pixels=compress_pixels)


def evaluate(batch: Batch, target: torch.Tensor, keys: Iterable[str], params=None, *,
             maps: TargetMaps | None = None, wrt_probs: bool = False, compress_pixels: bool = True,
             labels: np.ndarray | None = None) -> GradientReport:
    """:func:`loss_gradients` on a :class:`Batch` (checked by the caller); ``labels``: the ground
    truth ``target > 0.5`` as a ``(1|B, N)`` bool NumPy array, if the caller has it."""
    keys = list(keys)
    specs = [get(k) for k in keys]
    params = params or {}
    binary = batch.shape[1] == 1
    if maps is None and binary and any(s.needs_maps for s in specs):
        maps = TargetMaps(target)
    compressing = compress_pixels and binary
    map_names = tuple(dict.fromkeys(m for s in specs for m in s.pixel_maps))
    inp = _Inputs(batch, target, maps, map_names, compressing, labels)
    if maps is not None and binary and any(s.prediction_distance for s in specs):
        maps.prefetch_prediction_distance(batch.logits)  # overlaps with the losses evaluated before it

    def full(spec, kw):
        return on_full(spec, batch.logits, target, maps, kw, inp.regions)

    always_full = [(k, s) for k, s in zip(keys, specs) if not ((s.reducible or s.pixel_maps) and compressing)]
    always_full.sort(key=lambda ks: ks[1].prediction_distance)  # those waiting for the prefetch last
    queue = FullQueue(always_full, lambda ks: full(ks[1], params.get(ks[0], {})))
    # the worker only when there is a full-image loss to share out: waking it for nothing costs the
    # calling thread the GIL hand-over (measured up to ~5 ms, the switch interval, on a loaded machine)
    job = full_worker().submit(queue.drain_front) if 0 < len(always_full) < len(keys) else None
    out: dict[str, LossResult] = {}
    for key, spec in zip(keys, specs):
        if key in queue.keys:
            continue
        kw = params.get(key, {})
        with _one_thread(batch.device):  # building the entries and evaluating on them: small tensors
            comp = inp.pairs() if spec.reducible else inp.tuples()
            if comp is not None:
                value, l2, reg, grad_fn = _on_compressed(spec, comp, kw, batch.shape)
        if comp is None:
            value, l2, reg, grad_fn = full(spec, kw)
        out[key] = _result(spec, kw, value, l2, reg, grad_fn, batch, target, maps, wrt_probs)
    queue.drain_back()
    if job is not None:
        job.result()
    for (key, spec), (value, l2, reg, grad_fn) in zip(always_full, queue.results):
        kw = params.get(key, {})
        out[key] = _result(spec, kw, value, l2, reg, grad_fn, batch, target, maps, wrt_probs)
    cnt = inp.region_counts()
    return GradientReport({k: out[k] for k in keys}, {r: cnt[:, i] for i, r in enumerate(REGIONS)})


@contextmanager
def _one_thread(device):
    """Run this thread's torch operations on one CPU thread (restored afterwards).

    A compressed batch has a few hundred entries, too few for two threads to help, but torch 2.13
    runs ``log``, ``exp``, ``sqrt``, ``tanh``, ``erf``, log-sigmoid and ``max`` in an OpenMP parallel
    region from ~64 elements on, and each region waits ~8-16 ms for the second thread whenever the
    other core of a 2-core machine is busy. Measured under load (uptime ~4), one-loss sweeps of 41
    levels: focal 24-36 ms -> 2.1-2.3 ms, generalized Dice 28-32 ms -> 2.1-2.4 ms; on a quiet
    machine no change. The setting is per thread (OpenMP's ICV, MKL's local count), so the worker
    thread's full-image losses keep their threads.
    """
    n = torch.get_num_threads() if device.type == "cpu" else 1
    if n == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _result(spec, kw, value, l2, reg, grad_fn, batch, target, maps, wrt_probs) -> LossResult:
    gp = (lambda g: _grad_wrt_probs(spec, batch.logits, target, maps, kw, g)) if wrt_probs else None
    return LossResult(value.detach(), l2, reg, grad_fn, gp)


def _entry_regions(comp: Compressed) -> EntryRegions:
    if comp.regions is None:
        comp.regions = EntryRegions(comp.z, comp.g, comp.w)
    return comp.regions


def _on_compressed(spec, comp: Compressed, kw, shape):
    """Value, L2, region means and a per-pixel gradient expander of one loss on a compressed batch."""
    z = comp.z.detach().requires_grad_(True)
    extra = {"maps": comp.maps} if spec.needs_maps else {}
    with torch.enable_grad(), weighted_pixels(comp.w, comp.n_pixels):
        value = spec.fn(z, comp.g, **extra, **spec.resolve(kw))
        (gz,) = torch.autograd.grad(value.sum(), z)
    b = gz.shape[0]
    per_entry = (gz / comp.w.clamp_min(1)).reshape(b, -1)  # the gradient of each of the entry's pixels
    l2, reg = _entry_regions(comp).summarize(per_entry.abs())
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
