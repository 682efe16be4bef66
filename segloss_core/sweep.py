"""The sweep engine: one ground truth, a stack of predictions, many losses, in batched passes.

* Ground-truth distance maps are computed once per sweep (:class:`~segloss_core.distance.TargetMaps`)
  and shared by every loss and every level; :func:`prepare_maps` builds them ahead and starts the
  prediction distance fields in the background, so several sweeps overlap (the survey does this).
* Predictions are processed in chunks of ``chunk`` samples so memory stays bounded whatever the
  number of levels.
* Parameter grids (:func:`param_grid`) are batched too: every grid point becomes a sample with its
  own parameter values (per-sample parameters, see :func:`segloss_core.tensors.per_sample`).
  Losses flagged ``reducible`` (their value depends on the pixels only through per-pixel terms of
  ``(z, g)`` and sums of them) are evaluated exactly on each level's distinct ``(z, g)`` pairs
  weighted by their pixel counts, which turns a 25×25×41 focal grid over 65 536-pixel images into a
  few thousand tiny samples.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import torch

from .distance import TargetMaps
from .engine import REGIONS, Batch, Regions, evaluate
from .engine.compression import compress
from .engine.profile import Scan, scan
from .registry import get
from .tensors import logits_from_probs, weighted_pixels


#: Pixels evaluated per batched pass (64 levels of 256×256, 4 of 1024×1024).
CHUNK_PIXELS = 64 * 256 * 256


def pick_device(name: str = "auto") -> torch.device:
    """``"auto"``: CUDA when present, else CPU. ``"cuda"`` without a GPU raises ``ValueError``."""
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda requested but no CUDA device is available")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda; got {name!r}")
    return torch.device(name)


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return f"GPU ({torch.cuda.get_device_name(device)})"
    return f"CPU ({torch.get_num_threads()} threads)"


@dataclass
class SweepResult:
    """Per-loss arrays over the L predictions of a sweep (NumPy, float64)."""

    keys: list[str]
    values: dict[str, np.ndarray]  # key -> (L,)
    grad_l2: dict[str, np.ndarray]  # key -> (L,)
    region_grad: dict[str, dict[str, np.ndarray]]  # key -> region -> (L,) mean |dL/dz|
    region_count: dict[str, np.ndarray]  # region -> (L,)
    grads: dict[str, np.ndarray] = field(default_factory=dict)  # key -> (L, H, W) if kept
    device: str = "cpu"


def _check_stack(gt: np.ndarray, preds: np.ndarray) -> Scan:
    """Validate the stack; return each level's minimum and maximum, with the two-valued masks when
    every level holds at most two values (:func:`~segloss_core.engine.profile.scan`: the engine's
    profile reuses them, no second pass)."""
    if gt.ndim != 2:
        raise ValueError(f"ground truth must be 2-D; got shape {gt.shape}")
    if preds.ndim != 3 or preds.shape[1:] != gt.shape:
        raise ValueError(f"predictions must be (L, {gt.shape[0]}, {gt.shape[1]}); got {preds.shape}")
    if preds.shape[0] == 0:
        raise ValueError("no predictions to evaluate (zero levels)")
    scanned = scan(preds.reshape(preds.shape[0], -1))
    lo, hi = scanned.lo, scanned.hi  # NaN and ±inf show up in the extremes (or in the two values)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()) or lo.min() < 0 or hi.max() > 1:
        raise ValueError("predictions must be probabilities in [0, 1] without NaN")
    return scanned


def _target(gt: np.ndarray, dtype: torch.dtype, dev: torch.device) -> torch.Tensor:
    """The ``(1, 1, H, W)`` ground-truth tensor, converted by NumPy (one thread) and wrapped without a
    copy: a torch conversion of 65 536 pixels runs on two OpenMP threads, whose spinning worker then
    costs the next small operations ~5 ms on a 2-core machine shared with other work (measured:
    one-loss sweep median 16 ms -> 2.6 ms)."""
    np_dtype = torch.empty((), dtype=dtype).numpy().dtype
    return torch.from_numpy(gt.astype(np_dtype)).to(dev)[None, None]


def _chunk_logits(preds: np.ndarray, sl: slice, dtype: torch.dtype, dev: torch.device) -> torch.Tensor:
    return logits_from_probs(torch.as_tensor(preds[sl], dtype=dtype, device=dev)[:, None])


def prepare_maps(gt: np.ndarray, preds: np.ndarray, keys: Iterable[str], *, device: str | torch.device = "auto",
                 dtype: torch.dtype = torch.float32, chunk: int | None = None) -> TargetMaps | None:
    """The distance maps a later :func:`run_sweep` of the same arguments will use (pass them as
    ``maps=``), with the thresholded predictions' distance fields of its first chunk already started
    in the background: call it for the next sweep before running the current one, and the two
    overlap. None when no loss of ``keys`` needs maps."""
    specs = [get(k) for k in keys]
    if not any(s.needs_maps for s in specs):
        return None
    gt = np.asarray(gt).astype(bool)
    dev = pick_device(device) if not isinstance(device, torch.device) else device
    maps = TargetMaps(_target(gt, dtype, dev))
    if any(s.prediction_distance for s in specs):
        chunk = chunk or max(1, CHUNK_PIXELS // gt.size)
        maps.prefetch_prediction_distance(_chunk_logits(np.asarray(preds), slice(0, chunk), dtype, dev))
    return maps


def levels_apart(params: dict[str, Any] | None) -> dict[str, Any] | None:
    """One loss's parameters as a sweep evaluates them: every level (and every grid cell) is its own
    image, not a member of one training batch, so ``reduction="batch"`` (counts pooled over the batch)
    is evaluated on a batch of one, where it equals ``"sample"``. Without this the levels of a sweep
    would be pooled into one value and every curve would be flat."""
    if params and params.get("reduction") == "batch":
        return {**params, "reduction": "sample"}
    return params


def run_sweep(gt: np.ndarray, preds: np.ndarray, keys: Iterable[str], params: dict[str, dict[str, Any]] | None = None,
              *, device: str | torch.device = "auto", dtype: torch.dtype = torch.float32, keep_grads: bool = False,
              wrt_probs: bool = False, chunk: int | None = None, maps: TargetMaps | None = None,
              progress: Callable[[float], None] | None = None) -> SweepResult:
    """Evaluate ``keys`` on every prediction of ``preds`` ``(L, H, W)`` against ``gt`` ``(H, W)``.

    Returns values, gradient L2 norms and region means per level; with ``keep_grads`` also the
    per-pixel gradient maps. All gradient numbers are of ∂L/∂z, or of ∂L/∂p with ``wrt_probs``.
    """
    keys = list(keys)
    for k in keys:
        get(k)
    if params:
        params = {k: levels_apart(p) for k, p in params.items()}
    gt = np.asarray(gt).astype(bool)
    preds = np.asarray(preds)
    scanned = _check_stack(gt, preds)
    dev = pick_device(device) if not isinstance(device, torch.device) else device
    target = _target(gt, dtype, dev)
    if maps is not None and maps.target.shape != target.shape:
        maps = None
    if maps is None and any(get(k).needs_maps for k in keys):
        maps = TargetMaps(target)
    labels = gt.reshape(1, -1)
    L = preds.shape[0]
    chunk = chunk or max(1, CHUNK_PIXELS // gt.size)  # bounded memory whatever the image size
    values = {k: np.empty(L) for k in keys}
    l2 = {k: np.empty(L) for k in keys}
    reg = {k: {r: np.empty(L) for r in REGIONS} for k in keys}
    counts = {r: np.empty(L) for r in REGIONS}
    grads = {k: np.empty((L,) + gt.shape, dtype=np.float32) for k in keys} if keep_grads else {}
    for start in range(0, L, chunk):
        sl = slice(start, min(L, start + chunk))
        batch = Batch.of_probs(preds[sl], dtype, dev, scanned=scanned.rows(sl))  # logits built only if needed
        rep = evaluate(batch, target, keys, params, maps=maps, wrt_probs=wrt_probs, labels=labels)
        regions = Regions.of(batch.logits, target) if wrt_probs else None
        for k, r in rep.losses.items():
            values[k][sl] = r.value.double().cpu().numpy()
            if wrt_probs:  # the summaries of the gradient that was asked for
                gp = r.grad_p.reshape(r.grad_p.shape[0], -1)
                r_l2, r_reg = regions.summarize(gp.abs())
            else:
                r_l2, r_reg = r.l2, r.region_mean
            l2[k][sl] = r_l2.double().cpu().numpy()
            for name in REGIONS:
                reg[k][name][sl] = r_reg[name].double().cpu().numpy()
            if keep_grads:
                g = r.grad_p if wrt_probs else r.grad
                grads[k][sl] = g[:, 0].float().cpu().numpy()
        for name in REGIONS:
            counts[name][sl] = rep.region_count[name].cpu().numpy()
        if progress:
            progress(sl.stop / L)
    return SweepResult(keys, values, l2, reg, counts, grads, device_label(dev))


def param_grid(gt: np.ndarray, preds: np.ndarray, key: str, grid: dict[str, Iterable[float]],
               base: dict[str, Any] | None = None, *, device: str | torch.device = "auto",
               dtype: torch.dtype = torch.float32, chunk_pixels: int = 2**24, maps: TargetMaps | None = None) -> np.ndarray:
    """Loss values over a parameter grid × the predictions, in batched passes.

    ``grid`` maps one or two numeric parameter names to their values. Returns an array of shape
    ``(len(v1)[, len(v2)], L)``. Every grid value is validated against the registry.
    """
    spec = get(key)
    names = list(grid)
    if not 1 <= len(names) <= 2:
        raise ValueError("a parameter grid has one or two parameters")
    axes = [[spec.param(n).validate(v) for v in grid[n]] for n in names]
    if any(not spec.param(n).numeric for n in names) or any(v is None for ax in axes for v in ax):
        raise ValueError("grid parameters must be numeric values")
    fixed = levels_apart(spec.resolve({k: v for k, v in (base or {}).items() if k not in names}))
    gt = np.asarray(gt).astype(bool)
    preds = np.asarray(preds)
    _check_stack(gt, preds)
    dev = pick_device(device) if not isinstance(device, torch.device) else device
    target = _target(gt, dtype, dev)
    logits = logits_from_probs(torch.as_tensor(preds, dtype=dtype, device=dev)[:, None])
    L = logits.shape[0]
    mesh = np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(names), -1)  # (n, P)
    P = mesh.shape[1]
    comp = compress(logits, target) if spec.reducible else None
    if comp is not None:  # exact: distinct (z, g) pairs weighted by their pixel counts
        sample_z, sample_g, sample_w = comp.z, comp.g, comp.w
    else:
        sample_z, sample_g, sample_w = logits, target, None  # a batch-1 target broadcasts
    step = max(1, chunk_pixels // max(1, sample_z[0].numel() * L))
    out = np.empty((P, L))
    kwargs_maps = {"maps": maps or TargetMaps(target)} if spec.needs_maps else {}
    with torch.no_grad():
        for s in range(0, P, step):
            idx = slice(s, min(P, s + step))
            n = idx.stop - idx.start
            kw = dict(fixed)
            for j, name in enumerate(names):
                kw[name] = torch.as_tensor(mesh[j, idx], dtype=dtype, device=dev).repeat_interleave(L)
            rep = (n,) + (1,) * (sample_z.ndim - 1)
            zb = sample_z.repeat(rep)
            gb = sample_g.repeat(rep) if sample_g.shape[0] > 1 else sample_g
            if sample_w is not None:
                with weighted_pixels(sample_w.repeat(rep), comp.n_pixels):
                    vals = spec.fn(zb, gb, **kw)
            else:
                vals = spec.fn(zb, gb, **kwargs_maps, **kw)
            out[idx] = vals.reshape(n, L).double().cpu().numpy()
    return out.reshape([len(a) for a in axes] + [L])
