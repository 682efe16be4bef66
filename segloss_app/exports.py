"""Exports that describe themselves and open offline.

* PNG: the figure with its title and, under it, the settings it was computed with (one wrapped
  line of ``name = value`` pairs), rendered by kaleido.
* HTML: a complete page with plotly.js embedded (no CDN: it opens with the network off), the
  title and the settings as text.
* CSV and JSON: the data behind the figure and the settings (loadable again).

The HTML and PNG are built only when their button is clicked (Streamlit calls the function then,
on its own thread), so a page does not build megabytes of plotly.js on every rerun.
"""
from __future__ import annotations

import copy
import html
import json
import textwrap
from typing import Any

import plotly.graph_objects as go

#: Characters per line of the settings caption under an exported PNG.
WRAP = 150


def settings_text(config: dict | None) -> str:
    """``name = value`` pairs of the settings, flat, in one line (nested dicts as ``a.b = v``)."""
    if not config:
        return ""
    out = []

    def walk(prefix: str, v: Any) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                walk(f"{prefix}.{k}" if prefix else str(k), x)
        elif isinstance(v, float):
            out.append(f"{prefix} = {v:.4g}")
        elif isinstance(v, (list, tuple)) and len(v) > 8:
            out.append(f"{prefix} = {', '.join(map(str, v[:8]))}, … ({len(v)})")
        else:
            out.append(f"{prefix} = {v}")

    walk("", config)
    return "; ".join(out)


def title_of(fig: go.Figure, name: str) -> str:
    t = fig.layout.title.text if fig.layout.title and fig.layout.title.text else None
    return t or name.replace("_", " ")


def described(fig: go.Figure, name: str, config: dict | None) -> go.Figure:
    """A copy of ``fig`` with a title and the settings written under the plot (for the PNG)."""
    out = go.Figure(copy.deepcopy(fig.to_dict()))
    text = settings_text(config)
    lines = textwrap.wrap(f"SegLoss Lab · {text}" if text else "SegLoss Lab", WRAP)[:6]
    height = int(out.layout.height or 450)
    extra = 18 * len(lines) + 16
    margin = out.layout.margin
    bottom = int((margin.b if margin and margin.b is not None else 60)) + extra
    out.update_layout(title=dict(text=title_of(fig, name)), height=height + extra, margin=dict(b=bottom))
    out.add_annotation(text="<br>".join(html.escape(s) for s in lines), xref="paper", yref="paper", x=0,
                       y=0, yshift=-(bottom - 8), xanchor="left", yanchor="bottom", align="left",
                       showarrow=False, font=dict(size=11, color="#444444"))
    return out


def html_page(fig: go.Figure, name: str, config: dict | None) -> bytes:
    """A self-contained HTML page: title, the figure with plotly.js embedded, the settings."""
    title = html.escape(title_of(fig, name))
    body = fig.to_html(full_html=False, include_plotlyjs=True)
    settings = html.escape(json.dumps(config or {}, indent=2, default=str))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
            "<style>body{font-family:sans-serif;margin:1.5em} pre{background:#f4f4f4;padding:1em}</style></head>"
            f"<body><h1>{title}</h1>{body}<h2>Settings</h2><pre>{settings}</pre>"
            "<p>Made with SegLoss Lab. This file needs no network: plotly.js is embedded.</p></body></html>"
            ).encode("utf-8")
