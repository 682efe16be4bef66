"""Does a loss rise with the error? Monotonicity of a value-vs-level curve (see SURVEY.md).

* ``violations``: the number of steps whose increase is not above the tolerance
  ``tol * (max - min)`` of the curve (a plateau counts as a failure, as does a decrease). A
  constant curve has every step as a violation.
* ``kendall_tau``: Kendall's τ-b between level and value (1 for a strictly rising curve; 0 for
  a constant one, where τ is undefined).
* ``verdict``: ``"rises"`` (no violation), ``"plateaus"`` (violations, but no step falls by more than
  the tolerance), ``"falls"`` (some step decreases by more than the tolerance).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import kendalltau


@dataclass(frozen=True)
class Monotonicity:
    monotone: bool
    violations: int
    kendall_tau: float
    verdict: str
    first_violation: int | None  # level index k where step k -> k+1 first fails


def analyze(values, tol: float = 1e-3) -> Monotonicity:
    """Monotonicity of ``values`` (ordered by level). ``tol`` is relative to the curve's range."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size < 2:
        raise ValueError("a monotonicity analysis needs a 1-D curve of at least two levels")
    if not np.isfinite(v).all():
        raise ValueError("curve contains NaN or infinite values")
    if not 0 <= tol < 1:
        raise ValueError(f"tolerance must be in [0, 1); got {tol}")
    span = float(v.max() - v.min())
    steps = np.diff(v)
    thr = tol * span
    bad = steps <= thr if span > 0 else np.ones_like(steps, dtype=bool)
    n_bad = int(bad.sum())
    if span > 0:
        tau = kendalltau(np.arange(v.size), v).statistic
        tau = 0.0 if not np.isfinite(tau) else float(tau)
    else:
        tau = 0.0
    if n_bad == 0:
        verdict = "rises"
    elif span > 0 and (steps < -thr).any():
        verdict = "falls"
    else:
        verdict = "plateaus"
    first = int(np.argmax(bad)) if n_bad else None
    return Monotonicity(n_bad == 0, n_bad, tau, verdict, first)


def normalize(values) -> np.ndarray:
    """Min-max normalization to [0, 1]; a constant curve maps to 0."""
    v = np.asarray(values, dtype=np.float64)
    span = v.max() - v.min()
    return (v - v.min()) / span if span > 0 else np.zeros_like(v)
