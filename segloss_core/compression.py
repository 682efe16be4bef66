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
  change across a sweep, so their values are coded once per ground truth, and a sweep level with
  two prediction values over a 256×256 disk has ~3 000 distinct tuples instead of 65 536 pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .distance import MapView, TargetMaps


@dataclass
class Compressed:
    """A binary batch as distinct per-pixel inputs per sample: ``z, g, w`` are ``(B, 1, U, 1)``
    (padding has weight 0); :attr:`inverse` ``(B, N)`` maps every pixel to its entry (computed on
    first use for :func:`compress`: only per-pixel gradient maps need it). ``maps`` is the view of
    the distance maps at the entries (:func:`compress_with_maps` only)."""

    z: torch.Tensor
    g: torch.Tensor
    w: torch.Tensor
    n_pixels: int
    _inverse: torch.Tensor | None = None
    maps: MapView | None = None
    regions: object = None  # gradients.Regions of the entries, built on first use
    level_inverse: object = None  # compress(): sample index -> (N,) int32 pair of every pixel
    _inverse_fn: object = None

    @property
    def inverse(self) -> torch.Tensor:
        if self._inverse is None:
            self._inverse = self._inverse_fn()
        return self._inverse

    def expand(self, per_entry: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """``(B, U)`` values per entry -> the per-pixel tensor of ``shape``."""
        return torch.gather(per_entry, 1, self.inverse.to(per_entry.device)).reshape(shape)


def compress(logits: torch.Tensor, target: torch.Tensor, max_fraction: float = 0.25) -> Compressed | None:
    """Distinct (z, g) pairs per sample, or None when they are too many to be worth it.

    Background and foreground pixels are compressed separately (each entry's z is exactly one of
    its pixels' logits, in any dtype); entries are ordered background first, each class by z.
    """
    b = logits.shape[0]
    z = logits.detach().reshape(b, -1).cpu().numpy()  # NumPy's sort-based unique beats torch's on the CPU
    fg = (target.detach() > 0.5).reshape(target.shape[0], -1).cpu().numpy()
    n = z.shape[1]
    sides = []  # per sample: (pixel indices, their z) of the background, then of the foreground
    for i in range(b):
        f = fg[i if fg.shape[0] == b else 0]
        if i == 0 or fg.shape[0] == b:
            idx = (np.flatnonzero(~f), np.flatnonzero(f))
        sides.append([(ix, z[i, ix]) for ix in idx])
    rows = []
    for side in sides:
        parts = [np.unique(v, return_counts=True) for _, v in side]
        if sum(len(u) for u, _ in parts) > max_fraction * n:
            return None
        rows.append(parts)
    umax = max(len(p[0][0]) + len(p[1][0]) for p in rows)
    zz = np.zeros((b, umax), dtype=z.dtype)
    gg, ww = np.zeros((b, umax), dtype=z.dtype), np.zeros((b, umax), dtype=np.float64)
    for i, ((ub, cb), (uf, cf)) in enumerate(rows):
        k = len(ub)
        zz[i, :k], zz[i, k:k + len(uf)] = ub, uf
        gg[i, k:k + len(uf)] = 1
        ww[i, :k], ww[i, k:k + len(uf)] = cb, cf

    def level_inverse(i: int) -> np.ndarray:
        """``(N,)`` int32: the pair of every pixel of sample ``i``."""
        (ib, vb), (i_f, vf) = sides[i]
        (ub, _), (uf, _) = rows[i]
        inv = np.empty(n, dtype=np.int32)
        inv[ib] = np.searchsorted(ub, vb)
        inv[i_f] = len(ub) + np.searchsorted(uf, vf)
        return inv

    shape = (b, 1, umax, 1)
    dev = logits.device
    out = Compressed(torch.from_numpy(zz).to(dev).reshape(shape), torch.from_numpy(gg).to(dev).reshape(shape),
                     torch.from_numpy(ww).to(device=dev, dtype=logits.dtype).reshape(shape), n)
    out.level_inverse = level_inverse
    out._inverse_fn = lambda: torch.from_numpy(np.stack([level_inverse(i) for i in range(b)]).astype(np.int64)).to(dev)
    return out


def compress_with_maps(logits: torch.Tensor, target: torch.Tensor, maps: TargetMaps, names,
                       pairs: Compressed | None = None, max_fraction: float = 0.25,
                       max_keys: int = 2**24) -> Compressed | None:
    """Distinct ``(z, g, values of the maps in names)`` tuples per sample, or None when they are too
    many to be worth it (or the key space too large). ``pairs``: the batch's :func:`compress`, reused.

    Every pixel gets the integer key (its (z, g) pair, the code of its ground-truth map values, its
    prediction-contour bit); a ``bincount`` per sample finds the distinct keys, and the inputs of
    each entry are decoded from its key (no per-pixel gather).
    """
    pairs = pairs if pairs is not None else compress(logits, target, max_fraction)
    if pairs is None or maps.target.shape[0] != 1:
        return None
    b, n, dev = logits.shape[0], pairs.n_pixels, logits.device
    n_pair = pairs.z.shape[2]
    gt_code, n_gt, gt_pixel = maps.pixel_codes(tuple(m for m in names if m in MapView.TARGET_MAPS))
    n_bit = 2 if "prediction_contour" in names else 1
    card = n_pair * n_gt * n_bit  # keys per sample
    if card > max_keys:  # one bincount of card counters per sample (int32 keys)
        return None
    # Per sample (arrays of one image stay in the CPU cache): key = (pair*n_gt + code)*n_bit + bit.
    code_bits = gt_code[0].astype(np.int32) * n_bit
    bits = None
    if n_bit == 2:
        bits = (maps.prediction_contour(logits).reshape(b, -1) > 0.5).cpu().numpy().view(np.uint8)

    def level_keys(i: int) -> np.ndarray:
        key = pairs.level_inverse(i) * np.int32(n_gt * n_bit) + code_bits
        return key if bits is None else key + bits[i]

    found, counts = [], []
    for i in range(b):
        c = np.bincount(level_keys(i), minlength=card)
        k = np.flatnonzero(c)
        if len(k) > max_fraction * n:
            return None
        found.append(k)
        counts.append(c[k])
    per_sample = np.array([len(k) for k in found])
    umax = int(per_sample.max())
    keys = np.concatenate(found)
    sample = np.repeat(np.arange(b), per_sample)
    pos = torch.from_numpy(sample * umax + np.concatenate([np.arange(m) for m in per_sample])).to(dev)
    bit = keys % n_bit
    code = (keys // n_bit) % n_gt
    pair = torch.from_numpy(sample * n_pair + keys // (n_bit * n_gt)).to(dev)
    pixel = torch.from_numpy(gt_pixel[code]).to(dev)  # a ground-truth pixel with these map values

    def padded(values: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(b * umax, dtype=values.dtype, device=dev)
        out[pos] = values.to(dev)
        return out.reshape(b, 1, umax, 1)

    def at_gt_pixel(full: torch.Tensor) -> torch.Tensor:
        """A ``(1, 1, *spatial)`` ground-truth map -> its ``(B, 1, U, 1)`` values at the entries."""
        return padded(full.detach().reshape(-1)[pixel])

    def inverse() -> torch.Tensor:
        lut = np.zeros(card, dtype=np.int64)
        rows = []
        for i in range(b):
            lut[found[i]] = np.arange(len(found[i]))
            rows.append(lut[level_keys(i)])
        return torch.from_numpy(np.stack(rows)).to(dev)

    z = padded(pairs.z.reshape(-1)[pair])
    g = padded(pairs.g.reshape(-1)[pair])
    w = padded(torch.from_numpy(np.concatenate(counts)).to(logits.dtype))
    contour = padded(torch.from_numpy(bit).to(logits.dtype)) if n_bit == 2 else None
    out = Compressed(z, g, w, n, maps=MapView(maps, g, at_gt_pixel, contour))
    out._inverse_fn = inverse
    return out
