"""Cached computations behind the Large vs small, Tune and Gradients pages.

Pages call these with plain values and draw what comes back; the loss math stays in
``segloss_core``. Two kinds of cache:

* ``st.cache_data`` for small results (curves of one setting, verdict tables, single cases);
* a bounded, thread-safe LRU kept in ``st.cache_resource`` (:func:`_memo`) for the long runs (the
  survey, parameter grids, the size study), because those report progress to a bar that lives
  outside the function, which ``st.cache_data`` cannot replay. :func:`is_cached` tells a page whether
  to draw a progress bar at all. Results held there are shared between sessions: treat them as
  read-only (grid arrays are flagged read-only; masks and level stacks are not, because torch warns
  when handed a read-only NumPy array).

``RUNS`` counts how many times each long computation really ran (tests use it to check that a
display-only control, such as the monotonicity tolerance, does not recompute the sweep).
"""
from __future__ import annotations

import collections
import json
import math
import threading
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable

import numpy as np
import pandas as pd
import streamlit as st

from segloss_app import limits
from segloss_app.limits import nbytes
from segloss_core import claim
from segloss_core.monotonic import VERDICTS, analyze
from segloss_core.registry import KEYS, REGISTRY, get
from segloss_core.survey import (OBJECTS, SurveyConfig, SurveyResult, agreement_text, level_stack, object_masks,
                                 run_survey, verdict_table)

Progress = Callable[[float, str], None] | None

#: How many times each long computation actually ran in this process.
RUNS: collections.Counter = collections.Counter()

#: Tolerance the cached survey is computed with; the page re-derives verdicts at any other one.
BASE_TOLERANCE = SurveyConfig().tolerance


# ------------------------------------------------------------------------------------------------
# A small LRU in cache_resource, so that long runs can drive a progress bar
# ------------------------------------------------------------------------------------------------
class _LRU:
    """At most ``n`` entries and ``max_bytes`` bytes (:func:`segloss_app.limits.nbytes`); the least
    recently used go first, the newest entry always stays (it is what the page is showing)."""

    def __init__(self, n: int, max_bytes: int | None = None):
        self.n = n
        self.max_bytes = max_bytes
        self.data: collections.OrderedDict = collections.OrderedDict()
        self.sizes: dict = {}
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return True, self.data[key]
        return False, None

    def put(self, key, value) -> None:
        size = nbytes(value)
        with self.lock:
            self.data[key] = value
            self.sizes[key] = size
            self.data.move_to_end(key)
            while len(self.data) > 1 and (len(self.data) > self.n or
                                          (self.max_bytes is not None and self.bytes() > self.max_bytes)):
                old, _ = self.data.popitem(last=False)
                self.sizes.pop(old, None)

    def bytes(self) -> int:
        """Bytes held (as estimated when each entry was stored)."""
        return sum(self.sizes.get(k, 0) for k in self.data)

    def __contains__(self, key) -> bool:
        with self.lock:
            return key in self.data


@st.cache_resource(show_spinner=False)
def _store(name: str, n: int) -> _LRU:
    return _LRU(n, _BYTES.get(name))


_SIZES = {"survey": 8, "stacks": 4, "grid": 24, "ratio": 16, "size": 8, "robust": 2}


#: Bytes each store may hold (shared by all sessions): a survey with 101 levels keeps ~55 MB of
#: level stacks, a Tune stack ~21 MB; grids and size studies are small.
_BYTES = {"survey": 256 * 2**20, "stacks": 128 * 2**20, "grid": 64 * 2**20, "ratio": 16 * 2**20,
          "size": 64 * 2**20, "robust": 128 * 2**20}


def _memo(name: str, key: tuple, compute: Callable[[], Any]) -> Any:
    store = _store(name, _SIZES[name])
    hit, value = store.get(key)
    if hit:
        return value
    value = compute()
    RUNS[name] += 1
    store.put(key, value)
    return value


def is_cached(name: str, key: tuple) -> bool:
    """Whether ``name`` (survey, stacks, grid, ratio, size) already holds ``key``."""
    return key in _store(name, _SIZES[name])


def with_progress(name: str, key: tuple, compute, label: str):
    """``compute(key)``: at once when ``name`` already holds ``key``, else with a progress bar that
    ``compute`` advances through its ``progress(fraction, message)`` callback."""
    if is_cached(name, key):
        return compute(key)
    bar = st.progress(0.0, text=f"{label} …")
    try:
        return compute(key, progress=lambda f, m: bar.progress(min(1.0, f), text=f"{label} — {m}"))
    finally:
        bar.empty()


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


# ------------------------------------------------------------------------------------------------
# Survey (Large vs small)
# ------------------------------------------------------------------------------------------------
def survey_key(**settings: Any) -> tuple:
    """Validated, hashable survey configuration (sorted ``(field, value)`` pairs). The tolerance is
    pinned to :data:`BASE_TOLERANCE`: it only affects the verdicts, which :func:`verdicts_at`
    recomputes from the cached curves. The number of levels is bounded by the estimated cost
    (:func:`segloss_app.limits.survey_levels`); when it is lowered, a warning on the page says so
    and the returned configuration carries the levels actually computed."""
    settings = {**settings, "tolerance": BASE_TOLERANCE}
    if "levels" in settings:
        bound = limits.survey_levels(int(settings["levels"]), float(settings.get("blur", 0.0) or 0.0))
        if bound.notice:
            st.warning(bound.notice)
        settings["levels"] = bound.value
    cfg = SurveyConfig(**settings).validate()
    return tuple(sorted(asdict(cfg).items()))


#: The survey runs in a few chunks of losses so that the progress bar moves (each chunk covers both objects).
_SURVEY_CHUNKS = 3


def survey_full(config: tuple, progress: Progress = None) -> SurveyResult:
    """The survey for every registered loss with default parameters (curves, verdicts at
    :data:`BASE_TOLERANCE`, masks and the level stacks). ~2-4 s on a 2-core CPU."""
    def compute() -> SurveyResult:
        cfg = SurveyConfig(**dict(config))
        chunks = [list(c) for c in np.array_split(np.array(KEYS, dtype=object), _SURVEY_CHUNKS) if len(c)]
        parts = []
        for i, keys in enumerate(chunks):
            step = (lambda f, obj, i=i: progress((i + f) / len(chunks), f"{obj} object, losses {i + 1}/{len(chunks)}")) \
                if progress else None
            parts.append(run_survey(cfg, keys, None, progress=step, keep_predictions=(i == 0)))
        order = {k: i for i, k in enumerate(KEYS)}

        def merge(frames: list[pd.DataFrame], by: list[str]) -> pd.DataFrame:
            d = pd.concat(frames, ignore_index=True)
            d["_o"] = d["object"].map({o: i for i, o in enumerate(OBJECTS)})
            d["_k"] = d["loss"].map(order)
            return d.sort_values(["_o", "_k"] + by, kind="stable").drop(columns=["_o", "_k"]).reset_index(drop=True)

        curves = merge([p.curves for p in parts], ["level"])
        verdicts = merge([p.verdicts for p in parts], [])
        return SurveyResult(cfg, curves, verdicts, parts[0].masks, parts[0].predictions, parts[0].device)

    return _memo("survey", config, compute)


def robustness_key(config: tuple) -> tuple:
    """The robustness map depends on the geometry of the survey only: its grid sets the protocol,
    the confidence and Δ itself."""
    base = replace(SurveyConfig(**dict(config)), protocol="boundary", confidence=0.99, delta=20,
                   translation_grow=False, shift_step=1, tolerance=BASE_TOLERANCE)
    return tuple(sorted(asdict(base).items()))


def robustness_full(key: tuple, progress: Progress = None):
    """:func:`segloss_core.robustness.run_robustness` over the default grid (about 40 surveys)."""
    from segloss_core.robustness import Grid, run_robustness

    def compute():
        return run_robustness(Grid(base=SurveyConfig(**dict(key))), progress=progress)
    return _memo("robust", key, compute)


def robustness_labels(rob) -> dict[tuple, str]:
    from segloss_core.robustness import setting_label
    return {(r.protocol, r.delta, r.confidence): setting_label(r.protocol, r.confidence, r.delta)
            for r in rob.intervals.itertuples()}


def robustness_statements(rob) -> list[str]:
    from segloss_core.robustness import statements
    return statements(rob)


def verdicts_from_curves(curves: pd.DataFrame, tol: float) -> pd.DataFrame:
    """The survey's verdict table recomputed from its curves at tolerance ``tol`` (no new sweep)."""
    return verdict_table(curves, tol)


@st.cache_data(max_entries=64, show_spinner=False)
def verdicts_at(config: tuple, tol: float, _curves: pd.DataFrame) -> pd.DataFrame:
    """Cached :func:`verdicts_from_curves` for the survey ``config`` (whose curves are ``_curves``)."""
    return verdicts_from_curves(_curves, tol)


def with_verdicts(res: SurveyResult, verdicts: pd.DataFrame, keys: list[str] | None = None) -> SurveyResult:
    """A view of ``res`` with other verdicts, restricted to ``keys`` (for the core's text helpers)."""
    curves = res.curves
    if keys is not None:
        curves = curves[curves["loss"].isin(keys)]
        verdicts = verdicts[verdicts["loss"].isin(keys)]
    return replace(res, curves=curves.reset_index(drop=True), verdicts=verdicts.reset_index(drop=True))


def full_agreement_text(res: SurveyResult, verdicts: pd.DataFrame, keys: list[str]) -> str:
    return agreement_text(with_verdicts(res, verdicts, keys))


def _names(keys) -> str:
    keys = list(keys)
    return ", ".join(REGISTRY[k].name for k in keys) if keys else "none"


def agreement_summary(verdicts: pd.DataFrame) -> list[str]:
    """Plain sentences (Markdown), one block per object: what the survey says, what is measured, and
    where they agree, counted over the pairs the survey states only."""
    out = []
    for obj in dict.fromkeys(verdicts["object"]):
        v = verdicts[verdicts["object"] == obj]
        n = len(v)
        words = ", ".join(f"{int((v.verdict == w).sum())} {w}" for w in VERDICTS if (v.verdict == w).any())
        stated = v[v["survey_says"] != claim.NOT_STATED]
        lines = [f"**{obj.capitalize()} object**: measured {words} (of {n}). "
                 f"Survey: *{claim.SENTENCE[obj]}*"]
        if obj == "large":
            up, tot = claim.large_share(v)
            lines.append(f"- That is a statement about the share: here {up} of {tot} ({up / max(tot, 1):.0%}) rise. "
                         "It names no single loss, so every loss is *not stated* for the large object.")
        if len(stated):
            ok = stated[stated["agrees"] == True]  # noqa: E712 (None = not stated)
            bad = stated[stated["agrees"] == False]  # noqa: E712
            lines.append(f"- Of the {len(stated)} losses the sentence names, **{len(ok)} agree**"
                         + (": every one." if bad.empty else
                            "; not: " + "; ".join(f"{REGISTRY[r.loss].name} (survey: {r.survey_says}; measured: "
                                                  f"{r.verdict})" for r in bad.itertuples()) + "."))
            sat = stated[(stated["survey_says"] == claim.DOES_NOT_RISE) & (stated["verdict"] == "saturates")]
            if len(sat):
                flips = sat["flip_tolerance"].astype(float)
                lines.append(f"- {len(sat)} of them agree only because they *saturate*: they rise at every step, by "
                             f"{flips.min():.1e}–{flips.max():.1e} of their range at the smallest; below that "
                             "tolerance they would count as rising.")
        n_not = n - len(stated)
        if n_not and obj == "small":
            lines.append(f"- {n_not} losses are not named by the sentence (*not stated*), so they count neither way.")
        out.append("\n".join(lines))
    return out


def soft_dice_at_zero(res: SurveyResult) -> dict[str, dict[str, float]]:
    """Measured soft Dice loss at level 0 (perfect overlap) per object, with the object's size."""
    c = res.curves
    out = {}
    for obj in OBJECTS:
        d = c[(c["loss"] == "dice") & (c["object"] == obj) & (c["level"] == 0)]
        if len(d):
            pixels = int(res.masks[obj].sum()) if obj in res.masks else int(d["tp"].iloc[0])
            out[obj] = {"value": float(d["value"].iloc[0]), "pixels": pixels}
    return out


def thumbnail_levels(levels: int, wanted=(0, 5, 10, 20, 40)) -> list[int]:
    """The levels to show as thumbnails: ``wanted`` where they exist, else five spread levels."""
    ks = [k for k in wanted if k < levels]
    if len(ks) < 4:
        ks = sorted({int(round(x)) for x in np.linspace(0, levels - 1, min(5, levels))})
    return ks


def crop_box(masks: list[np.ndarray], margin: int = 6, min_side: int = 24) -> tuple[slice, slice]:
    """A square-ish box around every True pixel of ``masks`` (plus ``margin``), so that a small
    object and its errors stay visible in a thumbnail."""
    any_ = np.zeros_like(np.asarray(masks[0], bool))
    for m in masks:
        any_ |= np.asarray(m) > 0.5
    H, W = any_.shape
    if not any_.any():
        return slice(0, H), slice(0, W)
    rows, cols = np.flatnonzero(any_.any(1)), np.flatnonzero(any_.any(0))
    cy, cx = (rows[0] + rows[-1]) / 2, (cols[0] + cols[-1]) / 2
    half = max(rows[-1] - rows[0], cols[-1] - cols[0], min_side) / 2 + margin
    y0, y1 = int(max(0, math.floor(cy - half))), int(min(H, math.ceil(cy + half) + 1))
    x0, x1 = int(max(0, math.floor(cx - half))), int(min(W, math.ceil(cx + half) + 1))
    return slice(y0, y1), slice(x0, x1)


# ------------------------------------------------------------------------------------------------
# Tune
# ------------------------------------------------------------------------------------------------
def stacks(config: tuple) -> dict[str, tuple[np.ndarray, np.ndarray, list[dict]]]:
    """Ground truth, soft level stack ``(L, H, W)`` and counts for each object of the protocol."""
    def compute():
        cfg = SurveyConfig(**dict(config))
        out = {}
        for obj, gt in object_masks(cfg).items():
            preds, counts = level_stack(gt, cfg)
            out[obj] = (gt, preds, counts)
        return out
    return _memo("stacks", config, compute)


def _values(gt: np.ndarray, preds: np.ndarray, key: str, params: dict[str, Any], maps=None) -> np.ndarray:
    """Loss values per level for one parameter setting (no gradient): shape ``(L,)``."""
    import torch

    from segloss_core.distance import TargetMaps
    from segloss_core.tensors import logits_from_probs

    spec = get(key)
    target = torch.as_tensor(np.asarray(gt, bool), dtype=torch.float32)[None, None]
    if maps is None and spec.needs_maps:
        maps = TargetMaps(target)
    out = []
    with torch.no_grad():
        for s in range(0, preds.shape[0], 64):
            z = logits_from_probs(torch.as_tensor(np.asarray(preds[s:s + 64]), dtype=torch.float32)[:, None])
            out.append(spec(z, target, maps=maps, **params).double().numpy())
    return np.concatenate(out)


@st.cache_data(max_entries=512, show_spinner=False)
def curve(config: tuple, obj: str, key: str, params_json: str) -> np.ndarray:
    """Loss value per survey level for one object and one parameter setting."""
    gt, preds, _ = stacks(config)[obj]
    return _values(gt, preds, key, json.loads(params_json))


@dataclass
class GridResult:
    """A parameter grid over the survey levels of one object."""

    xs: list[float]
    ys: list[float] | None  # None for a 1-D sweep
    values: np.ndarray  # (ny, nx, L); ny = 1 for a 1-D sweep
    tau: np.ndarray  # (ny, nx) Kendall τ of each cell's curve
    violations: np.ndarray  # (ny, nx) steps that do not rise (tolerance BASE_TOLERANCE); 0 = monotone
    method: str  # "batched" or "cell by cell"
    note: str = ""


#: Largest grid side when the batched grid cannot be used for a loss (cell-by-cell evaluation).
FALLBACK_SIDE = 7


def _resample(axis: list[float], n: int, log: bool) -> list[float]:
    if len(axis) <= n:
        return axis
    lo, hi = axis[0], axis[-1]
    return [float(f"{v:.4g}") for v in (np.geomspace(lo, hi, n) if log and lo > 0 else np.linspace(lo, hi, n))]


def axis_values(key: str, name: str, n: int) -> list[float]:
    """``n`` grid values spanning a parameter's registry range (log-spaced for log parameters)."""
    p = get(key).param(name)
    if not p.numeric:
        raise ValueError(f"{key}.{name} is not numeric")
    vals = np.geomspace(p.low, p.high, n) if p.log else np.linspace(p.low, p.high, n)
    return [float(f"{v:.4g}") for v in vals]


def loss_grid(config: tuple, obj: str, key: str, x: str, xs: tuple[float, ...], y: str | None,
              ys: tuple[float, ...] | None, base_json: str, progress: Progress = None) -> GridResult:
    """Loss values over a 1-D or 2-D parameter grid × the survey levels of ``obj``.

    Uses the batched :func:`segloss_core.sweep.param_grid` and checks two cells against a direct
    evaluation. Where the batched grid fails or disagrees (some losses do not broadcast per-sample
    parameters), the grid is evaluated cell by cell on at most :data:`FALLBACK_SIDE` values per
    axis, and ``note`` says so.
    """
    def compute() -> GridResult:
        from segloss_core.distance import TargetMaps
        from segloss_core.sweep import param_grid
        import torch

        gt, preds, _ = stacks(config)[obj]
        base = json.loads(base_json)
        spec = get(key)
        fixed = {k: v for k, v in base.items() if k not in (x, y)}
        maps = TargetMaps(torch.as_tensor(np.asarray(gt, bool), dtype=torch.float32)[None, None]) if spec.needs_maps else None
        X, Y = list(xs), (list(ys) if y else None)

        def params_at(iy: int, ix: int, X=X, Y=Y) -> dict:
            p = {**fixed, x: X[ix]}
            if y:
                p[y] = Y[iy]
            return p

        method, note = "batched", ""
        values = None
        try:
            if spec.reducible:  # one batched pass over the whole grid (pixel-compressed, fast)
                values = param_grid(gt, preds, key, {y: Y, x: X} if y else {x: X}, fixed, maps=maps)
                values = values if y else values[None]
            else:  # full images: one batched pass per row (per value in 1-D) so that progress moves
                parts = []
                rows = [(yv, X) for yv in Y] if y else [(None, [xv]) for xv in X]
                for i, (yv, xr) in enumerate(rows):
                    g = {y: [yv], x: xr} if y else {x: xr}
                    parts.append(param_grid(gt, preds, key, g, fixed, maps=maps).reshape(len(xr), -1))
                    if progress:
                        progress((i + 1) / len(rows), f"row {i + 1} of {len(rows)}")
                values = np.stack(parts) if y else np.concatenate(parts)[None]
            ny, nx = values.shape[:2]
            for iy, ix in {(ny - 1, nx - 1), (ny // 2, nx // 3)}:
                ref = _values(gt, preds, key, params_at(iy, ix), maps)
                if not np.allclose(values[iy, ix], ref, rtol=1e-3, atol=1e-6 * max(1.0, float(np.abs(ref).max()))):
                    raise ArithmeticError(f"cell ({iy}, {ix}) differs from a direct evaluation by "
                                          f"{float(np.abs(values[iy, ix] - ref).max()):.3g}")
        except (RuntimeError, ValueError, ArithmeticError, TypeError) as exc:
            method = "cell by cell"
            X = _resample(X, FALLBACK_SIDE, spec.param(x).log)
            Y = _resample(Y, FALLBACK_SIDE, spec.param(y).log) if y else None
            note = (f"The batched parameter grid is not usable for {spec.name} over {x}{' × ' + y if y else ''} "
                    f"({type(exc).__name__}: {str(exc)[:120]}); evaluated cell by cell on a "
                    f"{len(Y) if Y else 1}×{len(X)} grid instead.")
            ny, nx = (len(Y) if Y else 1), len(X)
            values = np.empty((ny, nx, preds.shape[0]))
            for i in range(ny * nx):
                iy, ix = divmod(i, nx)
                values[iy, ix] = _values(gt, preds, key, params_at(iy, ix, X, Y), maps)
                if progress:
                    progress((i + 1) / (ny * nx), f"cell {i + 1} of {ny * nx}")
        ny, nx = values.shape[:2]
        tau = np.full((ny, nx), np.nan)
        bad = np.full((ny, nx), np.nan)
        for iy in range(ny):
            for ix in range(nx):
                v = values[iy, ix]
                if np.isfinite(v).all():
                    m = analyze(v, BASE_TOLERANCE)
                    tau[iy, ix], bad[iy, ix] = m.kendall_tau, m.violations
        return GridResult(X, Y, _readonly(values), _readonly(tau), _readonly(bad), method, note)

    return _memo("grid", (config, obj, key, x, tuple(xs), y, tuple(ys) if ys else None, base_json), compute)


def ratio_grid(config: tuple, obj: str, key: str, x: str, xs: tuple[float, ...], y: str | None,
               ys: tuple[float, ...] | None, base_json: str, level: int, progress: Progress = None) -> np.ndarray:
    """Mean |∂L/∂z| over the false-negative pixels divided by the mean over the false-positive
    pixels, at survey ``level`` of ``obj``, for every grid cell: shape ``(ny, nx)`` (NaN where the
    level has no FN or no FP pixel). One gradient pass per cell."""
    def compute() -> np.ndarray:
        import torch

        from segloss_core.distance import TargetMaps
        from segloss_core.sweep import run_sweep

        gt, preds, counts = stacks(config)[obj]
        if not 0 <= level < preds.shape[0]:
            raise ValueError(f"level must be in [0, {preds.shape[0] - 1}]; got {level}")
        base = json.loads(base_json)
        fixed = {k: v for k, v in base.items() if k not in (x, y)}
        maps = TargetMaps(torch.as_tensor(np.asarray(gt, bool), dtype=torch.float32)[None, None])
        X, Y = list(xs), (list(ys) if y else [None])
        out = np.full((len(Y), len(X)), np.nan)
        one = np.asarray(preds[level:level + 1])
        if counts[level]["fn"] == 0 or counts[level]["fp"] == 0:
            return _readonly(out)
        n = out.size
        for i in range(n):
            iy, ix = divmod(i, len(X))
            p = {**fixed, x: X[ix]}
            if y:
                p[y] = Y[iy]
            r = run_sweep(gt, one, [key], {key: p}, maps=maps)
            fn_g, fp_g = r.region_grad[key]["fn"][0], r.region_grad[key]["fp"][0]
            out[iy, ix] = fn_g / fp_g if fp_g > 0 else np.nan
            if progress:
                progress((i + 1) / n, f"gradient pass {i + 1} of {n}")
        return _readonly(out)

    return _memo("ratio", (config, obj, key, x, tuple(xs), y, tuple(ys) if ys else None, base_json, level), compute)


def snap(value: float, axis) -> float:
    """The grid value nearest to ``value`` (a clicked point back onto the grid)."""
    axis = list(axis)
    if not axis:
        raise ValueError("empty axis")
    return float(min(axis, key=lambda a: abs(float(a) - float(value))))


def best_cell(q: np.ndarray, quantity: str) -> tuple[int, int] | None:
    """Index ``(iy, ix)`` of the best cell: highest τ or value, fewest failing steps, or the FN/FP
    gradient ratio closest to 1 (ties: the first cell in row-major order)."""
    q = np.asarray(q, dtype=float)
    if not np.isfinite(q).any():
        return None
    if quantity == "ratio":
        score = -np.abs(np.log(np.where(q > 0, q, np.nan)))
    elif quantity == "violations":
        score = -q
    else:
        score = q
    score = np.where(np.isfinite(score), score, -np.inf)
    iy, ix = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(iy), int(ix)


# ------------------------------------------------------------------------------------------------
# Gradients vs object size
# ------------------------------------------------------------------------------------------------
def radii(r_min: float, r_max: float, n: int) -> np.ndarray:
    """Log-spaced radii for the size study (:func:`segloss_core.size_study.log_radii`)."""
    from segloss_core.size_study import log_radii
    return log_radii(r_min, r_max, n)


def size_key(radii, keys, params_json: str = "{}", *, size: int = 256, fn: float = 0.2, fp: float = 0.2,
             fn_mode: str = "boundary", fp_mode: str = "boundary", confidence: float = 0.99, blur: float = 0.0,
             wrt: str = "logits") -> tuple:
    return (tuple(float(r) for r in radii), tuple(keys), params_json, int(size), float(fn), float(fp), fn_mode,
            fp_mode, float(confidence), float(blur), wrt)


def size_sweep(key: tuple, progress: Progress = None) -> pd.DataFrame:
    """:func:`segloss_core.size_study.gradient_vs_size` for a :func:`size_key`."""
    radii, keys, params_json, size, fn, fp, fn_mode, fp_mode, conf, blur, wrt = key

    def compute() -> pd.DataFrame:
        from segloss_core.size_study import gradient_vs_size
        return gradient_vs_size(radii, keys, json.loads(params_json), size=size, fn=fn, fp=fp, fn_mode=fn_mode,
                                fp_mode=fp_mode, confidence=conf, blur=blur, wrt_probs=(wrt == "probabilities"),
                                progress=progress)

    return _memo("size", key, compute)


@st.cache_data(max_entries=32, show_spinner=False)
def size_case(radius: float, size: int, fn: float, fp: float, fn_mode: str, fp_mode: str, confidence: float,
              blur: float) -> dict[str, Any]:
    from segloss_core.size_study import size_case as _case
    c = _case(radius, size=size, fn=fn, fp=fp, fn_mode=fn_mode, fp_mode=fp_mode, confidence=confidence, blur=blur)
    return {"gt": c.gt, "hard": c.hard, "soft": c.soft, "counts": c.counts, "messages": c.messages}


def size_blow_up(df: pd.DataFrame, column: str) -> pd.DataFrame:
    from segloss_core.size_study import blow_up
    return blow_up(df, column)
