"""One look for every figure: the template and the presenter sizes. No Streamlit.

* :data:`TEMPLATE` (``"segloss"``): Plotly's ``plotly_white`` with exponents written as powers of
  ten on every axis and colour bar. Plotly's default writes SI prefixes (a gradient of 2e-6 reads
  "2µ", 0.5 reads "500m"): a gradient, a loss and a ratio are dimensionless, so a prefix reads as a
  unit that is not there. Registered with Plotly on import; every figure builder uses it.
* :func:`presenter`: every text of a figure at least 16 px (titles, ticks, legends, subplot titles,
  colour bars), for a projector at 1280×720; the pages apply it in presenter mode.
"""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

TEMPLATE = "segloss"
PRESENTER_FONT = 16  # px: the smallest text a projected figure may carry


def _template() -> go.layout.Template:
    t = go.layout.Template(pio.templates["plotly_white"])
    for axis in (t.layout.xaxis, t.layout.yaxis):
        axis.exponentformat = "power"
    t.layout.coloraxis.colorbar.exponentformat = "power"
    for kind in ("heatmap", "contour", "histogram2d"):
        traces = list(getattr(t.data, kind)) or [getattr(go, kind.capitalize() if kind != "histogram2d"
                                                         else "Histogram2d")()]
        for tr in traces:
            tr.colorbar.exponentformat = "power"
        setattr(t.data, kind, traces)
    return t


pio.templates[TEMPLATE] = _template()


def _raise_fonts(node: Any, size: int) -> Any:
    """A copy of a layout's JSON in which every ``size`` under a font is at least ``size``."""
    if isinstance(node, list):
        return [_raise_fonts(v, size) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k.endswith("font") and isinstance(v, dict):
            v = {**v, "size": max(float(v.get("size") or 0), size)}
        out[k] = _raise_fonts(v, size)
    return out


def presenter(fig: go.Figure, size: int = PRESENTER_FONT) -> go.Figure:
    """``fig`` with every text at least ``size`` px: the base font, titles, tick labels, axis titles,
    legends, annotations (subplot titles), colour bars and bar texts, in the layout, the traces and
    the frames. Each is set explicitly: ``st.plotly_chart``'s Streamlit theme sets tick labels to
    12 px and axis titles to 14 px, which a larger base font alone does not override. Log axes get
    one tick per decade (Plotly writes the 2…9 between decades at 75 % of the tick size). Hover
    labels are left as they are (they appear on demand, beside the pointer)."""
    def big(v) -> float:
        return max(float(v or 0), size)

    layout = fig.layout.to_plotly_json()
    layout.pop("template", None)
    layout.pop("hoverlabel", None)
    layout = _raise_fonts(layout, size)
    layout["font"] = {**layout.get("font", {}), "size": big(layout.get("font", {}).get("size"))}
    for name in [k for k in layout if k.startswith(("xaxis", "yaxis"))] or ["xaxis", "yaxis"]:
        ax = layout.setdefault(name, {})
        ax["tickfont"] = {**ax.get("tickfont", {}), "size": big(ax.get("tickfont", {}).get("size"))}
        title = ax.get("title", {})
        title = {"text": title} if isinstance(title, str) else dict(title)
        title["font"] = {**title.get("font", {}), "size": big(title.get("font", {}).get("size"))}
        ax["title"] = title
        if ax.get("type") == "log" and "dtick" not in ax:
            ax["dtick"] = 1
    for name in ("legend", "title"):
        part = layout.get(name, {})
        part = {"text": part} if isinstance(part, str) else dict(part)
        part["font"] = {**part.get("font", {}), "size": big(part.get("font", {}).get("size"))}
        if name == "legend":
            lt = dict(part.get("title", {}))
            lt["font"] = {**lt.get("font", {}), "size": big(lt.get("font", {}).get("size"))}
            part["title"] = lt
        layout[name] = part
    for a in layout.get("annotations", []):
        a["font"] = {**a.get("font", {}), "size": big(a.get("font", {}).get("size"))}
    fig.update_layout(layout)
    for tr in fig.data:
        cb = getattr(tr, "colorbar", None)
        if cb is not None:
            cb.tickfont.size = big(cb.tickfont.size)
            cb.title.font.size = big(cb.title.font.size)
        if hasattr(tr, "textfont"):
            tr.textfont.size = big(tr.textfont.size) if not isinstance(tr.textfont.size, tuple) else \
                tuple(big(s) for s in tr.textfont.size)
    frames = getattr(fig, "_plain_frames", None)  # figures_survey.FramedFigure: frames kept as dicts
    if frames is not None:
        for fr in frames:
            if fr.get("layout"):
                fr["layout"] = _raise_fonts(fr["layout"], size)
                for a in fr["layout"].get("annotations", []):
                    a["font"] = {**a.get("font", {}), "size": big(a.get("font", {}).get("size"))}
            for d in fr.get("data", []):
                if "textfont" in d:
                    d["textfont"] = {**d["textfont"], "size": big(d["textfont"].get("size"))}
    for fr in fig.frames or ():
        if fr.layout is not None:
            fr.layout = go.Layout(_raise_fonts(fr.layout.to_plotly_json(), size))
    return fig
