"""segloss_core.figure_style: powers of ten, never SI prefixes; presenter sizes on every text."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from segloss_core import figure_style as FS
from segloss_core import figures as F


def test_template_writes_powers_of_ten_on_axes_and_colour_bars():
    t = pio.templates[FS.TEMPLATE]
    assert t.layout.xaxis.exponentformat == "power" and t.layout.yaxis.exponentformat == "power"
    assert t.data.heatmap[0].colorbar.exponentformat == "power"
    # a figure builder uses it: its axes inherit "power" (Plotly's default "B" would write 2µ)
    fig = F.gradient_heatmaps({"dice": np.full((4, 4), 2e-6), "bce": np.zeros((4, 4))})
    assert fig.layout.template.layout.xaxis.exponentformat == "power"
    assert fig.layout.template.data.heatmap[0].colorbar.exponentformat == "power"


def _sizes(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k.endswith("font") and isinstance(v, dict) and "size" in v:
                out.append(v["size"])
            _sizes(v, out)
    elif isinstance(node, list):
        for v in node:
            _sizes(v, out)
    return out


def test_presenter_raises_every_font_and_keeps_larger_ones():
    fig = make_subplots(rows=1, cols=2, subplot_titles=["a", "b"])
    fig.add_trace(go.Scatter(x=[1, 2], y=[1, 2], text=["x", "y"], textfont=dict(size=9)), row=1, col=1)
    fig.add_trace(go.Heatmap(z=[[1, 2]], colorbar=dict(tickfont=dict(size=9))), row=1, col=2)
    fig.update_layout(font=dict(size=11), legend=dict(font=dict(size=10)), title=dict(text="t", font=dict(size=24)))
    fig.update_xaxes(tickfont=dict(size=8))
    fig.update_annotations(font_size=11)
    FS.presenter(fig)
    sizes = _sizes(fig.layout.to_plotly_json(), [])
    assert sizes and min(sizes) >= 16
    assert fig.layout.font.size == 16 and fig.layout.title.font.size == 24  # larger ones stay
    assert fig.data[0].textfont.size == 16 and fig.data[1].colorbar.tickfont.size == 16
    assert all(a.font.size == 16 for a in fig.layout.annotations)


def test_presenter_on_a_real_builder_reaches_every_text():
    curves = pd.DataFrame({"loss": ["dice"] * 4, "object": ["large", "large", "small", "small"], "level": [0, 1] * 2,
                           "value": [0.1, 0.2, 0.3, 0.4], "value_norm": [0, 1, 0, 1], "grad_l2": [1e-3, 2e-3, 1e-2, 2e-2],
                           "fp": [0, 1] * 2, "fn": [0, 1] * 2})
    fig = FS.presenter(F.loss_curves(curves))
    assert min(_sizes(fig.layout.to_plotly_json(), [])) >= 16


def test_presenter_sets_axis_fonts_explicitly_so_the_streamlit_theme_cannot_shrink_them():
    """st.plotly_chart's theme sets ticks to 12 px and axis titles to 14 px unless the figure sets
    them: every axis, the legend (and its title) and the title carry their own size after presenter."""
    fig = make_subplots(rows=1, cols=2)
    fig.add_trace(go.Scatter(x=[1, 10], y=[1e-3, 1e-1]), row=1, col=1)
    fig.add_trace(go.Scatter(x=[1, 10], y=[1, 2]), row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=1)
    FS.presenter(fig)
    for ax in (fig.layout.xaxis, fig.layout.yaxis, fig.layout.xaxis2, fig.layout.yaxis2):
        assert ax.tickfont.size == 16 and ax.title.font.size == 16
    assert fig.layout.legend.font.size == 16 and fig.layout.legend.title.font.size == 16
    assert fig.layout.title.font.size == 16
    assert fig.layout.yaxis.dtick == 1 and fig.layout.yaxis2.dtick is None  # decades only on the log axis


def test_presenter_reaches_the_frames_of_a_framed_figure():
    from segloss_core import figures_survey as SF
    gt = np.zeros((16, 16), bool)
    gt[4:12, 4:12] = True
    preds = np.stack([gt, np.roll(gt, 2, 1)])
    fig = SF.pair_player(gt, preds, {"dice": [0.0, 0.3], "bce": [0.1, 0.2]}, [{"fn": 0, "fp": 0}, {"fn": 16, "fp": 16}])
    FS.presenter(fig)
    d = fig.to_dict()
    assert all(a["font"]["size"] >= 16 for f in d["frames"] for a in f["layout"]["annotations"])
    go.Figure(d)  # still a valid figure
