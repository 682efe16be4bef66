"""Predictions made from a ground-truth mask with an exact number of errors.

:func:`perturb` removes ``fn`` object pixels (false negatives) and adds ``fp`` background pixels
(false positives), each in one of several spatial patterns, optionally after shifting the mask.
The pixel counts are exact: every mode builds an *ordering* of the candidate pixels and takes a
prefix of the requested length, so the result never depends on rounding or on a rasterizer.
:func:`survey_levels` and :func:`survey_stack` build the error ladder of the survey protocol
(``/work/shared/SURVEY.md``): level ``k`` has ``k * delta`` FN (at most the object) and
``k * delta`` FP. The orderings are computed once per ground truth and every level is a prefix,
so a 41-level ladder on a 256x256 image costs a few milliseconds.
:func:`translation_stack` builds the *translation* ladder: level ``k`` is the ground truth moved
by ``k * step`` pixels (optionally also grown by ``k * grow`` pixels), the most literal reading of
"the overlap gets smaller".
:func:`soften` turns a hard prediction into probabilities ``c`` / ``1 - c`` (``c = 1``: hard 0/1).

Modes
-----
FN (``fn_mode``):
    ``"boundary"`` peels the object from its boundary inward: object pixels sorted by their
    Euclidean distance to the background (:func:`scipy.ndimage.distance_transform_edt`; the
    outside of the image counts as background), ties broken by a seeded random key.
    ``"holes"`` punches round holes of radius ``blob_radius`` inside the object (seeded centres,
    holes separated from each other and from the boundary by at least one pixel while room
    remains); the last hole is partial, its pixels taken nearest-to-centre first.
    ``"noise"`` removes object pixels uniformly at random.
FP (``fp_mode``):
    ``"boundary"`` grows the object outward: background pixels sorted by their distance to the
    object, nearest first, seeded tie-break (from the image centre if there is no object).
    ``"blobs"`` adds round blobs of radius ``blob_radius`` in the background, at least one pixel
    away from the object and from each other while room remains; the last blob is partial.
    ``"noise"`` adds background pixels uniformly at random.

Randomness comes from :func:`numpy.random.default_rng` seeded with ``[seed, 1]`` for the FN
pattern and ``[seed, 2]`` for the FP pattern: the same seed gives the same prediction, and
asking for more errors extends the same pattern (a smaller request is a prefix of a larger one).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage as ndi

__all__ = [
    "FN_MODES",
    "FP_MODES",
    "UNITS",
    "Perturbation",
    "perturb",
    "soften",
    "error_ladder",
    "error_ladder_from",
    "survey_levels",
    "survey_stack",
    "translation_masks",
    "translation_stack",
]

FN_MODES = ("boundary", "holes", "noise")
FP_MODES = ("boundary", "blobs", "noise")
UNITS = ("pixels", "fraction")
MAX_SIDE = 2048
MAX_BLOB_RADIUS = 64.0


@dataclass
class Perturbation:
    """A hard prediction and what it contains.

    Attributes
    ----------
    mask : numpy.ndarray
        ``bool`` array ``(H, W)``: the prediction.
    counts : dict
        ``tp``, ``fp``, ``fn``, ``tn`` of ``mask`` against the ground truth, recomputed from the
        two masks (not bookkept).
    requested : dict
        The request: ``fn``, ``fp`` and ``units`` as given, ``fn_pixels`` / ``fp_pixels`` (the
        request in pixels, before clamping), ``fn_mode``, ``fp_mode``, ``shift``, ``seed``,
        ``blob_radius`` (and ``level`` for survey ladders).
    messages : list of str
        What was clamped or adapted, one sentence each.
    applied : dict
        ``removed`` and ``added``: pixels removed from / added to the (shifted) ground truth.
        Without a shift these equal ``counts["fn"]`` and ``counts["fp"]``.
    """

    mask: np.ndarray
    counts: dict[str, int]
    requested: dict[str, Any]
    messages: list[str] = field(default_factory=list)
    applied: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
def _as_mask(gt: Any, name: str = "gt") -> np.ndarray:
    """2-D bool copy of a bool-like array (bool, or numbers that are all 0 or 1)."""
    a = np.asarray(gt)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D mask (H, W); got shape {a.shape}")
    if min(a.shape) < 1 or max(a.shape) > MAX_SIDE:
        raise ValueError(f"{name} must have sides between 1 and {MAX_SIDE} pixels; got {a.shape[0]}x{a.shape[1]}")
    if a.dtype == bool:
        return a.copy()
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be bool or numeric 0/1; got dtype {a.dtype}")
    if not np.isin(a, (0, 1)).all():
        raise ValueError(f"{name} must be a binary mask: values other than 0 and 1 found")
    return a.astype(bool)


def _choice(name: str, value: Any, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return value


def _whole(value: Any, kind_msg: str, whole_msg: str, *, nonnegative: bool) -> int:
    """``value`` as an int, or ``ValueError(kind_msg)`` if it is no number, ``ValueError(whole_msg)``
    if it is not a whole (and, with ``nonnegative``, non-negative) finite number."""
    if isinstance(value, bool):
        raise ValueError(kind_msg)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(kind_msg) from None
    if not math.isfinite(v) or v != int(v) or (nonnegative and v < 0):
        raise ValueError(whole_msg)
    return int(v)


def _count_pixels(name: str, value: Any) -> int:
    """A non-negative whole number of pixels."""
    return _whole(value, f"{name} must be a non-negative number of pixels; got {value!r}",
                  f"{name} must be a non-negative whole number of pixels; got {value!r}", nonnegative=True)


def _fraction(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a non-negative fraction; got {value!r}") from None
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a non-negative fraction; got {value!r}")
    return v


def _seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    return int(seed)


def _blob_radius(value: Any) -> float:
    try:
        r = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"blob_radius must be a number; got {value!r}") from None
    if not math.isfinite(r) or not 0 < r <= MAX_BLOB_RADIUS:
        raise ValueError(f"blob_radius must be in (0, {MAX_BLOB_RADIUS:g}] pixels; got {value!r}")
    return r


def _counts(pred: np.ndarray, gt: np.ndarray) -> dict[str, int]:
    tp = int(np.count_nonzero(pred & gt))
    fp = int(np.count_nonzero(pred & ~gt))
    fn = int(np.count_nonzero(~pred & gt))
    return {"tp": tp, "fp": fp, "fn": fn, "tn": int(gt.size) - tp - fp - fn}


def _shifted(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``mask`` moved by ``(dy, dx)`` pixels, filled with background (no wrap-around)."""
    H, W = mask.shape
    out = np.zeros_like(mask)
    if abs(dy) >= H or abs(dx) >= W:
        return out
    ys, yd = (slice(0, H - dy), slice(dy, H)) if dy >= 0 else (slice(-dy, H), slice(0, H + dy))
    xs, xd = (slice(0, W - dx), slice(dx, W)) if dx >= 0 else (slice(-dx, W), slice(0, W + dx))
    out[yd, xd] = mask[ys, xs]
    return out


# --------------------------------------------------------------------------------------------
# Orderings: each returns flat pixel indices in the order they are changed, and notes
# (start position, message template) for the parts placed under relaxed rules.
# --------------------------------------------------------------------------------------------
def _rngs(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    return np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2])


def _sorted_by(idx: np.ndarray, dist: np.ndarray, key: np.ndarray, n_max: int | None = None) -> np.ndarray:
    """``idx`` sorted by ``dist[idx]`` ascending, ties by ``key[idx]``; with ``n_max``, only the
    first ``n_max`` of that order (and any pixels tied with the last one) are sorted and returned."""
    d = dist[idx]
    if n_max is not None and 0 < n_max < idx.size:
        idx = idx[d <= np.partition(d, n_max - 1)[n_max - 1]]
        d = dist[idx]
    return idx[np.lexsort((key[idx], d))]


def _edt_inside(S: np.ndarray) -> np.ndarray:
    """Distance of each object pixel to the nearest background pixel; outside the image counts
    as background (so a full image peels from its border)."""
    return ndi.distance_transform_edt(np.pad(S, 1))[1:-1, 1:-1]


def _edt_outside(S: np.ndarray) -> np.ndarray:
    """Distance of each background pixel to the nearest object pixel (``inf`` with no object)."""
    if not S.any():
        return np.full(S.shape, np.inf)
    return ndi.distance_transform_edt(~S)


class _Disk:
    """Integer offsets within radius ``R`` of a centre, sorted by distance, plus the larger
    exclusion disk (distance ``< 2R + 2``) used to keep blobs apart."""

    def __init__(self, R: float):
        k = int(math.floor(R))
        dy, dx = np.mgrid[-k : k + 1, -k : k + 1]
        d = np.hypot(dy, dx)
        keep = d <= R + 1e-9
        self.dy, self.dx, self.d = dy[keep], dx[keep], d[keep]
        e = int(math.ceil(2 * R + 2))
        ey, ex = np.mgrid[-e : e + 1, -e : e + 1]
        excl = np.hypot(ey, ex) < 2 * R + 2
        self.ey, self.ex = ey[excl], ex[excl]

    @staticmethod
    def _at(y: int, x: int, dy: np.ndarray, dx: np.ndarray, H: int, W: int):
        yy, xx = y + dy, x + dx
        ok = (yy >= 0) & (yy < H) & (xx >= 0) & (xx < W)
        return (yy * W + xx), ok


def _blob_order(
    S: np.ndarray, n_max: int, rng: np.random.Generator, R: float, holes: bool
) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Pixels of round holes in the object (``holes=True``) or blobs in the background.

    Phase 1 places separate round blobs (one pixel clear of the other class and of each other);
    phase 2, only when phase 1 has no room left, places blobs that may touch each other but not
    the other class; phase 3 uses any remaining pixel. Stops once ``n_max`` pixels are ordered.
    """
    H, W = S.shape
    region = S if holes else ~S
    clearance = _edt_inside(S) if holes else _edt_outside(S)
    key = rng.random(H * W)
    disk = _Disk(R)
    taken = np.zeros(H * W, dtype=bool)
    elig_flat = region.ravel().copy()
    pieces: list[np.ndarray] = []
    total = 0
    notes: list[tuple[int, str]] = []
    n_sep = 0

    def blob(c: int, allowed: np.ndarray) -> np.ndarray:
        y, x = divmod(int(c), W)
        flat, ok = disk._at(y, x, disk.dy, disk.dx, H, W)
        flat, d = flat[ok], disk.d[ok]
        sel = allowed[flat] & ~taken[flat]
        flat, d = flat[sel], d[sel]
        return flat[np.lexsort((key[flat], d))]

    # Phase 1: separate round blobs.
    cand = region & (clearance >= R + 2)
    if not holes:
        m = int(math.ceil(R - 1e-9))
        cand[:m, :] = False
        cand[H - m :, :] = False
        cand[:, :m] = False
        cand[:, W - m :] = False
    cand_flat = cand.ravel()
    for c in rng.permutation(np.flatnonzero(cand_flat)):
        if total >= n_max:
            break
        if not cand_flat[c]:
            continue
        px = blob(c, elig_flat)
        taken[px] = True
        pieces.append(px)
        total += px.size
        n_sep += 1
        y, x = divmod(int(c), W)
        flat, ok = disk._at(y, x, disk.ey, disk.ex, H, W)
        cand_flat[flat[ok]] = False

    # Phases 2 and 3: relaxed blobs.
    kind = "holes" if holes else "blobs"
    other = "the object's boundary" if holes else "the object"
    tiers = (
        (elig_flat & (clearance.ravel() >= 2), f"only {{n_sep}} separate {kind[:-1]}{{s}} of radius {R:g} fit; "
         f"{{m}} more pixels were placed as {kind} that may touch each other (not {other})"),
        (elig_flat, f"{{m}} pixels were placed touching {other} (no room left away from it)"),
    )
    for allowed, note in tiers:
        if total >= n_max:
            break
        start = total
        allowed = allowed & ~taken
        for c in rng.permutation(np.flatnonzero(allowed)):
            if total >= n_max:
                break
            if taken[c]:
                continue
            px = blob(c, allowed)
            taken[px] = True
            pieces.append(px)
            total += px.size
        if total > start:
            notes.append((start, note.replace("{n_sep}", str(n_sep)).replace("{s}", "" if n_sep == 1 else "s")))
    order = np.concatenate(pieces) if pieces else np.empty(0, dtype=np.intp)
    return order, notes


def _fn_order(S: np.ndarray, mode: str, n_max: int, rng: np.random.Generator, R: float):
    H, W = S.shape
    if n_max <= 0 or not S.any():
        return np.empty(0, dtype=np.intp), []
    if mode == "boundary":
        key = rng.random(H * W)
        return _sorted_by(np.flatnonzero(S), _edt_inside(S).ravel(), key, n_max), []
    if mode == "noise":
        return rng.permutation(np.flatnonzero(S)), []
    return _blob_order(S, n_max, rng, R, holes=True)


def _fp_order(S: np.ndarray, mode: str, n_max: int, rng: np.random.Generator, R: float):
    H, W = S.shape
    if n_max <= 0 or S.all():
        return np.empty(0, dtype=np.intp), []
    if mode == "boundary":
        key = rng.random(H * W)
        if S.any():
            dist = _edt_outside(S)
            notes = []
        else:
            yy, xx = np.mgrid[0:H, 0:W]
            dist = np.hypot(yy - (H - 1) / 2, xx - (W - 1) / 2)
            notes = [(0, "the mask is empty: boundary false positives grow from the image centre")]
        return _sorted_by(np.flatnonzero(~S), dist.ravel(), key, n_max), notes
    if mode == "noise":
        return rng.permutation(np.flatnonzero(~S)), []
    return _blob_order(S, n_max, rng, R, holes=False)


def _notes_for(notes: list[tuple[int, str]], n: int, what: str) -> list[str]:
    """Messages of the relaxed parts that a prefix of length ``n`` reaches."""
    out = []
    for i, (start, text) in enumerate(notes):
        if n > start:
            end = notes[i + 1][0] if i + 1 < len(notes) else n
            out.append(f"{what}: " + text.replace("{m}", str(min(n, end) - start)))
    return out


def _clamp(n: int, available: int, what: str, where: str) -> tuple[int, list[str]]:
    if n <= available:
        return n, []
    verb = "removed" if what == "FN" else "added"
    return available, [f"requested {n} {what} pixels but {where} {available}; {verb} {available}"]


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def perturb(
    gt: Any,
    *,
    fn: float = 0,
    fp: float = 0,
    fn_mode: str = "boundary",
    fp_mode: str = "boundary",
    units: str = "pixels",
    shift: tuple[int, int] = (0, 0),
    seed: int = 0,
    blob_radius: float = 3,
) -> Perturbation:
    """Make a hard prediction from ``gt`` with an exact number of false negatives and positives.

    Parameters
    ----------
    gt : array_like
        Ground truth, 2-D, bool or numbers that are all 0/1.
    fn, fp : float, default 0
        False negatives to create (object pixels removed) and false positives (background
        pixels added). With ``units="pixels"`` whole numbers; with ``"fraction"`` multiples of
        the object's pixel count (rounded to the nearest pixel).
    fn_mode : {"boundary", "holes", "noise"}, default "boundary"
        Pattern of the removed pixels (see the module docstring).
    fp_mode : {"boundary", "blobs", "noise"}, default "boundary"
        Pattern of the added pixels.
    units : {"pixels", "fraction"}, default "pixels"
        ``"fraction"`` needs a non-empty ``gt``.
    shift : (int, int), default (0, 0)
        ``(dy, dx)`` in pixels, applied first (background fills in, nothing wraps around).
        The FN/FP patterns are then applied to the shifted mask: ``fn`` of its pixels are
        removed and ``fp`` pixels outside it are added. ``counts`` are true counts against
        ``gt``, so they include the errors the shift itself makes.
    seed : int, default 0
        Seed of the tie-breaks, hole/blob centres and noise.
    blob_radius : float, default 3
        Radius in pixels of holes and blobs (pixels within this distance of a centre).

    Returns
    -------
    Perturbation
        ``mask``, ``counts``, ``requested``, ``messages`` and ``applied``.

    Raises
    ------
    ValueError
        Non-2-D or non-binary ``gt``, unknown mode or units, negative or non-integer pixel
        counts, ``units="fraction"`` with an empty ``gt``, bad shift, seed or radius.

    Notes
    -----
    Exactness: ``applied["removed"] == min(fn, object pixels)`` and ``applied["added"] ==
    min(fp, background pixels)`` for every mode; with no shift these are ``counts["fn"]`` and
    ``counts["fp"]``. A request larger than what is available is clamped and said in
    ``messages``, never an error.
    """
    G = _as_mask(gt)
    fn_mode = _choice("fn_mode", fn_mode, FN_MODES)
    fp_mode = _choice("fp_mode", fp_mode, FP_MODES)
    units = _choice("units", units, UNITS)
    seed = _seed(seed)
    R = _blob_radius(blob_radius)
    try:
        dy, dx = shift
    except (TypeError, ValueError):
        raise ValueError(f"shift must be a pair of integers (dy, dx); got {shift!r}") from None
    dy, dx = (_signed_int("shift", v) for v in (dy, dx))

    n_obj = int(G.sum())
    if units == "pixels":
        fn_px, fp_px = _count_pixels("fn", fn), _count_pixels("fp", fp)
    else:
        ffn, ffp = _fraction("fn", fn), _fraction("fp", fp)
        if n_obj == 0:
            raise ValueError("units='fraction' needs a non-empty ground truth (fractions are of the object's pixel count)")
        fn_px, fp_px = int(round(ffn * n_obj)), int(round(ffp * n_obj))

    messages: list[str] = []
    S = G
    if (dy, dx) != (0, 0):
        S = _shifted(G, dy, dx)
        base = _counts(S, G)
        lost = n_obj - int(S.sum())
        messages.append(
            f"shift ({dy}, {dx}) applied first: alone it gives TP={base['tp']}, FP={base['fp']}, FN={base['fn']}; "
            f"FN/FP pixels are then removed from / added to the shifted mask and all counts are against the ground truth"
        )
        if lost:
            messages.append(f"the shift moved {lost} object pixels out of the image")
    where_obj = "the shifted object has" if (dy, dx) != (0, 0) else "the object has"
    n_fn, msg = _clamp(fn_px, int(S.sum()), "FN", where_obj)
    messages += msg
    n_fp, msg = _clamp(fp_px, int(S.size - S.sum()), "FP", "the background has")
    messages += msg

    rng_fn, rng_fp = _rngs(seed)
    fn_order, fn_notes = _fn_order(S, fn_mode, n_fn, rng_fn, R)
    fp_order, fp_notes = _fp_order(S, fp_mode, n_fp, rng_fp, R)
    messages += _notes_for(fn_notes, n_fn, f"FN {fn_mode}") + _notes_for(fp_notes, n_fp, f"FP {fp_mode}")

    pred = S.copy()
    pred.ravel()[fn_order[:n_fn]] = False
    pred.ravel()[fp_order[:n_fp]] = True
    requested = {
        "fn": fn, "fp": fp, "units": units, "fn_pixels": fn_px, "fp_pixels": fp_px,
        "fn_mode": fn_mode, "fp_mode": fp_mode, "shift": (dy, dx), "seed": seed, "blob_radius": R,
    }
    return Perturbation(pred, _counts(pred, G), requested, messages, {"removed": n_fn, "added": n_fp})


def _signed_int(name: str, value: Any) -> int:
    """A whole number of either sign."""
    msg = f"{name} must hold integers; got {value!r}"
    return _whole(value, msg, msg, nonnegative=False)


def soften(
    pred_mask: Any,
    *,
    confidence: float = 0.99,
    blur_sigma: float = 0.0,
    dtype: Any = np.float64,
) -> np.ndarray:
    """Probabilities from a hard prediction: ``c`` inside, ``1 - c`` outside.

    Parameters
    ----------
    pred_mask : array_like
        Hard prediction, 2-D ``(H, W)`` or a stack ``(L, H, W)``; bool or 0/1 numbers.
    confidence : float, default 0.99
        ``c``, in ``(0.5, 1]``. Below 1 every probability stays strictly inside ``(0, 1)``. ``c = 1``
        gives a *hard* prediction (exact 0 and 1): the losses stay finite because they clamp
        their logs and logits to ``[eps, 1 - eps]`` (eps 1e-7 in float32,
        :func:`segloss_core.tensors.eps_for`), so a hard pixel is scored as ``p = 1 - eps``.
    blur_sigma : float, default 0.0
        Standard deviation in pixels of a Gaussian blur (:func:`scipy.ndimage.gaussian_filter`,
        ``mode="nearest"``) over the two image axes, which softens the edges. 0 for none.
    dtype : numpy dtype, default float64
        Output floating dtype.

    Returns
    -------
    numpy.ndarray
        Same shape as ``pred_mask``, values in ``[1 - c, c]``.
    """
    m = np.asarray(pred_mask)
    if m.ndim not in (2, 3):
        raise ValueError(f"pred_mask must be 2-D (H, W) or a stack (L, H, W); got shape {m.shape}")
    if m.dtype != bool:
        if m.dtype.kind not in "iuf" or not np.isin(m, (0, 1)).all():
            raise ValueError("pred_mask must be a binary mask (bool or 0/1 values)")
        m = m.astype(bool)
    try:
        c = float(confidence)
    except (TypeError, ValueError):
        raise ValueError(f"confidence must be a number in (0.5, 1]; got {confidence!r}") from None
    if not (math.isfinite(c) and 0.5 < c <= 1.0):
        raise ValueError(f"confidence must be in (0.5, 1] (1 = hard 0/1 predictions); got {confidence!r}")
    try:
        s = float(blur_sigma)
    except (TypeError, ValueError):
        raise ValueError(f"blur_sigma must be a number >= 0; got {blur_sigma!r}") from None
    if not (math.isfinite(s) and s >= 0):
        raise ValueError(f"blur_sigma must be a finite number >= 0; got {blur_sigma!r}")
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"dtype must be a floating type; got {dt}")
    if s == 0:  # straight into the requested dtype (the same values as rounding the float64 ones)
        return np.where(m, dt.type(c), dt.type(1.0 - c))
    p = np.where(m, c, 1.0 - c)
    sigma = (s, s) if m.ndim == 2 else (0.0, s, s)
    p = ndi.gaussian_filter(p, sigma=sigma, mode="nearest")
    np.clip(p, 1.0 - c, c, out=p)
    return p.astype(dt, copy=False)


def _ladder(gt, levels, delta, fn_mode, fp_mode, seed, blob_radius):
    """Shared core of :func:`survey_levels` and :func:`survey_stack`."""
    G = _as_mask(gt)
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or not 1 <= levels <= 1000:
        raise ValueError(f"levels must be an integer in [1, 1000] (the number of levels, k = 0..levels-1); got {levels!r}")
    delta = _count_pixels("delta", delta)
    fn_mode = _choice("fn_mode", fn_mode, FN_MODES)
    fp_mode = _choice("fp_mode", fp_mode, FP_MODES)
    seed = _seed(seed)
    R = _blob_radius(blob_radius)
    L = int(levels)
    want = np.arange(L, dtype=np.int64) * delta
    masks, counts, (nfn, nfp, fn_notes, fp_notes) = _prefix_masks(G, want, want, fn_mode, fp_mode, seed, R)
    n_obj = int(G.sum())
    n_bg = int(G.size) - n_obj
    meta = []
    for k in range(L):
        msgs: list[str] = []
        if want[k] > n_obj:
            msgs.append(f"level {k}: requested {want[k]} FN pixels but the object has {n_obj}; removed {n_obj}")
        if want[k] > n_bg:
            msgs.append(f"level {k}: requested {want[k]} FP pixels but the background has {n_bg}; added {n_bg}")
        msgs += _notes_for(fn_notes, int(nfn[k]), f"level {k} FN {fn_mode}")
        msgs += _notes_for(fp_notes, int(nfp[k]), f"level {k} FP {fp_mode}")
        req = {
            "fn": int(want[k]), "fp": int(want[k]), "units": "pixels", "fn_pixels": int(want[k]),
            "fp_pixels": int(want[k]), "fn_mode": fn_mode, "fp_mode": fp_mode, "shift": (0, 0),
            "seed": seed, "blob_radius": R, "level": k, "delta": delta,
        }
        meta.append((req, msgs, {"removed": int(nfn[k]), "added": int(nfp[k])}))
    return masks, counts, meta


def _prefix_masks(G: np.ndarray, fn_want, fp_want, fn_mode: str, fp_mode: str, seed: int, R: float):
    """Hard predictions removing the first ``fn_want[k]`` object pixels of the FN ordering and adding
    the first ``fp_want[k]`` background pixels of the FP ordering (clamped at what exists), with
    their exact counts: every prediction is a prefix of the same two orderings."""
    n_obj = int(G.sum())
    n_bg = int(G.size) - n_obj
    nfn = np.minimum(np.asarray(fn_want, dtype=np.int64), n_obj)
    nfp = np.minimum(np.asarray(fp_want, dtype=np.int64), n_bg)
    rng_fn, rng_fp = _rngs(seed)
    fn_order, fn_notes = _fn_order(G, fn_mode, int(nfn.max(initial=0)), rng_fn, R)
    fp_order, fp_notes = _fp_order(G, fp_mode, int(nfp.max(initial=0)), rng_fp, R)
    # Rank of each pixel in its ordering; a prediction keeps the pixels whose rank is below its count.
    big = np.iinfo(np.int64).max
    rank_fn = np.full(G.size, big, dtype=np.int64)
    rank_fn[fn_order] = np.arange(fn_order.size)
    rank_fp = np.full(G.size, big, dtype=np.int64)
    rank_fp[fp_order] = np.arange(fp_order.size)
    H, W = G.shape
    rank_fn, rank_fp = rank_fn.reshape(1, H, W), rank_fp.reshape(1, H, W)
    masks = (G[None] & (rank_fn >= nfn[:, None, None])) | (rank_fp < nfp[:, None, None])
    tp = np.count_nonzero(masks & G[None], axis=(1, 2))
    fp = np.count_nonzero(masks & ~G[None], axis=(1, 2))
    fn = n_obj - tp
    counts = [{"tp": int(tp[k]), "fp": int(fp[k]), "fn": int(fn[k]), "tn": int(G.size - tp[k] - fp[k] - fn[k])}
              for k in range(len(nfn))]
    return masks, counts, (nfn, nfp, fn_notes, fp_notes)


def error_ladder(gt: Any, fn_counts, fp_counts, *, fn_mode: str = "boundary", fp_mode: str = "boundary",
                 seed: int = 0, blob_radius: float = 3) -> tuple[np.ndarray, list[dict[str, int]]]:
    """Hard predictions with ``fn_counts[k]`` FN and ``fp_counts[k]`` FP pixels (any two sequences of
    the same length: FN only, FP only, a fixed FP:FN ratio, ...), each a prefix of the same FN and FP
    orderings as :func:`perturb` (so ``error_ladder(gt, [n], [m])[0][0]`` equals
    ``perturb(gt, fn=n, fp=m).mask`` for the same modes and seed). Counts are clamped at the object's
    and the background's size and returned exactly, as bool masks ``(L, H, W)`` and counts."""
    G = _as_mask(gt)
    fn_counts = [_count_pixels("fn", v) for v in fn_counts]
    fp_counts = [_count_pixels("fp", v) for v in fp_counts]
    if len(fn_counts) != len(fp_counts) or not fn_counts:
        raise ValueError("fn_counts and fp_counts must be non-empty and of the same length")
    masks, counts, _ = _prefix_masks(G, fn_counts, fp_counts, _choice("fn_mode", fn_mode, FN_MODES),
                                     _choice("fp_mode", fp_mode, FP_MODES), _seed(seed), _blob_radius(blob_radius))
    return masks, counts


def error_ladder_from(gt: Any, start: Any, fn_counts, fp_counts, *, seed: int = 0) -> tuple[np.ndarray, list[dict[str, int]]]:
    """Like :func:`error_ladder`, but starting from the prediction ``start`` instead of the ground
    truth: prediction ``k`` is ``start`` with ``fn_counts[k]`` more of its true-positive pixels removed
    (nearest to its background first) and ``fp_counts[k]`` more background pixels added (nearest to
    ``start`` first), each a prefix of one ordering (seeded tie-break). Counts are of the resulting
    masks against ``gt``, exact; requests beyond what exists are clamped."""
    G = _as_mask(gt)
    P = _as_mask(start, "start")
    if P.shape != G.shape:
        raise ValueError(f"start must have the ground truth's shape {G.shape}; got {P.shape}")
    fn_counts = np.array([_count_pixels("fn", v) for v in fn_counts], dtype=np.int64)
    fp_counts = np.array([_count_pixels("fp", v) for v in fp_counts], dtype=np.int64)
    if len(fn_counts) != len(fp_counts) or not len(fn_counts):
        raise ValueError("fn_counts and fp_counts must be non-empty and of the same length")
    rng_fn, rng_fp = _rngs(_seed(seed))
    tp = P & G
    fn_order, _ = _fn_order(P, "boundary", int(P.sum()), rng_fn, 1.0)  # P's pixels, outside in
    fn_order = fn_order[tp.ravel()[fn_order]]  # only true positives become false negatives
    fp_order, _ = _fp_order(P, "boundary", int((~P).sum()), rng_fp, 1.0)  # background of P, nearest first
    fp_order = fp_order[~G.ravel()[fp_order]]  # only background pixels become false positives
    nfn, nfp = np.minimum(fn_counts, fn_order.size), np.minimum(fp_counts, fp_order.size)
    masks = np.empty((len(nfn),) + G.shape, dtype=bool)
    for k, (a, b) in enumerate(zip(nfn, nfp)):
        m = P.ravel().copy()
        m[fn_order[:a]] = False
        m[fp_order[:b]] = True
        masks[k] = m.reshape(G.shape)
    return masks, [_counts(m, G) for m in masks]


def survey_levels(
    gt: Any,
    *,
    levels: int = 41,
    delta: int = 20,
    fp_mode: str = "boundary",
    fn_mode: str = "boundary",
    seed: int = 0,
    blob_radius: float = 3,
) -> list[Perturbation]:
    """The survey's error ladder: level ``k`` has ``k * delta`` FN and ``k * delta`` FP pixels.

    Parameters
    ----------
    gt : array_like
        Ground truth, 2-D bool-like.
    levels : int, default 41
        Number of levels ``K + 1``; levels are ``k = 0 .. K``.
    delta : int, default 20
        Pixels of FN and of FP added per level (the same absolute step for every object size).
    fp_mode : {"boundary", "blobs", "noise"}, default "boundary"
        Pattern of the false positives.
    fn_mode : {"boundary", "holes", "noise"}, default "boundary"
        Pattern of the false negatives (the protocol peels from the boundary).
    seed : int, default 0
        As in :func:`perturb`.
    blob_radius : float, default 3
        As in :func:`perturb`.

    Returns
    -------
    list of Perturbation
        One per level. FN is clamped at the object's size and FP at the background's (said in
        ``messages``). Level ``k`` equals ``perturb(gt, fn=k*delta, fp=k*delta, ...)`` with the
        same modes and seed, pixel for pixel.

    Notes
    -----
    The orderings are computed once and every level is a prefix of them (vectorized over
    levels), so the cost is about one :func:`perturb` call.
    """
    masks, counts, meta = _ladder(gt, levels, delta, fn_mode, fp_mode, seed, blob_radius)
    return [Perturbation(masks[k].copy(), counts[k], *meta[k]) for k in range(len(counts))]


def survey_stack(
    gt: Any,
    levels: int = 41,
    delta: int = 20,
    confidence: float = 0.99,
    fp_mode: str = "boundary",
    seed: int = 0,
    *,
    fn_mode: str = "boundary",
    blur_sigma: float = 0.0,
    blob_radius: float = 3,
) -> tuple[np.ndarray, list[dict[str, int]]]:
    """Soft predictions for the whole ladder, ready for a batched loss evaluation.

    Parameters
    ----------
    gt, levels, delta, fp_mode, seed, fn_mode, blob_radius
        As in :func:`survey_levels`.
    confidence, blur_sigma
        As in :func:`soften`.

    Returns
    -------
    probs : numpy.ndarray
        ``float32`` array ``(levels, H, W)``: level ``k`` is ``soften(survey_levels(...)[k].mask)``.
    counts : list of dict
        ``tp``, ``fp``, ``fn``, ``tn`` of each level's hard prediction.
    """
    masks, counts, _ = _ladder(gt, levels, delta, fn_mode, fp_mode, seed, blob_radius)
    probs = soften(masks, confidence=confidence, blur_sigma=blur_sigma, dtype=np.float32)
    return probs, counts


def translation_masks(
    gt: Any,
    levels: int = 41,
    step: int = 1,
    grow: int = 0,
    seed: int = 0,
) -> tuple[np.ndarray, list[dict[str, int]]]:
    """The translation ladder: level ``k`` is ``gt`` moved right by ``k * step`` pixels and then, with
    ``grow > 0``, grown outward by ``k * grow`` false-positive pixels (nearest to the moved mask
    first, seeded tie-break, as ``perturb(fp_mode="boundary")``).

    Parameters
    ----------
    gt : array_like
        Ground truth, 2-D bool-like.
    levels : int, default 41
        Number of levels, ``k = 0 .. levels - 1``.
    step : int, default 1
        Pixels moved per level (along the columns; pixels moved past the image border are lost).
    grow : int, default 0
        False-positive pixels added around the moved mask per level (0: a pure translation).
    seed : int, default 0
        Tie-break of the growth order.

    Returns
    -------
    masks : numpy.ndarray
        bool ``(levels, H, W)``.
    counts : list of dict
        ``tp``, ``fp``, ``fn``, ``tn`` of each level's hard prediction, counted from the masks.
        While the moved object still overlaps itself, FN = FP (without growth); once it has moved by
        more than its width, TP = 0 and FN is the whole object.
    """
    G = _as_mask(gt)
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or not 1 <= levels <= 1000:
        raise ValueError(f"levels must be an integer in [1, 1000]; got {levels!r}")
    step = _count_pixels("step", step)
    grow = _count_pixels("grow", grow)
    seed = _seed(seed)
    masks = np.empty((int(levels),) + G.shape, dtype=bool)
    for k in range(int(levels)):
        moved = _shifted(G, 0, k * step)
        n_fp = min(k * grow, int((~moved).sum()))
        if n_fp:
            order, _ = _fp_order(moved, "boundary", n_fp, np.random.default_rng([seed, 3, k]), 1.0)
            flat = moved.ravel().copy()
            flat[order[:n_fp]] = True
            moved = flat.reshape(G.shape)
        masks[k] = moved
    return masks, [_counts(m, G) for m in masks]


def translation_stack(gt: Any, levels: int = 41, step: int = 1, grow: int = 0, confidence: float = 0.99,
                      seed: int = 0, *, blur_sigma: float = 0.0) -> tuple[np.ndarray, list[dict[str, int]]]:
    """:func:`translation_masks` softened (:func:`soften`) into ``float32`` probabilities, with the counts."""
    masks, counts = translation_masks(gt, levels, step, grow, seed)
    return soften(masks, confidence=confidence, blur_sigma=blur_sigma, dtype=np.float32), counts
