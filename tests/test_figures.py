"""Figure builders: built without error, with the expected traces."""
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from segloss_core import figures as F
from segloss_core.survey import SurveyConfig, run_survey


@pytest.fixture(scope="module")
def survey():
    return run_survey(SurveyConfig(size=64, large_radius=20, small_radius=3, levels=6, delta=8),
                      ["bce", "dice", "focal", "combo"])


def test_palette_is_okabe_ito_and_styles_distinct():
    from segloss_core.registry import KEYS
    styles = {tuple(F.line_style(i).values()) for i in range(len(KEYS))}
    assert len(styles) == len(KEYS)  # every loss of the registry gets its own style
    assert F.OKABE_ITO[5] == "#D55E00"


def test_loss_curves(survey):
    fig = F.loss_curves(survey.curves, normalized=True, masks=survey.masks)
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 4 * 2  # 4 losses × 2 objects
    assert sum(t.showlegend for t in fig.data) == 4
    ys = [t.y for t in fig.data]
    assert all(np.nanmin(y) >= 0 and np.nanmax(y) <= 1 for y in ys)
    assert "px" in fig.layout.annotations[0].text
    raw = F.loss_curves(survey.curves, normalized=False)
    assert max(np.max(t.y) for t in raw.data) > 1 or True  # raw values are the measured ones
    d = survey.curves[(survey.curves.loss == "bce") & (survey.curves.object == "large")]
    np.testing.assert_allclose(raw.data[0].y, d["value"].to_numpy())


def test_gradient_curves_log_axis(survey):
    fig = F.gradient_curves(survey.curves)
    assert fig.layout.yaxis.type == "log" and len(fig.data) == 8


def test_verdict_table_marks_disagreement(survey):
    fig = F.verdict_table(survey.verdicts)
    table = fig.data[0]
    assert isinstance(table, go.Table)
    assert len(table.cells.values[0]) == 4
    shaded = sum(c == "#FBE3D6" for col in table.cells.fill.color for c in col)
    grey = sum(c == "#F2F2F2" for col in table.cells.fill.color for c in col)
    assert shaded == 2 * int((survey.verdicts.agrees == False).sum())  # noqa: E712 (None = not stated)
    assert grey == 2 * int(survey.verdicts.agrees.isna().sum())
    assert list(table.cells.values[2]) == list(survey.verdicts[survey.verdicts.object == "large"].survey_says)
    cells, fills = F.verdict_cells(survey.verdicts)  # the page's on-screen table: the same cells and colours
    assert [list(cells[c]) for c in cells.columns] == [list(v) for v in table.cells.values]
    assert [list(fills[c]) for c in fills.columns] == [list(c) for c in table.cells.fill.color]


def test_robustness_heatmap_shares():
    import pandas as pd
    t = pd.DataFrame({"protocol": "boundary", "confidence": 0.99, "delta": 20, "tolerance": [1e-4, 1e-4, 1e-2, 1e-2],
                      "object": "small", "loss": ["focal", "dice"] * 2, "verdict": ["rises", "rises", "saturates", "saturates"],
                      "survey_says": ["rises", "does not rise"] * 2, "agrees": [True, False, False, True]})
    fig = F.robustness_heatmap(t)
    assert np.asarray(fig.data[0].z).tolist() == [[0.5, 0.5]]
    assert "Dice loss" in fig.data[0].text[0][0] and "Focal loss" in fig.data[0].text[0][1]


def test_pixel_term_curve():
    fig = F.pixel_term_curve(np.array([0.1, 0.5]), {"a": np.array([1.0, 0.0])}, "t")
    assert len(fig.data) == 1 and fig.layout.title.text == "t"


def test_overlay_counts_in_legend():
    gt = np.zeros((10, 10), bool)
    gt[2:6, 2:6] = True
    pred = np.zeros_like(gt)
    pred[3:8, 3:8] = True
    fig = F.overlay(gt, pred)
    names = [t.name for t in fig.data[1:]]
    tp, fp, fn = (gt & pred).sum(), (~gt & pred).sum(), (gt & ~pred).sum()
    assert f"true positive: {tp}" in names and f"false positive: {fp}" in names and f"false negative: {fn}" in names
    assert fig.data[0].z.shape == (10, 10, 3)


def test_heatmaps_and_grid_and_bars():
    maps = {"bce": np.random.randn(8, 8), "dice": np.random.randn(8, 8) * 10}
    f1 = F.gradient_heatmaps(maps, shared_scale=True)
    assert len(f1.data) == 2 and f1.data[0].zmax == f1.data[1].zmax
    f2 = F.gradient_heatmaps(maps, shared_scale=False)
    assert f2.data[0].zmax != f2.data[1].zmax
    with pytest.raises(ValueError):
        F.gradient_heatmaps({})
    g = F.grid_heatmap(np.random.rand(3, 4), [1, 2, 3, 4], [0, 1, 2], xname="a", yname="b", quantity="q", marker=(2, 1))
    assert isinstance(g.data[0], go.Heatmap) and g.data[1].x == (2,)
    b = F.value_bars({"bce": 0.5, "dice": 0.2, "boundary": -0.1})
    assert {t.name for t in b.data} == {"distribution", "region", "boundary"}


def test_survey_figure_and_thumbnails(survey):
    fig = F.survey_figure(survey.curves, survey.verdicts, survey.masks)
    assert any(isinstance(t, go.Table) for t in fig.data)
    th = F.mask_thumbnails([np.zeros((8, 8)), np.ones((8, 8))], ["k=0", "k=1"], gt=np.eye(8, dtype=bool))
    assert len(th.data) == 2
    df = pd.DataFrame({"loss": ["dice"] * 3, "radius": [2, 10, 50], "grad_l2": [1.0, 0.1, 0.01]})
    assert F.gradient_vs_size(df).layout.xaxis.type == "log"


def test_small_multiple_titles_are_names_that_fit():
    """Panel titles fit their limit and are the loss's words (abbreviated or cut), never its key."""
    from segloss_core.figures_survey import _short
    from segloss_core.registry import KEYS, REGISTRY
    for limit in (12, 20, 24, 40):
        for k in KEYS:
            t = _short(k, limit)
            assert len(t) <= limit, (k, t)
            assert t.rstrip("…")[:6].lower() == REGISTRY[k].name[:6].lower(), (k, t)  # starts as the name does
    assert _short("wce", 20) == "Weighted CE" and _short("dice", 20) == "Dice loss"
