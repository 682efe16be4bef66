"""Losses evaluated on the whole image (CMSS's structural statistics, Hausdorff DT's prediction
distance fields), and the worker thread that runs them beside the compressed ones.

Their large tensor operations release the GIL, the many small compressed evaluations mostly hold
it, so the two overlap: whichever thread is free takes the next full-image loss (the worker from
the front of the queue, the calling thread from the back once its compressed losses are done).
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import torch


def on_full(spec, logits, target, maps, kw, regions):
    """Value, L2, region means and the gradient of one loss on the full batch (``regions``: a
    callable giving the batch's :class:`~segloss_core.engine.regions.Regions`)."""
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


class FullQueue:
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


def full_worker() -> ThreadPoolExecutor:
    global _FULL
    if _FULL is None:
        _FULL = ThreadPoolExecutor(max_workers=1)
        # torch sets a thread's OpenMP thread count on its first use, from the process-wide value:
        # take it now, not while a caller runs its compressed losses on one thread
        _FULL.submit(torch.get_num_threads).result()
    return _FULL


class Lazy:
    """A value computed on first call (compressions and region ids are built only when a loss needs
    them); thread-safe: the worker thread and the calling one may ask at once."""

    def __init__(self, fn):
        self._fn, self._done, self._value = fn, False, None
        self._lock = threading.Lock()

    @property
    def done(self) -> bool:
        return self._done

    def __call__(self):
        if not self._done:
            with self._lock:
                if not self._done:
                    self._value, self._done = self._fn(), True
        return self._value
