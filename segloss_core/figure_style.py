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
    """``fig`` with every text at least ``size`` px: the base font, titles, tick labels, legends,
    annotations (subplot titles) and colour bars, in the layout, the traces and the frames.
    Hover labels are left as they are (they appear on demand, beside the pointer)."""
    layout = fig.layout.to_plotly_json()
    layout.pop("template", None)
    layout = _raise_fonts(layout, size)
    layout["font"] = {**layout.get("font", {}), "size": max(float(layout.get("font", {}).get("size") or 0), size)}
    layout.pop("hoverlabel", None)
    fig.update_layout(layout)
    for tr in fig.data:
        cb = getattr(tr, "colorbar", None)
        if cb is not None:
            cb.tickfont.size = max(cb.tickfont.size or 0, size)
            cb.title.font.size = max(cb.title.font.size or 0, size)
        if hasattr(tr, "textfont"):
            tr.textfont.size = max(tr.textfont.size or 0, size) if not isinstance(tr.textfont.size, tuple) else \
                tuple(max(s or 0, size) for s in tr.textfont.size)
    for fr in fig.frames or ():
        if fr.layout is not None:
            fr.layout = go.Layout(_raise_fonts(fr.layout.to_plotly_json(), size))
    return fig
