"""Bounds on the work and memory one request can demand.

Every setting a link or a widget accepts is valid on its own; some combinations are not
affordable on a shared 2-core server (``/tune?tune_loss=unet_weighted_ce&tune_res=33`` cost
173 s; 101 blurred survey levels +1.4 GB; a 2048² upload at full resolution 41 s and a chart the
browser could not build). The pages ask this module how much of a request to honour. The rule:
a computation is clamped to what fits :data:`BUDGET_S` seconds (estimated from the measured
costs below) and the page says so in a visible notice; nothing is refused silently.

The cost constants were measured on this project's 2-core CPU machine (torch 2.13, float32,
``python -m segloss_core``'s engine) and are deliberately on the slow side:

* Tune, full-image losses (``reducible`` False): about 100 ms per grid cell for the U-Net weight
  map CE (41 levels x 65 536 px, i.e. ~37 ns per pixel and level), 30-55 ms for the other
  full-image losses; reducible losses run on distinct (z, g) pairs and cost < 0.5 ms a cell
  (33 x 33 in ~0.4 s).
* Large vs small: ~0.02 s and ~10 MB per error level (both objects, all 26 losses) for
  hard-edged predictions; ~0.12 s and ~30 MB per level once the edges are blurred (every pixel
  becomes a distinct probability, nothing left to compress): 41 blurred levels peaked at +1.2 GB,
  101 at +2.3 GB (σ = 5, fresh process).

Also here: what the browser is sent (:func:`shrink_for_display`) and how many bytes a cached
result holds (:func:`nbytes`, used by the byte-bounded caches of ``segloss_app.compute_analysis``).
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Target wall time of one computation on the 2-core machine (seconds).
BUDGET_S = 6.0

#: Seconds per pixel and error level of one full-image loss evaluation on a Tune grid cell.
TUNE_S_PER_PIXEL_LEVEL = {"maps": 40e-9, "full": 15e-9}
#: Seconds per cell of a reducible loss (pixel-compressed batched grid).
TUNE_S_PER_REDUCIBLE_CELL = 0.5e-3

#: Seconds per survey error level (both objects, every loss), hard-edged and blurred predictions.
SURVEY_S_PER_LEVEL = {"hard": 0.02, "blurred": 0.12}
#: Peak memory per survey error level (MB), same two cases.
SURVEY_MB_PER_LEVEL = {"hard": 10, "blurred": 30}
#: Memory one survey may take above the running app (MB): 41 blurred levels, the default count.
SURVEY_BUDGET_MB = 1250
#: Fewest levels a bounded survey keeps (the default protocol has 41).
SURVEY_MIN_LEVELS = 11

#: Largest image side the Playground computes at full resolution (an upload may be 2048 px).
MAX_FULL_SIDE = 1024
#: Most heatmap pixels sent to the browser in one figure (2 M: eight 512 x 512 maps, ~11 MB of JSON).
MAX_SENT_PIXELS = 2 ** 21


@dataclass(frozen=True)
class Bound:
    """What to compute (``value``) and, when that is less than asked, the notice to show."""

    value: int
    notice: str | None = None


# ------------------------------------------------------------------------------------------------
# Tune
# ------------------------------------------------------------------------------------------------
def tune_cost_s(spec, cells: int, levels: int, pixels: int) -> float:
    """Estimated seconds for a Tune grid of ``cells`` cells of loss ``spec`` (a registry
    ``LossSpec``) over ``levels`` levels of ``pixels``-pixel images."""
    if spec.reducible:
        return cells * TUNE_S_PER_REDUCIBLE_CELL
    rate = TUNE_S_PER_PIXEL_LEVEL["maps" if spec.needs_maps else "full"]
    return cells * levels * pixels * rate


def tune_side(spec, side: int, two_d: bool, levels: int, pixels: int, budget_s: float = BUDGET_S) -> Bound:
    """The grid side to compute for a requested ``side`` (``side²`` cells in 2-D, ``side`` in 1-D):
    the largest side not above ``side`` whose estimated cost fits ``budget_s`` (at least 3)."""
    side = int(side)

    def cost(n: int) -> float:
        return tune_cost_s(spec, n * n if two_d else n, levels, pixels)

    if cost(side) <= budget_s:
        return Bound(side)
    n = side
    while n > 3 and cost(n) > budget_s:
        n -= 1
    shape = (lambda k: f"{k}×{k}" if two_d else f"{k} values")
    return Bound(n, f"Grid reduced from {shape(side)} to {shape(n)}: {spec.name} is evaluated on whole images "
                    f"for every cell, and {shape(side)} would take about {_duration(cost(side))} here.")


# ------------------------------------------------------------------------------------------------
# Large vs small (the survey)
# ------------------------------------------------------------------------------------------------
def survey_cost_s(levels: int, blur: float) -> float:
    """Estimated seconds for the full survey with ``levels`` levels and edge blur ``blur``."""
    return levels * SURVEY_S_PER_LEVEL["blurred" if blur > 0 else "hard"]


def survey_memory_mb(levels: int, blur: float) -> float:
    """Estimated peak memory (MB) of the full survey with ``levels`` levels and edge blur ``blur``."""
    return levels * SURVEY_MB_PER_LEVEL["blurred" if blur > 0 else "hard"]


def survey_levels(levels: int, blur: float, budget_s: float = BUDGET_S,
                  budget_mb: float = SURVEY_BUDGET_MB) -> Bound:
    """The number of survey levels to compute for a requested ``levels``: all of them when the
    estimates fit ``budget_s`` and ``budget_mb``, else the most that fit (at least
    :data:`SURVEY_MIN_LEVELS`)."""
    levels = int(levels)
    if survey_cost_s(levels, blur) <= budget_s and survey_memory_mb(levels, blur) <= budget_mb:
        return Bound(levels)
    kind = "blurred" if blur > 0 else "hard"
    n = max(SURVEY_MIN_LEVELS, min(levels, int(budget_s / SURVEY_S_PER_LEVEL[kind]),
                                   int(budget_mb / SURVEY_MB_PER_LEVEL[kind])))
    why = ("with blurred edges every pixel is a distinct probability, so each level costs the full image, and "
           if blur > 0 else "")
    return Bound(n, f"Computed {n} error levels instead of {levels}: {why}{levels} levels would take about "
                    f"{_duration(survey_cost_s(levels, blur))} and {survey_memory_mb(levels, blur) / 1000:.1f} GB "
                    "here." + (" Lower the blur to compute more levels." if blur > 0 else ""))


# ------------------------------------------------------------------------------------------------
# Train (the page is the lead's: it calls train_steps before building its TrainConfig)
# ------------------------------------------------------------------------------------------------
#: Seconds per training step, run and pixel (free logits), and per step, run, pixel and image
#: (tiny network: ``batch`` training + ``n_eval`` held-out images). Measured with eight losses
#: including Hausdorff DT and shape-aware (SciPy every step): 64² net ~0.4 s a step, 128² ~1 s.
TRAIN_S_PER_PIXEL_RUN = {"free": 0.6e-6, "net": 0.35e-6}
#: A training run is cached and draws a progress bar; it may take longer than one plot.
TRAIN_BUDGET_S = 30.0
#: Fewest steps a bounded training keeps.
TRAIN_MIN_STEPS = 10


def train_cost_s(mode: str, size: int, steps: int, runs: int, batch: int = 16, n_eval: int = 8) -> float:
    """Estimated seconds of a Train run: ``steps`` steps of ``runs`` losses on ``size``² images."""
    images = (batch + n_eval) if mode == "net" else 1
    return steps * runs * size * size * images * TRAIN_S_PER_PIXEL_RUN.get(mode, TRAIN_S_PER_PIXEL_RUN["net"])


def train_steps(mode: str, size: int, steps: int, runs: int, batch: int = 16, n_eval: int = 8,
                budget_s: float = TRAIN_BUDGET_S) -> Bound:
    """The number of training steps to run for a requested ``steps``: all of them when the estimate
    fits ``budget_s``, else the most that fit (at least :data:`TRAIN_MIN_STEPS`)."""
    steps = int(steps)
    cost = train_cost_s(mode, size, steps, runs, batch, n_eval)
    if cost <= budget_s:
        return Bound(steps)
    per = cost / steps
    n = max(TRAIN_MIN_STEPS, min(steps, int(budget_s / per)))
    return Bound(n, f"Trained {n} steps instead of {steps}: {runs} losses on {size}×{size} images "
                    f"{'with the tiny network ' if mode == 'net' else ''}for {steps} steps would take about "
                    f"{_duration(cost)} here. Fewer losses or a smaller image allow more steps.")


# ------------------------------------------------------------------------------------------------
# Playground images
# ------------------------------------------------------------------------------------------------
def full_side_notice(shape: tuple[int, int], name: str) -> str | None:
    """The notice for an upload larger than :data:`MAX_FULL_SIDE` computed without the 512-px
    downsampling (it is then downsampled to :data:`MAX_FULL_SIDE`), or None."""
    if max(shape) <= MAX_FULL_SIDE:
        return None
    return (f"{name} is {shape[0]}×{shape[1]} px: full resolution is computed up to {MAX_FULL_SIDE} px per side, "
            f"so it is downsampled to {MAX_FULL_SIDE} px.")


def display_factor(shapes, max_pixels: int = MAX_SENT_PIXELS) -> int:
    """The smallest integer factor ``f`` such that the maps of ``shapes``, each shrunk ``f`` times
    per side, hold at most ``max_pixels`` pixels together."""
    total = sum(int(np.prod(s)) for s in shapes)
    f = 1
    while total / (f * f) > max_pixels:
        f += 1
    return f


def shrink_signed(a: np.ndarray, f: int) -> np.ndarray:
    """``a`` shrunk ``f`` times per side, each ``f``×``f`` block replaced by its value of largest
    magnitude (sign kept), so that isolated peaks stay visible and the colour range is unchanged."""
    a = np.asarray(a)
    if f <= 1:
        return a
    H, W = a.shape
    h, w = -(-H // f), -(-W // f)
    pad = np.zeros((h * f, w * f), a.dtype)
    pad[:H, :W] = a
    blocks = pad.reshape(h, f, w, f).transpose(0, 2, 1, 3).reshape(h, w, f * f)
    idx = np.abs(blocks).argmax(axis=-1)
    return np.take_along_axis(blocks, idx[..., None], axis=-1)[..., 0]


def shrink_for_display(maps: dict[str, np.ndarray], max_pixels: int = MAX_SENT_PIXELS) -> tuple[dict[str, np.ndarray], int]:
    """Per-pixel maps small enough to send to the browser: ``(maps, factor)`` (factor 1: as is)."""
    f = display_factor([np.shape(m) for m in maps.values()], max_pixels)
    return ({k: shrink_signed(m, f) for k, m in maps.items()} if f > 1 else dict(maps)), f


# ------------------------------------------------------------------------------------------------
# Memory of cached results
# ------------------------------------------------------------------------------------------------
def nbytes(obj: Any, _depth: int = 0) -> int:
    """Approximate bytes held by a cached result: NumPy arrays, pandas frames, dataclasses and
    the containers around them (the arrays dominate; small Python objects count their
    ``sys.getsizeof``)."""
    if _depth > 8:
        return sys.getsizeof(obj)
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    try:
        import pandas as pd
        if isinstance(obj, (pd.DataFrame, pd.Series)):
            mem = obj.memory_usage(index=True, deep=True)
            return int(mem.sum() if hasattr(mem, "sum") else mem)
    except ImportError:  # pragma: no cover
        pass
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return sum(nbytes(getattr(obj, f.name), _depth + 1) for f in dataclasses.fields(obj))
    if isinstance(obj, dict):
        return sys.getsizeof(obj) + sum(nbytes(k, _depth + 1) + nbytes(v, _depth + 1) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return sys.getsizeof(obj) + sum(nbytes(v, _depth + 1) for v in obj)
    return sys.getsizeof(obj)


def _duration(s: float) -> str:
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.0f} min"
