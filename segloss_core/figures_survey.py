"""Lecture figures for the survey comparison: one small panel per loss, and a level player.

* :func:`small_multiples`: one small panel per loss, grouped by family (a row per family), the large
  and the small object overlaid (two colours, one legend of two entries: no scrolling legend), each
  panel titled with its verdicts, and optionally a pinned setting A drawn dotted beside it.
* :func:`level_player`: the prediction at error level k for both objects (overlays cropped to the
  object, the zoom stated) beside the selected losses' curves with a marker at k, animated with
  Plotly frames (play, pause and a slider run in the browser: no script rerun).
* :func:`pair_player`: the same for one ground truth and a ladder of predictions (the Playground):
  the overlay of level k, every loss vs k with a marker, and the values at k written on bars;
  :func:`player_controls` is the play / pause / step slider both use.
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

from .figure_grid import Grid
from .figure_style import TEMPLATE
from .figures import OKABE_ITO, REGION_COLORS
from .registry import FAMILIES, REGISTRY

OBJECT_COLORS = {"large": "#0072B2", "small": "#D55E00"}
VERDICT_COLORS = {"rises": "#009E73", "saturates": "#B8860B", "flat": "#777777", "falls": "#D55E00"}
COLS = 8


_ABBREVIATIONS = (("cross-entropy", "CE"), (" coefficient", " coef."), (" loss (", " ("))


def _short(key: str, limit: int = 24) -> str:
    """The loss's name if it fits ``limit`` characters, else with common abbreviations (CE for
    cross-entropy, no trailing "loss"), else that cut with "…": always words a lecture hall reads,
    never the registry key ("wce")."""
    name = REGISTRY[key].name
    if len(name) <= limit:
        return name
    for long, short in _ABBREVIATIONS:
        name = name.replace(long, short)
    name = name[:-5] if name.endswith(" loss") else name
    return name if len(name) <= limit else name[:limit - 1].rstrip() + "…"


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
    # characters that fit a panel's width: the main area is ~1100 px at 1400 px with the sidebar open
    limit = max(12, int(1100 / cols / (font * 0.62)))
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
    # one dictionary, one validation pass (figure_grid): 26 panels through the object API took ~3 s
    grid = Grid(n_rows, cols, titles=titles, h_spacing=0.025, v_spacing=min(0.12, 0.5 / n_rows), title_font=font)
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
            grid.add({"type": "scatter", "x": d["level"].to_numpy(), "y": d[col].to_numpy(), "mode": "lines",
                      "name": f"{obj} object", "legendgroup": obj, "showlegend": first,
                      "line": {"color": OBJECT_COLORS[obj], "width": 2},
                      "hovertemplate": f"<b>{_short(k)}</b>, {obj}<br>level %{{x}}<br>value %{{customdata:.4g}}"
                                       "<extra></extra>",
                      "customdata": d["value"].to_numpy()}, r + 1, c + 1)
            p = pgroups.get((k, obj))
            if p is not None:
                pf = f"{pinned_label}: {obj}"
                grid.add({"type": "scatter", "x": p["level"].to_numpy(), "y": p[col].to_numpy(), "mode": "lines",
                          "name": pf, "legendgroup": pf, "showlegend": pf not in shown,
                          "line": {"color": OBJECT_COLORS[obj], "width": 1.5, "dash": "dot"}, "opacity": 0.7,
                          "hoverinfo": "skip"}, r + 1, c + 1)
                shown.add(pf)
        if level is not None:
            grid.vline(level, r + 1, c + 1, {"color": "#999999", "width": 1, "dash": "dot"})
    for kind in ("x", "y"):
        grid.axes(kind, showticklabels=False, showgrid=False, zeroline=False)
    return grid.figure(template=TEMPLATE, height=(150 + 2 * font) * n_rows + 150,
                       margin={"l": 10, "r": 10, "t": 60 + 3 * font, "b": 50},
                       legend={"orientation": "h", "y": 0, "yanchor": "top", "x": 0, "font": {"size": font + 1}},
                       title={"text": ("Each loss vs the error level: large object (blue) and small object "
                                       "(vermillion), " + ("min-max normalized" if normalized else "raw values")
                                       + "; L/S: the verdicts"), "font": {"size": font + 3}})


def _overlay_png(gt: np.ndarray, pred: np.ndarray, box: tuple[slice, slice], scale: int, optimize: bool = True) -> str:
    """The TP/FP/FN/TN overlay of the box, enlarged ``scale`` times, as a PNG data URL."""
    g, p = np.asarray(gt, bool)[box], np.asarray(pred > 0.5)[box]
    cls = np.zeros(g.shape, np.uint8)
    cls[g & p], cls[~g & p], cls[g & ~p] = 1, 2, 3
    rgb = np.array([[int(REGION_COLORS[r][i:i + 2], 16) for i in (1, 3, 5)] for r in ("tn", "tp", "fp", "fn")],
                   np.uint8)[cls]
    img = Image.fromarray(rgb).resize((rgb.shape[1] * scale, rgb.shape[0] * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=optimize, compress_level=6 if optimize else 1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def level_player(curves: pd.DataFrame, masks: dict, predictions: dict, keys: Sequence[str],
                 boxes: dict[str, tuple[slice, slice]], *, start: int = 0, font: int = 12) -> go.Figure:
    """Overlays of level k (large, small) beside the ``keys`` curves of the small object with a
    marker at k; frames for every level, played in the browser.

    Built as dictionaries and wrapped unvalidated (:class:`FramedFigure`), the overlays encoded as
    fast PNGs (compression level 1): 41 levels × 2 overlays through the object API and optimized
    PNG encoding took 3-4 s on the loaded 2-core machine. The tests validate the dictionary once."""
    keys = [k for k in keys if k in set(curves["loss"])][:8]
    levels = sorted(set(curves["level"]))
    grid = Grid(1, 3, titles=["large", "small", "Selected losses vs error level k, small object (normalized)"],
                h_spacing=0.05,
                column_widths=[0.25, 0.25, 0.5], title_font=font)
    side = {o: max(boxes[o][0].stop - boxes[o][0].start, boxes[o][1].stop - boxes[o][1].start) for o in ("large", "small")}
    scale = {o: max(1, int(240 // max(side[o], 1))) for o in ("large", "small")}
    counts = curves[curves["loss"] == curves["loss"].iloc[0]].set_index(["object", "level"])
    pngs = {o: {lv: _overlay_png(masks[o], predictions[o][lv], boxes[o], scale[o], optimize=False) for lv in levels}
            for o in ("large", "small")}

    def title(o: str, k: int) -> str:
        c = counts.loc[(o, k)]
        return (f"{o.capitalize()} object, k = {k}: FN {int(c['fn'])}, FP {int(c['fp'])}"
                f"<br>(zoom ×{scale[o]}, {side[o]} px shown)")

    def images(k: int) -> list[dict]:
        return [{"type": "image", "source": pngs[o][k], "hoverinfo": "skip", "xaxis": Grid.ref("x", j + 1),
                 "yaxis": Grid.ref("y", j + 1)} for j, o in enumerate(("large", "small"))]

    small = curves[curves["object"] == "small"]
    by = {(k, lv): float(v) for k, lv, v in zip(small["loss"], small["level"], small["value_norm"])}
    data = images(start)
    for i, k in enumerate(keys):
        d = small[small["loss"] == k].sort_values("level")
        data.append({"type": "scatter", "x": d["level"].to_list(), "y": d["value_norm"].to_list(), "mode": "lines",
                     "name": _short(k), "line": {"color": OKABE_ITO[i % len(OKABE_ITO)], "width": 2},
                     "xaxis": "x3", "yaxis": "y3"})
    markers = []
    for i, k in enumerate(keys):
        markers.append(len(data))
        data.append({"type": "scatter", "x": [start], "y": [by.get((k, start))], "mode": "markers",
                     "showlegend": False, "hoverinfo": "skip", "xaxis": "x3", "yaxis": "y3",
                     "marker": {"size": 11, "color": OKABE_ITO[i % len(OKABE_ITO)],
                                "line": {"color": "#000", "width": 1}}})
    notes = grid.layout["annotations"]
    notes[0]["text"], notes[1]["text"] = title("large", start), title("small", start)
    frames = [{"name": str(lv), "data": images(lv) + [{"type": "scatter", "x": [lv], "y": [by.get((k, lv))]}
                                                      for k in keys],
               "traces": [0, 1] + markers,
               "layout": {"annotations": [{**notes[0], "text": title("large", lv)},
                                          {**notes[1], "text": title("small", lv)}, notes[2]]}}
              for lv in levels]
    layout = dict(grid.layout)
    for ax in ("xaxis", "yaxis", "xaxis2", "yaxis2"):
        layout[ax] = {**layout[ax], "visible": False}
    layout["yaxis3"] = {**layout["yaxis3"], "range": [-0.05, 1.05]}
    menus, sliders = player_controls(levels, start, font)
    layout.update(template=template_dict(), height=560, margin={"l": 10, "r": 10, "t": 70, "b": 170},
                  legend={"orientation": "h", "y": -0.5, "yanchor": "top", "font": {"size": font}},
                  updatemenus=menus, sliders=sliders)
    return FramedFigure({"data": data, "layout": layout}, frames)


def player_controls(levels: Sequence[int], start: int, font: int, *, duration: int = 350, menu_y: float = -0.14,
                    slider_y: float = -0.1, slider_x: float = 0.16, prefix: str | None = "level k = ",
                    pad: dict | None = None, from_current: bool = True) -> tuple[list, list]:
    """``(updatemenus, sliders)`` of a frame player: ▶ Play / ❚❚ Pause buttons and a step slider
    over the frames named ``str(level)`` (everything runs in the browser). ``from_current=False``:
    ▶ Play always starts at the first frame (for a player that opens at its last one)."""
    levels = list(levels)
    play = dict(label="▶ Play", method="animate",
                args=[None, dict(frame=dict(duration=duration, redraw=True), fromcurrent=from_current,
                                 transition=dict(duration=0))])
    pause = dict(label="❚❚ Pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")])
    menus = [dict(type="buttons", direction="left", x=0, y=menu_y, xanchor="left", yanchor="top",
                  buttons=[play, pause], font=dict(size=font), **({"pad": pad} if pad else {}))]
    current = dict(prefix=prefix, font=dict(size=font)) if prefix is not None else dict(visible=False)
    sliders = [dict(active=levels.index(start) if start in levels else 0, x=slider_x, len=1 - slider_x, y=slider_y,
                    yanchor="top", currentvalue=current, **({"pad": pad} if pad else {}),
                    steps=[dict(label=str(lv), method="animate",
                                args=[[str(lv)], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                                      transition=dict(duration=0))]) for lv in levels])]
    return menus, sliders


def number(v: float) -> str:
    """Three significant digits; powers of ten (not SI prefixes) below 1e-3 and from 1e5."""
    v = float(v)
    if not np.isfinite(v):
        return "n/a"
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        m, e = f"{v:.2e}".split("e")
        return f"{m}×10{str(int(e)).translate(_SUP)}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}"


_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def scaled(values: dict[str, Sequence[float]], pinned: dict[str, Sequence[float]] | None = None
           ) -> dict[str, tuple[float, float]]:
    """Per loss the ``(low, high)`` used to scale its curve to [0, 1]: over its own values and, when
    given, the pinned setting's (so A and B share a scale)."""
    out = {}
    for k, v in values.items():
        allv = np.asarray(list(v) + list((pinned or {}).get(k, [])), float)
        allv = allv[np.isfinite(allv)]
        out[k] = (float(allv.min()), float(allv.max())) if allv.size else (0.0, 1.0)
    return out


def _unit(v: float, lohi: tuple[float, float]) -> float:
    lo, hi = lohi
    return 0.5 if hi - lo <= 1e-12 * max(1.0, abs(hi)) else (float(v) - lo) / (hi - lo)


def overlay_pngs(gt: np.ndarray, preds: np.ndarray, box: tuple[slice, slice], scale: int) -> list[str]:
    """PNG data URLs of the TP/FP/FN/TN overlay of every prediction of ``preds`` (cropped, enlarged)."""
    return [_overlay_png(gt, p, box, scale, optimize=False) for p in preds]


def player_zoom(shape: tuple[int, int], box: tuple[slice, slice] | None, target_px: int = 300) -> tuple[tuple[slice, slice], int, int]:
    """``(box, scale, side)``: the crop (the whole image when None), its enlargement and its side."""
    box = box or (slice(0, shape[0]), slice(0, shape[1]))
    side = max(box[0].stop - box[0].start, box[1].stop - box[1].start)
    return box, max(1, int(target_px // max(side, 1))), side


def pair_player(gt: np.ndarray, preds: np.ndarray, values: dict[str, Sequence[float]], counts: Sequence[dict], *,
                start: int | None = None, box: tuple[slice, slice] | None = None,
                pinned: dict[str, Sequence[float]] | None = None, pinned_label: str = "A", font: int = 12,
                height: int = 400, target_px: int = 300, images: Sequence[str] | None = None) -> go.Figure:
    """The Playground's level player: one ground truth and a ladder of hard predictions ``preds``
    ``(L, H, W)`` (level k = 0 … L-1) with each loss's ``values[key]`` ``(L,)`` and the level's
    ``counts`` (``fn``, ``fp``). Left: the TP/FP/FN/TN overlay of level k (a PNG, cropped to ``box``
    and enlarged, the zoom stated; ``images`` may hand in the PNGs, see :func:`overlay_pngs`); top
    right: every loss vs k, each scaled to its own range (with ``pinned`` values dotted on the same
    scale), a marker at k; bottom right: the values at k as bars of the same scaled height, the raw
    value written on each. Frames for every level, played in the browser (▶ Play, ❚❚ Pause, a step
    slider); the figure opens at ``start`` (default: the last level).

    Built as one dictionary and wrapped without a second validation pass (the object API took
    0.6-1.3 s for this figure on the loaded 2-core machine; ``tests/test_app_playground.py`` checks
    the dictionary against plotly's validation)."""
    keys = [k for k in values][:8]
    L = int(np.asarray(preds).shape[0])
    levels = list(range(L))
    start = L - 1 if start is None else int(start)
    box, scale, side = player_zoom(gt.shape, box, target_px)
    zoomed = side < max(gt.shape)
    if images is None:
        images = overlay_pngs(gt, preds, box, scale)
    lohi = scaled({k: values[k] for k in keys}, pinned)
    names = [_short(k, 20) for k in keys]
    colors = [OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(keys))]
    unit = {k: [_unit(v, lohi[k]) for v in values[k]] for k in keys}
    key = " ".join(f"<span style='color:{REGION_COLORS[r]}'>■</span> {r.upper()}" for r in ("tp", "fp", "fn"))
    zoom = f" · zoom ×{scale} ({side} px shown)" if zoomed else ""

    def title(k: int) -> str:
        c = counts[k]
        return f"<b>k = {k} of {L - 1}</b>: FN {int(c['fn']):,} · FP {int(c['fp']):,} px<br>{key}{zoom}"

    def image(k: int) -> dict:
        return {"type": "image", "source": images[k], "hoverinfo": "skip", "xaxis": "x", "yaxis": "y"}

    def bar(k: int) -> dict:
        return {"type": "bar", "y": names, "x": [unit[key_][k] for key_ in keys], "orientation": "h",
                "marker": {"color": colors}, "text": [number(values[key_][k]) for key_ in keys],
                "textposition": "outside", "cliponaxis": False, "constraintext": "none", "hoverinfo": "skip",
                "showlegend": False, "textfont": {"size": font}, "xaxis": "x3", "yaxis": "y3"}

    data = [image(start), bar(start)]
    for i, k in enumerate(keys):
        data.append({"type": "scatter", "x": levels, "y": unit[k], "mode": "lines", "name": names[i],
                     "showlegend": False, "line": {"color": colors[i], "width": 2}, "customdata": list(values[k]),
                     "hovertemplate": f"{names[i]}<br>k %{{x}}: %{{customdata:.4g}}<extra></extra>",
                     "xaxis": "x2", "yaxis": "y2"})
        if pinned and k in pinned:
            pv = [float(v) for v in pinned[k]]
            data.append({"type": "scatter", "x": list(range(len(pv))), "y": [_unit(v, lohi[k]) for v in pv],
                         "mode": "lines", "name": f"{pinned_label}: {names[i]}", "showlegend": False, "opacity": 0.8,
                         "line": {"color": colors[i], "width": 1.5, "dash": "dot"}, "customdata": pv,
                         "hovertemplate": f"{pinned_label}: {names[i]}<br>k %{{x}}: %{{customdata:.4g}}<extra></extra>",
                         "xaxis": "x2", "yaxis": "y2"})
    markers = []
    for i, k in enumerate(keys):
        markers.append(len(data))
        data.append({"type": "scatter", "x": [start], "y": [unit[k][start]], "mode": "markers", "showlegend": False,
                     "hoverinfo": "skip", "marker": {"size": 10, "color": colors[i], "line": {"color": "#000", "width": 1}},
                     "xaxis": "x2", "yaxis": "y2"})
    bars_x0 = 0.5 + 0.17 * font / 12
    top, bottom = ((0.56, 1.0), (0.0, 0.36)) if font < 14 else ((0.63, 1.0), (0.0, 0.42))  # large fonts: taller bars
    curves_title = "each loss vs k (scaled to its own range)" if not pinned else \
        f"each loss vs k (own range); dotted: pinned {pinned_label}"
    notes = [{"text": t, "x": x, "y": y, "xref": "paper", "yref": "paper", "xanchor": "center", "yanchor": "bottom",
              "showarrow": False, "font": {"size": font}}
             for t, x, y in ((title(start), 0.22, 1.0), (curves_title, 0.75, 1.0), ("values at k", (bars_x0 + 1) / 2,
                                                                                     bottom[1]))]
    menus, sliders = player_controls(levels, start, font, menu_y=0, slider_y=0, slider_x=0.27, prefix=None,
                                     pad=dict(t=4, b=0, l=0, r=0), from_current=False)  # opens at k = N
    layout = {
        "template": template_dict(), "height": height, "font": {"size": font}, "bargap": 0.25,
        "margin": {"l": 5, "r": 10, "t": 30 + 2 * font, "b": 40 + 2 * font},
        "xaxis": {"anchor": "y", "domain": [0.0, 0.44], "visible": False},
        "yaxis": {"anchor": "x", "domain": [0.0, 1.0], "visible": False},
        "xaxis2": {"anchor": "y2", "domain": [0.5, 1.0], "dtick": max(1, (L - 1) // 5)},
        "yaxis2": {"anchor": "x2", "domain": list(top), "range": [-0.08, 1.08], "showticklabels": False,
                   "zeroline": False},
        "xaxis3": {"anchor": "y3", "domain": [bars_x0, 1.0], "range": [-0.1, 1.45], "visible": False},
        "yaxis3": {"anchor": "x3", "domain": list(bottom), "autorange": "reversed", "tickfont": {"size": font},
                   "dtick": 1},
        "annotations": notes, "updatemenus": menus, "sliders": sliders,
    }
    frames = []
    for lv in levels:  # every annotation in each frame (the first carries k): none is lost while playing
        fd = [image(lv), bar(lv)] + [{"type": "scatter", "x": [lv], "y": [unit[k][lv]]} for k in keys]
        frames.append({"name": str(lv), "data": fd, "traces": [0, 1] + markers,
                       "layout": {"annotations": [{**notes[0], "text": title(lv)}] + notes[1:]}})
    return FramedFigure({"data": data, "layout": layout}, frames)


class FramedFigure(go.Figure):
    """A figure whose animation frames stay the plain dictionaries they were built as: assigning
    frames to a ``go.Figure`` validates every frame (0.06-0.3 s for the Playground's 11 frames on
    the 2-core machine), on every rerun. Data and layout are wrapped unvalidated too; ``to_dict()``
    (what ``st.plotly_chart``, ``to_json`` and ``to_html`` read) carries the frames. The tests
    validate the dictionary once with ``go.Figure(fig.to_dict())``."""

    def __init__(self, spec: dict, frames: list[dict]):
        super().__init__(spec, _validate=False)
        self._plain_frames = frames

    def to_dict(self) -> dict:
        import copy
        return {**super().to_dict(), "frames": copy.deepcopy(self._plain_frames)}

    def to_plotly_json(self) -> dict:
        return self.to_dict()


_TEMPLATE: dict = {}


def template_dict() -> dict:
    """The app's template (:data:`segloss_core.figure_style.TEMPLATE`) as a dictionary, resolved
    once: a figure wrapped without validation keeps a template *name* unresolved, which plotly.js
    does not know."""
    if not _TEMPLATE:
        import plotly.io as pio

        from .figure_style import TEMPLATE
        _TEMPLATE.update(pio.templates[TEMPLATE].to_plotly_json())
    return _TEMPLATE
