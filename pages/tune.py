"""Tune: one loss, its parameters, and what they do to the loss-vs-error curves."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import streamlit as st

from segloss_app import compute_analysis as ca
from segloss_app import limits
from segloss_app.common import (UrlParam, bad_entry, bad_link_notice, export_buttons, loss_param_widgets, page_header,
                                param_url_spec, show_error, sync_url, url_state)
from segloss_core import figures as F
from segloss_core.monotonic import analyze
from segloss_core.perturb import FP_MODES
from segloss_core.registry import KEYS, REGISTRY

QUANTITIES = {
    "value": "value at level",
    "tau": "monotonicity τ",
    "violations": "failing steps",
    "ratio": "FN/FP gradient ratio",
}
DEFAULT_AXES = {"focal": ("alpha", "gamma"), "tversky": ("alpha", "beta"), "combo": ("alpha", "beta"),
                "focal_tversky": ("alpha", "beta"), "dice_focal": ("lam", "gamma"), "exp_log": ("w_dice", "gamma")}
RATIO_SIDE = 9  # grid side for the FN/FP gradient ratio (one gradient pass per cell)
RESOLUTIONS = (0, 5, 9, 11, 17, 25, 33)  # 0 = auto
SPEC = {
    "tune_loss": UrlParam("focal", str, choices=KEYS),
    "tune_x": UrlParam("", str),
    "tune_y": UrlParam("", str),
    "tune_quantity": UrlParam("tau", str, choices=tuple(QUANTITIES)),
    "tune_object": UrlParam("small", str, choices=("small", "large")),
    "tune_level": UrlParam(10, int, 0, 100),
    "tune_res": UrlParam(0, int, 0, 51),
    "tune_norm": UrlParam(False, bool),
    "tune_conf": UrlParam(0.99, float, 0.51, 0.999),
    "tune_fpmode": UrlParam("boundary", str, choices=FP_MODES),
}


def numeric_params(key: str) -> list[str]:
    return [p.name for p in REGISTRY[key].params if p.numeric]


def default_axes(key: str) -> tuple[str, str]:
    names = numeric_params(key)
    x, y = DEFAULT_AXES.get(key, (names + ["", ""])[:2])
    return (x if x in names else (names[0] if names else "")), (y if y in names else (names[1] if len(names) > 1 else ""))


def auto_resolution(spec) -> int:
    """Grid side by cost: reducible losses run on distinct (z, g) pairs (25×25 in ~0.3 s on 2 cores);
    full-image losses 11×11; losses with distance maps per cell (U-Net weights) 7×7."""
    return 25 if spec.reducible else (7 if spec.needs_maps else 11)


def widget_key(key: str, name: str) -> str:
    return f"tune_{key}.{name}"


def set_param(key: str, name: str, value: float) -> None:
    """Move one parameter widget to ``value`` (before the widgets are drawn: callbacks only)."""
    p = REGISTRY[key].param(name)
    wk = widget_key(key, name)
    if p.auto:
        st.session_state[wk + ".auto"] = False
        st.session_state[wk + ".value"] = float(value)
    else:
        st.session_state[wk] = float(value)


def on_loss_change() -> None:
    k = st.session_state["tune_loss"]
    st.session_state["tune_x"], st.session_state["tune_y"] = default_axes(k)


def fmt(v) -> str:
    return "auto" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


# ------------------------------------------------------------------------------------------ page
present = page_header(
    "Tune",
    "Pick one loss and move its parameters: the curves show how the loss grows with the error on the small "
    "and the large object of the survey protocol (level k: k·Δ missed and k·Δ added pixels), for the current "
    "values and a few reference settings. The map below scans two parameters at once; click a cell to "
    "move the sliders there.")
vals = url_state(SPEC, notice=False)
bad = list(st.session_state.get("_url_bad", []))
key = vals["tune_loss"]
spec = REGISTRY[key]
PSPEC = param_url_spec(key, "tune_")
url_state(PSPEC, notice=False)
bad += st.session_state.get("_url_bad", [])

# Auto parameters travel as "auto" or a number: validate and seed their two widgets.
for p in spec.params:
    wk = widget_key(key, p.name)
    raw = st.session_state.get(wk)
    if p.auto and isinstance(raw, str) and wk + ".auto" not in st.session_state:
        try:
            v = p.validate(raw)
        except ValueError:
            bad.append(bad_entry(wk, raw))
            v = None
        st.session_state[wk] = None if v is None else float(v)
# Axis choices must be numeric parameters of the current loss.
names = numeric_params(key)
dx, dy = default_axes(key)
for axis, dflt in (("tune_x", dx), ("tune_y", dy)):
    v = st.session_state.get(axis, "")
    if v not in names:
        if v:
            bad.append(bad_entry(axis, v))
        st.session_state[axis] = dflt
if st.session_state.get("tune_res") not in RESOLUTIONS:
    bad.append(bad_entry("tune_res", st.session_state.get("tune_res")))
    st.session_state["tune_res"] = 0
if st.session_state.get("tune_x") == st.session_state.get("tune_y") and len(names) > 1:
    st.session_state["tune_y"] = next(n for n in names if n != st.session_state["tune_x"])
if bad:  # one notice for both specs and the checks above (kept, like url_state's, until the next link)
    st.session_state["_url_bad"] = list(dict.fromkeys(bad))
    bad_link_notice(st.session_state["_url_bad"])

sb = st.sidebar
sb.selectbox("Loss", KEYS, key="tune_loss", format_func=lambda k: f"{REGISTRY[k].name} ({k})", on_change=on_loss_change)
sb.caption(f"{spec.family} · {spec.reference}")
st.latex(spec.formula)
if not present:
    with sb.expander("Protocol", expanded=False):
        st.slider("Confidence c", 0.51, 0.999, step=0.001, format="%.3f", key="tune_conf",
                  help="probability inside the predicted mask; 1 − c outside")
        st.selectbox("False-positive pattern", FP_MODES, key="tune_fpmode")

try:
    cfg = ca.survey_key(confidence=float(st.session_state["tune_conf"]), fp_mode=st.session_state["tune_fpmode"])
    with st.spinner("Preparing the error levels …"):
        stack = ca.stacks(cfg)
except ValueError as exc:
    show_error(exc)
    st.stop()
n_levels = stack["small"][1].shape[0]


def on_pick(key: str, x: str, y: str | None, chart_key: str, xs, ys) -> None:
    state = st.session_state.get(chart_key)
    try:
        pts = state["selection"]["points"]
    except (KeyError, TypeError):
        return
    if not pts:
        return
    pt = pts[0]
    if "x" not in pt:
        return
    set_param(key, x, ca.snap(pt["x"], xs))
    if y and "y" in pt and not isinstance(pt["y"], str):
        set_param(key, y, ca.snap(pt["y"], ys))


def on_best(key: str, x: str, xv: float, y: str | None, yv: float | None) -> None:
    set_param(key, x, xv)
    if y:
        set_param(key, y, yv)


@st.fragment
def tune(key: str, cfg: tuple, present: bool) -> None:
    spec = REGISTRY[key]
    names = numeric_params(key)
    left, right = st.columns([1, 3])
    with left:
        st.markdown(f"**{spec.name}: parameters**")
        if spec.params:
            params = loss_param_widgets(key, "tune_")
        else:
            params = {}
            st.caption("This loss has no parameters.")
    with right:
        normalized = st.toggle("Normalize each curve to [0, 1] (compare shapes, not scales)", key="tune_norm")

    # ---- curves: current values against the defaults and the grid corners
    x = st.session_state["tune_x"] if names else None
    y = st.session_state["tune_y"] if len(names) > 1 else None
    settings: dict[str, dict] = {"current": dict(params), "defaults": dict(spec.defaults)}
    corners = []
    if x:
        px, py = spec.param(x), (spec.param(y) if y else None)
        for xv in (px.low, px.high):
            for yv in ((py.low, py.high) if py else (None,)):
                s = {**params, x: xv}
                lab = f"{x}={xv:g}"
                if py:
                    s[y] = yv
                    lab += f", {y}={yv:g}"
                settings[lab] = s
                corners.append(lab)
    with st.spinner("Computing the curves …"):
        curves = {lab: {o: ca.curve(cfg, o, key, json.dumps(s, sort_keys=True)) for o in ("small", "large")}
                  for lab, s in settings.items()}
    with right:
        fig = F.tune_curves(curves, {o: int(stack[o][0].sum()) for o in ('small', 'large')},
                            {o: stack[o][2] for o in ('small', 'large')}, normalized)
        st.plotly_chart(fig, key="tune_curves")
        cur = {o: analyze(curves["current"][o], ca.BASE_TOLERANCE) for o in ("small", "large")}
        st.caption(
            "Current values: " + ", ".join(f"{k}={fmt(v)}" for k, v in params.items()) + ". "
            + " ".join(f"{o.capitalize()} object: {m.verdict} (τ = {m.kendall_tau:.2f}, {m.violations} failing steps)."
                       for o, m in cur.items())
            + (" Reference curves: the registry defaults (dashed) and the corners of the parameter ranges "
               "(dotted), the other parameters at their current values." if corners else
               " Dashed: the registry defaults."))
    rows = [{"setting": lab, "object": o, "level": k, "value": float(curves[lab][o][k]),
             "params": json.dumps(settings[lab], sort_keys=True)} for lab in curves for o in ("small", "large")
            for k in range(n_levels)]
    conf = {"loss": key, "params": params, "protocol": dict(cfg)}
    export_buttons(fig, pd.DataFrame(rows), f"tune_{key}_curves", conf)

    # ---- the parameter map
    st.subheader("Parameter map")
    if not names:
        st.info(f"{spec.name} has no numeric parameter, so there is nothing to scan"
                + (f" (its only settings are choices: {', '.join(p.name for p in spec.params)})." if spec.params else "."))
        sync_url({**SPEC, **PSPEC}, _url_values(key, params))
        return
    c = st.columns([1, 1, 1.4, 1.2, 1.2] if not present else [1, 1, 1.4])
    c[0].selectbox("x axis", names, key="tune_x")
    if len(names) > 1:
        others = [n for n in names if n != st.session_state["tune_x"]]
        if st.session_state.get("tune_y") not in others:
            st.session_state["tune_y"] = others[0]
        c[1].selectbox("y axis", others, key="tune_y")
    else:
        c[1].caption("one numeric parameter: a 1-D sweep")
    c[2].selectbox("Quantity", list(QUANTITIES), key="tune_quantity",
                   format_func=lambda q: QUANTITIES[q], help="value: the loss at one error level. τ: Kendall's τ "
                   "between level and value (1 = rises throughout). failing steps: steps that do not rise by more than "
                   f"{ca.BASE_TOLERANCE:g} of the range. FN/FP gradient ratio: mean |∂L/∂z| on missed pixels over "
                   "the mean on added pixels, at one level (>1: the loss pushes harder on what it misses).")
    if not present:
        c[3].selectbox("Object", ("small", "large"), key="tune_object")
        auto_res = auto_resolution(spec)
        c[4].selectbox("Grid resolution", RESOLUTIONS, key="tune_res",
                       format_func=lambda n: f"auto ({auto_res}×{auto_res})" if n == 0 else f"{n}×{n}",
                       help="reducible losses (CE family, Dice family, …) are evaluated on their distinct "
                            "(z, g) pairs and are very fast")
    x = st.session_state["tune_x"]
    y = st.session_state["tune_y"] if len(names) > 1 else None
    quantity = st.session_state["tune_quantity"]
    obj = st.session_state["tune_object"]
    if quantity in ("value", "ratio"):
        lo = 1 if quantity == "ratio" else 0
        st.session_state["tune_level"] = min(max(int(st.session_state.get("tune_level", 10)), lo), n_levels - 1)
        st.slider("Error level k", 1 if quantity == "ratio" else 0, n_levels - 1, key="tune_level",
                  help="the ratio needs both missed and added pixels, so it starts at level 1")
    level = int(st.session_state["tune_level"])
    if quantity == "ratio":
        level = max(1, level)
    res_n = int(st.session_state["tune_res"]) or auto_resolution(spec)
    if quantity == "ratio":
        res_n = min(res_n, RATIO_SIDE)
    gt_obj, preds_obj, _ = stack[obj]
    bound = limits.tune_side(spec, res_n, bool(y), preds_obj.shape[0], int(gt_obj.size))
    if bound.notice:  # e.g. U-Net weights at 33×33: ~2 min of CPU, refused at that size
        st.warning(bound.notice)
    res_n = bound.value
    xs = tuple(ca.axis_values(key, x, res_n))
    ys = tuple(ca.axis_values(key, y, res_n)) if y else None
    base = {k: v for k, v in params.items() if k not in (x, y)}
    base_json = json.dumps(base, sort_keys=True)

    try:
        gkey = (cfg, obj, key, x, xs, y, ys, base_json)
        bar = None if ca.is_cached("grid", gkey) else st.progress(0.0, text="Scanning the parameter grid …")
        step = (lambda f, m: bar.progress(f, text=f"Scanning the parameter grid — {m}")) if bar else None
        grid = ca.loss_grid(cfg, obj, key, x, xs, y, ys, base_json, progress=step)
        if bar:
            bar.empty()
        if quantity == "ratio":
            gx, gy = tuple(grid.xs), (tuple(grid.ys) if grid.ys else None)
            bar = None if ca.is_cached("ratio", (cfg, obj, key, x, gx, y, gy, base_json, level)) \
                else st.progress(0.0, text="Gradient passes …")
            step = (lambda f, m: bar.progress(f, text=f"Gradients per cell — {m}")) if bar else None
            q = ca.ratio_grid(cfg, obj, key, x, gx, y, gy, base_json, level, progress=step)
            if bar:
                bar.empty()
        elif quantity == "value":
            q = grid.values[:, :, level]
        elif quantity == "tau":
            q = grid.tau
        else:
            q = grid.violations
    except (ValueError, ArithmeticError) as exc:
        show_error(exc)
        return
    if grid.note:
        st.warning(grid.note)
    label = {"value": f"value at k={level}", "tau": "τ", "violations": "failing steps",
             "ratio": f"FN/FP grad ratio at k={level}"}[quantity]
    what = {"value": f"loss value at level {level}", "tau": "Kendall τ (level vs value)",
            "violations": "number of steps that do not rise", "ratio": f"FN/FP gradient ratio at level {level}"}[quantity]
    xs_g, ys_g = grid.xs, grid.ys
    curx = params.get(x)
    cury = params.get(y) if y else None
    best = ca.best_cell(q, quantity)
    best_txt = {"value": "highest value", "tau": "highest τ", "violations": "fewest failing steps",
                "ratio": "ratio closest to 1"}[quantity]
    mcol, scol = st.columns([3, 1])
    chart_key = f"tune_map_{key}_{x}_{y}_{quantity}_{obj}"
    with mcol:
        if y:
            shown = q
            if quantity == "ratio":  # spans orders of magnitude: colour by log10, hover shows the ratio
                with np.errstate(divide="ignore", invalid="ignore"):
                    shown = np.where(np.asarray(q) > 0, np.log10(np.asarray(q, float)), np.nan)
            mfig = F.grid_heatmap(shown, xs_g, ys_g, xname=x, yname=y,
                                  quantity="log10 ratio" if quantity == "ratio" else label,
                                  marker=(curx, cury) if curx is not None and cury is not None else None)
            mfig = F.clickable_cells(mfig, xs_g, ys_g, q, x, y, label)
            mfig.update_layout(plot_bgcolor="#D9D9D9")  # undefined (NaN) cells show grey
            mfig.update_layout(title=f"{spec.name}: {what} on the {obj} object over {x} × {y}")
            if spec.param(x).log:
                mfig.update_xaxes(type="log")
            if spec.param(y).log:
                mfig.update_yaxes(type="log")
        else:
            mfig = F.sweep_1d(xs_g, np.asarray(q, float)[0], x, label, curx if curx is not None else xs_g[0], spec.param(x).log)
            mfig.update_layout(title=f"{spec.name}: {what} on the {obj} object over {x}")
            if quantity == "ratio":
                mfig.update_yaxes(type="log")
        st.plotly_chart(mfig, key=chart_key, on_select=lambda: on_pick(key, x, y, chart_key, xs_g, ys_g or []),
                        selection_mode="points")
        grid_rows = [{x: xv, **({y: yv} if y else {}), "quantity": quantity, "object": obj, "value": float(qv)}
                     for iy, yv in enumerate(ys_g or [None]) for ix, xv in enumerate(xs_g)
                     for qv in [np.asarray(q, float)[iy, ix]]]
        export_buttons(mfig, pd.DataFrame(grid_rows), f"tune_{key}_map",
                       {**conf, "x": x, "y": y, "quantity": quantity, "object": obj, "level": level,
                        "resolution": len(xs_g), "method": grid.method})
    with scol:
        st.markdown(f"**Read-out** ({grid.method}, {len(ys_g) if ys_g else 1}×{len(xs_g)})")
        if best is not None:
            bx = xs_g[best[1]]
            by = ys_g[best[0]] if y else None
            bq = float(np.asarray(q, float)[best])
            st.metric(f"Best cell ({best_txt})", f"{bq:.4g}",
                      help=f"{x}={bx:g}" + (f", {y}={by:g}" if y else ""))
            st.caption(f"at {x} = {bx:g}" + (f", {y} = {by:g}" if y else ""))
            st.button("Use best cell", key="tune_best", on_click=on_best, args=(key, x, bx, y, by),
                      help="move the sliders to the best cell")
        else:
            st.caption("No finite value on this grid (e.g. no missed or no added pixel at this level).")
        if quantity == "ratio":
            st.caption(f"One gradient pass per cell, so this map uses a coarser {len(xs_g)}×{len(xs_g)} grid.")
        if not np.isfinite(np.asarray(q, float)).all():
            st.caption("Grey cells: undefined there (e.g. no gradient at all on the added pixels, or no FN/FP "
                       "pixel at this level).")
        st.caption("Click a cell to move the sliders there. The × marks the current values.")
    sync_url({**SPEC, **PSPEC}, _url_values(key, params))


def _url_values(key: str, params: dict) -> dict:
    out = {k: st.session_state.get(k, p.default) for k, p in SPEC.items()}
    for axis, dflt in zip(("tune_x", "tune_y"), default_axes(key)):  # the loss's default axes stay out of the URL
        if out[axis] == dflt:
            out[axis] = ""
    for p in REGISTRY[key].params:
        name = f"tune_{key}.{p.name}"
        v = params.get(p.name)
        out[name] = ("auto" if v is None else f"{float(v):.6g}") if p.auto else v
    return out


tune(key, cfg, present)
