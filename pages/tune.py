"""Tune: which α, β, γ for my objects, and what each one changes.

One loss, its parameters (from the registry), an error protocol under which they can act, the
quantities a researcher asks about (FN vs FP cost, hard vs easy pixels, slope, robustness), a map
over two parameters with a recommendation that never switches a term off, and pin-and-compare.
The math is in segloss_core.tuning; the cached calls in segloss_app.tune_view.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import streamlit as st

from segloss_app import limits
from segloss_app.lessons import lesson_box
from segloss_app import tune_view as V
from segloss_app.common import (UrlParam, bad_entry, bad_link_notice, chart, export_buttons, loss_param_widgets,
                                page_header, param_url_spec, show_error, sync_url, url_state)
from segloss_app.plaintext import plain
from segloss_core import figures as F
from segloss_core import tune_readouts as TR
from segloss_core import tuning as T
from segloss_core.registry import KEYS, REGISTRY

DEFAULT_AXES = {"focal": ("alpha", "gamma"), "tversky": ("alpha", "beta"), "combo": ("alpha", "beta"),
                "focal_tversky": ("alpha", "beta"), "dice_focal": ("lam", "gamma"), "exp_log": ("w_dice", "gamma")}
RESOLUTIONS = (0, 5, 9, 11, 17, 25, 33)  # 0 = auto
SPEC = {
    "tune_loss": UrlParam("focal", str, choices=KEYS),
    "tune_x": UrlParam("", str),
    "tune_y": UrlParam("", str),
    "tune_quantity": UrlParam("cost_ratio", str, choices=tuple(T.QUANTITIES)),
    "tune_target": UrlParam(1.0, float, 0.01, 100.0),
    "tune_level": UrlParam(2, int, 0, 200),
    "tune_res": UrlParam(0, int, 0, 51),
    "tune_norm": UrlParam(False, bool),
    "tune_obj": UrlParam("small", str, choices=tuple(T.OBJECTS)),
    "tune_radius": UrlParam(10.0, float, 1.0, 64.0),
    "tune_protocol": UrlParam("survey", str, choices=tuple(T.PROTOCOLS)),
    "tune_delta": UrlParam(20, int, 1, 500),
    "tune_ratio": UrlParam(3.0, float, 0.05, 20.0),
    "tune_profile": UrlParam("two_valued", str, choices=tuple(T.PROFILES)),
    "tune_spread": UrlParam(4.0, float, 0.25, 50.0),
    "tune_conf": UrlParam(0.99, float, 0.51, 0.999),
    "tune_hard": UrlParam(False, bool),
    "tune_pin": UrlParam("", str),
    "tune_from_pair": UrlParam(False, bool),
}


def numeric_params(key: str) -> list[str]:
    return [p.name for p in REGISTRY[key].params if p.numeric]


def default_axes(key: str) -> tuple[str, str]:
    names = numeric_params(key)
    x, y = DEFAULT_AXES.get(key, (names + ["", ""])[:2])
    return (x if x in names else (names[0] if names else "")), (y if y in names else (names[1] if len(names) > 1 else ""))


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
    st.session_state["tune_pin"] = ""


def on_set(key: str, params: dict) -> None:
    for name, v in params.items():
        if REGISTRY[key].param(name).numeric and v is not None:
            set_param(key, name, v)


def on_pin(params: dict) -> None:
    st.session_state["tune_pin"] = V.dump_pin(params)


def on_pick(key: str, x: str, y: str | None, chart_key: str, xs, ys) -> None:
    try:
        pt = st.session_state[chart_key]["selection"]["points"][0]
    except (KeyError, TypeError, IndexError):
        return
    if "x" not in pt:
        return
    set_param(key, x, min(xs, key=lambda a: abs(a - float(pt["x"]))))
    if y and "y" in pt and not isinstance(pt["y"], str):
        set_param(key, y, min(ys, key=lambda a: abs(a - float(pt["y"]))))


# ------------------------------------------------------------------------------------------ page
present = page_header(
    "Tune",
    "Choose a loss's parameters for *your* objects: pick an error protocol under which they act, read what "
    "each one changes (how much a missed pixel costs against a false alarm, how hard pixels are weighted "
    "against easy ones, whether the loss still notices more error), pin a setting as A and compare B with it.")
vals = url_state(SPEC, notice=False)
lesson_box("tune")
bad = list(st.session_state.get("_url_bad", []))
key = vals["tune_loss"]
spec = REGISTRY[key]
PSPEC = param_url_spec(key, "tune_")
url_state(PSPEC, notice=False)
bad += st.session_state.get("_url_bad", [])
for p in spec.params:  # auto parameters travel as "auto" or a number
    wk = widget_key(key, p.name)
    raw = st.session_state.get(wk)
    if p.auto and isinstance(raw, str) and wk + ".auto" not in st.session_state:
        try:
            v = p.validate(raw)
        except ValueError:
            bad.append(bad_entry(wk, raw))
            v = None
        st.session_state[wk] = None if v is None else float(v)
names = numeric_params(key)
dx, dy = default_axes(key)
for axis_name, dflt in (("tune_x", dx), ("tune_y", dy)):
    v = st.session_state.get(axis_name, "")
    if v not in names:
        if v:
            bad.append(bad_entry(axis_name, v))
        st.session_state[axis_name] = dflt
if st.session_state.get("tune_res") not in RESOLUTIONS:
    bad.append(bad_entry("tune_res", st.session_state.get("tune_res")))
    st.session_state["tune_res"] = 0
if st.session_state.get("tune_x") == st.session_state.get("tune_y") and len(names) > 1:
    st.session_state["tune_y"] = next(n for n in names if n != st.session_state["tune_x"])
try:
    V.parse_pin(st.session_state.get("tune_pin", ""), key)
except ValueError:
    bad.append(bad_entry("tune_pin", st.session_state.get("tune_pin")))
    st.session_state["tune_pin"] = ""
if bad:
    st.session_state["_url_bad"] = list(dict.fromkeys(bad))
    bad_link_notice(st.session_state["_url_bad"])

# ---------------------------------------------------------------- sidebar: loss and setup
sb = st.sidebar
sb.selectbox("Loss", KEYS, key="tune_loss", format_func=lambda k: f"{REGISTRY[k].name} ({k})", on_change=on_loss_change)
sb.caption(f"{spec.family} · {spec.reference}")
sb.subheader("Objects and errors")
sb.selectbox("Object", tuple(T.OBJECTS), key="tune_obj", format_func=lambda o: T.OBJECTS[o])
if st.session_state["tune_obj"] in ("disk", "touching"):
    sb.slider("Radius (px)", 1.0, 64.0, step=0.5, key="tune_radius")
if st.session_state["tune_obj"] == "given":
    sb.toggle("Start from the Playground's prediction", key="tune_from_pair",
              help="level 0 is the Playground's pair; each level adds the protocol's errors to its prediction")
sb.selectbox("Error protocol", tuple(T.PROTOCOLS), key="tune_protocol", format_func=lambda p: T.PROTOCOLS[p])
if st.session_state["tune_protocol"] == "ratio":
    sb.slider("FP pixels per FN pixel (r)", 0.05, 20.0, step=0.05, key="tune_ratio")
sb.selectbox("Confidences", tuple(T.PROFILES), key="tune_profile", format_func=lambda p: T.PROFILES[p],
             help="two values hide γ-like parameters; a spread of confidences (easy and hard pixels) lets them act")
hard = sb.toggle("Hard predictions (c = 1)", key="tune_hard", disabled=st.session_state["tune_profile"] != "two_valued")
if not present:
    with sb.expander("More", expanded=False):
        st.slider("Δ: error pixels per level", 1, 500, key="tune_delta")
        st.slider("Confidence c", 0.51, 0.999, step=0.001, format="%.3f", key="tune_conf", disabled=hard)
        st.slider("Spread (distance px / noise σ / blur σ)", 0.25, 50.0, step=0.25, key="tune_spread")
        st.selectbox("Grid resolution", RESOLUTIONS, key="tune_res",
                     format_func=lambda n: "auto (by cost)" if n == 0 else f"{n}×{n}")
if not present:  # presenter mode: the formula and the protocol go under the figure (first screen: the curve)
    st.latex(spec.formula)

obj = st.session_state["tune_obj"]
given = V.given_gt() if obj == "given" else None
from_pair = obj == "given" and bool(st.session_state.get("tune_from_pair"))
gpred = V.given_pred() if from_pair else None
try:
    setup = T.TuneSetup(obj=obj, radius=float(st.session_state["tune_radius"]),
                        protocol=st.session_state["tune_protocol"], delta=int(st.session_state["tune_delta"]),
                        fp_per_fn=float(st.session_state["tune_ratio"]),
                        confidence=1.0 if (hard and st.session_state["tune_profile"] == "two_valued")
                        else float(st.session_state["tune_conf"]),
                        profile=st.session_state["tune_profile"], spread=float(st.session_state["tune_spread"]),
                        size=given.shape[0] if given is not None and given.shape[0] == given.shape[1] else 256,
                        from_pair=from_pair)
    if obj == "given" and (given is None or given.shape[0] != given.shape[1]):
        raise ValueError("No square ground truth from the Playground yet: open the Playground, make or load one, "
                         "and come back (or pick another object).")
    if from_pair and (gpred is None or gpred.shape != given.shape):
        raise ValueError("No prediction from the Playground for this ground truth yet: open the Playground, make "
                         "one, and come back (or switch 'Start from the Playground's prediction' off).")
    skey = V.setup_key(setup)
except ValueError as exc:
    show_error(exc)
    st.stop()
digest = V.gt_digest(given, gpred)
PROTOCOL_NOTE = (f"Protocol: {setup.describe()}. The survey's protocol (FN = FP, two values) hides parameters such "
                 "as focal γ; the sidebar offers protocols and confidence spreads under which they act.")
if not present:
    st.caption(PROTOCOL_NOTE)


@st.fragment
def tune(key: str, skey: tuple, present: bool) -> None:
    spec = REGISTRY[key]
    names = numeric_params(key)
    setup = T.TuneSetup(**dict(skey))
    pinned = V.parse_pin(st.session_state.get("tune_pin", ""), key)  # the pin button reruns this fragment only
    st.session_state["tune_level"] = min(max(int(st.session_state.get("tune_level", 2)), 0), setup.levels - 2)
    left, right = st.columns([1, 3])
    with left:
        st.markdown(f"**{spec.name}: parameters**")
        params = loss_param_widgets(key, "tune_") if spec.params else {}
        if not spec.params:
            st.caption("This loss has no parameters.")
        b1, b2 = st.columns(2)
        b1.button("Pin as A", key="tune_pin_btn", on_click=on_pin, args=(params,), width="stretch",
                  help="keep this setting on screen as A while you move the sliders (B)")
        b2.button("Defaults", key="tune_reset", on_click=on_set, args=(key, spec.defaults), width="stretch")
        for who, p in spec.paper:
            st.button(f"Paper: {who}", key=f"tune_paper_{who}", on_click=on_set, args=(key, p), width="stretch")
        if pinned:
            st.caption("Pinned A: " + ", ".join(f"{k} = {V.fmt(v)}" for k, v in pinned.items()
                                                 if spec.param(k).numeric and v is not None))
    level = int(st.session_state["tune_level"])
    # presenter mode: the level slider and the toggle under the parameters, so that the curve starts on the
    # first 1280x720 screen (above the curve they pushed it half off it)
    with left if present else right:
        st.slider("Error level k (where the ratios and the slope are read)", 0, setup.levels - 2, key="tune_level")
        level = int(st.session_state["tune_level"])
        normalized = st.toggle("Normalize each curve to [0, 1]", key="tune_norm")
    with right:
        settings = {"B (current)": params}
        if pinned:
            settings["A (pinned)"] = {**params, **pinned}
        settings["defaults"] = dict(spec.defaults)
        for who, p in spec.paper:
            if spec.resolve(p) != spec.resolve(spec.defaults):
                settings[who] = {**spec.defaults, **p}
        with st.spinner("Computing …"):
            sums = {lab: V.summary(key, skey, json.dumps(s, sort_keys=True, default=str), level, digest,
                                   _given=given, _given_pred=gpred) for lab, s in settings.items()}
        fig = F.compare_curves({lab: s["curve"] for lab, s in sums.items()}, sums["B (current)"]["counts"],
                               normalized=normalized, title=f"{spec.name} vs error level ({T.OBJECTS[setup.obj]})")
        fig.add_vline(x=level, line=dict(color="#D55E00", width=1.5, dash="dot"), annotation_text=f"k = {level}")
        chart(fig, key="tune_curves")
        same_paper = [who for who, p in spec.paper if spec.resolve(p) == spec.resolve(spec.defaults)]
        if same_paper:
            st.caption(f"The registry defaults are the paper's setting ({', '.join(same_paper)}).")
    table = pd.DataFrame([{"setting": lab, **{T.QUANTITIES[q][0]: V.fmt(s[q]) for q in T.QUANTITIES},
                           "verdict": s["verdict"], "flips at tolerance": V.fmt(s["flip_tolerance"])}
                          for lab, s in sums.items()])
    st.markdown(f"**The quantities at level k = {level}** (hover a column name for its meaning)")
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={T.QUANTITIES[q][0]: st.column_config.TextColumn(help=T.QUANTITIES[q][1])
                                for q in T.QUANTITIES})
    if pinned:
        a, b = sums["A (pinned)"], sums["B (current)"]
        diffs = [f"{T.QUANTITIES[q][0]} {V.fmt(a[q])} → {V.fmt(b[q])}" for q in ("cost_ratio", "hard_easy", "slope")
                 if np.isfinite(a[q]) and np.isfinite(b[q]) and not np.isclose(a[q], b[q], rtol=1e-6)]
        st.markdown("**A → B:** " + ("; ".join(diffs) + "." if diffs else "no quantity changes between A and B."))
    rows = [{"setting": lab, "level": k, "value": float(s["curve"][k])} for lab, s in sums.items()
            for k in range(len(s["curve"]))]
    conf = {"loss": key, "params": params, "pinned": pinned, "setup": dict(skey), "level": level}
    export_buttons(fig, pd.DataFrame(rows), f"tune_{key}_curves", conf)

    # ---- the parameter map
    st.subheader("Parameter map")
    if not names:
        st.info(f"{spec.name} has no numeric parameter, so there is nothing to scan"
                + (f" (its only settings are choices: {', '.join(p.name for p in spec.params)})." if spec.params else "."))
        sync_url({**SPEC, **PSPEC}, _url_values(key, params))
        return
    c = st.columns([1, 1, 1.6, 1])
    c[0].selectbox("x axis", names, key="tune_x")
    if len(names) > 1:
        others = [n for n in names if n != st.session_state["tune_x"]]
        if st.session_state.get("tune_y") not in others:
            st.session_state["tune_y"] = others[0]
        c[1].selectbox("y axis", others, key="tune_y")
    else:
        c[1].caption("one numeric parameter: a 1-D sweep")
    quantity = c[2].selectbox("Quantity", tuple(T.QUANTITIES), key="tune_quantity",
                              format_func=lambda q: T.QUANTITIES[q][0])
    target = None
    if quantity in T.RATIO_QUANTITIES:
        target = float(c[3].number_input("Target ratio", 0.01, 100.0, step=0.5, key="tune_target", format="%g",
                                         help="the recommendation is the cell closest to this (e.g. 3: an FN costs 3 FPs)"))
    x = st.session_state["tune_x"]
    y = st.session_state["tune_y"] if len(names) > 1 else None
    st.caption(T.QUANTITIES[quantity][1])
    n = int(st.session_state["tune_res"]) or V.side_for(key, quantity)
    if quantity in T.GRADIENT_QUANTITIES:
        n = min(n, V.side_for(key, quantity))  # one gradient pass per cell
    else:  # whole-image losses cost per cell: bounded by the estimated time, with a notice
        bound = limits.tune_side(spec, n, bool(y), setup.levels, setup.size * setup.size)
        if bound.notice:
            st.warning(bound.notice)
        n = bound.value
    xs = tuple(V.axis(key, x, n))
    ys = tuple(V.axis(key, y, n)) if y else None
    base_json = json.dumps({k: v for k, v in params.items() if k not in (x, y)}, sort_keys=True, default=str)
    try:
        args = (key, quantity, skey, x, xs, y, ys, base_json, level, digest)
        bar = None if V.grid_is_cached(*args) else st.progress(0.0, text="Scanning the parameter grid …")
        g = V.grid(*args, progress=(lambda f, m: bar.progress(f, text=f"Scanning the parameter grid — {m}")) if bar else None)
        if bar:
            bar.empty()
    except (ValueError, ArithmeticError) as exc:
        show_error(exc)
        return
    off = TR.degenerate(g)
    rec = TR.recommend(g, target)
    inert = TR.inert_axes(g)
    label = T.QUANTITIES[quantity][0]
    ratio = quantity in T.RATIO_QUANTITIES
    mcol, scol = st.columns([3, 1.3])
    chart_key = f"tune_map_{key}_{x}_{y or '1d'}_{quantity}"
    curx, cury = params.get(x), (params.get(y) if y else None)
    with mcol:
        if y:
            with np.errstate(divide="ignore", invalid="ignore"):
                shown = np.where(g.q > 0, np.log10(g.q), np.nan) if ratio else g.q
            mfig = F.grid_heatmap(shown, g.xs, g.ys, xname=x, yname=y, quantity=f"log10 {label}" if ratio else label,
                                  marker=(curx, cury) if curx is not None and cury is not None else None)
            mfig = F.clickable_cells(mfig, g.xs, g.ys, g.q, x, y, label)
            mfig = F.mark_cells(mfig, g.xs, g.ys, off, "switches a term off")
            mfig.update_layout(plot_bgcolor="#D9D9D9", title=f"{spec.name}: {label} at k = {level} over {x} × {y}",
                               showlegend=bool(off.any()), legend=dict(orientation="h", y=-0.2))
            if spec.param(x).log:
                mfig.update_xaxes(type="log")
            if spec.param(y).log:
                mfig.update_yaxes(type="log")
        else:
            mfig = F.sweep_1d(g.xs, g.q[0], x, label, curx if curx is not None else g.xs[0], spec.param(x).log)
            mfig.update_layout(title=f"{spec.name}: {label} at k = {level} over {x}")
            if ratio:
                mfig.update_yaxes(type="log")
        chart(mfig, key=chart_key, on_select=lambda: on_pick(key, x, y, chart_key, g.xs, g.ys or []),
              selection_mode="points")
        grid_rows = [{x: xv, **({y: yv} if y else {}), "quantity": quantity, "value": float(g.q[iy, ix]),
                      "switches_a_term_off": bool(off[iy, ix])}
                     for iy, yv in enumerate(g.ys or [None]) for ix, xv in enumerate(g.xs)]
        export_buttons(mfig, pd.DataFrame(grid_rows), f"tune_{key}_map",
                       {**conf, "x": x, "y": y, "quantity": quantity, "target": target, "resolution": len(g.xs)})
    with scol:
        st.markdown(f"**Recommendation** (grid {len(g.ys) if g.ys else 1}×{len(g.xs)})")
        if rec.cell is not None:
            st.markdown(plain(rec.reason, max_len=600))
            st.button("Use the recommended cell", key="tune_best", on_click=on_set, args=(key, rec.params))
            if rec.runners_up:
                st.dataframe(pd.DataFrame([{**p, label: V.fmt(v)} for p, v in rec.runners_up]), hide_index=True,
                             width="stretch")
                st.caption("Runner-ups.")
        else:
            st.markdown(rec.reason)
        if off.any():
            st.caption("Crossed cells: " + "; ".join(dict.fromkeys(
                TR.switched_off(key, a, v) for a, axis_vals in ((x, g.xs), (y, g.ys or [])) for v in axis_vals
                if TR.switched_off(key, a, v))) + ". They are never recommended.")
        if g.note:
            st.caption(g.note)
        for name in inert:
            p = spec.param(name)
            if p.inert:
                st.warning(f"{name} has no effect on the {label}: {p.inert}.")
                continue
            where = V.acts_under(key, name, quantity, base_json)
            st.warning(f"{name} has no effect on the {label} under this protocol (the map is constant along it "
                       "within float precision)." + (f" It acts under: {where[0]}." if where else
                                                     " No offered protocol makes it act on this quantity."))
        st.caption("Click a cell to move the sliders there; the × marks the current values.")
    sync_url({**SPEC, **PSPEC}, _url_values(key, params))


def _url_values(key: str, params: dict) -> dict:
    out = {k: st.session_state.get(k, p.default) for k, p in SPEC.items()}
    for axis_name, dflt in zip(("tune_x", "tune_y"), default_axes(key)):  # the default axes stay out of the URL
        if out[axis_name] == dflt:
            out[axis_name] = ""
    for p in REGISTRY[key].params:
        v = params.get(p.name)
        out[f"tune_{key}.{p.name}"] = ("auto" if v is None else f"{float(v):.6g}") if p.auto else v
    return out


tune(key, skey, present)
if present:
    st.latex(spec.formula)
    st.caption(PROTOCOL_NOTE)
