"""segloss_core.figure_grid.Grid lays panels out as plotly's make_subplots does (the oracle)."""
from __future__ import annotations

import pytest
from plotly.subplots import make_subplots

from segloss_core.figure_grid import Grid


@pytest.mark.parametrize("rows,cols,h,v,widths", [(1, 2, 0.06, 0.05, None), (4, 8, 0.025, 0.12, None),
                                                   (2, 4, 0.04, 0.08, None), (3, 3, 0.09, 0.08, None),
                                                   (1, 3, 0.05, 0.05, [0.25, 0.25, 0.5])])
def test_domains_and_titles_equal_make_subplots(rows, cols, h, v, widths):
    titles = [f"t{i}" for i in range(rows * cols)]
    ref = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=h, vertical_spacing=v,
                        column_widths=widths)
    g = Grid(rows, cols, titles=titles, h_spacing=h, v_spacing=v, column_widths=widths)
    for n in range(1, rows * cols + 1):
        for kind in ("x", "y"):
            name = Grid.axis(kind, n)
            assert g.layout[name]["domain"] == pytest.approx(list(ref.layout[name].domain), abs=1e-12)
            assert g.layout[name]["anchor"] == ref.layout[name].anchor
            assert 0.0 <= g.layout[name]["domain"][0] <= g.layout[name]["domain"][1] <= 1.0
    g.figure()  # plotly accepts every domain (a rounding of 1 + 2e-16 is refused)
    for a, b in zip(g.layout["annotations"], ref.layout.annotations):
        assert a["text"] == b.text and a["x"] == pytest.approx(b.x) and a["y"] == pytest.approx(b.y)


def test_traces_land_on_their_panel_and_axes_props_apply_by_row_and_column():
    g = Grid(2, 2)
    g.add({"type": "scatter", "x": [0, 1], "y": [1, 2]}, 2, 1)
    g.axes("y", col=1, title={"text": "loss"})
    g.vline(3, 2, 2, {"color": "#999"})
    fig = g.figure(height=300)
    assert fig.data[0].xaxis == "x3" and fig.data[0].yaxis == "y3"
    assert fig.layout.yaxis.title.text == "loss" and fig.layout.yaxis3.title.text == "loss"
    assert fig.layout.yaxis2.title.text is None
    assert fig.layout.shapes[0].xref == "x4" and fig.layout.shapes[0].yref == "y4 domain"
