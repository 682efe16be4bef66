"""Two-valued levels: the compression of the common case in a few passes over the stack.

The sweeps the app and the survey run are ladders of hard masks softened to two probabilities
(``c`` inside the prediction, ``1 - c`` outside): every level holds at most two distinct values.
For such a stack the distinct ``(value, label)`` pairs of each level and their pixel counts come
from a per-row min and max, two equality masks and bit counts of the packed masks (``(B, N)``
bytes packed to ``(B, N/8)``, ANDed with the packed ground truth): no sort, no per-pixel key, no
per-level Python loop, and no logit transform of the whole stack (the logits of the two values
are computed for the entries only, with the same function, so every pixel's ``z`` is its entry's).

Measured on the survey's 41 × 256×256 float32 stack (2-core CPU, quiet machine): ~0.7 ms, where
the general path (:class:`~segloss_core.engine.compression.Ranks` and a ``bincount`` per level)
takes ~12 ms and the logit transform of the stack alone ~1.6 ms.

:func:`scan` finds the two values without the row minimum and maximum: it compares every pixel
with the level's first pixel ``a`` and with the first pixel that differs from it ``b`` (found in
the packed first mask), and the level is two-valued exactly when the two counts add up to its
pixels; then ``lo, hi = min(a, b), max(a, b)`` and the mask of ``hi`` is one of the two. Two passes
over the float stack instead of four (min, max, ``== hi``, ``== lo``); the caller's validation
(finite, in [0, 1]) needs only ``lo`` and ``hi``. A stack with a third value (or NaN) falls back
to the minimum and maximum. Measured on the survey's stacks (2-core CPU, load ~3.5, the old and
the new profile interleaved 100 times in one process, best): profile with validation 8.98 -> 8.04
ms (large object), 2.75 -> 2.30 ms (small object); a modest step, most of a one-loss sweep's time
is elsewhere (README, Speed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .compression import Compressed


def _popcount(packed: np.ndarray) -> np.ndarray:
    """Set bits per row of a ``(B, K)`` uint8 array."""
    return np.bitwise_count(packed).sum(1, dtype=np.int64)


@dataclass
class TwoValued:
    """Each of the ``B`` rows holds at most the two values ``lo <= hi``. ``is_hi`` ``(B, N)``: the
    pixel holds ``hi``. ``counts`` ``(B, 4)``: pixels per entry ``2 * is_hi + g``, i.e. (lo, bg),
    (lo, fg), (hi, bg), (hi, fg)."""

    lo: np.ndarray
    hi: np.ndarray
    is_hi: np.ndarray
    counts: np.ndarray

    @property
    def values(self) -> np.ndarray:
        """``(B, 4)`` value of each entry."""
        return np.stack([self.lo, self.lo, self.hi, self.hi], 1)

    def entry_index(self, g: np.ndarray) -> np.ndarray:
        """``(B, N)`` int64 entry of every pixel (``g``: ``(1|B, N)`` bool)."""
        return self.is_hi.astype(np.int64) * 2 + g

    def compressed(self, z_entries: torch.Tensor, g_labels: np.ndarray) -> Compressed:
        """The :class:`Compressed` batch with entries ``z_entries`` ``(B, 4)`` (the logits of
        :attr:`values`); ``g_labels`` is the ``(1|B, N)`` bool ground truth."""
        b = z_entries.shape[0]
        dt, dev = z_entries.dtype, z_entries.device
        g = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=dt, device=dev).expand(b, 4)
        w = torch.as_tensor(self.counts, device=dev).to(dt)
        out = Compressed(z_entries.reshape(b, 1, 4, 1), g.reshape(b, 1, 4, 1), w.reshape(b, 1, 4, 1),
                         self.is_hi.shape[1])
        out._inverse_fn = lambda: torch.from_numpy(self.entry_index(g_labels)).to(dev)
        return out


@dataclass
class Scan:
    """Row minima and maxima ``lo``, ``hi`` ``(B,)`` of a stack of levels ``(B, N)``; when every row
    holds at most two values (:func:`scan`), also ``is_hi`` ``(B, N)`` (the pixel holds ``hi``; all
    True on a one-valued row), its packed bits ``packed_hi`` and counts ``n_hi``, else None."""

    lo: np.ndarray
    hi: np.ndarray
    is_hi: np.ndarray | None = None
    packed_hi: np.ndarray | None = None
    n_hi: np.ndarray | None = None

    def rows(self, sl: slice) -> "Scan":
        if self.is_hi is None:
            return Scan(self.lo[sl], self.hi[sl])
        return Scan(self.lo[sl], self.hi[sl], self.is_hi[sl], self.packed_hi[sl], self.n_hi[sl])


def scan(values: np.ndarray) -> Scan:
    """:class:`Scan` of ``values`` ``(B, N)`` in two comparison passes when every row holds at
    most two values (see the module docstring), else the plain row minimum and maximum (NaN shows
    up in them)."""
    b, n = values.shape
    rows = np.arange(b)
    a = values[:, 0]
    eq_a = values == a[:, None]
    pa = np.packbits(eq_a, axis=1)
    n_a = _popcount(pa)
    full = n_a == n  # one-valued rows (padding bits of the last byte are 0: never taken for them)
    byte = np.argmax(pa != 0xFF, axis=1)
    first0 = np.argmin(np.unpackbits(pa[rows, byte][:, None], axis=1), axis=1)
    idx = np.minimum(byte * 8 + first0, n - 1)
    second = np.where(full, a, values[rows, idx])  # the first pixel that differs from a
    eq_b = values == second[:, None]
    pb = np.packbits(eq_b, axis=1)
    n_b = _popcount(pb)
    if not np.all(full | (n_a + n_b == n)):  # a third value or NaN in some row
        return Scan(values.min(1), values.max(1))
    a_hi = a >= second  # then a is the row's maximum (every one-valued row)
    eq_b[a_hi] = eq_a[a_hi]
    pb[a_hi] = pa[a_hi]
    return Scan(np.minimum(a, second), np.maximum(a, second), eq_b, pb, np.where(a_hi, n_a, n_b))


def two_valued(values: np.ndarray, g: np.ndarray, lo: np.ndarray | None = None,
               hi: np.ndarray | None = None, scanned: Scan | None = None) -> TwoValued | None:
    """The :class:`TwoValued` profile of ``values`` ``(B, N)`` against the bool ground truth ``g``
    ``(1|B, N)``, or None when some row holds a third value (or NaN). ``lo``/``hi``: the row minima
    and maxima when the caller has them already; ``scanned``: the :func:`scan` of ``values`` (its
    masks are used, no pass over ``values``)."""
    n = values.shape[1]
    pg = np.packbits(g, axis=1)
    n_fg = _popcount(pg)
    if scanned is not None and scanned.is_hi is not None:
        lo, hi, is_hi, ph, n_hi = scanned.lo, scanned.hi, scanned.is_hi, scanned.packed_hi, scanned.n_hi
        one = lo == hi
        n_lo = n - n_hi
    elif scanned is not None:
        return None
    else:
        lo = values.min(1) if lo is None else lo
        hi = values.max(1) if hi is None else hi
        is_hi = values == hi[:, None]
        ph = np.packbits(is_hi, axis=1)
        pl = np.packbits(values == lo[:, None], axis=1)
        n_hi, n_lo = _popcount(ph), _popcount(pl)
        one = lo == hi  # a one-valued row: every pixel is "hi"
        if not np.all(np.where(one, n_hi == n, n_hi + n_lo == n)):
            return None
    n_hi_fg = _popcount(ph & pg)
    n_lo_fg = np.where(one, 0, n_fg - n_hi_fg)
    n_lo = np.where(one, 0, n_lo)
    counts = np.stack([n_lo - n_lo_fg, n_lo_fg, n_hi - n_hi_fg, n_hi_fg], 1)
    return TwoValued(lo, hi, is_hi, counts)
