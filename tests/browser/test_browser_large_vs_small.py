"""Large vs small in a real browser: links restore the protocol, a bad link falls back with a
notice, the curve data downloads as CSV."""
from __future__ import annotations

import math


DELTA = "Δ: error pixels added per level (FN and FP)"
SMALL_R = "Small object radius (px)"


def _protocol_caption(app) -> str:
    loc = app.page.get_by_test_id("stCaptionContainer").filter(has_text="Level k:")
    return loc.first.inner_text()


def _open_more_settings(app) -> None:
    sidebar = app.page.get_by_test_id("stSidebar")
    sidebar.get_by_text("More protocol settings").click()
    app.slider(DELTA).wait_for(state="visible")


# One non-default protocol for the whole file: the survey takes ~15 s per new protocol on two CPU
# cores and is cached across sessions, so the tests below share it (and the default one).
LINK = "/large_vs_small?lvs_delta=21"


def test_link_restores_the_protocol(app):
    app.goto(LINK)
    app.assert_no_errors()
    assert not any("not valid" in t for t in app.infos()), app.infos()
    assert "k·21 FN pixels" in _protocol_caption(app)
    _open_more_settings(app)
    assert app.slider_value(DELTA) == "21"
    assert float(app.slider_value(SMALL_R)) == 6.0  # untouched settings keep their defaults
    assert "lvs_delta=21" in app.page.url, app.page.url  # the link keeps the setting
    app.screenshot("large_vs_small-delta21")


def test_link_with_bad_value_falls_back_with_a_notice(app):
    app.goto("/large_vs_small?lvs_delta=abc&lvs_small_r=1000")
    notices = [t for t in app.infos() if "not valid" in t]
    assert notices and "lvs_delta" in notices[0] and "lvs_small_r" in notices[0], app.infos()
    app.assert_no_errors()
    assert "k·20 FN pixels" in _protocol_caption(app)  # the defaults
    assert float(app.slider_value(SMALL_R)) == 6.0
    _open_more_settings(app)
    assert app.slider_value(DELTA) == "20"


def test_slider_recomputes_the_survey(app):
    """Moving a protocol slider reruns the survey: the caption and the link follow.
    (From Δ = 21 down to the default 20, both protocols already cached by the tests above.)"""
    app.goto(LINK)
    assert "k·21 FN pixels" in _protocol_caption(app)
    _open_more_settings(app)
    app.press_slider(DELTA, "ArrowLeft", times=1)
    app.wait_until(lambda: app.slider_value(DELTA) == "20", what="the Δ slider to read 20")
    app.wait_until(lambda: "k·20 FN pixels" in _protocol_caption(app), timeout=90_000,
                   what="the protocol caption to show Δ = 20")
    app.wait_idle(timeout=90_000)
    app.assert_no_errors()
    assert "lvs_delta" not in app.page.url, app.page.url  # back to the default: dropped from the link


def test_curve_csv_download_arrives_and_parses(app, tmp_path):
    app.goto("/large_vs_small")
    df = app.download_csv("loss_vs_error", tmp_path)
    assert {"object", "level", "fp", "fn", "tp", "loss", "value"} <= set(df.columns), list(df.columns)
    assert set(df["object"]) == {"large", "small"}
    assert df["level"].min() == 0 and df["level"].max() == 40  # 41 levels by default
    from segloss_core.claim import SURVEY_LOSSES
    assert set(df["loss"]) == set(SURVEY_LOSSES)  # by default the survey's 26 (the later 8 on demand)
    assert len(df) == 2 * 41 * len(SURVEY_LOSSES)
    assert df["value"].map(math.isfinite).all()
    # level k: k·Δ false positives (Δ = 20 by default) on both objects
    lvl = df[(df["loss"] == df["loss"].iloc[0])].set_index(["object", "level"])
    assert lvl.loc[("large", 3), "fp"] == 60
