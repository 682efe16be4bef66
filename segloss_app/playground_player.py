"""The Playground's level player, "pin A / compare with B" and its computed "what to notice".

**The error level k.** With a perturbed prediction (FN and FP amounts, patterns, shift, seed), level
k of N removes ``round(k·FN/N)`` object pixels and adds ``round(k·FP/N)`` background pixels with the
same patterns, shift and seed, softened with the same confidence and blur: k = 0 is the ground truth
(shifted, when a shift is set), k = N is the prediction the sliders make. Without a shift the ladder
is :func:`segloss_core.perturb.error_ladder` (prefixes of the orderings :func:`~segloss_core.perturb.perturb`
uses, so each level equals ``perturb`` at that level's amounts); with one, ``perturb`` at each level.
The losses are evaluated on the whole ladder in one batched sweep (:func:`segloss_core.sweep.run_sweep`).

**Pin A.** A snapshot of one setting's numbers (every loss's value at the current prediction, the
ladder of the player's losses, the settings that differ from the defaults) kept in the session, so
it stays on screen while another setting is changed (the same idea as Tune's and Large vs small's
"pin A": A dotted, B solid).

Cached calls keyed by plain values (and the ground-truth array); no tensor math in the page.
"""
from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np
import streamlit as st

from segloss_core import perturb as P
from segloss_core.figures_survey import number
from segloss_core.registry import KEYS, REGISTRY

#: The losses on the player's curves by default: two distribution, two region, one boundary, one hinge.
DEFAULT_KEYS = ("bce", "focal", "dice", "tversky", "boundary", "lovasz_hinge")
MAX_KEYS = 8
#: Steps of the player by default (levels k = 0 … N).
STEPS = 10
STEPS_RANGE = (2, 20)
PIN_KEY = "_pg_pin_a"


def level_amounts(fn_px: int, fp_px: int, steps: int) -> tuple[list[int], list[int]]:
    """FN and FP pixels of each level k = 0 … ``steps``: ``round(k·FN/N)``, ``round(k·FP/N)``."""
    n = max(1, int(steps))
    return ([int(round(k * fn_px / n)) for k in range(n + 1)], [int(round(k * fp_px / n)) for k in range(n + 1)])


def ladder(gt: np.ndarray, fn_px: int, fp_px: int, fn_mode: str, fp_mode: str, dy: int, dx: int, seed: int,
           steps: int) -> tuple[np.ndarray, list[dict[str, int]]]:
    """The hard predictions of the levels (``(N+1, H, W)`` bool) and their exact counts."""
    fns, fps = level_amounts(fn_px, fp_px, steps)
    if (dy, dx) == (0, 0):
        masks, counts = P.error_ladder(gt, fns, fps, fn_mode=fn_mode, fp_mode=fp_mode, seed=seed)
        return masks, [dict(c) for c in counts]
    per = [P.perturb(gt, fn=a, fp=b, fn_mode=fn_mode, fp_mode=fp_mode, units="pixels", shift=(dy, dx), seed=seed)
           for a, b in zip(fns, fps)]
    return np.stack([p.mask for p in per]), [dict(p.counts) for p in per]


@st.cache_data(max_entries=16, show_spinner=False)
def cached_ladder(gt: np.ndarray, fn_px: int, fp_px: int, fn_mode: str, fp_mode: str, dy: int, dx: int, seed: int,
                  steps: int) -> tuple[np.ndarray, list[dict[str, int]]]:
    return ladder(gt, fn_px, fp_px, fn_mode, fp_mode, dy, dx, seed, steps)


def ladder_values(gt: np.ndarray, masks: np.ndarray, keys: Sequence[str], params: dict | None, confidence: float,
                  blur: float) -> dict[str, list[float]]:
    """Every loss of ``keys`` on every level (softened with ``confidence`` and ``blur``), one batched sweep."""
    from segloss_core.sweep import run_sweep

    soft = P.soften(masks, confidence=confidence, blur_sigma=blur, dtype=np.float32)
    res = run_sweep(gt, soft, list(keys), params)
    return {k: [float(v) for v in res.values[k]] for k in keys}


@st.cache_data(max_entries=32, show_spinner=False)
def cached_ladder_values(gt: np.ndarray, fn_px: int, fp_px: int, fn_mode: str, fp_mode: str, dy: int, dx: int,
                         seed: int, steps: int, keys: tuple[str, ...], params_json: str, confidence: float,
                         blur: float) -> dict[str, list[float]]:
    masks, _ = cached_ladder(gt, fn_px, fp_px, fn_mode, fp_mode, dy, dx, seed, steps)
    return ladder_values(gt, masks, keys, json.loads(params_json), confidence, blur)


@st.cache_data(max_entries=16, show_spinner=False)
def cached_pngs(gt: np.ndarray, fn_px: int, fp_px: int, fn_mode: str, fp_mode: str, dy: int, dx: int, seed: int,
                steps: int, box: tuple[int, int, int, int], scale: int) -> list[str]:
    """The overlay PNGs of the ladder's levels (they do not depend on the confidence)."""
    from segloss_core.figures_survey import overlay_pngs

    masks, _ = cached_ladder(gt, fn_px, fp_px, fn_mode, fp_mode, dy, dx, seed, steps)
    return overlay_pngs(gt, masks, (slice(box[0], box[1]), slice(box[2], box[3])), scale)


def parse_keys(raw: Any) -> list[str]:
    """The player's losses from the session (a list) or the URL (comma-separated); unknown keys dropped."""
    items = raw if isinstance(raw, (list, tuple)) else str(raw or "").split(",")
    out = [k.strip() for k in items if str(k).strip() in KEYS]
    return list(dict.fromkeys(out))[:MAX_KEYS]


# ---------------------------------------------------------------------------------------------
# Pin A
# ---------------------------------------------------------------------------------------------
def snapshot(settings: dict[str, str], table_values: dict[str, float], curves: dict[str, list[float]],
             counts: dict[str, int] | None) -> dict[str, Any]:
    """What pinning keeps: the settings (as in the URL), every loss's value, the player's curves."""
    return {"settings": dict(settings), "values": {k: float(v) for k, v in table_values.items()},
            "curves": {k: [float(x) for x in v] for k, v in curves.items()}, "counts": dict(counts or {})}


def settings_diff(a: dict[str, str], b: dict[str, str], defaults: dict[str, str] | None = None) -> str:
    """``"fn 0.1 → 0.3, conf 0.99 → 0.9"``: the settings that differ between A and B (both given as
    the settings that differ from ``defaults``, which fill in the rest)."""
    defaults = defaults or {}
    from_defaults = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            da = a.get(k, defaults.get(k, "default"))
            db = b.get(k, defaults.get(k, "default"))
            from_defaults.append(f"{k.removeprefix('pg_')} {da} → {db}")
    return ", ".join(from_defaults[:4]) + (f" and {len(from_defaults) - 4} more" if len(from_defaults) > 4 else "")


# ---------------------------------------------------------------------------------------------
# What to notice
# ---------------------------------------------------------------------------------------------
def _name(k: str) -> str:
    return REGISTRY[k].name


def _change(a: float, b: float) -> str:
    """``"0.26 → 0.34, ×1.3"`` (the factor when both are positive)."""
    s = f"{number(a)} → {number(b)}"
    if a > 0 and b > 0:
        r = b / a
        s += f", ×{r:.3f}" if 0.9 < r < 1.1 else f", ×{number(r)}"
    return s


def _extremes(pairs: dict[str, tuple[float, float]]) -> tuple[str | None, str | None, list[str]]:
    """The losses that change the most and the least by their factor b/a (both positive), and the
    ones that fall."""
    ratios = {k: b / a for k, (a, b) in pairs.items() if a > 0 and b > 0 and np.isfinite(b / a)}
    falls = [k for k, (a, b) in pairs.items() if b < a - 1e-9 * max(1.0, abs(a))]
    if not ratios:
        return None, None, falls
    ranked = sorted(ratios, key=lambda k: abs(np.log(ratios[k])))
    return ranked[-1], ranked[0], falls


def notice_ladder(curves: dict[str, Sequence[float]], counts: Sequence[dict[str, int]]) -> str:
    """First line: what the ladder k = 0 … N does to the player's losses."""
    n = len(counts) - 1
    if n < 1:
        return ("A drawn or uploaded prediction has no error level to play: the bars are this prediction's values "
                "(▶ Play steps the FN / FP amounts of *Perturb the ground truth*).")
    last = counts[-1]
    if not curves:
        return "Pick losses for the player to see how they change with k."
    pairs = {k: (float(v[0]), float(v[-1])) for k, v in curves.items()}
    if counts[0] == last:
        return ("No error to play yet: move the FN or FP slider, then ▶ Play steps the errors from 0 to that "
                "setting.")
    top, low, falls = _extremes(pairs)
    s = f"k = 0 → {n} (FN {int(counts[0]['fn']):,} → {int(last['fn']):,}, FP {int(counts[0]['fp']):,} → {int(last['fp']):,} px): "
    if top is not None and top != low:
        s += (f"**{_name(top)}** changes most ({_change(*pairs[top])}), **{_name(low)}** least "
              f"({_change(*pairs[low])})")
    elif top is not None:
        s += f"**{_name(top)}** {_change(*pairs[top])}"
    else:
        s += "; ".join(f"**{_name(k)}** {_change(*pairs[k])}" for k in list(pairs)[:2])
    if falls:
        s += "; " + ", ".join(f"**{_name(k)}** falls ({_change(*pairs[k])})" for k in falls[:2])
    return s + "."


def notice_second(values: dict[str, float], metrics: dict[str, Any], soft: np.ndarray, gt: np.ndarray,
                  hard: np.ndarray, pinned: dict[str, Any] | None, diff: str, keys: Sequence[str]) -> str:
    """Second line: B against the pinned A, else what the hard Dice and the soft Dice loss tell apart."""
    if pinned:
        common = [k for k in keys if k in pinned["values"] and k in values] or \
                 [k for k in values if k in pinned["values"]]
        pairs = {k: (float(pinned["values"][k]), float(values[k])) for k in common}
        top, low, falls = _extremes(pairs)
        head = f"Against pinned A ({diff or 'the same settings'}): "
        if top is None:
            return head + "; ".join(f"**{_name(k)}** {_change(*pairs[k])}" for k in common[:3]) + "."
        if top == low:
            return head + f"**{_name(top)}** {_change(*pairs[top])}."
        return (head + f"**{_name(top)}** changes most ({_change(*pairs[top])}), **{_name(low)}** least "
                f"({_change(*pairs[low])}).")
    if "dice" not in values or metrics.get("dice") is None:
        return "Pin this setting as A, then change a control to compare B with it."
    d, loss = float(metrics["dice"]), float(values["dice"])
    g, h = np.asarray(gt, bool), np.asarray(hard, bool)
    tn = ~g & ~h
    mass = float(np.asarray(soft, np.float64)[tn].sum())
    npix = int(g.sum())
    s = f"Hard Dice **{d:.3f}**, soft Dice loss **{number(loss)}**"
    if mass >= 0.5:
        rel = f", {number(mass / npix)}× the object" if npix else ""
        s += f": the probability left on {int(tn.sum()):,} true negatives is {mass:,.0f} px of false-positive mass{rel}."
    else:
        s += ": no probability is left on the true negatives."
    return s


# ---------------------------------------------------------------------------------------------
# The bar chart of every loss's value (one dictionary, one light wrap: no object-API calls)
# ---------------------------------------------------------------------------------------------
def value_figure(values: dict[str, float], log: bool, pinned: dict[str, float] | None = None, font: int | None = None):
    """Horizontal bars of loss values, coloured and grouped by family (as
    :func:`segloss_core.figures.value_bars`); on a log axis negative values are drawn by their size
    and marked (−), the signed value in ``customdata``; a pinned A as black diamonds."""
    import plotly.graph_objects as go

    from segloss_core.figures import FAMILY_COLORS
    from segloss_core.figures_survey import template_dict

    keys = sorted(values, key=lambda k: (list(FAMILY_COLORS).index(REGISTRY[k].family), k))

    def label(k: str) -> str:
        return f"{REGISTRY[k].name} (−)" if log and values[k] < 0 else REGISTRY[k].name

    def x(v: float) -> float:
        return max(abs(float(v)), 1e-12) if log else float(v)

    data = []
    for fam, color in FAMILY_COLORS.items():
        ks = [k for k in keys if REGISTRY[k].family == fam]
        if not ks:
            continue
        tr = {"type": "bar", "y": [label(k) for k in ks], "x": [x(values[k]) for k in ks], "orientation": "h",
              "name": fam, "marker": {"color": color}, "hovertemplate": "%{y}: %{x:.4g}<extra></extra>"}
        if log:
            tr["customdata"] = [float(values[k]) for k in ks]
            tr["hovertemplate"] = "%{y}: %{customdata:.4g}<extra></extra>"
        data.append(tr)
    if pinned:
        ks = [k for k in keys if k in pinned]
        data.append({"type": "scatter", "x": [x(pinned[k]) for k in ks], "y": [label(k) for k in ks], "mode": "markers",
                     "name": "A (pinned)", "marker": {"symbol": "diamond", "size": 9, "color": "#000"},
                     "customdata": [float(pinned[k]) for k in ks], "hovertemplate": "A: %{customdata:.4g}<extra></extra>"})
    xaxis = {"title": {"text": "|loss value| (log scale; (−) marks a negative value)" if log else "loss value"}}
    if log:
        xaxis["type"] = "log"
    layout = {"template": template_dict(), "height": max(300, 26 * len(keys) + 80), "barmode": "group",
              "yaxis": {"autorange": "reversed"}, "xaxis": xaxis, "margin": {"l": 10, "r": 10, "t": 30, "b": 40}}
    if font:
        layout.update(font={"size": font}, height=max(400, 34 * len(keys) + 100))
    return go.Figure({"data": data, "layout": layout}, _validate=False)
