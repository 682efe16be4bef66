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
from dataclasses import asdict, replace
from typing import Any, Callable

import numpy as np
import pandas as pd
import streamlit as st

from segloss_app import limits
from segloss_app.limits import nbytes
from segloss_core import claim
from segloss_core.registry import KEYS, get
from segloss_core.survey import (OBJECTS, SurveyConfig, SurveyResult, combine, object_config, run_survey, split,
                                 verdict_table)

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


_SIZES = {"survey": 16, "survey_recent": 16, "size": 8, "robust": 2, "tune": 32, "figures": 32}


#: Bytes each store may hold (shared by all sessions): a survey with 101 levels keeps ~55 MB of
#: level stacks; robustness tables ~10 MB; Tune grids and size studies are small.
_BYTES = {"survey": 256 * 2**20, "survey_recent": 64 * 2**20, "size": 64 * 2**20, "robust": 128 * 2**20,
          "tune": 64 * 2**20}


def _memo(name: str, key: tuple, compute: Callable[[], Any]) -> Any:
    store = _store(name, _SIZES[name])
    hit, value = store.get(key)
    if hit:
        return value
    value = compute()
    RUNS[name] += 1
    store.put(key, value)
    return value


def figure_memo(kind: str, key: tuple, build: Callable[[], Any]) -> Any:
    """A page's figure, built once per ``(kind, key)`` and shared (read-only) by every rerun and
    session: the key holds everything the figure depends on (configuration, losses, tolerance,
    presenter mode, pinned setting). Large vs small rebuilt its four figures (~0.3 s) on every
    rerun, also when only a control below them moved or a protocol was revisited. Measured (AppTest,
    the whole page, a protocol revisited, median of 6, one process): 0.58 s without, 0.22-0.25 s with."""
    return _memo("figures", (kind,) + tuple(key), build)


def is_cached(name: str, key: tuple) -> bool:
    """Whether ``name`` (survey, survey_recent, size, robust, tune) already holds ``key`` (for the
    surveys, held per object: both objects' parts of the configuration ``key``)."""
    store = _store(name, _SIZES[name])
    if name in _PER_OBJECT:
        return all(k in store for k in _object_keys(key).values())
    return key in store


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


#: The survey's 26 losses (registry order) and the losses published since, which the survey does not
#: state anything about. The page computes the 26 on every protocol change and the later ones only
#: when one of them is selected: two of them (clDice's soft skeleton, Hausdorff ER's ten erosions)
#: cost more than the 26 together.
SURVEY_KEYS = tuple(k for k in KEYS if k in claim.SURVEY_LOSSES)
RECENT_KEYS = tuple(k for k in KEYS if k not in claim.SURVEY_LOSSES)
_STORE_OF = {SURVEY_KEYS: "survey", RECENT_KEYS: "survey_recent"}


_PER_OBJECT = frozenset(_STORE_OF.values())


def _object_keys(config: tuple) -> dict[str, tuple]:
    """Each object's cache key within a survey store: the settings that decide its curves
    (:func:`segloss_core.survey.object_config`), so a new small radius keeps the large object's part."""
    cfg = SurveyConfig(**dict(config))
    return {o: (o, object_config(cfg, o)) for o in OBJECTS}


def _survey_part(config: tuple, keys: tuple, progress: Progress) -> SurveyResult:
    """The survey over ``keys``, memoized per object: only the objects whose settings are not cached
    are computed (in one run; the bar moves per object), then both parts are joined.

    Measured on the 2-core machine (26 losses, 41 levels, five new small radii, each timed as a full
    run and as this with the large part cached, interleaved in one process, load ~1): 0.38-0.50 s ->
    0.18-0.30 s; a change that moves both objects (c, Δ, protocol) costs what it did."""
    name = _STORE_OF[keys]
    store = _store(name, _SIZES[name])
    cfg = SurveyConfig(**dict(config))
    okeys = _object_keys(config)
    parts: dict[str, SurveyResult] = {}
    for o, k in okeys.items():
        hit, value = store.get(k)
        if hit:
            parts[o] = value
    missing = tuple(o for o in OBJECTS if o not in parts)
    if missing:
        step = (lambda f, obj: progress(f, f"{obj} object")) if progress else None
        res = run_survey(cfg, list(keys), None, progress=step, keep_predictions=keys == SURVEY_KEYS,  # stacks: once
                         objects=missing)
        RUNS[name] += 1
        for o, part in split(res).items():
            store.put(okeys[o], part)
            parts[o] = part
    return combine(cfg, parts)


def _merge(a: SurveyResult, b: SurveyResult) -> SurveyResult:
    """``a`` and ``b`` (the same configuration, disjoint losses) as one result in registry order."""
    order = {k: i for i, k in enumerate(KEYS)}

    def merge(frames: list[pd.DataFrame], by: list[str]) -> pd.DataFrame:
        d = pd.concat(frames, ignore_index=True)
        d["_o"] = d["object"].map({o: i for i, o in enumerate(OBJECTS)})
        d["_k"] = d["loss"].map(order)
        return d.sort_values(["_o", "_k"] + by, kind="stable").drop(columns=["_o", "_k"]).reset_index(drop=True)

    return SurveyResult(a.config, merge([a.curves, b.curves], ["level"]), merge([a.verdicts, b.verdicts], []),
                        a.masks, a.predictions, a.device)


def survey_full(config: tuple, progress: Progress = None) -> SurveyResult:
    """The survey's 26 losses with default parameters (curves, verdicts at :data:`BASE_TOLERANCE`,
    masks and the level stacks)."""
    return _survey_part(config, SURVEY_KEYS, progress)


def survey_recent(config: tuple, progress: Progress = None) -> SurveyResult:
    """The losses published after the survey (:data:`RECENT_KEYS`), same protocol."""
    return _survey_part(config, RECENT_KEYS, progress)


def survey_for(config: tuple, keys, label: str) -> SurveyResult:
    """The survey for the losses ``keys`` need: the 26 always, the later ones when one is among
    ``keys``; each part with a progress bar when it is not cached yet."""
    res = with_progress("survey", config, survey_full, label)
    if any(k in RECENT_KEYS for k in keys):
        res = _merge(res, with_progress("survey_recent", config, survey_recent,
                                        f"Adding the {len(RECENT_KEYS)} losses published since the survey"))
    return res


def survey_if_cached(config: tuple, keys) -> SurveyResult | None:
    """The survey for ``keys`` if every part it needs is cached, else None (nothing computed)."""
    if not is_cached("survey", config):
        return None
    res = survey_full(config)
    if any(k in RECENT_KEYS for k in keys):
        if not is_cached("survey_recent", config):
            return res
        res = _merge(res, survey_recent(config))
    return res


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


def verdicts_at(config: tuple, tol: float, res: SurveyResult) -> pd.DataFrame:
    """The verdicts of the survey result ``res`` (configuration ``config``: the survey's 26 losses,
    or with the later ones too, so the losses are part of the key) at tolerance ``tol``: the ones it
    was computed with at its own tolerance, else cached :func:`verdicts_from_curves`."""
    if tol == res.config.tolerance:
        return res.verdicts
    return _verdicts_at(config, tol, tuple(dict.fromkeys(res.curves["loss"])), res.curves)


@st.cache_data(max_entries=64, show_spinner=False)
def _verdicts_at(config: tuple, tol: float, losses: tuple, _curves: pd.DataFrame) -> pd.DataFrame:
    return verdicts_from_curves(_curves, tol)


#: Losses the level player shows by default (the survey's two, CE, and the Dice family's main three).
PLAYER_DEFAULT = ("focal", "combo", "bce", "dice", "jaccard", "tversky")


def thumbnail_levels(levels: int, wanted=(0, 5, 10, 20, 40)) -> list[int]:
    """The levels to show as thumbnails: ``wanted`` where they exist, else five spread levels."""
    ks = [k for k in wanted if k < levels]
    if len(ks) < 4:
        ks = sorted({int(round(x)) for x in np.linspace(0, levels - 1, min(5, levels))})
    return ks


def crop_box(masks: list[np.ndarray], margin: int | None = 6, min_side: int = 24) -> tuple[slice, slice]:
    """A square-ish box around every True pixel of ``masks`` (plus ``margin``), so that a small
    object and its errors stay visible in a thumbnail. ``margin=None``: a tenth of the object's
    extent, at least 2 px (the object then fills ~80 % of the panel)."""
    any_ = np.zeros_like(np.asarray(masks[0], bool))
    for m in masks:
        any_ |= np.asarray(m) > 0.5
    H, W = any_.shape
    if not any_.any():
        return slice(0, H), slice(0, W)
    rows, cols = np.flatnonzero(any_.any(1)), np.flatnonzero(any_.any(0))
    cy, cx = (rows[0] + rows[-1]) / 2, (cols[0] + cols[-1]) / 2
    extent = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    if margin is None:
        margin = max(2, int(math.ceil(0.1 * extent)))
    half = max(extent - 1, min_side) / 2 + margin
    y0, y1 = int(max(0, math.floor(cy - half))), int(min(H, math.ceil(cy + half) + 1))
    x0, x1 = int(max(0, math.floor(cx - half))), int(min(W, math.ceil(cx + half) + 1))
    return slice(y0, y1), slice(x0, x1)


def zoom_note(box: tuple[slice, slice], shape: tuple[int, int]) -> str:
    """What a crop shows, in words: the rows and columns and the enlargement (panel vs image)."""
    (ys, xs), (H, W) = box, shape
    h, w = ys.stop - ys.start, xs.stop - xs.start
    if (h, w) == (H, W):
        return f"Whole image ({H}×{W} px)."
    return (f"Zoomed to the object: rows {ys.start}–{ys.stop - 1}, columns {xs.start}–{xs.stop - 1} "
            f"({h}×{w} px of the {H}×{W} image, about ×{max(H / h, W / w):.0f}).")


# ------------------------------------------------------------------------------------------------
# Tune
# ------------------------------------------------------------------------------------------------
def axis_values(key: str, name: str, n: int) -> list[float]:
    """``n`` grid values spanning a parameter's registry range (log-spaced for log parameters)."""
    p = get(key).param(name)
    if not p.numeric:
        raise ValueError(f"{key}.{name} is not numeric")
    vals = np.geomspace(p.low, p.high, n) if p.log else np.linspace(p.low, p.high, n)
    return [float(f"{v:.4g}") for v in vals]


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
