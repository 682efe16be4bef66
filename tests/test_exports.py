"""Exports describe themselves and open offline."""
import re

import plotly.graph_objects as go

from segloss_app.exports import described, html_page, settings_text


def _fig():
    fig = go.Figure(go.Scatter(x=[0, 1], y=[1, 2], name="dice"))
    fig.update_layout(title="Loss vs error", height=300)
    return fig


def test_settings_text_is_flat_and_readable():
    t = settings_text({"loss": "focal", "params": {"alpha": 0.25, "gamma": 2.0}, "levels": list(range(20))})
    assert "loss = focal" in t and "params.alpha = 0.25" in t and "params.gamma = 2" in t and "(20)" in t


def test_png_figure_carries_title_and_settings():
    fig = _fig()
    out = described(fig, "lvs_curves", {"protocol": "boundary", "confidence": 0.99})
    assert out.layout.title.text == "Loss vs error"
    note = out.layout.annotations[-1].text
    assert "protocol = boundary" in note and "confidence = 0.99" in note
    assert out.layout.height > fig.layout.height and fig.layout.annotations == ()  # the original is untouched
    untitled = described(go.Figure(), "tune_focal_map", None)
    assert untitled.layout.title.text == "tune focal map"


def test_html_export_opens_offline_with_title_and_settings():
    page = html_page(_fig(), "x", {"loss": "dice", "note": "<script>alert(1)</script>"}).decode()
    assert not re.search(r"<script[^>]*\bsrc=", page)  # plotly.js embedded, nothing fetched
    assert "Plotly.newPlot" in page and "<h1>Loss vs error</h1>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)</script>" not in page
