"""Figure builders: pure functions from computed data to Plotly figures. No Streamlit.

Colours: the Okabe-Ito palette (safe for the common colour-vision deficiencies), with line dashes
cycling so that 26 curves stay distinguishable; overlays use Okabe-Ito too (TP bluish green,
FP vermillion, FN blue, TN light grey).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .figure_grid import Grid
from .figure_style import TEMPLATE
from .monotonic import normalize
from .registry import REGISTRY

OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")  # 48 distinct styles
REGION_COLORS = {"tn": "#EEEEEE", "tp": "#009E73", "fp": "#D55E00", "fn": "#0072B2"}
REGION_NAMES = {"tp": "true positive", "fp": "false positive", "fn": "false negative", "tn": "true negative"}
FAMILY_COLORS = {"distribution": "#0072B2", "region": "#D55E00", "boundary": "#009E73", "compound": "#CC79A7"}


def line_style(i: int) -> dict:
    """Colour and dash of the i-th curve: 8 colours × 6 dashes (every loss of the registry distinct)."""
    return {"color": OKABE_ITO[i % len(OKABE_ITO)], "dash": DASHES[(i // len(OKABE_ITO)) % len(DASHES)]}


def _name(key: str) -> str:
    return REGISTRY[key].name if key in REGISTRY else key


def _pair_figure(curves: pd.DataFrame, column: str, ytitle: str, titles: Sequence[str], log_y: bool = False,
                 x: str = "level") -> go.Figure:
    """Every loss vs the error level, one panel per object; built as one dictionary
    (:mod:`segloss_core.figure_grid`: 52 curves through the object API took seconds)."""
    objects = list(dict.fromkeys(curves["object"]))
    grid = Grid(1, len(objects), titles=list(titles)[: len(objects)], h_spacing=0.06)
    hover = {"fp", "fn"} <= set(curves)
    groups = {name: d for name, d in curves.groupby(["loss", "object"], sort=False)}
    for i, key in enumerate(dict.fromkeys(curves["loss"])):
        style = line_style(i)
        for j, obj in enumerate(objects):
            d = groups.get((key, obj))
            if d is None:
                continue
            trace = {"type": "scatter", "x": d[x].to_numpy(), "y": d[column].to_numpy(), "mode": "lines",
                     "name": _name(key), "legendgroup": key, "showlegend": j == 0, "line": {"width": 2, **style}}
            if hover:
                trace["customdata"] = np.stack([d["fp"], d["fn"], d["value"]], axis=1)
                trace["hovertemplate"] = (f"<b>{_name(key)}</b><br>level %{{x}}<br>FP %{{customdata[0]}} px, "
                                          "FN %{customdata[1]} px<br>value %{customdata[2]:.4g}<extra></extra>")
            grid.add(trace, 1, j + 1)
    grid.axes("x", title={"text": "error level k (k·Δ FP and k·Δ FN pixels)"})
    grid.axes("y", col=1, title={"text": ytitle})
    if log_y:
        grid.axes("y", type="log")
    else:  # one shared scale, as make_subplots(shared_yaxes=True)
        for j in range(2, len(objects) + 1):
            grid.axes("y", col=j, matches="y", showticklabels=False)
    return grid.figure(template=TEMPLATE, height=520, legend={"font": {"size": 11}},
                       margin={"l": 60, "r": 20, "t": 60, "b": 60}, hovermode="closest")


def _titles(curves: pd.DataFrame, masks: dict | None) -> list[str]:
    out = []
    for obj in dict.fromkeys(curves["object"]):
        px = int(masks[obj].sum()) if masks and obj in masks else None
        out.append(f"{obj.capitalize()} object" + (f" ({px:,} px)" if px is not None else ""))
    return out


def loss_curves(curves: pd.DataFrame, *, normalized: bool = True, masks: dict | None = None) -> go.Figure:
    """Loss vs error level, the objects side by side; min-max normalized per loss, or raw values."""
    col = "value_norm" if normalized else "value"
    fig = _pair_figure(curves, col, "loss (min-max normalized per loss)" if normalized else "loss value",
                       _titles(curves, masks))
    fig.update_layout(title="Loss vs error: does each loss keep rising as the prediction gets worse?")
    return fig


def gradient_curves(curves: pd.DataFrame, *, masks: dict | None = None) -> go.Figure:
    """‖∂L/∂z‖₂ vs error level on a log scale, the objects side by side."""
    d = curves.copy()
    # an exactly zero gradient (e.g. a perfect prediction) has no place on a log axis: leave a gap
    # rather than a misleading drop to an arbitrary floor
    d["grad_l2"] = d["grad_l2"].where(d["grad_l2"] > 0)
    fig = _pair_figure(d, "grad_l2", "‖∂L/∂z‖₂ (log scale)", _titles(curves, masks), log_y=True)
    fig.update_layout(title="Gradient magnitude vs error (a gap marks a gradient of exactly 0)")
    return fig


def gradient_heatmaps(maps: dict[str, np.ndarray], *, shared_scale: bool = True, cols: int = 3,
                      signed: bool = True, title: str = "Per-pixel gradient ∂L/∂z") -> go.Figure:
    """Side-by-side per-pixel gradient maps; one shared colour scale or one per map. The maps are
    sent as float32 (the gradients are computed in float32 by default). Built as one dictionary
    (:mod:`segloss_core.figure_grid`)."""
    keys = list(maps)
    if not keys:
        raise ValueError("no gradient maps to show")
    cols = max(1, min(cols, len(keys)))
    rows = -(-len(keys) // cols)
    grid = Grid(rows, cols, titles=[_name(k) for k in keys], h_spacing=0.04 if shared_scale else 0.09,
                v_spacing=0.08)
    vmax_all = max(float(np.abs(m).max()) for m in maps.values()) or 1.0
    for i, k in enumerate(keys):
        # float32 in the figure: half the bytes sent to the browser (hover shows 3 digits anyway)
        m = np.asarray(maps[k], dtype=np.float32)
        vmax = vmax_all if shared_scale else (float(np.abs(m).max()) or 1.0)
        r, c = divmod(i, cols)
        if shared_scale:
            colorbar = {"thickness": 12}
        else:  # one bar per map, just right of its own subplot
            n = grid.index(r + 1, c + 1)
            xd, yd = grid.layout[Grid.axis("x", n)]["domain"], grid.layout[Grid.axis("y", n)]["domain"]
            colorbar = {"thickness": 8, "len": (yd[1] - yd[0]) * 0.9, "y": (yd[0] + yd[1]) / 2, "x": xd[1] + 0.003,
                        "xanchor": "left", "tickfont": {"size": 9}}
        grid.add({"type": "heatmap", "z": m, "zmin": -vmax if signed else 0, "zmax": vmax,
                  "colorscale": "RdBu_r" if signed else "Viridis", "showscale": (i == 0) if shared_scale else True,
                  "colorbar": colorbar,
                  "hovertemplate": f"{_name(k)}<br>x %{{x}}, y %{{y}}<br>∂L/∂z %{{z:.3e}}<extra></extra>"},
                 r + 1, c + 1)
    for n in range(1, rows * cols + 1):
        grid.layout[Grid.axis("y", n)].update(autorange="reversed", scaleanchor=Grid.ref("x", n), showticklabels=False)
        grid.layout[Grid.axis("x", n)].update(showticklabels=False)
    return grid.figure(template=TEMPLATE, height=max(320, 300 * rows), title=title,
                       margin={"l": 20, "r": 40, "t": 70, "b": 20})


def overlay(gt: np.ndarray, pred: np.ndarray, *, title: str = "") -> go.Figure:
    """TP/FP/FN/TN overlay of two binary masks with a legend that carries the pixel counts."""
    gt = np.asarray(gt, bool)
    pred = np.asarray(pred, bool)
    cls = np.zeros(gt.shape, dtype=np.uint8)  # 0 TN, 1 TP, 2 FP, 3 FN
    cls[gt & pred], cls[~gt & pred], cls[gt & ~pred] = 1, 2, 3
    order = ("tn", "tp", "fp", "fn")
    rgb = np.array([[int(REGION_COLORS[r][i:i + 2], 16) for i in (1, 3, 5)] for r in order], dtype=np.uint8)[cls]
    fig = go.Figure(go.Image(z=rgb, hovertemplate="x %{x}, y %{y}<extra></extra>"))
    for i, r in enumerate(order):
        n = int((cls == i).sum())
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{REGION_NAMES[r]}: {n:,}",
                                 marker=dict(size=12, color=REGION_COLORS[r], symbol="square",
                                             line=dict(color="#555", width=1))))
    fig.update_layout(template=TEMPLATE, title=title, height=420, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=-0.05), xaxis=dict(visible=False),
                      yaxis=dict(visible=False, scaleanchor="x"))
    return fig


def probability_map(p: np.ndarray, *, title: str = "") -> go.Figure:
    """The soft prediction p ∈ [0, 1] on a log colour scale of 1 − p and p, so that the background's
    small 1 − c (e.g. 0.01 on every pixel, the mass soft Dice sees) is visible beside the object's c.
    Shown with hover values (p per pixel, 4 significant digits)."""
    p = np.asarray(p, dtype=np.float32)
    fig = go.Figure(go.Heatmap(z=p, zmin=0.0, zmax=1.0, colorscale="Cividis",
                               colorbar=dict(thickness=12, title=dict(text="p")),
                               hovertemplate="x %{x}, y %{y}<br>p %{z:.4g}<extra></extra>"))
    fig.update_layout(template=TEMPLATE, title=title, height=380, margin=dict(l=10, r=10, t=50, b=10),
                      xaxis=dict(visible=False), yaxis=dict(visible=False, scaleanchor="x", autorange="reversed"))
    return fig


def value_bars(values: dict[str, float]) -> go.Figure:
    """Horizontal bars of loss values, coloured and grouped by family."""
    keys = sorted(values, key=lambda k: (list(FAMILY_COLORS).index(REGISTRY[k].family), k))
    fig = go.Figure()
    for fam, color in FAMILY_COLORS.items():
        ks = [k for k in keys if REGISTRY[k].family == fam]
        if ks:
            fig.add_trace(go.Bar(y=[_name(k) for k in ks], x=[values[k] for k in ks], orientation="h", name=fam,
                                 marker_color=color, hovertemplate="%{y}: %{x:.4g}<extra></extra>"))
    fig.update_layout(template=TEMPLATE, height=max(300, 26 * len(keys) + 80), barmode="group",
                      yaxis=dict(autorange="reversed"), xaxis_title="loss value",
                      margin=dict(l=10, r=10, t=30, b=40))
    return fig


VERDICT_FILL = {True: "#FFFFFF", False: "#FBE3D6", None: "#F2F2F2"}


def _flip(r) -> str:
    f = r["flip_tolerance"]
    return "" if f is None or pd.isna(f) else f", flips at {f:.1e}"


def verdict_cells(verdicts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The verdict table as text cells and their fill colours (same shape): one row per loss, the
    measured verdict (word, Kendall's τ, the tolerance at which it flips) and what the survey says,
    per object. Fill: white agrees, red (:data:`VERDICT_FILL`) disagrees, grey not stated."""
    v = verdicts.set_index(["loss", "object"])
    keys = list(dict.fromkeys(verdicts["loss"]))
    objs = list(dict.fromkeys(verdicts["object"]))

    def cell(k, o):
        r = v.loc[(k, o)]
        return f"{r['verdict']} (τ={r['kendall_tau']:.2f}{_flip(r)})"

    cols = {"loss": [_name(k) for k in keys]}
    fills = {"loss": ["#FFFFFF"] * len(keys)}
    for o in objs:
        agree = [VERDICT_FILL[None if pd.isna(v.loc[(k, o)]["agrees"]) else bool(v.loc[(k, o)]["agrees"])]
                 for k in keys]
        cols[f"{o}: measured"] = [cell(k, o) for k in keys]
        cols[f"{o}: survey says"] = [v.loc[(k, o)]["survey_says"] for k in keys]
        fills[f"{o}: measured"] = fills[f"{o}: survey says"] = agree
    return pd.DataFrame(cols), pd.DataFrame(fills)


def verdict_table(verdicts: pd.DataFrame) -> go.Figure:
    """Measured verdicts beside what the survey says (:func:`verdict_cells`) as a Plotly table, for
    the PNG and HTML exports. Shaded red: disagreement; grey: not stated. (On screen the page shows
    the same cells as a styled data frame: a 26-row Plotly table cost ~0.5 s of browser time on
    every protocol change.)"""
    cells, fills = verdict_cells(verdicts)
    keys = list(dict.fromkeys(verdicts["loss"]))
    widths = [2.0] + [2.0, 1.0] * ((cells.shape[1] - 1) // 2)
    fig = go.Figure(go.Table(columnwidth=widths,
                             header=dict(values=list(cells.columns), fill_color="#DDDDDD", align="left"),
                             cells=dict(values=[cells[c].tolist() for c in cells.columns],
                                        fill_color=[fills[c].tolist() for c in fills.columns], align="left",
                                        height=24)))
    # rows whose loss name wraps are taller: size the figure so that no row is cut off
    lines = sum(1 + len(_name(k)) // 22 for k in keys)
    fig.update_layout(height=22 * lines + 8 * len(keys) + 110, margin=dict(l=10, r=10, t=40, b=10),
                      title="Measured verdicts beside the survey (red: disagrees; grey: the survey states nothing)")
    return fig


def soft_hard_curves(soft: pd.DataFrame, hard: pd.DataFrame, *, soft_label: str, obj: str = "small") -> go.Figure:
    """One object's normalized curves under soft predictions (solid) and hard ones (dotted), one
    colour per loss, so the losses that become exactly flat with hard masks stand out."""
    fig = go.Figure()
    for i, key in enumerate(dict.fromkeys(soft["loss"])):
        color = OKABE_ITO[i % len(OKABE_ITO)]
        for d, dash, tag in ((soft, "solid", soft_label), (hard, "dot", "hard")):
            c = d[(d["loss"] == key) & (d["object"] == obj)].sort_values("level")
            fig.add_trace(go.Scatter(x=c["level"], y=c["value_norm"], mode="lines", name=f"{_name(key)} ({tag})",
                                     legendgroup=key, line=dict(color=color, dash=dash)))
    fig.update_layout(template=TEMPLATE, height=420, title=f"{obj.capitalize()} object: soft (solid) vs hard (dotted)",
                      xaxis_title="error level k", yaxis_title="loss (min-max normalized per loss)",
                      margin=dict(l=60, r=10, t=50, b=50))
    return fig


def robustness_heatmap(table: pd.DataFrame, labels: dict[tuple, str] | None = None) -> go.Figure:
    """Where the survey's small-object sentence holds: share of the pairs it names that agree, per
    setting (rows: protocol × Δ × confidence) and tolerance (columns, log). 1 = the sentence holds."""
    small = table[(table["object"] == "small") & (table["survey_says"] != "not stated")]
    rows = list(dict.fromkeys(zip(small["protocol"], small["delta"], small["confidence"])))
    tols = sorted(set(small["tolerance"]))
    agree = small.assign(a=small["agrees"].astype(float)).groupby(
        ["protocol", "delta", "confidence", "tolerance"], sort=False)["a"].mean()
    z = np.array([[agree.get((p, d, c, t), np.nan) for t in tols] for p, d, c in rows])
    names = [(labels or {}).get((p, d, c), f"{p}, Δ={d}, c={c:g}") for p, d, c in rows]
    disagree = small[small["agrees"] == False]  # noqa: E712
    why = disagree.groupby(["protocol", "delta", "confidence", "tolerance"], sort=False)["loss"].apply(
        lambda s: ", ".join(_name(k) for k in s))
    text = [[why.get((p, d, c, t), "all agree") for t in tols] for p, d, c in rows]
    xt = [f"{t:.0e}" for t in tols]
    fig = go.Figure(go.Heatmap(
        z=z, x=xt, y=names, zmin=0, zmax=1, colorscale=[[0, "#D55E00"], [0.999, "#F0E442"], [1, "#009E73"]],
        colorbar=dict(title="share agreeing", tickvals=[0, 0.5, 1]), text=text, xgap=1, ygap=1,
        hovertemplate="%{y}<br>tolerance %{x}<br>share agreeing %{z:.2f}<br>disagree: %{text}<extra></extra>"))
    fig.update_layout(template=TEMPLATE, height=max(320, 18 * len(rows) + 140),
                      title="Where the survey's small-object sentence holds (green: every named loss agrees)",
                      xaxis_title="monotonicity tolerance (fraction of each curve's range, log steps)",
                      yaxis=dict(autorange="reversed"), margin=dict(l=10, r=10, t=50, b=60))
    return fig


def pixel_term_curve(pt: np.ndarray, curves: dict[str, np.ndarray], title: str, yname: str = "per-pixel term") -> go.Figure:
    """Per-pixel terms of some losses against p_t (the probability of the true class)."""
    fig = go.Figure()
    for i, (name, y) in enumerate(curves.items()):
        fig.add_trace(go.Scatter(x=pt, y=y, mode="lines", name=name, line=line_style(i)))
    fig.add_hline(y=0, line=dict(color="#999999", width=1))
    fig.update_layout(template=TEMPLATE, height=340, title=title, xaxis_title="p_t (probability of the true class)",
                      yaxis_title=yname, margin=dict(l=60, r=20, t=50, b=50),
                      legend=dict(orientation="h", y=-0.25))
    return fig


def grid_heatmap(values: np.ndarray, x: Iterable[float], y: Iterable[float], *, xname: str, yname: str,
                 quantity: str, marker: tuple[float, float] | None = None) -> go.Figure:
    """Heatmap of ``values[i_y, i_x]`` over a 2-D parameter grid, with hover read-outs and an
    optional marker at the current parameter values."""
    x, y = list(x), list(y)
    fig = go.Figure(go.Heatmap(z=values, x=x, y=y, colorscale="Viridis", colorbar=dict(title=quantity),
                               hovertemplate=f"{xname}=%{{x:.3g}}<br>{yname}=%{{y:.3g}}<br>{quantity}=%{{z:.4g}}<extra></extra>"))
    if marker is not None:
        fig.add_trace(go.Scatter(x=[marker[0]], y=[marker[1]], mode="markers", name="current",
                                 marker=dict(symbol="x", size=14, color="#D55E00", line=dict(width=2))))
    fig.update_layout(template=TEMPLATE, xaxis_title=xname, yaxis_title=yname, height=460,
                      margin=dict(l=60, r=20, t=40, b=60), showlegend=False)
    return fig


def mask_thumbnails(images: Sequence[np.ndarray], labels: Sequence[str], *, gt: np.ndarray | None = None,
                    title: str = "") -> go.Figure:
    """Small multiples of predictions (overlaid on ``gt`` when given) so the x-axis means something."""
    n = len(images)
    fig = make_subplots(rows=1, cols=n, subplot_titles=list(labels), horizontal_spacing=0.01)
    for i, img in enumerate(images):
        if gt is not None:
            sub = overlay(gt, np.asarray(img) > 0.5).data[0]
        else:
            sub = go.Heatmap(z=img, colorscale="Greys", showscale=False)
        fig.add_trace(sub, row=1, col=i + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    fig.update_layout(height=200, margin=dict(l=0, r=0, t=40 if title else 24, b=0), title=title or None)
    return fig


def gradient_vs_size(df: pd.DataFrame) -> go.Figure:
    """Gradient magnitude vs object radius (log-log), one curve per loss."""
    fig = go.Figure()
    for i, key in enumerate(dict.fromkeys(df["loss"])):
        d = df[df["loss"] == key]
        fig.add_trace(go.Scatter(x=d["radius"], y=d["grad_l2"].clip(lower=1e-12), mode="lines+markers",
                                 name=_name(key), line=dict(width=2, **line_style(i)),
                                 hovertemplate=f"<b>{_name(key)}</b><br>radius %{{x}} px<br>‖∂L/∂z‖₂ %{{y:.3e}}<extra></extra>"))
    fig.update_layout(template=TEMPLATE, xaxis=dict(type="log", title="object radius (px)"),
                      yaxis=dict(type="log", title="‖∂L/∂z‖₂"), height=480,
                      title="Gradient magnitude vs object size (fixed relative error)")
    return fig


def size_panels(df: pd.DataFrame, panels: Sequence[tuple[str, str]], *, log_y: bool = True) -> go.Figure:
    """One panel per ``(column, title)`` of a size-study table against the object radius (log x).

    On a log y axis an exactly zero value (e.g. the boundary loss on missed pixels that lie on the
    ground-truth contour, where φ = 0) is left as a gap rather than drawn at an arbitrary floor.
    """
    grid = Grid(1, len(panels), titles=[t for _, t in panels], h_spacing=0.08)
    for i, key in enumerate(dict.fromkeys(df["loss"])):
        d = df[df["loss"] == key]
        for j, (col, title) in enumerate(panels):
            y = d[col].where(d[col] > 0) if log_y else d[col]
            grid.add({"type": "scatter", "x": d["radius"].to_numpy(), "y": y.to_numpy(), "mode": "lines+markers",
                      "name": _name(key), "legendgroup": key, "showlegend": j == 0,
                      "line": {"width": 2, **line_style(i)}, "customdata": d["pixels"].to_numpy(),
                      "hovertemplate": f"<b>{_name(key)}</b><br>radius %{{x}} px (%{{customdata}} px)<br>"
                                       f"{title}: %{{y:.3e}}<extra></extra>"}, 1, j + 1)
    grid.axes("x", type="log", title={"text": "object radius (px)"})
    if log_y:
        grid.axes("y", type="log")
    return grid.figure(template=TEMPLATE, height=460, margin={"l": 60, "r": 20, "t": 50, "b": 50},
                       hovermode="closest")


def tune_curves(curves: dict[str, dict[str, np.ndarray]], pixels: dict[str, int], counts: dict[str, list],
                normalized: bool) -> go.Figure:
    """Loss vs error level for several parameter settings (``curves[label][object]``), small and large
    object side by side: the current setting bold, the defaults dashed, the references dotted."""
    objs = ("small", "large")
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=[f"{o.capitalize()} object ({pixels[o]:,} px)" for o in objs])
    ref = [lab for lab in curves if lab not in ("current", "defaults")]
    for i, lab in enumerate(curves):
        if lab == "current":
            line = dict(color="#000000", width=3.5)
        elif lab == "defaults":
            line = dict(color="#555555", width=2.5, dash="dash")
        else:
            line = dict(color=OKABE_ITO[ref.index(lab) % len(OKABE_ITO)], width=1.8, dash="dot")
        for j, o in enumerate(objs):
            v = np.asarray(curves[lab][o], float)
            raw = v
            if normalized:
                v = normalize(v)
            cnt = counts[o]
            fig.add_trace(go.Scatter(
                x=np.arange(v.size), y=v, mode="lines", name=lab, legendgroup=lab, showlegend=j == 0, line=line,
                customdata=np.stack([[c["fn"] for c in cnt], [c["fp"] for c in cnt], raw], 1),
                hovertemplate=f"<b>{lab}</b><br>level %{{x}} (FN %{{customdata[0]}}, FP %{{customdata[1]}})"
                              "<br>value %{customdata[2]:.4g}<extra></extra>"), row=1, col=j + 1)
        fig.update_xaxes(title_text="error level k", row=1, col=1)
        fig.update_xaxes(title_text="error level k", row=1, col=2)
    fig.update_yaxes(title_text="loss (min-max per curve)" if normalized else "loss value", row=1, col=1)
    fig.update_layout(template=TEMPLATE, height=430, margin=dict(l=60, r=20, t=50, b=50),
                      legend=dict(orientation="h", y=-0.22), hovermode="closest")
    return fig


def compare_curves(curves: dict[str, np.ndarray], counts: list[dict], *, normalized: bool, title: str) -> go.Figure:
    """Loss vs error level for a few named settings: "B (current)" bold black, "A (pinned)" bold
    orange, "defaults" dashed grey, the papers' settings dotted."""
    styles = {"B (current)": dict(color="#000000", width=3.5), "A (pinned)": dict(color="#E69F00", width=3.5),
              "defaults": dict(color="#555555", width=2.5, dash="dash")}
    fig = go.Figure()
    others = [lab for lab in curves if lab not in styles]
    fn = [c["fn"] for c in counts]
    fp = [c["fp"] for c in counts]
    for lab, v in curves.items():
        raw = np.asarray(v, float)
        y = normalize(raw) if normalized else raw
        line = styles.get(lab) or dict(color=OKABE_ITO[(4 + others.index(lab)) % len(OKABE_ITO)], width=2, dash="dot")
        fig.add_trace(go.Scatter(x=np.arange(raw.size), y=y, mode="lines", name=lab, line=line,
                                 customdata=np.stack([fn, fp, raw], 1),
                                 hovertemplate=f"<b>{lab}</b><br>level %{{x}} (FN %{{customdata[0]}}, FP "
                                               "%{customdata[1]})<br>value %{customdata[2]:.4g}<extra></extra>"))
    fig.update_layout(template=TEMPLATE, height=400, title=title, xaxis_title="error level k",
                      yaxis_title="loss (min-max per curve)" if normalized else "loss value",
                      margin=dict(l=60, r=20, t=50, b=50), legend=dict(orientation="h", y=-0.22))
    return fig


def mark_cells(fig: go.Figure, xs, ys, mask: np.ndarray, name: str) -> go.Figure:
    """Grey crosses on the cells where ``mask`` is True (e.g. a parameter switches a term off)."""
    X, Y = np.meshgrid(xs, ys)
    m = np.asarray(mask, bool)
    if m.any():
        fig.add_trace(go.Scatter(x=X[m], y=Y[m], mode="markers", name=name, hoverinfo="skip", showlegend=True,
                                 marker=dict(symbol="x-thin", size=9, color="#444444", line=dict(width=1.5))))
    return fig


def clickable_cells(fig: go.Figure, xs, ys, q, xname: str, yname: str, label: str) -> go.Figure:
    """Invisible markers on every cell centre: Plotly heatmaps send no selection events, markers do."""
    X, Y = np.meshgrid(xs, ys)
    fig.data[0].hoverinfo = "skip"
    fig.add_trace(go.Scatter(
        x=X.ravel(), y=Y.ravel(), mode="markers", customdata=np.asarray(q, float).ravel(), showlegend=False,
        name="cells", marker=dict(size=max(8, 360 // max(len(xs), len(ys))), symbol="square", opacity=0,
                                  color="#000000"),
        selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0)),
        hovertemplate=f"{xname}=%{{x:.4g}}<br>{yname}=%{{y:.4g}}<br>{label}=%{{customdata:.4g}}<extra></extra>"))
    # keep the marker of the current point on top
    fig.data = (fig.data[0], fig.data[-1]) + tuple(fig.data[1:-1])
    return fig


def sweep_1d(xs, q, xname: str, label: str, current: float, log: bool) -> go.Figure:
    """A quantity along one parameter, with the current value marked."""
    fig = go.Figure(go.Scatter(x=xs, y=q, mode="lines+markers", name=label, line=dict(color=OKABE_ITO[4], width=2),
                               hovertemplate=f"{xname}=%{{x:.4g}}<br>{label}=%{{y:.4g}}<extra></extra>"))
    fig.add_vline(x=current, line=dict(color="#D55E00", width=2, dash="dash"), annotation_text="current")
    fig.update_layout(template=TEMPLATE, height=400, xaxis_title=xname, yaxis_title=label,
                      margin=dict(l=60, r=20, t=40, b=60), showlegend=False)
    if log:
        fig.update_xaxes(type="log")
    return fig


def survey_figure(curves: pd.DataFrame, verdicts: pd.DataFrame, masks: dict | None = None) -> go.Figure:
    """The exported survey figure: normalized curves for both objects, then the verdict table."""
    top = loss_curves(curves, normalized=True, masks=masks)
    objs = list(dict.fromkeys(curves["object"]))
    n_rows = verdicts["loss"].nunique()
    table_px, plot_px = 34 * n_rows + 90, 520
    fig = make_subplots(rows=2, cols=len(objs), row_heights=[plot_px, table_px],
                        specs=[[{"type": "xy"}] * len(objs), [{"type": "table", "colspan": len(objs)}] + [None] * (len(objs) - 1)],
                        subplot_titles=_titles(curves, masks) + [""], vertical_spacing=0.08)
    for tr in top.data:
        fig.add_trace(tr, row=1, col=1 if tr.xaxis in (None, "x") else int(tr.xaxis[1:]))
    fig.add_trace(verdict_table(verdicts).data[0], row=2, col=1)
    fig.update_yaxes(title_text="normalized loss", row=1, col=1)
    fig.update_xaxes(title_text="error level k")
    fig.update_layout(template=TEMPLATE, height=plot_px + table_px + 160, width=1400,
                      title="Survey reproduction: loss vs error for a large and a small object")
    return fig
