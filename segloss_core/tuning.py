"""Tuning a loss's parameters: error protocols that let each parameter act, the quantities a
researcher asks about, and recommendations that never switch a term off.

The survey protocol (each level adds as many FP as FN pixels, two probability values c and 1-c)
hides most parameters: the focal FN/FP gradient ratio cannot depend on γ when every wrong pixel has
the same p_t, and Tversky's FP/FN trade-off never shows when FP = FN. This module offers

* **protocols** (:data:`PROTOCOLS`): FN and FP together (the survey's), FN only, FP only, and FP at a
  chosen multiple of FN; each level ``k`` adds ``k·Δ`` FN and/or FP pixels, exact counts
  (:func:`segloss_core.perturb.error_ladder`);
* **confidence profiles** (:data:`PROFILES`): two values ``c / 1-c``; *distance*: the confidence
  grows with the distance ``d`` to the predicted boundary, ``z = ±logit(c)·min(1, d/spread)`` (hard
  pixels near the boundary, easy ones far away); *noise*: ``z = ±logit(c) + spread·n`` with ``n``
  standard normal, quantized to steps of 1/16 (seeded); *blur*: the two-valued map blurred with
  ``σ = spread`` and rounded to multiples of 2⁻¹⁰. The rounding keeps the number of distinct pixel
  values small, so every grid stays exact *and* batched (:func:`segloss_core.sweep.param_grid`
  evaluates distinct (z, g) pairs); it is part of the prediction, stated, not an approximation of it;
* **objects** (:data:`OBJECTS`): the survey's small and large disks, a disk of any radius, two
  disks 2 px apart (the U-Net border term needs two objects), or a given ground truth (the
  Playground's).

Quantities (:data:`QUANTITIES`), all effect sizes (ratios or slopes relative to the curve), none a
saturated score: the FN/FP *cost ratio* (loss increase per added FN pixel over per added FP pixel),
the FN/FP *gradient ratio*, the *hard/easy* gradient ratio (wrong pixels over right pixels), the local
*slope* relative to the curve's mean slope, and the *smallest step* relative to an even rise.

:mod:`segloss_core.tune_readouts` reads a grid: ``recommend`` picks the cell closest to a target (a
ratio) or the largest (a slope), never one where a parameter switches a term of the loss off
(registry ``Param.off_at``), and says why, with the runner-ups; ``inert_axes`` finds a parameter that
does nothing under the chosen protocol, and ``where_it_acts`` the setups under which it does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from .registry import get

PROTOCOLS = {
    "survey": "FN and FP together (k·Δ each, the survey's)",
    "fn_only": "false negatives only (k·Δ missed pixels)",
    "fp_only": "false positives only (k·Δ added pixels)",
    "ratio": "FN and FP at a chosen ratio (k·Δ FN, r·k·Δ FP)",
}
PROFILES = {
    "two_valued": "two values: c inside, 1 - c outside",
    "distance": "confidence grows with the distance to the predicted boundary (hard pixels at the edge)",
    "noise": "noisy logits: ±logit(c) plus Gaussian noise",
    "blur": "blurred: the two-valued map smoothed at the edges",
}
OBJECTS = {
    "small": "the survey's small disk (r = 6 px)",
    "large": "the survey's large disk (r = 60 px)",
    "disk": "a disk of the chosen radius",
    "touching": "two disks of the chosen radius, 2 px apart",
    "given": "a given ground truth (the Playground's)",
}
QUANTITIES = {
    "cost_ratio": ("FN/FP cost ratio", "How much more the loss rises for one more missed pixel than for one more false "
                   "alarm, at level k (1 = equal cost; 3 = an FN costs three FPs)."),
    "grad_ratio": ("FN/FP gradient ratio", "Mean |∂L/∂z| on the missed pixels over the mean on the false alarms, at "
                   "level k: how hard the loss pushes on each kind of error."),
    "hard_easy": ("hard/easy gradient ratio", "Mean |∂L/∂z| on the wrong pixels over the mean on the right ones, at "
                  "level k: how strongly hard pixels are weighted against easy ones (focal's γ raises it)."),
    "slope": ("slope at k ÷ mean slope", "The loss's rise from level k to k + 1 relative to its average rise per "
              "level: ≈1 it still notices more error there, ≈0 it has saturated."),
    "min_step": ("smallest step ÷ even rise", "The smallest rise over the whole curve relative to an even rise: "
                 "> 0 rises at every step (how robustly), 0 flat somewhere, < 0 falls somewhere."),
    "value": ("loss value at k", "The loss itself at level k (for reading off, not for choosing: a larger loss is "
              "not a better one)."),
}
#: Quantities that are ratios to aim at a target; the others are better when larger.
RATIO_QUANTITIES = ("cost_ratio", "grad_ratio", "hard_easy")
GRADIENT_QUANTITIES = ("grad_ratio", "hard_easy")


@dataclass(frozen=True)
class TuneSetup:
    """Everything that makes the predictions a tuning grid is evaluated on."""

    obj: str = "small"
    size: int = 256
    radius: float = 6.0  # "disk" and "touching"
    protocol: str = "survey"
    delta: int = 20
    fp_per_fn: float = 3.0  # "ratio": FP pixels per FN pixel
    levels: int = 41
    confidence: float = 0.99
    profile: str = "two_valued"
    spread: float = 4.0  # distance scale / noise std (logit units) / blur σ (px)
    seed: int = 0
    from_pair: bool = False  # "given": level 0 is the given prediction, not the ground truth

    def validate(self) -> "TuneSetup":
        if self.obj not in OBJECTS:
            raise ValueError(f"object must be one of {', '.join(OBJECTS)}; got {self.obj!r}")
        if self.from_pair and self.obj != "given":
            raise ValueError("starting from a given prediction needs the given ground truth (object 'given')")
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}; got {self.protocol!r}")
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {self.profile!r}")
        if not 32 <= self.size <= 1024:
            raise ValueError(f"image size must be in [32, 1024]; got {self.size}")
        r_max = 0.22 * self.size if self.obj == "touching" else 0.45 * self.size  # two disks must fit side by side
        if not 1 <= self.radius <= r_max:
            raise ValueError(f"radius must be in [1, {r_max:g}] px for this object and image size; got {self.radius}")
        if not 1 <= self.delta <= 10_000:
            raise ValueError(f"Δ must be in [1, 10000] pixels; got {self.delta}")
        if not 0.05 <= self.fp_per_fn <= 20:
            raise ValueError(f"FP per FN must be in [0.05, 20]; got {self.fp_per_fn}")
        if not 3 <= self.levels <= 201:
            raise ValueError(f"levels must be in [3, 201]; got {self.levels}")
        if not 0.5 < self.confidence <= 1:
            raise ValueError(f"confidence must be in (0.5, 1]; got {self.confidence}")
        if not 0.25 <= self.spread <= 50:
            raise ValueError(f"spread must be in [0.25, 50]; got {self.spread}")
        return self

    def describe(self) -> str:
        err = {"survey": f"k·{self.delta} FN and k·{self.delta} FP pixels",
               "fn_only": f"k·{self.delta} FN pixels, no FP", "fp_only": f"k·{self.delta} FP pixels, no FN",
               "ratio": f"k·{self.delta} FN and {self.fp_per_fn:g}·k·{self.delta} FP pixels"}[self.protocol]
        prof = {"two_valued": f"p = {self.confidence:g} / {1 - self.confidence:.3g}",
                "distance": f"confidence {self.confidence:g} reached {self.spread:g} px from the boundary",
                "noise": f"logit noise σ = {self.spread:g}", "blur": f"blur σ = {self.spread:g} px"}[self.profile]
        start = " added to the Playground's prediction" if self.from_pair else ""
        return f"level k: {err}{start}, k = 0…{self.levels - 1}; {prof}"


# ------------------------------------------------------------------------------------------------
# Ground truths and predictions
# ------------------------------------------------------------------------------------------------
def ground_truth(setup: TuneSetup, given: np.ndarray | None = None) -> np.ndarray:
    """The object(s) of ``setup`` as a bool mask (``given`` for ``obj="given"``)."""
    from .masks import make_shape
    s = setup
    if s.obj == "given":
        if given is None:
            raise ValueError("no ground truth was given (draw or generate one on the Playground first)")
        g = np.asarray(given).astype(bool)
        if g.ndim != 2 or not g.any():
            raise ValueError("the given ground truth must be a non-empty 2-D mask")
        return g
    if s.obj in ("small", "large"):
        return make_shape("disk", size=s.size, radius=6.0 if s.obj == "small" else 60.0)
    if s.obj == "disk":
        return make_shape("disk", size=s.size, radius=s.radius)
    yy, xx = np.mgrid[:s.size, :s.size]
    c, r = (s.size - 1) / 2, s.radius
    off = r + 1.5  # centres 2r + 3 apart: a gap of 2 px between the disks
    return (((yy - c) ** 2 + (xx - c + off) ** 2 <= r * r) | ((yy - c) ** 2 + (xx - c - off) ** 2 <= r * r))


def _fn_fp_counts(setup: TuneSetup, ks) -> tuple[list[int], list[int]]:
    ks = np.asarray(ks, dtype=np.int64)
    d = setup.delta
    fn = ks * d if setup.protocol != "fp_only" else np.zeros_like(ks)
    fp = {"survey": ks * d, "fn_only": np.zeros_like(ks), "fp_only": ks * d,
          "ratio": np.round(ks * d * setup.fp_per_fn).astype(np.int64)}[setup.protocol]
    return [int(v) for v in fn], [int(v) for v in fp]


def apply_profile(masks: np.ndarray, setup: TuneSetup) -> np.ndarray:
    """Probabilities ``(L, H, W)`` float32 for hard predictions ``masks`` under the setup's profile."""
    from scipy import ndimage as ndi

    from .perturb import soften
    s = setup
    if s.profile == "two_valued":
        return soften(masks, confidence=s.confidence, dtype=np.float32)
    if s.profile == "blur":
        p = soften(masks, confidence=s.confidence, blur_sigma=s.spread)
        return (np.round(p * 1024) / 1024).clip(1 - s.confidence, s.confidence).astype(np.float32)
    c = min(s.confidence, 1 - 1e-6)  # a finite logit to scale
    zc = math.log(c / (1 - c))
    sign = np.where(masks, 1.0, -1.0)
    if s.profile == "distance":
        out = np.empty(masks.shape, dtype=np.float32)
        for k, m in enumerate(masks):
            d = np.where(m, ndi.distance_transform_edt(m), ndi.distance_transform_edt(~m))  # ≥ 1 on both sides
            z = sign[k] * zc * np.minimum(1.0, d / s.spread)
            out[k] = 1 / (1 + np.exp(-z))
        return out
    if s.profile == "noise":
        rng = np.random.default_rng([s.seed, 7])
        n = np.round(rng.standard_normal(masks.shape[1:]) * 16) / 16  # one noise field for every level
        z = sign * zc + s.spread * n[None]
        return (1 / (1 + np.exp(-z))).astype(np.float32)
    raise ValueError(f"unknown profile {s.profile!r}")


def _masks(gt, setup: TuneSetup, fn, fp, start):
    from .perturb import error_ladder, error_ladder_from
    if setup.from_pair:
        if start is None:
            raise ValueError("no prediction was given to start from (make one on the Playground first)")
        return error_ladder_from(gt, start, fn, fp, seed=setup.seed)
    return error_ladder(gt, fn, fp, seed=setup.seed)


def ladder(gt: np.ndarray, setup: TuneSetup, start: np.ndarray | None = None) -> tuple[np.ndarray, list[dict[str, int]]]:
    """The setup's predictions ``(L, H, W)`` and the exact counts of their hard masks; with
    ``setup.from_pair`` level 0 is the hard prediction ``start`` and the errors are added to it."""
    fn, fp = _fn_fp_counts(setup, range(setup.levels))
    masks, counts = _masks(gt, setup, fn, fp, start)
    return apply_profile(masks, setup), counts


def probe(gt: np.ndarray, setup: TuneSetup, level: int, start: np.ndarray | None = None):
    """Three predictions around ``level``: as it is, with Δ more FN pixels, with Δ more FP pixels
    (for the cost ratio). Same orderings as :func:`ladder`, so the first one is ``ladder()[level]``."""
    fn, fp = _fn_fp_counts(setup, [level])
    d = setup.delta
    masks, counts = _masks(gt, setup, [fn[0], fn[0] + d, fn[0]], [fp[0], fp[0], fp[0] + d], start)
    return apply_profile(masks, setup), counts


# ------------------------------------------------------------------------------------------------
# Quantities over a parameter grid
# ------------------------------------------------------------------------------------------------
@dataclass
class TuneGrid:
    """One quantity over a 1-D or 2-D parameter grid (``ny = 1`` for 1-D)."""

    key: str
    quantity: str
    x: str
    xs: list[float]
    y: str | None
    ys: list[float] | None
    q: np.ndarray  # (ny, nx)
    curves: np.ndarray | None  # (ny, nx, L) values over the levels, for the level-based quantities
    note: str = ""


def _grid_values(gt, preds, key, x, xs, y, ys, fixed, maps=None) -> np.ndarray:
    """Values ``(ny, nx, L)`` in float64: the cost ratio and the slopes are differences of nearby
    values, which float32 would leave with ~1e-6 relative noise."""
    import torch

    from .sweep import param_grid
    v = param_grid(gt, preds, key, {y: list(ys), x: list(xs)} if y else {x: list(xs)}, fixed, maps=maps,
                   dtype=torch.float64)
    return v if y else v[None]


def _step_quantities(values: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
    """(slope at ``level`` ÷ mean slope, smallest step ÷ even rise) of every curve ``(..., L)``."""
    steps = np.diff(values, axis=-1)
    span = values.max(-1) - values.min(-1)
    even = span / steps.shape[-1]
    ok = span > 1e-6 * np.abs(values).max(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(ok, steps[..., min(level, steps.shape[-1] - 1)] / even, 0.0)
        min_step = np.where(ok, steps.min(-1) / even, 0.0)
    return slope, min_step


def _gradient_ratios(gt, pred, key, params: dict) -> tuple[float, float]:
    """(FN/FP, wrong/right) mean |∂L/∂z| for one prediction and one parameter setting."""
    import torch

    from .sweep import run_sweep
    r = run_sweep(gt, pred[None], [key], {key: params}, dtype=torch.float64)
    m, n = r.region_grad[key], r.region_count
    g = {k: float(m[k][0]) for k in m}
    c = {k: float(n[k][0]) for k in n}
    fnfp = g["fn"] / g["fp"] if c["fn"] and c["fp"] and g["fp"] > 0 else float("nan")
    wrong = (g["fp"] * c["fp"] + g["fn"] * c["fn"]) / max(c["fp"] + c["fn"], 1)
    right = (g["tp"] * c["tp"] + g["tn"] * c["tn"]) / max(c["tp"] + c["tn"], 1)
    hard = wrong / right if c["fp"] + c["fn"] and right > 0 else float("nan")
    return fnfp, hard


def evaluate(key: str, quantity: str, setup: TuneSetup, x: str, xs, y: str | None = None, ys=None,
             base: dict[str, Any] | None = None, level: int = 10, *, given: np.ndarray | None = None,
             given_pred: np.ndarray | None = None, progress: Callable[[float, str], None] | None = None) -> TuneGrid:
    """``quantity`` of loss ``key`` over the grid ``x × y`` (other parameters from ``base``)."""
    if quantity not in QUANTITIES:
        raise ValueError(f"quantity must be one of {', '.join(QUANTITIES)}; got {quantity!r}")
    spec = get(key)
    setup = setup.validate()
    if not 0 <= level < setup.levels - 1:
        raise ValueError(f"level must be in [0, {setup.levels - 2}]; got {level}")
    names = [x] + ([y] if y else [])
    for n in names:
        if not spec.param(n).numeric:
            raise ValueError(f"{key}.{n} is not a numeric parameter")
    fixed = {k: v for k, v in (base or {}).items() if k not in names}
    gt = ground_truth(setup, given)
    xs, ys = [float(v) for v in xs], ([float(v) for v in ys] if y else None)
    note, curves = "", None
    if quantity in ("value", "slope", "min_step"):
        preds, _ = ladder(gt, setup, given_pred)
        curves = _grid_values(gt, preds, key, x, xs, y, ys, fixed)
        if quantity == "value":
            q = curves[..., level]
        else:
            slope, min_step = _step_quantities(curves, level)
            q = slope if quantity == "slope" else min_step
    elif quantity == "cost_ratio":
        preds, counts = probe(gt, setup, level, given_pred)
        v = _grid_values(gt, preds, key, x, xs, y, ys, fixed)
        added_fn = counts[1]["fn"] - counts[0]["fn"]
        added_fp = counts[2]["fp"] - counts[0]["fp"]
        if not added_fn or not added_fp:
            raise ValueError(f"at level {level} there is no object pixel left to miss or no background pixel left "
                             "to add, so the cost ratio is undefined; pick a lower level")
        d_fn, d_fp = (v[..., 1] - v[..., 0]) / added_fn, (v[..., 2] - v[..., 0]) / added_fp
        tiny = 1e-7 * np.maximum(np.abs(v).max(-1), 1e-30)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where((d_fp > tiny / added_fp), d_fn / d_fp, np.nan)
        if np.isnan(q).any():
            note = ("Grey cells: one more false positive does not raise the loss there (its cost is ≤ 0 within "
                    "float precision), so the ratio is undefined.")
    else:
        preds, _ = ladder(gt, setup, given_pred)
        pred = preds[level]
        q = np.full((len(ys) if y else 1, len(xs)), np.nan)
        n = q.size
        for i in range(n):
            iy, ix = divmod(i, len(xs))
            p = {**fixed, x: xs[ix], **({y: ys[iy]} if y else {})}
            fnfp, hard = _gradient_ratios(gt, pred, key, p)
            q[iy, ix] = fnfp if quantity == "grad_ratio" else hard
            if progress:
                progress((i + 1) / n, f"gradient pass {i + 1} of {n}")
        if np.isnan(q).any():
            note = "Grey cells: the level has no pixel of one of the two kinds, or no gradient on it."
    return TuneGrid(key, quantity, x, xs, y, ys, np.asarray(q, dtype=np.float64), curves, note)


def with_setup(setup: TuneSetup, **changes) -> TuneSetup:
    return replace(setup, **changes).validate()


# ------------------------------------------------------------------------------------------------
# One parameter setting: its curve and every quantity (for pin-and-compare)
# ------------------------------------------------------------------------------------------------
def _direct_values(gt: np.ndarray, preds: np.ndarray, key: str, params: dict[str, Any]) -> np.ndarray:
    """Loss values of one setting on every prediction, float64, no gradient."""
    import torch

    from .distance import TargetMaps
    from .tensors import logits_from_probs

    spec = get(key)
    target = torch.as_tensor(np.asarray(gt, bool), dtype=torch.float64)[None, None]
    maps = TargetMaps(target) if spec.needs_maps else None
    out = []
    with torch.no_grad():
        for s in range(0, preds.shape[0], 32):
            z = logits_from_probs(torch.as_tensor(np.asarray(preds[s:s + 32]), dtype=torch.float64)[:, None])
            out.append(spec(z, target, maps=maps, **params).numpy())
    return np.concatenate(out)


def curve(key: str, setup: TuneSetup, params: dict[str, Any] | None = None, *,
          given: np.ndarray | None = None, given_pred: np.ndarray | None = None) -> tuple[np.ndarray, list[dict[str, int]]]:
    """The loss over the setup's levels for one setting, with the level counts."""
    setup = setup.validate()
    gt = ground_truth(setup, given)
    preds, counts = ladder(gt, setup, given_pred)
    return _direct_values(gt, preds, key, get(key).resolve(params)), counts


def summary(key: str, setup: TuneSetup, params: dict[str, Any] | None = None, level: int = 10, *,
            given: np.ndarray | None = None, given_pred: np.ndarray | None = None,
            tolerance: float = 1e-3) -> dict[str, Any]:
    """Every quantity of :data:`QUANTITIES` for one setting at ``level``, plus the monotonicity
    verdict of its curve and its flip tolerance (:mod:`segloss_core.monotonic`)."""
    from .monotonic import analyze
    setup = setup.validate()
    p = get(key).resolve(params)
    gt = ground_truth(setup, given)
    preds, counts = ladder(gt, setup, given_pred)
    v = _direct_values(gt, preds, key, p)
    level = min(max(0, int(level)), setup.levels - 2)
    slope, min_step = _step_quantities(v[None], level)
    pr, pc = probe(gt, setup, level, given_pred)
    pv = _direct_values(gt, pr, key, p)
    add_fn, add_fp = pc[1]["fn"] - pc[0]["fn"], pc[2]["fp"] - pc[0]["fp"]
    d_fn = (pv[1] - pv[0]) / add_fn if add_fn else float("nan")
    d_fp = (pv[2] - pv[0]) / add_fp if add_fp else float("nan")
    tiny = 1e-7 * max(float(np.abs(pv).max()), 1e-30)
    cost = d_fn / d_fp if add_fp and d_fp > tiny / max(add_fp, 1) else float("nan")
    fnfp, hard = _gradient_ratios(gt, preds[level], key, p)
    m = analyze(v, tolerance)
    return {"cost_ratio": float(cost), "grad_ratio": fnfp, "hard_easy": hard, "slope": float(slope[0]),
            "min_step": float(min_step[0]), "value": float(v[level]), "verdict": m.verdict,
            "flip_tolerance": m.flip_tolerance, "curve": v, "counts": counts}


def bench_soft_grid(repeat: int = 3) -> dict[str, float]:
    """``tune_grid_soft_s``: a 25×25 focal (α, γ) grid over the 41 levels of the small survey object
    with the distance profile (a spread of confidences), best of ``repeat``; the smallest-step
    quantity needs every level of every cell."""
    import time
    setup = TuneSetup(profile="distance")
    xs, ys = np.linspace(0, 1, 25), np.linspace(0, 5, 25)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        evaluate("focal", "min_step", setup, "alpha", xs, "gamma", ys, level=10)
        best = min(best, time.perf_counter() - t)
    return {"tune_grid_soft_s": round(best, 4)}
