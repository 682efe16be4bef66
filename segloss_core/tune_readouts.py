"""Reading a Tune grid (:class:`segloss_core.tuning.TuneGrid`): terms switched off, parameters
without effect, where a parameter acts, and the recommended cell.

* :func:`switched_off` names a parameter value at which a loss's term vanishes (the registry's
  ``off_at``), :func:`degenerate` marks such cells of a grid;
* :func:`inert_axes` lists the grid's parameters that do not change the quantity (within ``rtol``),
  and :func:`where_it_acts` tries the small :data:`PROBE_SETUPS` to find a setup where one does;
* :func:`recommend` picks the cell closest to a target (never a degenerate one) and says why.

Every statement the Tune page makes about a parameter's effect comes from these functions, applied
to the grid it shows.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .registry import get
from .tuning import QUANTITIES, RATIO_QUANTITIES, TuneGrid, TuneSetup, evaluate

def switched_off(key: str, name: str, value: float) -> str | None:
    """Why ``name = value`` switches a term of loss ``key`` off (registry ``Param.off_at``), or None."""
    p = get(key).param(name)
    for v in p.off_at:
        if math.isclose(float(value), v, rel_tol=1e-9, abs_tol=1e-12):
            return f"{name} = {v:g}: {p.off_note}"
    return None


def degenerate(grid: TuneGrid) -> np.ndarray:
    """``(ny, nx)`` bool: cells where some parameter switches a term of the loss off."""
    ny, nx = grid.q.shape
    out = np.zeros((ny, nx), bool)
    for ix, xv in enumerate(grid.xs):
        if switched_off(grid.key, grid.x, xv):
            out[:, ix] = True
    for iy, yv in enumerate(grid.ys or []):
        if switched_off(grid.key, grid.y, yv):
            out[iy, :] = True
    return out


def inert_axes(grid: TuneGrid, rtol: float = 1e-6) -> list[str]:
    """The grid's parameters along which the quantity does not change within float precision."""
    q = grid.q
    fin = np.isfinite(q)
    if not fin.any():
        return []
    scale = max(float(np.abs(q[fin]).max()), 1e-30)
    out = []
    for name, axis in ((grid.x, 1), (grid.y, 0)):
        if name is None or q.shape[axis] < 2:
            continue
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: nothing to compare there
            spread = np.nanmax(q, axis=axis) - np.nanmin(q, axis=axis)
        if np.all(~np.isfinite(spread) | (spread <= rtol * scale)):
            out.append(name)
    return out


@dataclass
class Recommendation:
    cell: tuple[int, int] | None  # (iy, ix)
    params: dict[str, float]
    value: float
    reason: str
    runners_up: list[tuple[dict[str, float], float]]
    excluded: int  # cells left out because they switch a term off


def recommend(grid: TuneGrid, target: float | None = None, n_runners: int = 3) -> Recommendation:
    """The best cell: the ratio closest to ``target`` (in log terms) for ratio quantities, the
    largest slope or smallest step otherwise; never a cell that switches a term off; None when
    no cell qualifies (``value`` has no best)."""
    q = grid.q
    off = degenerate(grid)
    if grid.quantity == "value":
        return Recommendation(None, {}, float("nan"), "A loss value is not better for being larger or smaller; "
                              "pick a ratio or a slope to get a recommendation.", [], int(off.sum()))
    ok = np.isfinite(q) & ~off
    if grid.quantity in RATIO_QUANTITIES:
        t = float(target if target is not None else 1.0)
        if not t > 0:
            raise ValueError(f"the target ratio must be > 0; got {target}")
        ok &= q > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            score = -np.abs(np.log(np.where(ok, q, 1.0) / t))
        goal = f"closest to the target {t:g}"
    else:
        score = q.copy()
        goal = "largest"
    score = np.where(ok, score, -np.inf)
    if not np.isfinite(score).any():
        return Recommendation(None, {}, float("nan"), "No cell qualifies: every finite cell switches a term off.",
                              [], int(off.sum()))
    order = np.argsort(-score, axis=None, kind="stable")
    order = [np.unravel_index(int(i), q.shape) for i in order if np.isfinite(score.flat[int(i)])]

    def params(iy, ix):
        d = {grid.x: grid.xs[ix]}
        if grid.y:
            d[grid.y] = grid.ys[iy]
        return d

    iy, ix = order[0]
    label = QUANTITIES[grid.quantity][0]
    reason = (f"{label} {goal}: {q[iy, ix]:.3g} at " + ", ".join(f"{k} = {v:g}" for k, v in params(iy, ix).items())
              + (f". {int(off.sum())} cells where a parameter switches a term off were left out." if off.any() else "."))
    if grid.quantity in RATIO_QUANTITIES and abs(math.log(q[iy, ix] / t)) > math.log(1.25):
        lo, hi = float(np.nanmin(np.where(ok, q, np.nan))), float(np.nanmax(np.where(ok, q, np.nan)))
        reason += (f" The target {t:g} is not reached on this grid (its ratios span {lo:.3g} to {hi:.3g}); "
                   "another protocol, object or parameter range may reach it.")
    runners = [(params(a, b), float(q[a, b])) for a, b in order[1:1 + n_runners]]
    return Recommendation((int(iy), int(ix)), params(iy, ix), float(q[iy, ix]), reason, runners, int(off.sum()))


#: Setups tried, in order, to find where a parameter acts (small images: a quick 1-D sweep).
PROBE_SETUPS = (
    ("survey protocol, two values", dict(protocol="survey")),
    ("FN and FP at 3:1, two values", dict(protocol="ratio", fp_per_fn=3.0)),
    ("FN only, two values", dict(protocol="fn_only")),
    ("survey protocol, distance profile", dict(protocol="survey", profile="distance")),
    ("FN and FP at 3:1, distance profile", dict(protocol="ratio", fp_per_fn=3.0, profile="distance")),
    ("two touching disks, survey protocol", dict(obj="touching", radius=8.0, protocol="survey", delta=4)),
    ("two touching disks, distance profile", dict(obj="touching", radius=8.0, protocol="survey", delta=4,
                                                  profile="distance")),
)


def where_it_acts(key: str, name: str, quantity: str, base: dict[str, Any] | None = None, *, size: int = 96,
                  levels: int = 9, level: int = 3, n: int = 5, first_only: bool = True) -> list[str]:
    """The :data:`PROBE_SETUPS` (labels) under which ``name`` changes ``quantity`` of loss ``key``."""
    p = get(key).param(name)
    lo, hi = p.low, p.high
    vals = list(np.geomspace(lo, hi, n) if p.log else np.linspace(lo, hi, n))
    vals = [v for v in vals if not switched_off(key, name, v)] or vals
    out = []
    for label, kw in PROBE_SETUPS:
        setup = TuneSetup(**{"obj": "disk", "size": size, "radius": 10.0, "levels": levels, "delta": 8, **kw})
        try:
            g = evaluate(key, quantity, setup, name, vals, base=base, level=level)
        except ValueError:
            continue
        if not inert_axes(g) and np.isfinite(g.q).sum() >= 2:
            out.append(label)
            if first_only:
                break
    return out
