"""Exact pixel compression: evaluate a loss on distinct per-pixel inputs weighted by their counts.

Many losses see a pixel only through a few per-pixel inputs (its logit z, its label g, and for some
the values of distance maps at that pixel) and sums or means over pixels. Two pixels with the same
inputs then have the same per-pixel terms and the same gradient, so such a loss can be evaluated
on each sample's *distinct* input tuples, each weighted by how many pixels share it
(:func:`segloss_core.tensors.weighted_pixels`). Values and gradients are exactly those of the full
image; the per-pixel gradient map is expanded back (``inverse``) only when it is asked for.

* :func:`compress`: distinct ``(z, g)`` pairs, for losses flagged ``reducible`` in the registry.
* :func:`compress_with_maps`: distinct ``(z, g, map values)`` tuples, for losses whose per-pixel
  terms also read distance maps (registry field ``pixel_maps``): the ground-truth maps do not
  change across a sweep, so their values are coded once per ground truth (a lexsort), and a sweep
  level with two prediction values over a 256×256 disk has ~3 000 distinct tuples instead of
  65 536 pixels.

Both take a :class:`Ranks` (each sample's distinct logits and every pixel's rank): sorted here
(``np.unique`` per sample) for general stacks, or read off the two-valued profile of
:mod:`.profile` (no sort) for the ladders of two-valued levels, which also builds the ``(z, g)``
pairs of such a stack directly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..distance import MapView, TargetMaps, above


@dataclass
class Compressed:
    """A binary batch as distinct per-pixel inputs per sample: ``z, g, w`` are ``(B, 1, U, 1)``
    (padding has weight 0); :attr:`inverse` ``(B, N)`` maps every pixel to its entry (computed on
    first use: only per-pixel gradient maps need it). ``maps`` is the view of the distance maps at
    the entries (:func:`compress_with_maps` only)."""

    z: torch.Tensor
    g: torch.Tensor
    w: torch.Tensor
    n_pixels: int
    _inverse: torch.Tensor | None = None
    maps: MapView | None = None
    regions: object = None  # gradients.Regions of the entries, built on first use
    _inverse_fn: object = None

    @property
    def inverse(self) -> torch.Tensor:
        if self._inverse is None:
            self._inverse = self._inverse_fn()
        return self._inverse

    def expand(self, per_entry: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """``(B, U)`` values per entry -> the per-pixel tensor of ``shape``."""
        return torch.gather(per_entry, 1, self.inverse.to(per_entry.device)).reshape(shape)


class Ranks:
    """Each sample's distinct logits and every pixel's rank among them, computed once per batch and
    shared by :func:`compress` and :func:`compress_with_maps` (binary logits ``(B, 1, *spatial)``)."""

    def __init__(self, logits: torch.Tensor | None):
        self._rank: dict[int, np.ndarray] = {}
        if logits is None:
            return
        self.z = logits.detach().reshape(logits.shape[0], -1).cpu().numpy()
        self.shape = self.z.shape
        self.levels = [np.unique(row) for row in self.z]  # sorted distinct logits per sample

    @classmethod
    def of_two_valued(cls, z_lo_hi: np.ndarray, is_hi: np.ndarray) -> "Ranks":
        """The ranks of a two-valued batch (:mod:`.profile`): ``z_lo_hi`` ``(B, 2)`` the logits of
        each row's two values, ``is_hi`` ``(B, N)`` the pixels holding the second (no sort)."""
        out = cls(None)
        out.shape = is_hi.shape
        out.levels = [row[:1] if row[0] == row[1] else row for row in z_lo_hi]
        for i, u in enumerate(out.levels):
            out._rank[i] = is_hi[i].view(np.uint8).astype(np.int32) if len(u) == 2 else \
                np.zeros(is_hi.shape[1], np.int32)
        return out

    def rank(self, i: int) -> np.ndarray:
        """``(N,)`` int32 rank of every pixel's logit among sample ``i``'s distinct logits."""
        if i not in self._rank:
            u, z = self.levels[i], self.z[i]
            if len(u) <= 2:  # one or two prediction values (hard or two-level soft masks): one comparison
                self._rank[i] = (z > u[0]).view(np.uint8).astype(np.int32)
            else:
                self._rank[i] = np.searchsorted(u, z).astype(np.int32)
        return self._rank[i]


def _labels(target: torch.Tensor) -> np.ndarray:
    """``(B|1, N)`` uint8 foreground indicator."""
    return above(target, 0.5).reshape(target.shape[0], -1).view(np.uint8)


def compress(logits: torch.Tensor, target: torch.Tensor, max_fraction: float = 0.25,
             ranks: Ranks | None = None) -> Compressed | None:
    """Distinct (z, g) pairs per sample, or None when they are too many to be worth it.

    Each pixel's key is ``2 * rank(z) + g``; a ``bincount`` per sample finds the pairs (each entry's
    z is exactly one of its pixels' logits, in any dtype).
    """
    ranks = ranks or Ranks(logits)
    b, n = ranks.shape
    if max(len(u) for u in ranks.levels) > max_fraction * n:  # at least as many pairs as logits
        return None
    g = _labels(target)

    def level_keys(i: int) -> np.ndarray:
        return ranks.rank(i) * np.int32(2) + g[i if g.shape[0] == b else 0]

    return _assemble(logits, ranks, 2, level_keys, lambda keys: keys % 2, max_fraction)


def _assemble(logits, ranks: Ranks, per_rank: int, level_keys, label_of, max_fraction: float,
              extra=None) -> Compressed | None:
    """Padded ``(B, 1, U, 1)`` entries from each sample's distinct pixel keys ``level_keys(i)`` (key
    // ``per_rank`` is the rank of z, ``label_of(keys)`` the label) counted by one ``bincount``; None
    when a sample has more than ``max_fraction`` of its pixels as entries. ``extra(pad, keys, g)``
    builds the :class:`MapView` of the entries."""
    b, n = ranks.shape
    found, counts = [], []
    for i in range(b):
        c = np.bincount(level_keys(i), minlength=len(ranks.levels[i]) * per_rank)
        k = np.flatnonzero(c)
        if len(k) > max_fraction * n:
            return None
        found.append(k)
        counts.append(c[k])
    dev = logits.device
    per_sample = np.array([len(k) for k in found])
    umax = int(per_sample.max())
    keys = np.concatenate(found)
    sample = np.repeat(np.arange(b), per_sample)
    pos = torch.from_numpy(sample * umax + np.concatenate([np.arange(m) for m in per_sample])).to(dev)

    def pad(values) -> torch.Tensor:
        out = torch.zeros(b * umax, dtype=logits.dtype, device=dev)
        out[pos] = torch.as_tensor(values).to(device=dev, dtype=logits.dtype)
        return out.reshape(b, 1, umax, 1)

    def inverse() -> torch.Tensor:
        rows = []
        for i in range(b):
            lut = np.zeros(int(found[i][-1]) + 1, dtype=np.int64)
            lut[found[i]] = np.arange(len(found[i]))
            rows.append(lut[level_keys(i)])
        return torch.from_numpy(np.stack(rows)).to(dev)

    z = np.concatenate([u[k // per_rank] for u, k in zip(ranks.levels, found)])
    g = pad(label_of(keys))
    out = Compressed(pad(z), g, pad(np.concatenate(counts)), n,
                     maps=extra(pad, keys, g) if extra is not None else None)
    out._inverse_fn = inverse
    return out


def compress_with_maps(logits: torch.Tensor, target: torch.Tensor, maps: TargetMaps, names,
                       max_fraction: float = 0.25, max_keys: int = 2**24,
                       ranks: Ranks | None = None, hard: np.ndarray | None = None) -> Compressed | None:
    """Distinct ``(z, g, values of the maps in names)`` tuples per sample, or None when they are too
    many to be worth it (or the key space too large). Binary, batch-1 ground truth.

    Per sample (arrays of one image stay in the CPU cache) every pixel gets the integer key
    (rank of its z among the sample's distinct logits, g, the code of its ground-truth map values,
    its prediction-contour bit); a ``bincount`` finds the distinct keys, and the inputs of each
    entry are decoded from its key (no per-pixel gather). ``logits`` needs only ``shape``, ``dtype``
    and ``device`` when ``ranks`` and ``hard`` are given.
    """
    if maps.target.shape[0] != 1 or logits.shape[1] != 1:
        return None
    ranks = ranks or Ranks(logits)
    b = ranks.shape[0]
    g = _labels(target)[0]
    gt_code, n_gt, gt_pixel = maps.pixel_codes(tuple(m for m in names if m in MapView.TARGET_MAPS))
    n_bit = 2 if "prediction_contour" in names else 1
    stride = n_gt * n_bit  # keys per (z, g)
    if max(len(u) for u in ranks.levels) * 2 * stride > max_keys:
        return None
    base = g.astype(np.int32) * np.int32(stride) + gt_code[0].astype(np.int32) * np.int32(n_bit)
    if n_bit == 2:  # hard: the thresholded prediction when the caller has it (else from the logits)
        contour = maps.prediction_contour_mask(logits) if hard is None else maps.prediction_contour_of(hard)
        bits = contour.reshape(b, -1).view(np.uint8)
    else:
        bits = None

    def level_keys(i: int) -> np.ndarray:
        key = ranks.rank(i) * np.int32(2 * stride) + base
        return key if bits is None else key + bits[i]

    def view(pad, keys, g_entry):
        pixel = torch.from_numpy(gt_pixel[(keys // n_bit) % n_gt]).to(logits.device)  # holds these map values

        def at_gt_pixel(full: torch.Tensor) -> torch.Tensor:
            """A ``(1, 1, *spatial)`` ground-truth map -> its ``(B, 1, U, 1)`` values at the entries."""
            return pad(full.detach().reshape(-1)[pixel])

        return MapView(maps, g_entry, at_gt_pixel, pad(keys % n_bit) if n_bit == 2 else None)

    return _assemble(logits, ranks, 2 * stride, level_keys, lambda keys: (keys // stride) % 2, max_fraction, view)
