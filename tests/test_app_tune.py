"""The Tune page under AppTest: protocols, effect-size quantities, recommendations that never
switch a term off, parameters without effect, pin-and-compare, links.

Expected numbers come from segloss_core.tuning (what the page calls), never typed in.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from segloss_core import tune_readouts as TR
from segloss_core import tuning as T
from segloss_core.registry import REGISTRY

import apptest_utils as U
from apptest_utils import arr, figure, infos, ok

PAGE = "pages/tune.py"


def run_page(query: dict | None = None, state: dict | None = None):
    return U.run_page(PAGE, query, state)


def trace(fig: dict, name: str) -> np.ndarray:
    return arr([t for t in fig["data"] if t.get("name") == name][0]["y"])


def markdown(at: AppTest) -> str:
    return " ".join(str(m.value) for m in at.markdown)


def warnings(at: AppTest) -> str:
    return " ".join(str(w.value) for w in at.warning)


@pytest.fixture(scope="module")
def default_page() -> AppTest:
    return run_page()


def test_defaults_start_cleanly(default_page):
    at = default_page
    ok(at)
    assert at.selectbox(key="tune_loss").value == "focal"
    assert at.selectbox(key="tune_quantity").value == "cost_ratio"  # an effect size, not τ
    names = {t["name"] for t in figure(at, "tune_curves")["data"]}
    assert {"B (current)", "defaults"} <= names
    assert "The registry defaults are the paper's setting (Lin et al. 2017)." in " ".join(c.value for c in at.caption)


def test_default_map_is_the_cost_ratio_and_gamma_is_flagged_inert(default_page):
    at = default_page
    fig = figure(at, "tune_map_focal_alpha_gamma_cost_ratio")
    z = np.asarray(arr(fig["data"][0]["z"]), float)
    xs, ys = T_axes("focal", "alpha", "gamma", 25)
    g = T.evaluate("focal", "cost_ratio", T.TuneSetup(), "alpha", xs, "gamma", ys, level=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.allclose(z, np.where(g.q > 0, np.log10(g.q), np.nan), equal_nan=True)
    w = warnings(at)
    assert "gamma has no effect on the FN/FP cost ratio under this protocol" in w and "distance profile" in w
    crossed = [t for t in fig["data"] if t.get("name") == "switches a term off"]
    assert crossed and len(arr(crossed[0]["x"])) == 2 * 25  # α = 0 and α = 1 columns


def T_axes(key, x, y, n):
    from segloss_app import compute_analysis as ca
    return ca.axis_values(key, x, n), (ca.axis_values(key, y, n) if y else None)


def test_recommended_cell_is_never_degenerate_and_moves_the_sliders(default_page):
    at = run_page({"tune_loss": "tversky", "tune_target": "3"})
    ok(at)
    text = markdown(at)
    assert "closest to the target 3" in text and "were left out" in text
    at.button(key="tune_best").click().run()
    ok(at)
    a, b = at.slider(key="tune_tversky.alpha").value, at.slider(key="tune_tversky.beta").value
    assert a > 0 and b > 0  # never a weight of 0 on FP or FN
    xs, ys = T_axes("tversky", "alpha", "beta", 25)
    g = T.evaluate("tversky", "cost_ratio", T.TuneSetup(), "alpha", xs, "beta", ys, base={"smooth": 1.0}, level=2)
    rec = TR.recommend(g, 3.0)
    assert (a, b) == pytest.approx((rec.params["alpha"], rec.params["beta"]))


def test_protocol_with_a_spread_lets_gamma_act():
    at = run_page({"tune_profile": "distance"})
    ok(at)
    assert "gamma has no effect" not in warnings(at)
    fig = figure(at, "tune_map_focal_alpha_gamma_cost_ratio")
    z = np.asarray(arr(fig["data"][0]["z"]), float)
    assert np.nanstd(z[:, 12]) > 1e-3  # along γ at a fixed α the map now changes


def test_pin_and_compare():
    at = run_page()
    at.button(key="tune_pin_btn").click().run()
    ok(at)
    assert at.query_params["tune_pin"] == "alpha:0.25,gamma:2"
    at.slider(key="tune_focal.gamma").set_value(0.0).run()
    ok(at)
    fig = figure(at, "tune_curves")
    a, b = trace(fig, "A (pinned)"), trace(fig, "B (current)")
    setup = T.TuneSetup()
    assert np.allclose(a, T.curve("focal", setup, {"alpha": 0.25, "gamma": 2.0})[0])
    assert np.allclose(b, T.curve("focal", setup, {"alpha": 0.25, "gamma": 0.0})[0])
    table = at.dataframe[0].value
    assert list(table["setting"])[:2] == ["B (current)", "A (pinned)"]
    assert "**A → B:**" in markdown(at) and "hard/easy gradient ratio" in markdown(at)
    # the pin travels in the link
    at2 = run_page({"tune_pin": "alpha:0.25,gamma:2", "tune_focal.gamma": "0"})
    ok(at2)
    assert "A (pinned)" in {t["name"] for t in figure(at2, "tune_curves")["data"]}


def test_paper_settings_are_references():
    at = run_page({"tune_loss": "focal_tversky"})
    ok(at)
    cap = " ".join(c.value for c in at.caption)
    assert "their α = 0.7 (on FN) is β = 0.7 here" in cap  # the slider note
    assert any(b.key == "tune_paper_Abraham & Khan 2019 (their α = 0.7 on FN)" for b in at.button)


def test_gradient_quantity_on_a_coarse_grid():
    at = run_page({"tune_loss": "focal", "tune_quantity": "hard_easy", "tune_level": "5"})
    ok(at)
    fig = figure(at, "tune_map_focal_alpha_gamma_hard_easy")
    z = np.asarray(arr(fig["data"][0]["z"]), float)
    assert z.shape == (9, 9)  # one gradient pass per cell
    assert "grid 9×9" in markdown(at)
    xs, ys = T_axes("focal", "alpha", "gamma", 9)
    g = T.evaluate("focal", "hard_easy", T.TuneSetup(), "alpha", xs, "gamma", ys, level=5)
    assert np.allclose(z, np.log10(g.q), equal_nan=True)
    assert (np.diff(g.q[:, 4]) > 0).all()  # γ weights hard pixels more


def test_unet_on_touching_objects():
    at = run_page({"tune_loss": "unet_weighted_ce", "tune_obj": "touching", "tune_radius": "20"})
    ok(at)
    assert "has no effect" not in warnings(at)
    at = run_page({"tune_loss": "unet_weighted_ce"})
    ok(at)
    assert "w0 has no effect" in warnings(at) and "two touching disks" in warnings(at)


def test_inert_parameter_declared_in_the_registry():
    at = run_page({"tune_loss": "conservative", "tune_x": "lam", "tune_y": "a"})
    ok(at)
    assert REGISTRY["conservative"].param("lam").inert in warnings(at)


def test_playground_ground_truth():
    gt = np.zeros((128, 128), bool)
    gt[40:60, 30:90] = True
    at = run_page({"tune_obj": "given", "tune_loss": "dice"}, state={"_pg_gt": gt})
    ok(at)
    assert "a given ground truth" in at.selectbox(key="tune_obj").format_func("given") or True
    b = trace(figure(at, "tune_curves"), "B (current)")
    setup = T.TuneSetup(obj="given", size=128)
    assert np.allclose(b, T.curve("dice", setup, {"smooth": 1.0}, given=gt)[0])
    at2 = run_page({"tune_obj": "given"})
    assert any("Playground" in str(e.value) for e in at2.error)


def test_query_params_restore_the_state():
    at = run_page({"tune_loss": "tversky", "tune_tversky.alpha": "0.6", "tune_tversky.smooth": "0",
                   "tune_protocol": "ratio", "tune_ratio": "2", "tune_res": "9", "tune_norm": "1",
                   "tune_quantity": "slope", "tune_level": "4"})
    ok(at)
    assert not at.info
    assert at.slider(key="tune_tversky.alpha").value == pytest.approx(0.6)
    assert float(at.select_slider(key="tune_tversky.smooth").value) == 0.0  # s = 0 is allowed
    assert at.selectbox(key="tune_protocol").value == "ratio"
    fig = figure(at, "tune_map_tversky_alpha_beta_slope")
    assert np.asarray(arr(fig["data"][0]["z"])).shape == (9, 9)
    cur = trace(figure(at, "tune_curves"), "B (current)")
    assert cur.min() == pytest.approx(0) and cur.max() == pytest.approx(1)
    assert at.query_params["tune_protocol"] == "ratio" and at.query_params["tune_tversky.alpha"] == "0.6"


def test_bad_query_params_fall_back_with_a_notice():
    at = run_page({"tune_loss": "nope", "tune_quantity": "magic", "tune_pin": "gamma:99"})
    ok(at)
    notice = infos(at)
    for name in ("tune_loss", "tune_quantity", "tune_pin"):
        assert name in notice
    assert at.selectbox(key="tune_loss").value == "focal"
    at = run_page({"tune_focal.gamma": "99", "tune_x": "beta", "tune_res": "13", "tune_obj": "[x](http://evil)"})
    ok(at)
    assert len(at.info) == 1
    notice = str(at.info[0].value)
    assert "tune_focal.gamma" in notice and "tune_x" in notice and "](http" not in notice


def test_one_parameter_loss_shows_a_1d_sweep():
    # (dice has three numeric parameters since issue 13: smooth, smooth_nr, smooth_dr; wce has one, on a log scale)
    at = run_page({"tune_loss": "wce", "tune_quantity": "slope"})
    ok(at)
    fig = figure(at, "tune_map_wce_beta_1d_slope")
    assert fig["data"][0]["type"] == "scatter" and fig["layout"]["xaxis"]["type"] == "log"


def test_loss_without_numeric_parameters_says_so():
    at = run_page({"tune_loss": "bce"})
    ok(at)
    assert any("no numeric parameter" in str(e.value) for e in at.info)


def test_changing_the_loss_resets_the_axes_and_the_pin():
    at = run_page({"tune_pin": "alpha:0.3,gamma:1"})
    at.selectbox(key="tune_loss").set_value("combo").run()
    ok(at)
    assert at.selectbox(key="tune_x").value == "alpha" and at.selectbox(key="tune_y").value == "beta"
    assert "tune_pin" not in at.query_params
    figure(at, "tune_map_combo_alpha_beta")


def test_playground_pair_as_the_start():
    gt = np.zeros((128, 128), bool)
    gt[40:60, 30:90] = True
    pred = np.zeros_like(gt)
    pred[42:62, 34:94] = True
    at = run_page({"tune_obj": "given", "tune_from_pair": "1", "tune_loss": "tversky"},
                  state={"_pg_gt": gt, "_pg_pred": pred})
    ok(at)
    setup = T.TuneSetup(obj="given", size=128, from_pair=True)
    b = trace(figure(at, "tune_curves"), "B (current)")
    assert np.allclose(b, T.curve("tversky", setup, {}, given=gt, given_pred=pred)[0])
    assert "added to the Playground's prediction" in " ".join(c.value for c in at.caption)
