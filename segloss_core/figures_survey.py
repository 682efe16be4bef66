"""Lecture figures for the survey comparison: one small panel per loss, and a level player.

* :func:`small_multiples`: one small panel per loss, grouped by family (a row per family), the large
  and the small object overlaid (two colours, one legend of two entries: no scrolling legend), each
  panel titled with its verdicts, and optionally a pinned setting A drawn dotted beside it.
* :func:`level_player`: the prediction at error level k for both objects (overlays cropped to the
  object, the zoom stated) beside the selected losses' curves with a marker at k, animated with
  Plotly frames (play, pause and a slider run in the browser: no script rerun).
"""
from __future__ import annotations

import base64
import io
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

from .figures import OKABE_ITO, REGION_COLORS
from .registry import FAMILIES, REGISTRY

OBJECT_COLORS = {"large": "#0072B2", "small": "#D55E00"}
VERDICT_COLORS = {"rises": "#009E73", "saturates": "#B8860B", "flat": "#777777", "falls": "#D55E00"}
COLS = 8


def _short(key: str, limit: int = 24) -> str:
    name = REGISTRY[key].name
    return name if len(name) <= limit else key.replace("_", " ")


def _badge(verdict: str) -> str:
    return f"<span style='color:{VERDICT_COLORS.get(verdict, '#333')}'>{verdict}</span>"


def small_multiples(curves: pd.DataFrame, verdicts: pd.DataFrame, keys: Sequence[str], *, normalized: bool = True,
                    pinned: pd.DataFrame | None = None, pinned_label: str = "A", font: int = 11,
                    level: int | None = None, max_cols: int = COLS) -> go.Figure:
    """One panel per loss of ``keys``, a row (or more) per family, at most ``max_cols`` panels a row
    (fewer, with larger fonts, for a projector); both objects in each panel."""
    keys = [k for k in keys if k in set(curves["loss"])]
    rows_of: list[list[str]] = []
    for fam in FAMILIES:
        ks = [k for k in keys if REGISTRY[k].family == fam]
        rows_of += [ks[i:i + max_cols] for i in range(0, len(ks), max_cols)]
    cols = max(1, min(max_cols, max((len(r) for r in rows_of), default=1)))
    limit = max(12, int(1400 / cols / (font * 0.62)))  # characters that fit a panel's width
    v = verdicts.set_index(["loss", "object"])
    titles, order = [], []
    for r in rows_of:
        for k in r + [None] * (cols - len(r)):
            order.append(k)
            if k is None:
                titles.append("")
                continue
            vl = v.loc[(k, "large"), "verdict"] if (k, "large") in v.index else "?"
            vs = v.loc[(k, "small"), "verdict"] if (k, "small") in v.index else "?"
            titles.append(f"<b>{_short(k, limit)}</b><br>L {_badge(vl)} · S {_badge(vs)}")
    n_rows = max(1, len(rows_of))
    fig = make_subplots(rows=n_rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.025,
                        vertical_spacing=min(0.12, 0.5 / n_rows), shared_xaxes=False)
    col = "value_norm" if normalized else "value"
    groups = {name: d.sort_values("level") for name, d in curves.groupby(["loss", "object"], sort=False)}
    pgroups = ({name: d.sort_values("level") for name, d in pinned.groupby(["loss", "object"], sort=False)}
               if pinned is not None else {})
    shown = set()
    for i, k in enumerate(order):
        if k is None:
            continue
        r, c = divmod(i, cols)
        for obj in ("large", "small"):
            d = groups.get((k, obj))
            if d is None:
                continue
            first = obj not in shown
            shown.add(obj)
            fig.add_trace(go.Scatter(
                x=d["level"], y=d[col], mode="lines", name=f"{obj} object", legendgroup=obj, showlegend=first,
                line=dict(color=OBJECT_COLORS[obj], width=2),
                hovertemplate=f"<b>{_short(k)}</b>, {obj}<br>level %{{x}}<br>value %{{customdata:.4g}}<extra></extra>",
                customdata=d["value"]), row=r + 1, col=c + 1)
            p = pgroups.get((k, obj))
            if p is not None:
                pf = f"{pinned_label}: {obj}"
                fig.add_trace(go.Scatter(
                    x=p["level"], y=p[col], mode="lines", name=pf, legendgroup=pf, showlegend=pf not in shown,
                    line=dict(color=OBJECT_COLORS[obj], width=1.5, dash="dot"), opacity=0.7, hoverinfo="skip"),
                    row=r + 1, col=c + 1)
                shown.add(pf)
        if level is not None:
            fig.add_vline(x=level, line=dict(color="#999999", width=1, dash="dot"), row=r + 1, col=c + 1)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_annotations(font_size=font)
    fig.update_layout(template="plotly_white", height=(150 + 2 * font) * n_rows + 150,
                      margin=dict(l=10, r=10, t=60 + 3 * font, b=50),
                      legend=dict(orientation="h", y=0, yanchor="top", x=0, font=dict(size=font + 1)),
                      title=dict(text=("Each loss vs the error level: large object (blue) and small object "
                                       "(vermillion), " + ("min-max normalized" if normalized else "raw values")
                                       + "; L/S: the verdicts"), font=dict(size=font + 3)))
    return fig


def _overlay_png(gt: np.ndarray, pred: np.ndarray, box: tuple[slice, slice], scale: int) -> str:
    """The TP/FP/FN/TN overlay of the box, enlarged ``scale`` times, as a PNG data URL."""
    g, p = np.asarray(gt, bool)[box], np.asarray(pred > 0.5)[box]
    cls = np.zeros(g.shape, np.uint8)
    cls[g & p], cls[~g & p], cls[g & ~p] = 1, 2, 3
    rgb = np.array([[int(REGION_COLORS[r][i:i + 2], 16) for i in (1, 3, 5)] for r in ("tn", "tp", "fp", "fn")],
                   np.uint8)[cls]
    img = Image.fromarray(rgb).resize((rgb.shape[1] * scale, rgb.shape[0] * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def level_player(curves: pd.DataFrame, masks: dict, predictions: dict, keys: Sequence[str],
                 boxes: dict[str, tuple[slice, slice]], *, start: int = 0, font: int = 12) -> go.Figure:
    """Overlays of level k (large, small) beside the ``keys`` curves of the small object with a
    marker at k; frames for every level, played in the browser."""
    keys = [k for k in keys if k in set(curves["loss"])][:8]
    levels = sorted(set(curves["level"]))
    fig = make_subplots(rows=1, cols=3, column_widths=[0.25, 0.25, 0.5], horizontal_spacing=0.05,
                        subplot_titles=["large", "small", "Selected losses, small object (normalized)"])
    side = {o: max(boxes[o][0].stop - boxes[o][0].start, boxes[o][1].stop - boxes[o][1].start) for o in ("large", "small")}
    scale = {o: max(1, int(240 // max(side[o], 1))) for o in ("large", "small")}
    counts = curves[curves["loss"] == curves["loss"].iloc[0]].set_index(["object", "level"])

    def title(o: str, k: int) -> str:
        c = counts.loc[(o, k)]
        return (f"{o.capitalize()} object, k = {k}: FN {int(c['fn'])}, FP {int(c['fp'])}"
                f"<br>(zoom ×{scale[o]}, {side[o]} px shown)")

    def images(k: int):
        return [go.Image(source=_overlay_png(masks[o], predictions[o][k], boxes[o], scale[o]), hoverinfo="skip")
                for o in ("large", "small")]

    for j, tr in enumerate(images(start)):
        fig.add_trace(tr, row=1, col=j + 1)
    small = curves[curves["object"] == "small"]
    for i, k in enumerate(keys):
        d = small[small["loss"] == k].sort_values("level")
        fig.add_trace(go.Scatter(x=d["level"], y=d["value_norm"], mode="lines", name=_short(k),
                                 line=dict(color=OKABE_ITO[i % len(OKABE_ITO)], width=2)), row=1, col=3)
    n_static = len(fig.data)
    for i, k in enumerate(keys):
        d = small[(small["loss"] == k) & (small["level"] == start)]
        fig.add_trace(go.Scatter(x=d["level"], y=d["value_norm"], mode="markers", showlegend=False, hoverinfo="skip",
                                 marker=dict(size=11, color=OKABE_ITO[i % len(OKABE_ITO)], line=dict(color="#000", width=1))),
                      row=1, col=3)
    markers = list(range(n_static, len(fig.data)))
    by = {(k, lv): float(v) for k, lv, v in zip(small["loss"], small["level"], small["value_norm"])}
    frames = []
    for lv in levels:
        data = images(lv) + [go.Scatter(x=[lv], y=[by.get((k, lv), np.nan)]) for k in keys]
        frames.append(go.Frame(name=str(lv), data=data, traces=[0, 1] + markers,
                               layout=go.Layout(annotations=[dict(text=title("large", lv)), dict(text=title("small", lv))])))
    fig.frames = frames
    fig.layout.annotations[0].text = title("large", start)
    fig.layout.annotations[1].text = title("small", start)
    for ax in ("xaxis", "yaxis", "xaxis2", "yaxis2"):
        fig.layout[ax].update(visible=False)
    fig.update_yaxes(range=[-0.05, 1.05], row=1, col=3)
    fig.update_xaxes(title_text="error level k", row=1, col=3)
    fig.update_annotations(font_size=font)
    play = dict(label="▶ Play", method="animate",
                args=[None, dict(frame=dict(duration=350, redraw=True), fromcurrent=True, transition=dict(duration=0))])
    pause = dict(label="❚❚ Pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")])
    fig.update_layout(
        template="plotly_white", height=560, margin=dict(l=10, r=10, t=70, b=170),
        legend=dict(orientation="h", y=-0.5, yanchor="top", font=dict(size=font)),
        updatemenus=[dict(type="buttons", direction="left", x=0, y=-0.14, xanchor="left", yanchor="top",
                          buttons=[play, pause], font=dict(size=font))],
        sliders=[dict(active=levels.index(start) if start in levels else 0, x=0.16, len=0.84, y=-0.1,
                      yanchor="top", currentvalue=dict(prefix="level k = ", font=dict(size=font)),
                      steps=[dict(label=str(lv), method="animate",
                                  args=[[str(lv)], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                                        transition=dict(duration=0))]) for lv in levels])])
    return fig
