"""The Large vs small page under AppTest, and the verdict helpers behind it.

Expected counts are computed from the cached survey (segloss_app.compute_analysis), never typed in.
"""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from segloss_app import compute_analysis as ca
from segloss_app import survey_text as stx
from segloss_core import claim
from segloss_core import figures as F
from segloss_core.registry import KEYS
from segloss_core.robustness import holds_interval
from segloss_core.survey import SurveyConfig, run_survey

import apptest_utils as U
from apptest_utils import APP, arr, figure, infos, markdown, ok  # noqa: F401

PAGE = "pages/large_vs_small.py"


def run_page(query: dict | None = None, state: dict | None = None):
    return U.run_page(PAGE, query, state)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def counts(at: AppTest) -> tuple[int, int, int]:
    m = metrics(at)
    get = lambda label: int(m[label].split("/")[0])  # noqa: E731
    return (get("Rising: large object"), get("Rising: small object"),
            get("Agree with the survey"))


@pytest.fixture(scope="module")
def default_page() -> AppTest:
    return run_page()


@pytest.fixture(scope="module")
def survey():
    return ca.survey_full(ca.survey_key())


def test_defaults_start_cleanly(default_page, survey):
    at = default_page
    ok(at)
    v = ca.verdicts_from_curves(survey.curves, 1e-3)
    expected = (int(v[v.object == "large"].monotone.sum()), int(v[v.object == "small"].monotone.sum()),
                int((v.agrees == True).sum()))  # noqa: E712 (None = not stated)
    assert counts(at) == expected
    assert metrics(at)["Agree with the survey"].endswith(f"/ {int(v.agrees.notna().sum())}")
    # the survey's sentence is visible beside the measured verdicts, agreement counted over what it states
    text = markdown(at)
    assert "only combo loss and focal loss increase monotonically" in text
    assert "Of the 11 losses the sentence names, **11 agree**" in text
    assert "not stated" in text and "saturate" in text
    # the interval where the sentence holds, computed from the flip tolerances
    lo, hi = holds_interval(v[v.object == "small"])
    assert metrics(at)["Survey's sentence holds at tol."] == f"{stx.short_e(lo)}–{stx.short_e(hi)}"
    assert stx.short_e(3.01e-4) == "3.0e-4"


def test_small_multiples_one_panel_per_loss_with_verdicts(default_page, survey):
    fig = figure(default_page, "lvs_curves")
    assert len(fig["data"]) == 2 * len(ca.SURVEY_KEYS) == 2 * 26  # both objects in every panel, the survey's losses
    assert sum(1 for t in fig["data"] if t.get("showlegend")) == 2  # a legend of two entries, no scrolling
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    v = ca.verdicts_from_curves(survey.curves, 1e-3).set_index(["loss", "object"])
    dice = next(t for t in titles if t.startswith("<b>Dice loss</b>"))
    assert v.loc[("dice", "small"), "verdict"] in dice and v.loc[("dice", "large"), "verdict"] in dice
    assert max(arr(t["y"]).max() for t in fig["data"]) == pytest.approx(1.0)  # normalized by default
    g = figure(default_page, "lvs_grads")
    assert g["layout"]["yaxis"]["type"] == "log"
    cells, _ = F.verdict_cells(ca.verdicts_from_curves(survey.curves, 1e-3))
    table = next(d.value for d in default_page.dataframe if list(d.value.columns) == list(cells.columns))
    pd.testing.assert_frame_equal(table.reset_index(drop=True), cells)


def test_all_in_one_view_is_an_option():
    at = run_page()
    at.radio(key="lvs_view").set_value("all losses in one panel per object").run()
    ok(at)
    titles = [a["text"] for a in figure(at, "lvs_curves")["layout"]["annotations"]]
    assert any(t.startswith("Large object") for t in titles) and any(t.startswith("Small object") for t in titles)


def test_what_to_notice_is_computed(default_page, survey):
    v = ca.verdicts_from_curves(survey.curves, 1e-3)
    lo, hi = holds_interval(v[v.object == "small"])
    notice = next(str(m.value) for m in default_page.markdown if "What to notice" in str(m.value))
    assert f"{lo:.1e} to {hi:.1e}" in notice and "from level 6 on no true positive is left" in notice
    overlap = v[(v.object == "small") & v.loss.isin(claim.OVERLAP_LOSSES)]
    assert f"{int((overlap.verdict == 'saturates').sum())} saturate" in notice


def test_level_player_frames(default_page, survey):
    fig = figure(default_page, "lvs_player")
    assert len(fig["frames"]) == 41 and [f["name"] for f in fig["frames"]][:3] == ["0", "1", "2"]
    assert fig["layout"]["updatemenus"][0]["buttons"][0]["label"].endswith("Play")
    assert len(fig["layout"]["sliders"][0]["steps"]) == 41
    f20 = fig["frames"][20]
    small = survey.curves[(survey.curves.object == "small") & (survey.curves.level == 20)]
    c = small.iloc[0]
    assert f"k = 20: FN {int(c.fn)}, FP {int(c.fp)}" in f20["layout"]["annotations"][1]["text"]
    assert "zoom ×" in f20["layout"]["annotations"][1]["text"]
    marker_y = [d["y"][0] for d in f20["data"][2:]]
    want = [float(small[small.loss == k].value_norm.iloc[0]) for k in ca.PLAYER_DEFAULT]
    assert marker_y == pytest.approx(want)
    import plotly.graph_objects as go
    go.Figure(fig)  # the figure is built unvalidated: what the browser gets must pass plotly's validation
    assert fig["data"][0]["type"] == "image" and fig["data"][0]["source"].startswith("data:image/png;base64,")


def test_pin_a_protocol_and_compare():
    at = run_page({"lvs_losses": "dice,focal", "lvs_levels": "21"})
    at.button(key="lvs_pin").click().run()
    ok(at)
    at.slider(key="lvs_conf").set_value(0.9).run()
    ok(at)
    names = {t["name"] for t in figure(at, "lvs_curves")["data"]}
    assert {"A: large", "A: small", "large object", "small object"} <= names
    assert any("confidence 0.99 → 0.9" in str(c.value) for c in at.caption)


def test_soft_dice_note_uses_measured_values(default_page, survey):
    c = survey.curves
    d = c[(c.loss == "dice") & (c.level == 0)].set_index("object")["value"]
    text = markdown(default_page)
    assert f"**{d['small']:.3f}** on the small object" in text
    assert f"**{d['large']:.3f}** on the large one" in text


def test_raw_values_when_normalization_is_off(default_page, survey):
    at = default_page
    at.toggle(key="lvs_norm").set_value(False).run()
    ok(at)
    fig = figure(at, "lvs_curves")
    assert "raw values" in fig["layout"]["title"]["text"]
    assert max(arr(t["y"]).max() for t in fig["data"]) == pytest.approx(survey.curves["value"].max())
    assert at.query_params["lvs_norm"] == "0"
    at.toggle(key="lvs_norm").set_value(True).run()


def test_tolerance_changes_verdicts_without_recomputing(survey):
    at = run_page()
    before = counts(at)
    runs = ca.RUNS["survey"]
    at.number_input(key="lvs_tol").set_value(0.02).run()
    ok(at)
    v = ca.verdicts_from_curves(survey.curves, 0.02)
    after = counts(at)
    assert after == (int(v[v.object == "large"].monotone.sum()), int(v[v.object == "small"].monotone.sum()),
                     int((v.agrees == True).sum()))  # noqa: E712
    assert after != before
    # 0.02 is outside the interval where the sentence holds: the page says so
    assert any("does not hold" in str(i.value) for i in at.info)
    assert ca.RUNS["survey"] == runs  # the sweep was not run again
    assert at.query_params["lvs_tol"] == "0.02"


def test_loss_selection_filters_figures_and_counts():
    at = run_page()
    at.multiselect(key="lvs_losses").set_value(["dice", "focal", "combo"]).run()
    ok(at)
    assert len(figure(at, "lvs_curves")["data"]) == 6
    assert metrics(at)["Agree with the survey"].endswith("/ 3")  # the small-object statements about these three
    assert at.query_params["lvs_losses"] == "dice,focal,combo"


def test_empty_loss_selection_shows_all_and_keeps_the_link_clean():
    at = run_page({"lvs_losses": "dice"})
    at.multiselect(key="lvs_losses").set_value([]).run()
    ok(at)
    assert any("No loss selected" in str(e.value) for e in at.info)
    assert len(figure(at, "lvs_curves")["data"]) == 2 * len(ca.SURVEY_KEYS)
    assert "lvs_losses" not in at.query_params


def test_later_losses_are_computed_only_when_selected_and_equal_a_direct_run():
    """The 26 of the survey run on every protocol change; the 8 published since only once one of them
    is picked (in the fragment), and their curves equal a direct library run."""
    at = run_page({"lvs_levels": "11"})
    ok(at)
    cfg = ca.survey_key(levels=11)
    assert ca.is_cached("survey", cfg) and not ca.is_cached("survey_recent", cfg)
    at.selectbox(key="lvs_quick").set_value(f"all {len(KEYS)} losses (+ {len(ca.RECENT_KEYS)} since the survey)").run()
    ok(at)
    assert ca.is_cached("survey_recent", cfg)
    assert len(figure(at, "lvs_curves")["data"]) == 2 * len(KEYS)
    direct = run_survey(SurveyConfig(**dict(cfg)), ["cldice", "hausdorff_er"], None).curves
    shown = ca.survey_for(cfg, KEYS, "").curves
    for key in ("cldice", "hausdorff_er"):
        a = direct[direct.loss == key].reset_index(drop=True)
        b = shown[shown.loss == key].reset_index(drop=True)
        np.testing.assert_array_equal(a["value"].to_numpy(), b["value"].to_numpy())


def test_quick_selection_fills_the_loss_list():
    at = run_page()
    at.selectbox(key="lvs_quick").set_value("boundary family").run()
    ok(at)
    from segloss_core.registry import REGISTRY
    assert at.multiselect(key="lvs_losses").value == [k for k in KEYS if REGISTRY[k].family == "boundary"]
    assert at.selectbox(key="lvs_quick").value == "—"


def test_query_params_restore_the_state():
    at = run_page({"lvs_small_r": "8", "lvs_delta": "10", "lvs_levels": "21", "lvs_conf": "0.95",
                   "lvs_fpmode": "blobs", "lvs_norm": "0", "lvs_tol": "0.005", "lvs_losses": "dice,bce"})
    ok(at)
    assert at.slider(key="lvs_small_r").value == 8.0
    assert at.slider(key="lvs_delta").value == 10
    assert at.slider(key="lvs_levels").value == 21
    assert at.slider(key="lvs_conf").value == pytest.approx(0.95)
    assert at.selectbox(key="lvs_fpmode").value == "blobs"
    assert at.toggle(key="lvs_norm").value is False
    assert at.number_input(key="lvs_tol").value == pytest.approx(0.005)
    assert at.multiselect(key="lvs_losses").value == ["dice", "bce"]
    assert not at.info  # nothing was rejected
    cap = " ".join(str(c.value) for c in at.caption)
    assert "small disk r = 8 px" in cap and "k·10 FP pixels (blobs)" in cap and "k = 0…20" in cap
    fig = figure(at, "lvs_curves")
    assert len(fig["data"]) == 4 and len(arr(fig["data"][0]["x"])) == 21
    # the same settings are written back to the URL
    assert at.query_params["lvs_fpmode"] == "blobs" and at.query_params["lvs_small_r"] == "8"


def test_bad_query_params_fall_back_with_a_notice():
    at = run_page({"lvs_small_r": "abc", "lvs_fpmode": "ring", "lvs_levels": "5000", "lvs_losses": "dice,nope"})
    ok(at)
    notice = infos(at)
    for name in ("lvs_small_r", "lvs_fpmode", "lvs_levels", "lvs_losses"):
        assert name in notice
    assert at.slider(key="lvs_small_r").value == 6.0
    assert at.selectbox(key="lvs_fpmode").value == "boundary"
    assert len(figure(at, "lvs_curves")["data"]) == 2 * len(ca.SURVEY_KEYS)


def test_presenter_mode_hides_advanced_controls():
    at = run_page({"present": "1"})
    ok(at)
    keys = {w.key for w in list(at.number_input) + list(at.multiselect) + list(at.slider)}
    assert "lvs_tol" not in keys and "lvs_losses" not in keys and "lvs_delta" not in keys
    assert "lvs_small_r" in keys and "lvs_conf" in keys


def test_verdicts_from_curves_reproduce_the_survey():
    cfg = SurveyConfig(levels=15, tolerance=0.01)
    res = run_survey(cfg, ["dice", "focal", "combo", "bce"])
    pd.testing.assert_frame_equal(ca.verdicts_from_curves(res.curves, 0.01), res.verdicts)


def test_agreement_summary_names_disagreements(survey):
    v = ca.verdicts_from_curves(survey.curves, 1e-3)
    blocks = stx.agreement_summary(v)
    assert len(blocks) == 2 and blocks[0].startswith("**Large object**")
    assert "every loss is *not stated* for the large object" in blocks[0]
    small = v[v.object == "small"]
    n_agree, n_stated = int((small.agrees == True).sum()), int(small.agrees.notna().sum())  # noqa: E712
    assert f"Of the {n_stated} losses the sentence names, **{n_agree} agree**" in blocks[1]
    # a disagreement is named with both sides
    w = v.copy()
    w.loc[(w.object == "small") & (w.loss == "focal"), ["verdict", "agrees"]] = ["flat", False]
    assert "Focal loss (survey: rises; measured: flat)" in stx.agreement_summary(w)[1]


def test_protocol_and_hard_masks_from_the_link():
    at = run_page({"lvs_protocol": "translation", "lvs_hard": "1", "lvs_levels": "21", "lvs_losses": "dice,focal,boundary"})
    ok(at)
    assert at.selectbox(key="lvs_protocol").value == "translation" and at.toggle(key="lvs_hard").value is True
    cap = " ".join(str(c.value) for c in at.caption)
    assert "moved by k·1 px" in cap and "hard 0/1 predictions" in cap
    text = markdown(at)
    assert "hard predictions" in text.lower()
    # moved away, the small object's per-pixel losses stop changing: focal is flat, and disagrees
    assert "Focal loss (survey: rises; measured: flat)" in text
    assert at.query_params["lvs_protocol"] == "translation" and at.query_params["lvs_hard"] == "1"


def test_robustness_map_on_demand():
    """The map is computed when its button is clicked (11 levels instead of 41: the same 40 settings
    at a quarter of the cost), and its statements are the library's for that map."""
    at = run_page({"lvs_losses": "dice,focal", "lvs_levels": "11"})
    ok(at)
    key = ca.robustness_key(ca.survey_key(levels=11))
    assert not ca.is_cached("robust", key)
    button = at.button(key="lvs_robust_go")
    button.click().run(timeout=400)
    ok(at)
    fig = figure(at, "lvs_robust")
    assert fig["data"][0]["type"] == "heatmap"
    z = np.asarray(arr(fig["data"][0]["z"]), dtype=float)
    assert z.shape == (40, 11) and np.nanmin(z) >= 0 and np.nanmax(z) <= 1
    rob = ca.robustness_full(key)  # cached by the click: not computed again here
    from segloss_core.figures import robustness_heatmap
    want = np.asarray(robustness_heatmap(rob.table).data[0].z, dtype=float)
    assert np.array_equal(z, want, equal_nan=True)  # the map of this configuration, not another one
    text = markdown(at)
    lines = ca.robustness_statements(rob)
    assert lines and all(line in text for line in lines)
    assert "Over 40 settings" in text


def test_soft_beside_hard():
    at = run_page({"lvs_losses": "dice,focal,lovasz_hinge", "lvs_levels": "21"})
    at.toggle(key="lvs_cmp_hard").set_value(True).run()
    ok(at)
    fig = figure(at, "lvs_soft_hard")
    names = [t["name"] for t in fig["data"]]
    assert "Dice loss (c=0.99)" in names and "Dice loss (hard)" in names and len(names) == 6
    hard = ca.survey_full(ca.survey_key(levels=21, confidence=1.0))
    hv = ca.verdicts_from_curves(hard.curves, 1e-3)
    flat = [k for k in ("dice", "focal", "lovasz_hinge") if hv[(hv.object == "small") & (hv.loss == k)].verdict.iloc[0] == "flat"]
    from segloss_core.registry import REGISTRY
    assert f"exactly flat on the small object: {', '.join(REGISTRY[k].name for k in flat) or 'none'}." in markdown(at)


def test_verdicts_follow_the_losses_computed_for_one_configuration():
    """The verdict cache is keyed by the losses too: the 26 and the 26 + 8 of one configuration."""
    cfg = ca.survey_key(levels=11)
    few = ca.survey_full(cfg)
    both = ca.survey_for(cfg, KEYS, "")
    assert set(ca.verdicts_at(cfg, 1e-3, few).loss) == set(ca.SURVEY_KEYS)
    assert set(ca.verdicts_at(cfg, 1e-3, both).loss) == set(KEYS)


def test_a_new_small_radius_reuses_the_large_objects_part():
    """The survey is cached per object: moving the small radius computes only the small object, and
    the joined result equals a direct run of the whole survey."""
    cfg = ca.survey_key(levels=7, small_radius=5.5)
    first = ca.survey_full(cfg)
    moved = ca.survey_key(levels=7, small_radius=7.5)
    assert not ca.is_cached("survey", moved)
    big = ca._store("survey", ca._SIZES["survey"])
    large_key = ca._object_keys(moved)["large"]
    assert large_key in big and ca._object_keys(moved)["small"] not in big
    res = ca.survey_full(moved)
    direct = run_survey(SurveyConfig(**dict(moved)), list(ca.SURVEY_KEYS), None)
    pd.testing.assert_frame_equal(res.curves, direct.curves)
    pd.testing.assert_frame_equal(res.verdicts, direct.verdicts)
    assert res.masks["large"] is first.masks["large"]  # the same cached part, not a recomputation
    assert res.predictions["large"] is first.predictions["large"]


def test_figures_are_built_once_per_protocol_and_reused_on_a_revisit():
    """Going back to a protocol shown before redraws the same figures without building them again;
    a new protocol builds each of the four once (small multiples, player, gradient curves, verdict
    table for the exports)."""
    at = run_page({"lvs_levels": "9"})
    ok(at)
    first = figure(at, "lvs_curves")
    built = ca.RUNS["figures"]
    at.slider(key="lvs_small_r").set_value(7.5).run()
    ok(at)
    assert ca.RUNS["figures"] == built + 4
    assert figure(at, "lvs_curves") != first
    at.slider(key="lvs_small_r").set_value(6.0).run()
    ok(at)
    assert ca.RUNS["figures"] == built + 4  # the revisit reuses all four
    assert figure(at, "lvs_curves") == first
    at.number_input(key="lvs_tol").set_value(0.02).run()  # verdicts in the titles change: a new figure
    ok(at)
    assert ca.RUNS["figures"] == built + 6  # the small multiples and the verdict table, not the others
    assert figure(at, "lvs_curves") != first
