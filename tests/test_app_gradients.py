"""The Gradients page under AppTest: gradient magnitude vs object size, and the per-pixel maps."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from segloss_app import compute_analysis as ca

import apptest_utils as U
from apptest_utils import APP, arr, figure, infos, markdown, ok  # noqa: F401

PAGE = "pages/gradients.py"


def run_page(query: dict | None = None, state: dict | None = None):
    return U.run_page(PAGE, query, state)
DEFAULT_LOSSES = ["dice", "jaccard", "tversky", "generalized_dice", "bce", "focal", "combo", "boundary"]


@pytest.fixture(scope="module")
def default_page() -> AppTest:
    return run_page()


@pytest.fixture(scope="module")
def default_table():
    key = ca.size_key(ca.radii(2, 100, 15), [k for k in ca.KEYS if k in DEFAULT_LOSSES], "{}")
    return ca.size_sweep(key)


def test_defaults_start_cleanly(default_page, default_table):
    at = default_page
    ok(at)
    fig = figure(at, "grad_l2_fig")
    assert len(fig["data"]) == len(DEFAULT_LOSSES)
    assert fig["layout"]["xaxis"]["type"] == "log" and fig["layout"]["yaxis"]["type"] == "log"
    assert len(arr(fig["data"][0]["x"])) == 15
    # the stated blow-up factors are the measured ones
    fn = ca.size_blow_up(default_table, "grad_fn").set_index("loss")["ratio"]
    l2 = ca.size_blow_up(default_table, "grad_l2").set_index("loss")["ratio"]
    text = markdown(at)
    assert f"**{fn['dice']:,.1f}×**" in text and f"**{l2['dice']:,.1f}×**" in text
    assert fn["dice"] > 50 * fn["bce"]


def test_region_view_switches_the_per_pixel_figure(default_page):
    at = default_page
    titles = [a["text"] for a in figure(at, "grad_region_fig")["layout"]["annotations"]]
    assert titles == ["mean |∂L/∂z| on missed (FN) pixels", "mean |∂L/∂z| on added (FP) pixels"]
    at.radio(key="grad_region").set_value("max").run()
    ok(at)
    titles = [a["text"] for a in figure(at, "grad_region_fig")["layout"]["annotations"]]
    assert titles == ["largest |∂L/∂z| of any pixel"]
    at.radio(key="grad_region").set_value("fn_fp").run()


def test_gallery_scale_and_radius(default_page):
    at = default_page
    maps = [t for t in figure(at, "grad_maps")["data"] if t["type"] == "heatmap"]
    assert len(maps) == len(DEFAULT_LOSSES)
    assert len({t["zmax"] for t in maps}) == 1  # one shared scale
    at.radio(key="grad_scale").set_value("per map").run()
    ok(at)
    maps = [t for t in figure(at, "grad_maps")["data"] if t["type"] == "heatmap"]
    assert len({t["zmax"] for t in maps}) > 1
    at.slider(key="grad_r").set_value(20.0).run()
    ok(at)
    title = figure(at, "grad_overlay")["layout"]["title"]["text"]
    assert title.startswith("r = 20 px")
    assert at.query_params["grad_r"] == "20" and at.query_params["grad_scale"] == "per map"


def test_query_params_restore_the_state():
    at = run_page({"grad_losses": "dice,bce", "grad_fn": "0.4", "grad_fp": "0.1", "grad_n": "5",
                   "grad_wrt": "probabilities", "grad_conf": "0.999", "grad_zoom": "0"})
    ok(at)
    assert not at.info
    assert at.multiselect(key="grad_losses").value == ["dice", "bce"]
    assert at.slider(key="grad_fn").value == pytest.approx(0.4)
    assert at.slider(key="grad_n").value == 5
    assert at.radio(key="grad_wrt").value == "probabilities"
    assert at.toggle(key="grad_zoom").value is False
    fig = figure(at, "grad_l2_fig")
    assert len(fig["data"]) == 2 and len(arr(fig["data"][0]["x"])) == 5
    assert "∂L/∂p" in fig["layout"]["title"]["text"]
    heat = [t for t in figure(at, "grad_maps")["data"] if t["type"] == "heatmap"][0]
    assert arr(heat["z"]).shape == (256, 256)  # no zoom: the whole image
    cap = " ".join(str(c.value) for c in at.caption)
    assert "misses 40%" in cap and "adds 10%" in cap


def test_bad_query_params_fall_back_with_a_notice():
    at = run_page({"grad_fn": "2", "grad_wrt": "sideways", "grad_losses": "dice,bogus", "grad_n": "x"})
    ok(at)
    notice = infos(at)
    for name in ("grad_fn", "grad_wrt", "grad_losses", "grad_n"):
        assert name in notice
    assert at.slider(key="grad_fn").value == 0.2
    assert len(figure(at, "grad_l2_fig")["data"]) == len(DEFAULT_LOSSES)


def test_inconsistent_radii_give_one_clear_error():
    at = run_page({"grad_rmin": "50", "grad_rmax": "20"})
    assert not at.exception
    assert len(at.error) == 1 and "smallest radius" in at.error[0].value


def test_presenter_mode_hides_advanced_controls():
    at = run_page({"present": "1"})
    ok(at)
    keys = {w.key for w in list(at.slider) + list(at.selectbox) + list(at.radio)}
    assert "grad_conf" not in keys and "grad_rmin" not in keys and "grad_fnmode" not in keys
    assert "grad_fn" in keys and "grad_fp" in keys


def test_a_small_object_fills_its_zoomed_panel_and_the_zoom_is_stated():
    """A 69-px disk (r = 4.7) in the 256-px image: the maps and the overlay show the object over at
    least two thirds of the panel's side, and the caption says which rows and columns are shown."""
    at = run_page({"grad_r": "4.7", "grad_losses": "dice,bce"})
    ok(at)
    case = ca.size_case(4.7, 256, 0.2, 0.2, "boundary", "boundary", 0.99, 0.0)
    gt = case["gt"]
    assert 60 <= int(gt.sum()) <= 80
    heat = [t for t in figure(at, "grad_maps")["data"] if t["type"] == "heatmap"][0]
    h, w = arr(heat["z"]).shape
    rows = np.flatnonzero((gt | case["hard"]).any(1))
    assert (rows[-1] - rows[0] + 1) / h >= 2 / 3, (h, rows)
    cap = " ".join(str(c.value) for c in at.caption)
    assert "Zoomed to the object: rows" in cap and f"{h}×{w} px of the 256×256 image" in cap
    # the soft prediction: c inside, 1 − c outside, on the same crop
    at.toggle(key="grad_show_p").set_value(True).run()
    ok(at)
    p = arr(figure(at, "grad_pmap")["data"][0]["z"])
    assert p.shape == (h, w) and np.isclose(p.max(), 0.99) and np.isclose(p.min(), 0.01)
    assert "adds" in " ".join(str(c.value) for c in at.caption)
