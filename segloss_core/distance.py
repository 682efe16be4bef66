"""Distance maps for the boundary-based losses, computed once per ground truth and reused.

All maps are exact Euclidean distances (in pixels), those of
:func:`scipy.ndimage.distance_transform_edt` (the reference; the tests compare every path with it),
carry no gradient, and are returned as tensors on the device and dtype of the request. The
two-sided fields (each pixel's distance to the nearest pixel of the other class: the contour field
of the Hausdorff DT losses, the signed distance) come from :func:`two_sided_distance`, one
transform of the `edt` package when it is installed (see there), else two scipy transforms.
:class:`TargetMaps` computes each map lazily the first time a loss asks for it and keeps it, so a
sweep over hundreds of predictions of the same ground truth pays for each transform once.
"""
from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property

import numpy as np
import torch
from scipy import ndimage as ndi
from skimage.segmentation import find_boundaries

try:  # optional accelerator of the two-sided fields (requirements.txt pins it); scipy otherwise
    import edt as _edt_package
except ImportError:  # pragma: no cover - exercised by tests/test_engine_distance.py's fallback test
    _edt_package = None


def above(t: torch.Tensor, threshold: float) -> np.ndarray:
    """``t > threshold`` as a NumPy bool array (the thresholded predictions and ground truths of the
    engine and the maps).

    On the CPU, for float32/float64, the comparison runs in NumPy on a zero-copy view of the tensor
    (one thread, the same IEEE comparison with the threshold in the tensor's dtype: 0 and 0.5 are
    exact): torch 2.13 compares 65 536 elements and more in an OpenMP region on two threads, which
    waits for a busy second core. Measured in a Hausdorff DT one-loss sweep of the small object at
    load ~7 (cProfile, per sweep): the ground truth's threshold in ``TargetMaps`` 11 ms, the
    prediction's in the cache check and the prefetch 8-18 ms each, the regions' masks 13 ms; in NumPy
    ~0.02 ms per ground truth and ~0.3 ms per 41-level stack. Whole calls, this against the torch
    comparisons, interleaved in one process at load ~9: the full survey best of 3 3.12 -> 2.28 s
    (median 3.96 -> 2.82 s); one-loss sweeps (Dice, Hausdorff DT, best of 8) unchanged within the
    noise. Other devices and dtypes compare in torch and copy the result."""
    t = t.detach()
    if t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64):
        return t.numpy() > threshold
    return (t > threshold).cpu().numpy()


def above_tensor(t: torch.Tensor, threshold: float) -> torch.Tensor:
    """:func:`above` as a bool tensor on ``t``'s device (a view of the NumPy result on the CPU)."""
    if t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64):
        return torch.from_numpy(above(t, threshold))
    return t.detach() > threshold


def _edt(mask: np.ndarray) -> np.ndarray:
    """Distance of each True pixel to the nearest False pixel (0 on False pixels).

    A mask with no False pixel has no finite distance: 0 is returned everywhere, the convention
    of Kervadec's and MONAI's code (an empty or full mask has no contour).

    The transform runs on the bounding box of the True pixels grown by one pixel (clipped to the
    image): the nearest False pixel of a True pixel always lies in that box (clamping any False
    pixel's coordinates to the box gives a False pixel at most as far), so the result is exactly
    ``scipy.ndimage.distance_transform_edt(mask)`` at a fraction of the cost for small objects.
    """
    if mask.all() or not mask.any():
        return np.zeros(mask.shape, dtype=np.float64)
    box = []
    for axis in range(mask.ndim):  # bounding box from per-axis projections (no index arrays)
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        box.append(slice(max(int(hit[0]) - 1, 0), int(hit[-1]) + 2))
    box = tuple(box)
    if all(b.start == 0 and b.stop >= n for b, n in zip(box, mask.shape)):
        return ndi.distance_transform_edt(mask)
    out = np.zeros(mask.shape, dtype=np.float64)
    out[box] = ndi.distance_transform_edt(mask[box])
    return out


def _two_sided_scipy(mask: np.ndarray) -> np.ndarray:
    """Each pixel's distance to the nearest pixel of the other class (``mask`` bool with both
    classes): ``edt(fg) + edt(bg)``, two scipy transforms (one of them on a crop)."""
    return _edt(mask) + _edt(~mask)


def _two_sided_edt(mask: np.ndarray) -> np.ndarray:
    """:func:`_two_sided_scipy` with one transform of the `edt` package (labels 1 = background,
    2 = foreground, ``black_border=False``: every pixel's squared distance to the nearest pixel of
    the other label, both classes in one pass).

    Exact: the package computes squared distances in float32, which holds every integer below
    2**24, and ``sqrt`` of that integer in float64 is what scipy returns (checked with
    ``array_equal`` on every level of the survey's ladders and on hostile masks in
    tests/test_engine_distance.py); larger images (a squared distance could reach 2**24) take the
    scipy path. Measured on the survey's prediction fields (41 levels of 256×256, one thread, CPU
    time, scipy and this interleaved 12 times in one process, load ~4.5, best): large object
    152 -> 98 ms; small object 81 -> 90 ms (no gain there: scipy's foreground transform runs on the
    small object's crop, and one full transform is left on each side). It also releases the GIL
    for the whole transform, so the background prediction fields really overlap with the Python
    work of the other losses: 60 transforms on a thread beside a pure-Python loop took 1.16 s for
    1.16 + 0.80 s of work with it, 3.7 s for 1.4 + 0.6 s with scipy's (load ~7).
    """
    if sum((n - 1) ** 2 for n in mask.shape) >= 2**24 or mask.ndim > 3:
        return _two_sided_scipy(mask)
    labels = mask.view(np.uint8) + np.uint8(1)
    sq = _edt_package.edtsq(labels, black_border=False, parallel=1)
    return np.sqrt(sq, dtype=np.float64)


#: The two-sided distance field of a bool mask holding both classes (see :func:`_two_sided_edt`).
two_sided_distance = _two_sided_edt if _edt_package is not None else _two_sided_scipy


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """Kervadec's signed distance: ``-(d_fg - 1)`` inside (0 on the inner contour), ``d_bg`` outside.

    Empty and full masks give 0 everywhere (no contour), as in the reference code and MONAI.
    """
    m = mask.astype(bool)
    if not m.any() or m.all():
        return np.zeros(m.shape, dtype=np.float64)
    d = two_sided_distance(m)  # _edt(m) on the foreground, _edt(~m) on the background
    return np.where(m, -(d - 1.0), d)


def contour_distance(mask: np.ndarray) -> np.ndarray:
    """Unsigned distance field ``edt(fg) + edt(bg)`` (Karimi's / MONAI's HausdorffDT convention):
    1 on the pixels touching the other class, growing away from the contour; 0 for empty masks."""
    m = mask.astype(bool)
    if not m.any() or m.all():  # a full mask: both terms 0 (no contour)
        return np.zeros(m.shape, dtype=np.float64)
    return two_sided_distance(m)


def distance_to_contour(mask: np.ndarray) -> np.ndarray:
    """Distance of every pixel to the nearest inner-contour pixel of ``mask`` (0 on the contour).

    The inner contour is :func:`skimage.segmentation.find_boundaries` with ``mode="inner"``.
    A mask with no contour (empty) gives 0 everywhere.
    """
    contour = find_boundaries(mask.astype(bool), mode="inner")
    if not contour.any():
        return np.zeros(mask.shape, dtype=np.float64)
    return ndi.distance_transform_edt(~contour)


def inverted_side_distance(mask: np.ndarray) -> np.ndarray:
    """Caliva's penalty map φ: per side (fg and bg) ``(max d - d) / max d`` where ``d`` is the EDT
    of that side. Boundary pixels get ~1, the farthest pixels 0; a side that is empty, or whose
    largest distance is 1 (one-pixel-thick), contributes 0."""
    m = mask.astype(bool)
    phi = np.zeros(m.shape, dtype=np.float64)
    for side in (m, ~m):
        d = _edt(side)
        dmax = d.max() if side.any() else 0.0
        if dmax > 0:
            phi = np.where(side, (dmax - d) / dmax, phi)
    return phi


def object_distances(mask: np.ndarray, max_objects: int = 64) -> tuple[np.ndarray, np.ndarray, int]:
    """``(d1, d2, n)``: distance of each pixel to the nearest and second-nearest connected component
    (8-/26-connectivity) and the number of components. Fewer than two components gives zeros.
    Only the ``max_objects`` largest components are used, to bound the cost."""
    m = mask.astype(bool)
    labels, n = ndi.label(m, structure=np.ones((3,) * m.ndim, dtype=bool))
    if n < 2:
        z = np.zeros(m.shape, dtype=np.float64)
        return z, z, n
    if n > max_objects:
        sizes = np.bincount(labels.ravel())[1:]
        keep = np.argsort(sizes)[::-1][:max_objects] + 1
    else:
        keep = np.arange(1, n + 1)
    dists = np.stack([ndi.distance_transform_edt(labels != k) for k in keep])
    dists.partition(1, axis=0)
    return dists[0], dists[1], n


_POOL: ThreadPoolExecutor | None = None
_PREFETCH: ThreadPoolExecutor | None = None  # one thread that starts prediction maps early


def _per_sample(fn, masks: np.ndarray, like: torch.Tensor | None = None, parallel: bool = True) -> np.ndarray:
    """Apply a single-mask map to a ``(B, 1, *spatial)`` stack (threads: the `edt` package's
    transform releases the GIL for its whole run, scipy's only in part, see :func:`_two_sided_edt`).

    With ``like``, each worker writes its map straight into one array of ``like``'s dtype (no
    float64 stack to convert afterwards). ``parallel=False``: one thread (a background job that
    already runs beside the caller's work)."""
    global _POOL
    dtype = np.float32 if like is not None and like.dtype == torch.float32 else np.float64
    out = np.empty(masks.shape, dtype=dtype)

    def one(i: int) -> None:
        out[i, 0] = fn(masks[i, 0])

    if len(masks) < 4 or not parallel:
        for i in range(len(masks)):
            one(i)
        return out
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1))
    list(_POOL.map(one, range(len(masks))))
    return out


def to_tensor(a: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(a, dtype=like.dtype, device=like.device)


class TargetMaps:
    """Lazily computed, cached distance maps of a binary ground truth ``(B|1, 1, *spatial)``.

    Build it once per ground truth and pass it as ``maps=`` to every loss of a sweep. Each property
    is a tensor of the target's shape, dtype and device, with no gradient.
    """

    def __init__(self, target: torch.Tensor):
        if target.shape[1] != 1:
            raise ValueError(f"distance maps need a binary target (C=1); got C={target.shape[1]}")
        self.target = target.detach()
        self._np = above(self.target, 0.5)
        self._codes: dict[tuple[str, ...], tuple[np.ndarray, int]] = {}
        self._pred: dict[str, tuple[np.ndarray, torch.Tensor | Future]] = {}

    def matches(self, target: torch.Tensor) -> bool:
        """True if ``target`` is this ground truth (or a batch of copies of a batch-1 ground truth)."""
        t = target.detach()
        if t.shape[1:] != self.target.shape[1:]:
            return False
        if t.shape[0] != self.target.shape[0]:
            if self.target.shape[0] != 1:
                return False
            return bool((t.to(self.target) == self.target).all())
        return t.data_ptr() == self.target.data_ptr() or bool(torch.equal(t.to(self.target), self.target))

    def _t(self, fn) -> torch.Tensor:
        return to_tensor(_per_sample(fn, self._np, self.target), self.target)

    @cached_property
    def signed(self) -> torch.Tensor:
        """Kervadec's signed distance φ_G (negative inside, positive outside)."""
        return self._t(signed_distance)

    @cached_property
    def contour(self) -> torch.Tensor:
        """Unsigned distance field d_G = edt(fg) + edt(bg)."""
        return self._t(contour_distance)

    @cached_property
    def to_contour(self) -> torch.Tensor:
        """Distance to the nearest inner-contour pixel of the ground truth."""
        return self._t(distance_to_contour)

    @cached_property
    def side_penalty(self) -> torch.Tensor:
        """Caliva's φ: inverted, normalized per-side EDT in [0, 1]."""
        return self._t(inverted_side_distance)

    @cached_property
    def objects(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(d1, d2, n_objects)`` for the U-Net border weight."""
        out = [object_distances(m[0]) for m in self._np]
        d1 = to_tensor(np.stack([o[0][None] for o in out]), self.target)
        d2 = to_tensor(np.stack([o[1][None] for o in out]), self.target)
        n = torch.tensor([o[2] for o in out], device=self.target.device)
        return d1, d2, n


    def pixel_codes(self, names: tuple[str, ...]) -> tuple[np.ndarray, int, np.ndarray]:
        """``(codes (1, N), count, pixel (count,))``: one integer per pixel numbering the distinct tuples
        of the values of the maps ``names`` (``"objects"`` stands for d1 and d2), and one pixel holding
        each tuple; for :mod:`segloss_core.compression`. Cached per tuple of names; batch-1 ground
        truth only."""
        if self.target.shape[0] != 1:
            raise ValueError("pixel codes need a batch-1 ground truth")
        if names not in self._codes:
            n = self.target[0].numel()
            cols = [t.detach().cpu().numpy().ravel() for name in names
                    for t in (self.objects[:2] if name == "objects" else (getattr(self, name),))]
            cols = np.stack(cols or [np.zeros(n)])  # (k, N)
            order = np.lexsort(cols[::-1])  # pixels sorted by their tuple of values
            ordered = cols[:, order]
            new = np.ones(n, dtype=bool)
            new[1:] = (ordered[:, 1:] != ordered[:, :-1]).any(0)
            code = np.empty(n, dtype=np.int64)
            code[order] = np.cumsum(new) - 1
            pixel = order[new]  # one pixel holding each tuple
            self._codes[names] = (code[None], len(pixel), pixel)
        return self._codes[names]

    def prediction_contour(self, logits: torch.Tensor) -> torch.Tensor:
        """Inner contour (0/1, :func:`inner_contour`) of ``logits`` thresholded at p = 0.5, no gradient,
        cached for the last thresholded prediction (the losses of one batch share it)."""
        return self._prediction("contour", lambda lg, hard: to_tensor(self.prediction_contour_mask(lg), lg), logits)

    def prediction_contour_mask(self, logits: torch.Tensor) -> np.ndarray:
        """The same contour as a NumPy bool array ``(B, 1, *spatial)`` (for the compression)."""
        return self._prediction("contour_mask", lambda lg, hard: inner_contour(hard), logits)

    def prediction_contour_of(self, hard: np.ndarray) -> np.ndarray:
        """:meth:`prediction_contour_mask` from the thresholded prediction ``hard`` itself (bool
        ``(B, 1, *spatial)``; the engine has it without a pass over the logits), same cache."""
        value = self._stored("contour_mask", hard)
        if value is None:
            value = inner_contour(hard)
            self._pred["contour_mask"] = (hard, value)
        return value

    def prediction_distance(self, logits: torch.Tensor) -> torch.Tensor:
        """:func:`prediction_contour_distance` of ``logits``, cached like :meth:`prediction_contour`."""
        return self._prediction("distance", lambda lg, hard: prediction_contour_distance(lg), logits)

    def prefetch_prediction_distance(self, logits: torch.Tensor) -> None:
        """Start :meth:`prediction_distance` of ``logits`` in a background thread (the transforms
        release the GIL, see :func:`_two_sided_edt`), so they overlap with the other losses of the batch."""
        global _PREFETCH
        if _PREFETCH is None:
            _PREFETCH = ThreadPoolExecutor(max_workers=1)
        hard = above(logits, 0)
        if self._stored("distance", hard) is not None:
            return  # already started (or done) for this prediction
        # one thread: it runs beside the caller's own (multi-threaded) work on the other losses
        self._pred["distance"] = (hard, _PREFETCH.submit(prediction_contour_distance, logits.detach(), True))

    def _stored(self, what: str, hard: np.ndarray):
        """The value (or the Future of a started one) kept for this thresholded prediction, else None."""
        kept = self._pred.get(what)
        if kept is None or kept[0].shape != hard.shape or not np.array_equal(kept[0], hard):
            return None
        return kept[1]

    def _cached(self, what: str, hard: np.ndarray, logits: torch.Tensor):
        value = self._stored(what, hard)
        if value is None:
            return None
        value = value.result() if isinstance(value, Future) else value
        if isinstance(value, torch.Tensor) and (value.dtype != logits.dtype or value.device != logits.device):
            return None
        return value

    def _prediction(self, what: str, fn, logits: torch.Tensor):
        """``fn(logits, hard)`` for the prediction thresholded at 0.5, cached per kind ``what``."""
        hard = above(logits, 0)
        value = self._cached(what, hard, logits)
        if value is None:
            value = fn(logits, hard)
            self._pred[what] = (hard, value)
        return value


class MapView:
    """The maps of a :class:`TargetMaps` read at the entries of a compressed batch
    (:func:`segloss_core.compression.compress_with_maps`): the same names, so a loss reads its maps
    the same way on a full and on a compressed batch. Each map is a ``(B, 1, U, 1)`` tensor."""

    TARGET_MAPS = ("signed", "contour", "to_contour", "side_penalty", "objects")

    def __init__(self, maps: TargetMaps, target: torch.Tensor, at_gt_pixel, contour: torch.Tensor | None):
        self._maps, self.target, self._at, self._contour = maps, target, at_gt_pixel, contour
        self._cache: dict[str, object] = {}

    def matches(self, target: torch.Tensor) -> bool:
        return target.shape == self.target.shape and bool(torch.equal(target, self.target))

    def _get(self, name: str):
        if name not in self._cache:
            if name == "objects":
                d1, d2, n = self._maps.objects
                self._cache[name] = (self._at(d1), self._at(d2), n)
            else:
                self._cache[name] = self._at(getattr(self._maps, name))
        return self._cache[name]

    signed = property(lambda self: self._get("signed"))
    contour = property(lambda self: self._get("contour"))
    to_contour = property(lambda self: self._get("to_contour"))
    side_penalty = property(lambda self: self._get("side_penalty"))
    objects = property(lambda self: self._get("objects"))

    def prediction_contour(self, logits: torch.Tensor) -> torch.Tensor:
        """The thresholded prediction's contour bit at the entries (``logits``: the compressed batch)."""
        if self._contour is None or logits.shape != self.target.shape:
            raise ValueError("this compressed batch was built without the prediction contour")
        return self._contour


def resolve_maps(maps: TargetMaps | MapView | None, target: torch.Tensor) -> TargetMaps | MapView:
    """The maps to use for ``target``: the given ones, or new ones when none were passed."""
    if maps is None:
        return TargetMaps(target)
    if not maps.matches(target):
        raise ValueError(f"distance maps were computed for a different ground truth "
                         f"(maps {tuple(maps.target.shape)}, target {tuple(target.shape)})")
    return maps


def prediction_contour_distance(logits: torch.Tensor, parallel: bool = True) -> torch.Tensor:
    """Unsigned distance field of the prediction thresholded at p = 0.5 (logit 0), no gradient."""
    hard = above(logits, 0)
    return to_tensor(_per_sample(contour_distance, hard, logits, parallel), logits)


def inner_contour(hard: np.ndarray) -> np.ndarray:
    """Inner contour of a ``(B, 1, *spatial)`` bool stack: foreground pixels with a background
    neighbour across a face (the image border is not a contour), i.e.
    :func:`skimage.segmentation.find_boundaries` with ``mode="inner"``, for the whole batch.

    The erosion by the face-neighbour cross (outside the image counts as foreground) is the AND of
    the mask with its one-pixel shifts along each spatial axis: 2 AND passes per axis over the
    packed bools, measured ~0.6 ms on the survey's 41 × 256×256 stack where
    ``scipy.ndimage.binary_erosion`` of the stack takes ~9 ms (the same result)."""
    eroded = hard.copy()
    for axis in range(2, hard.ndim):
        n = hard.shape[axis]
        if n < 2:
            continue
        lo = [slice(None)] * hard.ndim
        hi = [slice(None)] * hard.ndim
        lo[axis], hi[axis] = slice(0, n - 1), slice(1, n)
        eroded[tuple(lo)] &= hard[tuple(hi)]  # neighbour after
        eroded[tuple(hi)] &= hard[tuple(lo)]  # neighbour before
    return hard & ~eroded
