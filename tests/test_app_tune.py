"""The Tune page under AppTest, and the grid helpers behind it (segloss_app.compute_analysis).

Expected numbers come from the cached computations the page calls, never typed in.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from segloss_app import compute_analysis as ca
from segloss_core.monotonic import analyze

import apptest_utils as U
from apptest_utils import APP, arr, figure, infos, ok  # noqa: F401

PAGE = "pages/tune.py"


def run_page(query: dict | None = None, state: dict | None = None):
    return U.run_page(PAGE, query, state)
CFG = ca.survey_key()


def trace(fig: dict, name: str, col: int = 0) -> np.ndarray:
    ts = [t for t in fig["data"] if t.get("name") == name]
    return arr(ts[col]["y"])


@pytest.fixture(scope="module")
def default_page() -> AppTest:
    return run_page()


def test_defaults_start_cleanly(default_page):
    at = default_page
    ok(at)
    assert at.selectbox(key="tune_loss").value == "focal"
    assert at.slider(key="tune_focal.alpha").value == 0.25
    assert at.slider(key="tune_focal.gamma").value == 2.0
    names = {t["name"] for t in figure(at, "tune_curves")["data"]}
    assert {"current", "defaults", "alpha=0, gamma=0", "alpha=1, gamma=5"} <= names


def test_default_map_is_tau_over_alpha_gamma_with_the_current_point(default_page):
    fig = figure(default_page, "tune_map_focal_alpha_gamma_tau_small")
    heat = fig["data"][0]
    assert heat["type"] == "heatmap"
    z = arr(heat["z"])
    xs, ys = ca.axis_values("focal", "alpha", 25), ca.axis_values("focal", "gamma", 25)
    assert z.shape == (25, 25)
    grid = ca.loss_grid(CFG, "small", "focal", "alpha", tuple(xs), "gamma", tuple(ys), json.dumps({}))
    assert np.allclose(z, grid.tau, equal_nan=True)
    marker = [t for t in fig["data"] if t.get("name") == "current"][0]
    assert (marker["x"][0], marker["y"][0]) == (0.25, 2.0)
    cells = [t for t in fig["data"] if t.get("name") == "cells"][0]  # clickable cell centres
    assert len(arr(cells["x"])) == 625


def test_slider_changes_the_current_curve_and_the_url():
    at = run_page()
    before = trace(figure(at, "tune_curves"), "current")
    at.slider(key="tune_focal.gamma").set_value(0.0).run()
    ok(at)
    after = trace(figure(at, "tune_curves"), "current")
    expected = ca.curve(CFG, "small", "focal", json.dumps({"alpha": 0.25, "gamma": 0.0}, sort_keys=True))
    assert np.allclose(after, expected)
    assert not np.allclose(before, after)
    assert at.query_params["tune_focal.gamma"] == "0"


def test_use_best_cell_moves_the_sliders():
    at = run_page()
    at.button(key="tune_best").click().run()
    ok(at)
    xs, ys = ca.axis_values("focal", "alpha", 25), ca.axis_values("focal", "gamma", 25)
    grid = ca.loss_grid(CFG, "small", "focal", "alpha", tuple(xs), "gamma", tuple(ys), json.dumps({}))
    iy, ix = ca.best_cell(grid.tau, "tau")
    assert at.slider(key="tune_focal.alpha").value == pytest.approx(xs[ix])
    assert at.slider(key="tune_focal.gamma").value == pytest.approx(ys[iy])


def test_value_quantity_follows_the_level_slider():
    at = run_page({"tune_quantity": "value", "tune_level": "20"})
    ok(at)
    xs, ys = ca.axis_values("focal", "alpha", 25), ca.axis_values("focal", "gamma", 25)
    grid = ca.loss_grid(CFG, "small", "focal", "alpha", tuple(xs), "gamma", tuple(ys), json.dumps({}))
    z = arr(figure(at, "tune_map_focal_alpha_gamma_value")["data"][0]["z"])
    assert np.allclose(z, grid.values[:, :, 20])
    at.slider(key="tune_level").set_value(5).run()
    z = arr(figure(at, "tune_map_focal_alpha_gamma_value")["data"][0]["z"])
    assert np.allclose(z, grid.values[:, :, 5])


def test_query_params_restore_the_state():
    at = run_page({"tune_loss": "tversky", "tune_tversky.alpha": "0.6", "tune_tversky.smooth": "0.1",
                   "tune_object": "large", "tune_res": "9", "tune_norm": "1"})
    ok(at)
    assert not at.info
    assert at.selectbox(key="tune_loss").value == "tversky"
    assert at.slider(key="tune_tversky.alpha").value == pytest.approx(0.6)
    assert float(at.select_slider(key="tune_tversky.smooth").value) == pytest.approx(0.1)
    assert at.toggle(key="tune_norm").value is True
    fig = figure(at, "tune_map_tversky_alpha_beta_tau_large")
    assert arr(fig["data"][0]["z"]).shape == (9, 9)
    marker = [t for t in fig["data"] if t.get("name") == "current"][0]
    assert (marker["x"][0], marker["y"][0]) == (0.6, 0.7)
    # normalized curves lie in [0, 1]
    cur = trace(figure(at, "tune_curves"), "current")
    assert cur.min() == pytest.approx(0) and cur.max() == pytest.approx(1)
    assert at.query_params["tune_loss"] == "tversky" and at.query_params["tune_tversky.alpha"] == "0.6"


def test_bad_query_params_fall_back_with_a_notice():
    at = run_page({"tune_loss": "nope", "tune_quantity": "magic", "tune_level": "-3"})
    ok(at)
    notice = infos(at)
    for name in ("tune_loss", "tune_quantity", "tune_level"):
        assert name in notice
    assert at.selectbox(key="tune_loss").value == "focal"
    at = run_page({"tune_focal.gamma": "99", "tune_x": "beta", "tune_res": "13"})
    ok(at)
    assert len(at.info) == 1  # one notice for everything
    notice = str(at.info[0].value)
    assert "tune_focal.gamma" in notice and "tune_x" in notice and "tune_res" in notice
    assert at.slider(key="tune_focal.gamma").value == 2.0
    assert at.selectbox(key="tune_x").value == "alpha"
    at.slider(key="tune_focal.alpha").set_value(0.5).run()  # the notice stays single on reruns
    ok(at)
    assert len(at.info) == 1


def test_one_parameter_loss_shows_a_1d_sweep():
    at = run_page({"tune_loss": "dice"})
    ok(at)
    fig = figure(at, "tune_map_dice_smooth")
    assert fig["data"][0]["type"] == "scatter" and fig["layout"]["xaxis"]["type"] == "log"
    assert len(arr(fig["data"][0]["y"])) == 25


def test_loss_without_numeric_parameters_says_so():
    at = run_page({"tune_loss": "bce"})
    ok(at)
    assert any("no numeric parameter" in str(e.value) for e in at.info)
    names = [t["name"] for t in figure(at, "tune_curves")["data"]]
    assert names == ["current", "current", "defaults", "defaults"]


def test_changing_the_loss_resets_the_axes():
    at = run_page()
    at.selectbox(key="tune_loss").set_value("combo").run()
    ok(at)
    assert at.selectbox(key="tune_x").value == "alpha" and at.selectbox(key="tune_y").value == "beta"
    figure(at, "tune_map_combo_alpha_beta")


def test_fn_fp_gradient_ratio_on_a_coarse_grid():
    at = run_page({"tune_loss": "tversky", "tune_quantity": "ratio", "tune_level": "10"})
    ok(at)
    fig = figure(at, "tune_map_tversky_alpha_beta_ratio")
    z = arr(fig["data"][0]["z"])
    assert z.shape == (9, 9)  # one gradient pass per cell: a coarser grid, said on the page
    assert any("coarser 9×9 grid" in str(c.value) for c in at.caption)
    xs, ys = ca.axis_values("tversky", "alpha", 9), ca.axis_values("tversky", "beta", 9)
    q = ca.ratio_grid(CFG, "small", "tversky", "alpha", tuple(xs), "beta", tuple(ys), json.dumps({"smooth": 1.0}), 10)
    with np.errstate(divide="ignore"):
        assert np.allclose(z, np.where(q > 0, np.log10(q), np.nan), equal_nan=True)


def test_grid_helpers():
    assert ca.snap(0.26, [0.0, 0.25, 0.5]) == 0.25
    q = np.array([[0.5, 2.0], [0.9, 8.0]])
    assert ca.best_cell(q, "ratio") == (1, 0)  # closest to 1 on a log scale
    assert ca.best_cell(q, "tau") == (1, 1)
    assert ca.best_cell(q, "violations") == (0, 0)
    assert ca.best_cell(np.full((2, 2), np.nan), "tau") is None
    xs = ca.axis_values("tversky", "smooth", 5)
    assert xs[0] == pytest.approx(1e-6) and xs[-1] == pytest.approx(100) and xs[2] == pytest.approx(0.01)


def test_grid_tau_matches_a_direct_curve():
    xs, ys = (0.0, 0.5, 1.0), (0.0, 2.0)
    grid = ca.loss_grid(CFG, "small", "focal", "alpha", xs, "gamma", ys, json.dumps({}))
    v = ca.curve(CFG, "small", "focal", json.dumps({"alpha": 0.5, "gamma": 2.0}, sort_keys=True))
    assert np.allclose(grid.values[1, 1], v, rtol=1e-4)
    assert grid.tau[1, 1] == pytest.approx(analyze(v, ca.BASE_TOLERANCE).kendall_tau)


def test_grid_falls_back_to_cell_by_cell_when_the_batched_grid_disagrees(monkeypatch):
    """A safety net: if the batched parameter grid raises or disagrees with a direct evaluation
    (as it did for several losses before per-sample parameters were fixed), the grid is evaluated
    cell by cell on a coarser grid and the page is told why."""
    import segloss_core.sweep as sweep

    real = sweep.param_grid
    monkeypatch.setattr(sweep, "param_grid", lambda *a, **k: real(*a, **k) * 1.5)  # wrong values
    xs = tuple(ca.axis_values("tversky", "alpha", 13))
    ys = tuple(ca.axis_values("tversky", "beta", 13))
    seen = []
    g = ca.loss_grid(CFG, "small", "tversky", "alpha", xs, "beta", ys, json.dumps({"smooth": 0.5}),
                     progress=lambda f, m: seen.append(f))
    assert g.method == "cell by cell" and "cell by cell" in g.note
    assert len(g.xs) == len(g.ys) == ca.FALLBACK_SIDE and g.xs[0] == xs[0] and g.xs[-1] == xs[-1]
    assert seen[-1] == pytest.approx(1.0)
    direct = ca.curve(CFG, "small", "tversky", json.dumps({"alpha": g.xs[2], "beta": g.ys[3], "smooth": 0.5},
                                                        sort_keys=True))
    assert np.allclose(g.values[3, 2], direct)
