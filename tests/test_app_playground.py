"""The Playground page under AppTest, plus its input helpers (uploads, canvas, presets) directly.

The drawing canvas is an UnknownElement to AppTest: a drawing is injected through
``at.session_state[<canvas key>]`` as the component itself stores it.
"""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from segloss_app import canvas as CV
from segloss_app.common import PAGES
from segloss_app.presets import PRESETS, params_from_config
from segloss_core.mask_files import load_mask, save_mask_png
from segloss_core.registry import KEYS, REGISTRY

import apptest_utils as U
from apptest_utils import APP, arr, figure, infos, ok  # noqa: F401

PAGE = "pages/playground.py"


def run_page(query: dict | None = None, state: dict | None = None):
    return U.run_page(PAGE, query, state)


def loss_values(at: AppTest) -> dict[str, float]:
    """Loss name -> value from the values table (the first dataframe on the page)."""
    df = at.dataframe[0].value
    return dict(zip(df["name"], df["value"]))


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def data_url(rgba: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def disk_drawing(cy: int, cx: int, r: int, size: int = CV.CANVAS_PX) -> dict:
    yy, xx = np.mgrid[:size, :size]
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = (0, 0, 0, 255)
    return {"drawing": {"raw": {"objects": [{"type": "path"}]}, "data": data_url(rgba)}, "backgroundFit": None}


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def default_page() -> AppTest:
    return run_page()


def test_defaults_start_cleanly(default_page):
    at = default_page
    ok(at)
    assert set(metrics(at)) == {"Dice", "IoU", "Precision", "Sensitivity", "Specificity", "Hausdorff", "HD95",
                                "Components β0", "Holes β1", "clDice", "Skel. recall", "Skel. precision"}
    vals = loss_values(at)
    assert len(vals) == len(KEYS) >= 34
    assert all(np.isfinite(v) for v in vals.values())
    assert len(at.dataframe) == 1  # the per-pixel gradient maps are computed only when shown
    assert dict(at.query_params) == {}  # defaults stay out of the URL


def test_gradient_maps_on_demand():
    at = run_page()
    at.toggle(key="pg_gmaps").set_value(True).run()
    ok(at)
    assert at.dataframe[1].value["loss"].tolist() == ["bce", "dice", "focal", "boundary"]  # gradient summary
    assert _qp(at, "pg_gmaps") == "1"
    assert len([t for t in figure(at, "pg_gradmaps")["data"] if t.get("type") == "heatmap"]) == 4
    at = run_page({"pg_wrt": "probabilities"})  # a link with the maps' options opens them
    ok(at)
    assert at.toggle(key="pg_gmaps").value is True and at.dataframe[1].value["loss"].tolist()[0] == "bce"


def test_fn_slider_changes_values_and_url(default_page):
    at = default_page
    before_m, before_v = metrics(at), loss_values(at)
    at.slider(key="pg_fn").set_value(0.5).run()
    ok(at)
    after_m, after_v = metrics(at), loss_values(at)
    assert after_m["Sensitivity"] != before_m["Sensitivity"]
    assert after_v["Dice loss"] > before_v["Dice loss"]
    assert at.query_params["pg_fn"] == ["0.5"] or at.query_params["pg_fn"] == "0.5"


def _qp(at: AppTest, name: str) -> str:
    v = at.query_params[name]
    return v[0] if isinstance(v, list) else v


def test_fragment_selection_and_gradient_options():
    at = run_page()
    at.multiselect(key="pg_fams").set_value(["region"]).run()
    ok(at)
    region_names = {s.name for s in REGISTRY.values() if s.family == "region"}
    assert set(loss_values(at)) and set(loss_values(at)) <= region_names
    at.toggle(key="pg_gmaps").set_value(True).run()
    at.toggle(key="pg_gshared").set_value(True).run()
    at.radio(key="pg_wrt").set_value("probabilities").run()
    at.multiselect(key="pg_gkeys").set_value(["dice", "tversky"]).run()
    ok(at)
    assert at.dataframe[1].value["loss"].tolist() == ["dice", "tversky"]
    assert _qp(at, "pg_fams") == "region" and _qp(at, "pg_wrt") == "probabilities"
    assert _qp(at, "pg_gkeys") == "dice,tversky" and _qp(at, "pg_gshared") == "1"


def test_loss_parameter_feeds_the_values():
    at = run_page({"pg_ploss": "dice"})
    ok(at)
    before = loss_values(at)["Dice loss"]
    at.select_slider(key="pg_dice.smooth").set_value(100.0).run()
    ok(at)
    assert loss_values(at)["Dice loss"] != before
    assert _qp(at, "pg_dice.smooth") == "100"


def test_query_params_restore_the_page():
    q = {"pg_shape": "rectangle", "pg_frac": "0.005", "pg_conf": "0.8", "pg_units": "pixels", "pg_fn": "10",
         "pg_fp": "25", "pg_fpmode": "blobs", "pg_losses": "dice,bce", "pg_wce.beta": "3"}
    at = run_page(q)
    ok(at)
    assert at.selectbox(key="pg_shape").value == "rectangle"
    assert at.select_slider(key="pg_frac").value == pytest.approx(0.005)
    assert at.slider(key="pg_conf").value == pytest.approx(0.8)
    assert at.slider(key="pg_fn").value == 10 and at.slider(key="pg_fp").value == 25
    assert set(loss_values(at)) == {"Dice loss", "Binary cross-entropy"}
    assert at.session_state["pg_wce.beta.auto"] is False and at.session_state["pg_wce.beta.value"] == 3.0
    assert "TP" in " ".join(c.value for c in at.caption) and "FP 25" in " ".join(c.value for c in at.caption)


def test_bad_query_params_fall_back_with_notice():
    at = run_page({"pg_frac": "abc", "pg_shape": "hexagon", "pg_losses": "dice,nope", "pg_conf": "2",
                   "pg_wce.beta": "oops"})
    ok(at)
    notice = infos(at)
    for name in ("pg_frac", "pg_shape", "pg_losses", "pg_conf", "pg_wce.beta"):
        assert name in notice
    assert at.selectbox(key="pg_shape").value == "disk"
    assert at.select_slider(key="pg_frac").value == pytest.approx(0.02)
    assert len(loss_values(at)) == len(KEYS)


@pytest.mark.parametrize("i", [i for i, p in enumerate(PRESETS) if p.page == "playground"])
def test_playground_presets_are_valid_links(i):
    at = run_page(PRESETS[i].params)
    ok(at)
    assert "not valid" not in infos(at)


def test_preset_button_applies_and_navigates():
    at = run_page({"pg_shape": "star"})
    i = next(i for i, p in enumerate(PRESETS) if p.name.startswith("Extreme imbalance"))
    at.button(key=f"pg_preset_{i}").click().run()
    ok(at)
    assert _qp(at, "pg_frac") == "0.001"
    assert at.session_state["pg_frac"] == pytest.approx(0.001)
    assert at.selectbox(key="pg_shape").value == "disk"  # a preset starts from the defaults
    j = next(i for i, p in enumerate(PRESETS) if p.page == "tune" and "tversky" in p.params.values())
    at.button(key=f"pg_preset_{j}").click().run()
    assert not at.exception
    assert _qp(at, "tune_loss") == "tversky"  # the Tune page may drop its default axes from the URL
    assert at.session_state["tune_x"] == "alpha" and at.session_state["tune_y"] == "beta"


def test_canvas_injection_changes_values():
    at = run_page({"pg_src": "draw"})
    ok(at)
    assert "Nothing drawn yet" in infos(at) and "ground truth is empty" in infos(at)
    assert metrics(at)["Hausdorff"] == "0.0 px"  # both empty: fractions of an empty object are 0 px
    empty_vals = loss_values(at)
    assert all(np.isfinite(v) for v in empty_vals.values())
    at.session_state["pg_gt_canvas_0"] = disk_drawing(CV.CANVAS_PX // 2, CV.CANVAS_PX // 2, CV.CANVAS_PX * 5 // 32)
    at.run()
    ok(at)
    assert "Nothing drawn yet" not in infos(at)
    assert loss_values(at) != empty_vals
    assert metrics(at)["Hausdorff"] != "n/a"
    assert any(b.label == "Drawing as PNG" for b in at.get("download_button"))
    # Clear gives a fresh canvas key: the drawing is gone.
    at.button(key="pg_gt_clear").click().run()
    ok(at)
    assert "Nothing drawn yet" in infos(at)


def test_drawn_prediction_canvas():
    at = run_page({"pg_pred": "draw", "pg_frac": "0.05"})
    ok(at)
    assert metrics(at)["Sensitivity"] == "0.000"
    at.session_state["pg_pred_canvas_0"] = disk_drawing(CV.CANVAS_PX // 2, CV.CANVAS_PX // 2, CV.CANVAS_PX // 8)  # a centred disk
    at.run()
    ok(at)
    assert float(metrics(at)["Sensitivity"]) > 0.5


def test_presenter_mode_hides_advanced_controls():
    at = run_page({"present": "1"})
    ok(at)
    keys = {w.key for w in at.slider} | {w.key for w in at.radio}
    assert "pg_conf" in keys
    assert not keys & {"pg_blur", "pg_dy", "pg_dx", "pg_units", "pg_wrt"}
    assert "upload" not in at.radio(key="pg_src").options


def test_other_sources_and_units():
    at = run_page({"pg_src": "real", "pg_real": "coins", "pg_size": "128"})
    ok(at)
    at = run_page({"pg_sizeby": "radius", "pg_r": "12", "pg_nobj": "3", "pg_shape": "polygon", "pg_fnmode": "holes",
                   "pg_fpmode": "noise", "pg_dy": "5", "pg_blur": "1"})
    ok(at)
    at.radio(key="pg_units").set_value("pixels").run()  # the amount is converted, not reset
    ok(at)
    assert at.slider(key="pg_fn").value > 1
    at = run_page({"pg_sizeby": "radius", "pg_r": "250"})  # does not fit: a clear message, no traceback
    assert not at.exception and at.error and "does not fit" in at.error[0].value


# ---------------------------------------------------------------------------------------------
# The first screen: level player, pin A, what to notice
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def first_screen() -> AppTest:
    """The default page, untouched (``default_page`` is moved by the slider tests)."""
    return run_page()


def _player(at: AppTest) -> dict:
    return figure(at, "pg_player")


def _curves(fig: dict) -> dict[str, list[float]]:
    """Loss name -> its raw values per level (the solid curves' customdata)."""
    return {t["name"]: list(arr(t["customdata"])) for t in fig["data"]
            if t.get("type") == "scatter" and t.get("mode") == "lines" and not t["name"].startswith("A: ")}


def _notice(at: AppTest) -> str:
    return next(str(m.value) for m in at.markdown if "What to notice" in str(m.value))


def _direct(gt, fn_px: int, fp_px: int, keys, confidence: float = 0.99, **kw) -> dict[str, float]:
    """The library itself on one prediction: perturb at these amounts, soften, evaluate."""
    from segloss_core.perturb import perturb, soften
    from segloss_core.sweep import run_sweep
    pred = perturb(gt, fn=fn_px, fp=fp_px, units="pixels", **kw)
    soft = soften(pred.mask, confidence=confidence, dtype=np.float32)
    res = run_sweep(gt, soft[None], list(keys))
    return {k: float(res.values[k][0]) for k in keys}, pred.counts


def test_player_frames_equal_a_direct_evaluation_at_each_k(first_screen):
    import plotly.graph_objects as go
    from segloss_app import playground_player as PL
    from segloss_core.figures_survey import number
    at = first_screen
    fig = _player(at)
    go.Figure(fig)  # the dictionary (built without validation) is a valid figure, frames included
    assert [f["name"] for f in fig["frames"]] == [str(k) for k in range(PL.STEPS + 1)]
    assert fig["layout"]["updatemenus"][0]["buttons"][0]["label"].endswith("Play")
    assert len(fig["layout"]["sliders"][0]["steps"]) == PL.STEPS + 1
    gt = at.session_state["_pg_gt"]
    n = int(gt.sum())
    fn_px = fp_px = round(0.1 * n)  # the default FN and FP: 0.1 of the object
    names = [REGISTRY[k].name for k in PL.DEFAULT_KEYS]
    curves = _curves(fig)
    assert list(curves) == names
    for k in (0, 3, PL.STEPS):
        a, b = PL.level_amounts(fn_px, fp_px, PL.STEPS)
        want, counts = _direct(gt, a[k], b[k], PL.DEFAULT_KEYS)
        frame = fig["frames"][k]
        assert f"k = {k} of {PL.STEPS}</b>: FN {counts['fn']:,} · FP {counts['fp']:,} px" in \
            frame["layout"]["annotations"][0]["text"]
        bar = next(d for d in frame["data"] if d["type"] == "bar")
        assert list(bar["y"]) == names and list(bar["text"]) == [number(want[key]) for key in PL.DEFAULT_KEYS]
        for key, name in zip(PL.DEFAULT_KEYS, names):
            assert curves[name][k] == pytest.approx(want[key], rel=1e-5, abs=1e-8), (k, key)
    # k = N is the prediction the sliders make: the same values as the table of every loss
    table = loss_values(at)
    for name in names:
        assert curves[name][-1] == pytest.approx(table[name], rel=1e-5, abs=1e-8)
    assert "FN 131 · FP 131" in fig["layout"]["annotations"][0]["text"] and "zoom ×" in fig["layout"]["annotations"][0]["text"]


def test_player_steps_losses_and_shift_from_the_link():
    from segloss_app import playground_player as PL
    at = run_page({"pg_steps": "4", "pg_pkeys": "dice,bce", "pg_dy": "3", "pg_units": "pixels", "pg_fn": "40",
                   "pg_fp": "20"})
    ok(at)
    fig = _player(at)
    assert len(fig["frames"]) == 5 and list(_curves(fig)) == ["Dice loss", "Binary cross-entropy"]
    gt = at.session_state["_pg_gt"]
    want, counts = _direct(gt, 20, 10, ["dice", "bce"], shift=(3, 0))  # k = 2 of 4: half the amounts
    assert _curves(fig)["Dice loss"][2] == pytest.approx(want["dice"], rel=1e-5)
    assert f"FN {counts['fn']:,} · FP {counts['fp']:,}" in fig["frames"][2]["layout"]["annotations"][0]["text"]
    assert "k = 0 of 4</b>: FN " in fig["frames"][0]["layout"]["annotations"][0]["text"]  # the shift alone
    at.number_input(key="pg_steps").set_value(6).run()  # reruns the player alone
    ok(at)
    assert len(_player(at)["frames"]) == 7 and _qp(at, "pg_steps") == "6"
    assert PL.parse_keys("dice,nope,bce") == ["dice", "bce"]


def test_drawn_prediction_has_one_level():
    at = run_page({"pg_pred": "draw"})
    ok(at)
    fig = _player(at)
    assert len(fig["frames"]) == 1
    assert "no error level to play" in _notice(at)


def test_pin_a_keeps_the_values_while_b_changes():
    at = run_page({"pg_pkeys": "dice,bce,focal"})
    before_table, before_curves = loss_values(at), _curves(_player(at))
    at.button(key="pg_pin").click().run()
    ok(at)
    assert "Against pinned A (the same settings)" in _notice(at)
    at.slider(key="pg_fn").set_value(0.3).run()
    ok(at)
    fig = _player(at)
    pinned = {t["name"][3:]: list(arr(t["customdata"])) for t in fig["data"] if t.get("name", "").startswith("A: ")}
    assert set(pinned) == set(before_curves)  # A's curves, kept
    for name, v in before_curves.items():
        assert pinned[name] == pytest.approx(v)
    assert _curves(fig)["Dice loss"][-1] > before_curves["Dice loss"][-1]  # B moved on
    df = at.dataframe[0].value.set_index("name")
    for name, v in before_table.items():
        assert df.loc[name, "A"] == pytest.approx(v)
        assert df.loc[name, "B − A"] == pytest.approx(df.loc[name, "value"] - v)
    bars = figure(at, "pg_bars")
    diamonds = next(t for t in bars["data"] if t.get("name") == "A (pinned)")
    assert {y.removesuffix(" (−)"): v for y, v in zip(diamonds["y"], arr(diamonds["customdata"]))} == \
        pytest.approx(before_table)  # on the log axis a negative value is marked (−)
    assert any("Pinned A: fn 0.1 → 0.3" in str(c.value) for c in at.caption)
    notice = _notice(at)
    assert "Against pinned A (fn 0.1 → 0.3)" in notice
    at.button(key="pg_unpin").click().run()
    ok(at)
    assert not any(t.get("name", "").startswith("A: ") for t in _player(at)["data"])
    assert "A" not in at.dataframe[0].value.columns


def test_what_to_notice_is_computed_from_the_numbers_shown(first_screen):
    from segloss_core.figures_survey import number
    at = first_screen
    notice = _notice(at)
    line1, line2 = notice.split("  \n")
    curves = _curves(_player(at))
    assert "k = 0 → 10 (FN 0 → 131, FP 0 → 131 px)" in line1
    ratio = {n: v[-1] / v[0] for n, v in curves.items() if v[0] > 0 and v[-1] > 0}
    top = max(ratio, key=lambda n: abs(np.log(ratio[n])))
    low = min(ratio, key=lambda n: abs(np.log(ratio[n])))
    assert f"**{top}** changes most ({number(curves[top][0])} → {number(curves[top][-1])}" in line1
    assert f"**{low}** least ({number(curves[low][0])} → {number(curves[low][-1])}" in line1
    m, table = metrics(at), loss_values(at)
    assert f"Hard Dice **{m['Dice']}**, soft Dice loss **{number(table['Dice loss'])}**" in line2
    gt = at.session_state["_pg_gt"]
    tn = int(at.session_state["_pg_pred"].size - (gt | at.session_state["_pg_pred"]).sum())
    assert f"left on {tn:,} true negatives is {tn * 0.01:,.0f} px" in line2


# ---------------------------------------------------------------------------------------------
# Input helpers, tested directly
# ---------------------------------------------------------------------------------------------
def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_upload_bad_file_gives_message():
    res = CV.read_upload(b"this is not an image", "mask.png")
    assert res.array is None and "not a readable image" in res.error


def test_upload_grey_image_offers_otsu_threshold():
    img = np.zeros((40, 40), np.uint8)
    img[10:30, 10:30] = 200
    img[0:5, :] = 90
    res = CV.read_upload(_png(img), "grey.png")
    assert res.array is None and "distinct values" in res.error
    assert res.suggested_threshold is not None and 0 <= res.suggested_threshold < 200
    assert res.value_range == (0.0, 200.0)
    again = CV.read_upload(_png(img), "grey.png", threshold=res.suggested_threshold)
    assert again.error is None and again.array[20, 20] and not again.array[39, 39]


def test_upload_oversize_gives_message():
    res = CV.read_upload(_png(np.zeros((10, 2100), np.uint8)), "wide.png")
    assert res.array is None and "2048" in res.error
    res = CV.read_upload(b"\0" * (CV.MAX_UPLOAD_BYTES + 1), "huge.npy")
    assert res.array is None and "MiB" in res.error


def test_upload_round_trip_and_probabilities():
    m = np.zeros((32, 32), bool)
    m[4:9, 5:20] = True
    assert np.array_equal(CV.read_upload(save_mask_png(m), "m.png").array, m)
    buf = io.BytesIO()
    np.save(buf, np.full((8, 8), 0.25, np.float32))
    res = CV.read_upload(buf.getvalue(), "p.npy", kind="probabilities")
    assert res.error is None and res.array.shape == (8, 8) and float(res.array.max()) == 0.25


def test_canvas_to_mask_brush_eraser_and_resize():
    rgba = np.zeros((100, 100, 4), np.uint8)
    rgba[20:80, 20:80] = (0, 0, 0, 255)       # brush
    rgba[40:60, 40:60] = (255, 255, 255, 255)  # eraser paints white
    m = CV.canvas_to_mask(rgba, (50, 50))
    assert m.shape == (50, 50) and m[12, 12] and not m[25, 25] and not m[2, 2]
    assert not CV.canvas_to_mask(None, (16, 16)).any()
    mask, fabric = CV.canvas_state_mask(disk_drawing(50, 50, 20, size=100), (100, 100))
    assert mask[50, 50] and not mask[0, 0] and CV.n_objects_drawn(fabric) == 1


def test_resize_mask():
    m = np.zeros((64, 64), bool)
    m[16:48, 16:48] = True
    small = CV.resize_mask(m, (32, 32))
    assert small.sum() == 16 * 16 and small[16, 16]
    assert CV.resize_mask(small, (64, 64)).sum() == m.sum()


def test_drawing_json_round_trip():
    m = np.zeros((20, 30), bool)
    m[0, 0] = True
    m[5:9, 3:17] = True
    data = CV.drawing_json(m, {"objects": []})
    back, fabric = CV.mask_from_drawing_json(data)
    assert np.array_equal(back, m) and fabric == {"objects": []}
    with pytest.raises(ValueError, match="not a SegLoss Lab drawing"):
        CV.mask_from_drawing_json(b'{"a": 1}')
    assert np.array_equal(load_mask(save_mask_png(back)), m)


def test_config_json_round_trip():
    params, ignored = params_from_config(json.dumps({"page": "playground", "params": {
        "pg_frac": "0.001", "pg_gshared": True, "tune_loss": "x"}}).encode(), "pg_")
    assert params == {"pg_frac": "0.001", "pg_gshared": "1"} and ignored == ["tune_loss"]
    with pytest.raises(ValueError, match="not valid JSON"):
        params_from_config(b"{nope", "pg_")


def test_presets_are_well_formed():
    prefixes = {"playground": "pg_", "tune": "tune_", "large_vs_small": "lvs_", "thin": "thin_"}
    names = {p.name for p in PRESETS}
    for required in ("Small object: overlap losses saturate", "Extreme imbalance 1:1000", "Focal γ at 0, 1, 2, 5",
                     "Tversky trades FP for FN", "Soft predictions and the smoothing term",
                     "Touching objects: U-Net border weights"):
        assert required in names
    for p in PRESETS:
        assert p.page in PAGES and p.params
        assert all(k.startswith(prefixes[p.page]) or k == "lesson" for k in p.params)
        assert p.explanation.count(". ") + p.explanation.endswith(".") == 2  # two sentences
    lvs = next(p for p in PRESETS if p.page == "large_vs_small").params
    assert set(lvs) <= {"lvs_small_r", "lvs_large_r", "lvs_delta", "lvs_levels", "lvs_conf", "lvs_fpmode",
                        "lvs_tol", "lvs_norm", "lvs_protocol", "lvs_losses", "lesson"}
