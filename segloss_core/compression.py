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

    def inverse() -> torch.Tensor:
        inv = np.empty((b, n), dtype=np.int64)
        for i, ((ib, vb), (i_f, vf)) in enumerate(sides):
            (ub, _), (uf, _) = rows[i]
            inv[i, ib] = np.searchsorted(ub, vb)
            inv[i, i_f] = len(ub) + np.searchsorted(uf, vf)
        return torch.from_numpy(inv).to(logits.device)

    shape = (b, 1, umax, 1)
    dev = logits.device
    out = Compressed(torch.from_numpy(zz).to(dev).reshape(shape), torch.from_numpy(gg).to(dev).reshape(shape),
                     torch.from_numpy(ww).to(device=dev, dtype=logits.dtype).reshape(shape), n)
    out._inverse_fn = inverse
    return out


def compress_with_maps(logits: torch.Tensor, target: torch.Tensor, maps: TargetMaps, names,
                       max_fraction: float = 0.25, max_keys: int = 2**24) -> Compressed | None:
    """Distinct ``(z, g, values of the maps in names)`` tuples per sample, or None when they are too
    many to be worth it (or the key space too large). Binary, batch-1 ground truth.

    Per sample (arrays of one image stay in the CPU cache) every pixel gets the integer key
    (rank of its z among the sample's distinct logits, g, the code of its ground-truth map values,
    its prediction-contour bit); a ``bincount`` finds the distinct keys, and the inputs of each
    entry are decoded from its key (no per-pixel gather).
    """
    if maps.target.shape[0] != 1 or logits.shape[1] != 1:
        return None
    b, dev = logits.shape[0], logits.device
    z = logits.detach().reshape(b, -1).cpu().numpy()
    n = z.shape[1]
    g = (target.detach() > 0.5).reshape(-1).cpu().numpy().view(np.uint8)
    gt_code, n_gt, gt_pixel = maps.pixel_codes(tuple(m for m in names if m in MapView.TARGET_MAPS))
    n_bit = 2 if "prediction_contour" in names else 1
    stride = n_gt * n_bit  # keys per (z, g)
    base = g.astype(np.int32) * np.int32(stride) + gt_code[0].astype(np.int32) * np.int32(n_bit)
    bits = None
    if n_bit == 2:
        bits = maps.prediction_contour_mask(logits).reshape(b, -1).view(np.uint8)
    levels = [np.unique(z[i]) for i in range(b)]  # distinct logits per sample
    if max(len(u) for u in levels) * 2 * stride > max_keys:
        return None

    def level_keys(i: int) -> np.ndarray:
        u = levels[i]
        if len(u) <= 2:  # one or two prediction values (hard or soft two-level masks): rank by one comparison
            rank = (z[i] > u[0]).view(np.uint8).astype(np.int32)
        else:
            rank = np.searchsorted(u, z[i]).astype(np.int32)
        key = rank * np.int32(2 * stride) + base
        return key if bits is None else key + bits[i]

    found, counts = [], []
    for i in range(b):
        c = np.bincount(level_keys(i), minlength=len(levels[i]) * 2 * stride)
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
    z_entry = np.concatenate([u[k // (2 * stride)] for u, k in zip(levels, found)])
    g_entry = (keys // stride) % 2
    code = (keys // n_bit) % n_gt
    pixel = torch.from_numpy(gt_pixel[code]).to(dev)  # a ground-truth pixel with these map values

    def padded(values: np.ndarray | torch.Tensor) -> torch.Tensor:
        values = torch.as_tensor(values).to(device=dev, dtype=logits.dtype)
        out = torch.zeros(b * umax, dtype=logits.dtype, device=dev)
        out[pos] = values
        return out.reshape(b, 1, umax, 1)

    def at_gt_pixel(full: torch.Tensor) -> torch.Tensor:
        """A ``(1, 1, *spatial)`` ground-truth map -> its ``(B, 1, U, 1)`` values at the entries."""
        return padded(full.detach().reshape(-1)[pixel])

    def inverse() -> torch.Tensor:
        rows = []
        for i in range(b):
            lut = np.zeros(len(levels[i]) * 2 * stride, dtype=np.int64)
            lut[found[i]] = np.arange(len(found[i]))
            rows.append(lut[level_keys(i)])
        return torch.from_numpy(np.stack(rows)).to(dev)

    gz = padded(g_entry)
    contour = padded(keys % n_bit) if n_bit == 2 else None
    out = Compressed(padded(z_entry), gz, padded(np.concatenate(counts)), n, maps=MapView(maps, gz, at_gt_pixel, contour))
    out._inverse_fn = inverse
    return out
