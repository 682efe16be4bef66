"""Does a loss rise with the error? Monotonicity of a value-vs-level curve, with its robustness.

A curve ``v_0 .. v_K`` has ``K`` steps ``s_k = v_{k+1} - v_k`` and range ``R = max v - min v``.
The verdict at tolerance ``t`` (relative to the range, SURVEY.md):

* ``"falls"``: some step is negative beyond float precision (the loss goes down as the error grows);
* ``"flat"``: no step falls, but some step is exactly zero within float precision (the loss does not
  see that added error at all), or the whole curve is constant;
* ``"saturates"``: every step is positive, but some step rises by no more than ``t · R`` (it rises
  numerically, by too little to count at this tolerance);
* ``"rises"``: every step rises by more than ``t · R``.

"Exactly zero within float precision" means ``|s_k| <= FLOAT_RTOL · max |v|``: the curves are
computed in float32 (about 7 significant digits), so smaller differences are rounding.

Only ``"rises"`` vs ``"saturates"`` depends on the tolerance, and it flips at one value:
``flip_tolerance = min_k s_k / R``. Below it the curve rises, from it on it saturates.
``min_step_rel = min_k s_k / (R / K)`` compares the smallest step with an even rise (1 for a
straight line, near 0 for a curve that barely moves at some step, negative when it falls).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import kendalltau

#: The verdict words, from best to worst.
VERDICTS = ("rises", "saturates", "flat", "falls")
#: A step with ``|step| <= FLOAT_RTOL * max|v|`` is zero within float32 precision.
FLOAT_RTOL = 1e-6


@dataclass(frozen=True)
class Monotonicity:
    verdict: str  # one of VERDICTS, at the tolerance asked for
    violations: int  # steps that do not rise by more than the tolerance
    kendall_tau: float
    first_violation: int | None  # level index k where step k -> k+1 first fails
    min_step_rel: float  # smallest step / (range / number of steps); 0 for a constant curve
    flip_tolerance: float | None  # rises below it, saturates from it on; None when no tolerance changes the verdict
    max_fall_rel: float  # largest decrease relative to the range (0 when none)
    tolerance: float

    @property
    def monotone(self) -> bool:
        """Rises at every step by more than the tolerance (the survey's "increases monotonically")."""
        return self.verdict == "rises"

    def at(self, tol: float) -> str:
        """The verdict at another tolerance (no recomputation)."""
        return verdict_at(self.verdict, self.flip_tolerance, tol)


def verdict_at(verdict: str, flip_tolerance: float | None, tol) -> str | np.ndarray:
    """Verdict of a curve at tolerance(s) ``tol``, from its verdict and flip tolerance alone."""
    if np.ndim(tol) == 0:
        return verdict if flip_tolerance is None else ("rises" if tol < flip_tolerance else "saturates")
    if flip_tolerance is None:
        return np.full(np.shape(tol), verdict, dtype=object)
    return np.where(np.asarray(tol, dtype=np.float64) < flip_tolerance, "rises", "saturates").astype(object)


def analyze(values, tol: float = 1e-3) -> Monotonicity:
    """Monotonicity of ``values`` (ordered by level). ``tol`` is relative to the curve's range."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size < 2:
        raise ValueError("a monotonicity analysis needs a 1-D curve of at least two levels")
    if not np.isfinite(v).all():
        raise ValueError("curve contains NaN or infinite values")
    if not 0 <= tol < 1:
        raise ValueError(f"tolerance must be in [0, 1); got {tol}")
    steps = np.diff(v)
    span = float(v.max() - v.min())
    zero = FLOAT_RTOL * float(np.abs(v).max())
    if span <= zero:  # constant within float precision
        return Monotonicity("flat", steps.size, 0.0, 0, 0.0, None, 0.0, tol)
    tau = kendalltau(np.arange(v.size), v).statistic
    tau = float(tau) if np.isfinite(tau) else 0.0
    min_step = float(steps.min())
    falls, flats = steps < -zero, np.abs(steps) <= zero
    bad = steps <= tol * span
    first = int(np.argmax(bad)) if bad.any() else None
    max_fall = float(max(0.0, -min_step) / span)
    if falls.any():
        verdict, flip = "falls", None
    elif flats.any():
        verdict, flip = "flat", None
    else:
        flip = min_step / span
        verdict = "rises" if tol < flip else "saturates"
    return Monotonicity(verdict, int(bad.sum()), tau, first, min_step / (span / steps.size), flip, max_fall, tol)


def normalize(values) -> np.ndarray:
    """Min-max normalization to [0, 1]; a constant curve maps to 0."""
    v = np.asarray(values, dtype=np.float64)
    span = v.max() - v.min()
    return (v - v.min()) / span if span > 0 else np.zeros_like(v)
