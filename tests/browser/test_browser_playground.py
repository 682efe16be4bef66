"""Playground in a real browser: sliders and the drawing canvas change the values shown, links
restore the settings, the CSV export arrives and parses."""
from __future__ import annotations

import math

import pytest

from conftest import SHOTS

FN = "False negatives (of the object)"
FN_PX = "False negatives (pixels)"
BARS = "pg_bars"  # widget key of the loss-value bar chart


def _losses(app) -> dict[str, float]:
    vals = app.wait_until(lambda: app.chart_values(BARS), what="the loss-value bar chart")
    assert len(vals) >= 20, vals
    return vals


def _changed(before: dict[str, float], after: dict[str, float]) -> list[str]:
    return [k for k in before if k in after and not math.isclose(before[k], after[k], rel_tol=1e-6, abs_tol=1e-9)]


def test_keyboard_slider_changes_the_values(app):
    app.goto("/")
    assert app.slider_value(FN) == "0.10"
    dice, losses = app.metric("Dice"), _losses(app)

    app.press_slider(FN, "ArrowRight", times=3)  # step 0.01: 0.10 -> 0.13
    app.wait_until(lambda: app.slider_value(FN) == "0.13", what="the FN slider to read 0.13")
    app.wait_idle()
    app.wait_until(lambda: app.metric("Dice") != dice, what="the Dice metric to change")
    after = _losses(app)
    changed = _changed(losses, after)
    assert len(changed) >= len(losses) // 2, f"only {changed} changed"
    # more missed object: the Dice read-out drops, the Dice loss rises
    assert float(app.metric("Dice")) < float(dice)
    assert after["Dice loss"] > losses["Dice loss"]
    # the setting went into the link
    assert "pg_fn=0.13" in app.page.url, app.page.url
    app.assert_no_errors()


def test_mouse_drag_slider_changes_the_values(app):
    """Dragging the confidence thumb leftwards softens the prediction: the soft losses move
    while the thresholded metrics stay."""
    app.goto("/")
    label = "Confidence c"
    start, dice, losses = app.slider_value(label), app.metric("Dice"), _losses(app)
    app.drag_slider(label, -120)
    app.wait_until(lambda: app.slider_value(label) != start, what="the confidence slider to move")
    app.wait_idle()
    app.wait_until(lambda: _changed(losses, app.chart_values(BARS)), what="the loss values to change")
    assert float(app.slider_value(label)) < float(start)
    after = _losses(app)
    assert after["Binary cross-entropy"] != pytest.approx(losses["Binary cross-entropy"])
    assert app.metric("Dice") == dice  # thresholded at 0.5: unchanged
    app.assert_no_errors()


def test_drawing_a_stroke_changes_the_values(app):
    app.goto("/")
    page = app.page
    pred = page.get_by_test_id("stRadio").filter(has=page.get_by_text("Perturb the ground truth", exact=True))
    app.radio_option("Draw", within=pred).click()
    app.wait_idle()
    canvas = page.locator("canvas.upper-canvas")
    canvas.first.wait_for(state="visible", timeout=30_000)
    assert canvas.count() == 1, "one drawing canvas expected (prediction)"
    app.wait_until(lambda: app.chart_values(BARS), what="values for the empty drawing")
    app.wait_idle()
    before, dice = _losses(app), app.metric("Dice")
    assert float(dice) == 0.0, dice  # nothing drawn: empty prediction
    assert any("Nothing drawn yet" in t for t in app.infos())

    canvas.first.scroll_into_view_if_needed()
    box = canvas.first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    mouse = page.mouse
    mouse.move(cx - 40, cy)
    mouse.down()
    for i in range(1, 21):  # a zig-zag stroke across the object in the middle of the canvas
        mouse.move(cx - 40 + 4 * i, cy + (6 if i % 2 else -6))
    mouse.up()

    app.wait_until(lambda: app.metric("Dice") != dice, timeout=30_000, what="the Dice metric to change")
    app.wait_idle()
    assert float(app.metric("Dice")) > 0.0
    after = _losses(app)
    assert len(_changed(before, after)) >= len(before) // 2
    assert not any("Nothing drawn yet" in t for t in app.infos())
    # the drawing can be saved: its download buttons appear
    assert page.get_by_test_id("stDownloadButton").filter(has_text="Drawing as PNG").count() == 1
    app.assert_no_errors()
    app.screenshot("playground-drawn")


@pytest.mark.parametrize("query,label,shown", [
    ("?pg_fn=0.35", FN, "0.35"),
    ("?pg_units=pixels&pg_fn=200", FN_PX, "200"),
])
def test_link_restores_the_settings(app, query, label, shown):
    app.goto("/" + query)
    assert app.slider_value(label) == shown
    assert not app.infos() or not any("not valid" in t for t in app.infos())
    app.assert_no_errors()


def test_link_with_bad_value_falls_back_with_a_notice(app):
    app.goto("/?pg_fn=abc&pg_fp=0.2")
    notices = [t for t in app.infos() if "not valid" in t]
    assert notices and "pg_fn" in notices[0] and "abc" in notices[0], app.infos()
    assert app.slider_value(FN) == "0.10"  # the default
    assert app.slider_value("False positives (of the object)") == "0.20"  # the good value still applies
    app.assert_no_errors()
    app.screenshot("playground-bad-link")


def test_csv_download_arrives_and_parses(app, tmp_path):
    app.goto("/")
    df = app.download_csv("playground-losses", tmp_path)
    assert {"loss", "name", "family", "value"} <= set(df.columns), list(df.columns)
    from segloss_core.registry import KEYS
    assert len(df) == len(KEYS) and df["loss"].is_unique
    assert df["value"].map(math.isfinite).all()
    shown = _losses(app)
    # the file holds the values the chart shows
    matched = 0
    for name, value in zip(df["name"], df["value"]):
        if name in shown:
            assert value == pytest.approx(shown[name], rel=1e-4, abs=1e-7), name
            matched += 1
    assert matched >= 20, (sorted(shown), list(df["name"]))
    app.assert_no_errors()


# ---------------------------------------------------------------------------------------------
# One screen at projector size: the main figure, its controls and "what to notice"
# ---------------------------------------------------------------------------------------------
PLAYER = ".st-key-pg_player"


def _box(app, selector: str) -> dict:
    loc = app.page.locator(selector).first
    loc.wait_for(state="visible", timeout=30_000)
    return loc.bounding_box()


def _player_title(app) -> str:
    """The overlay's title in the drawn SVG (it carries the level: 'k = 10 of 10: FN … · FP … px')."""
    return app.page.evaluate(
        """(sel) => { const t = [...document.querySelectorAll(sel + ' .annotation-text')]
                        .map(e => e.textContent).find(s => s.startsWith('k = '));
                      return t || ''; }""", PLAYER)


@pytest.mark.parametrize("size,query", [((1280, 720), ""), ((1280, 720), "?present=1"), ((1400, 900), "")],
                         ids=["1280x720", "1280x720-present", "1400x900"])
def test_first_screen_holds_the_figure_its_controls_and_the_notice(app, size, query):
    w, h = size
    app.page.set_viewport_size({"width": w, "height": h})
    app.goto("/" + query)
    app.page.wait_for_function("(sel) => !!document.querySelector(sel + ' .main-svg')", arg=PLAYER, timeout=30_000)
    fig = _box(app, PLAYER)
    assert 0 <= fig["y"] < h and fig["y"] + fig["height"] <= h, fig  # the whole main figure on the first screen
    for label in (FN, "False positives (of the object)", "Confidence c"):
        b = app.slider(label).bounding_box()
        assert b["y"] + b["height"] <= h, (label, b)
        assert b["x"] + b["width"] <= fig["x"] + 5, (label, b, fig)  # beside the figure, on its left
    assert app.page.get_by_text("Hard prediction (c = 1)").bounding_box()["y"] < h
    notice = _box(app, ".st-key-pg_notice")
    assert notice["y"] + notice["height"] <= h, notice  # both lines
    assert "What to notice." in app.page.locator(".st-key-pg_notice").inner_text()
    assert _player_title(app).startswith("k = 10 of 10")
    app.assert_no_errors()
    name = f"playground-first-screen-{w}x{h}{'-present' if query else ''}"
    app.page.screenshot(path=str(SHOTS / f"{name}.png"))  # the first screen as a person sees it


def test_play_steps_the_level_and_a_drag_updates_the_player(app):
    app.page.set_viewport_size({"width": 1280, "height": 720})
    app.goto("/")
    app.page.wait_for_function("(sel) => !!document.querySelector(sel + ' .main-svg')", arg=PLAYER, timeout=30_000)
    start = _player_title(app)
    assert start.startswith("k = 10 of 10: FN 131 · FP 131 px"), start
    app.page.locator(f"{PLAYER} .updatemenu-button").filter(has_text="Play").first.click()
    seen = set()
    for _ in range(60):  # 11 frames of 350 ms: sample the title while it plays
        seen.add(_player_title(app).split(":")[0])
        if len(seen) >= 3:
            break
        app.page.wait_for_timeout(100)
    assert len(seen) >= 3, seen  # the frame changed in the browser (no rerun)
    assert any(s.startswith("k = 0 ") or s.startswith("k = 1 ") or s.startswith("k = 2 ") for s in seen), seen
    # a drag on the FN slider reruns the page: the player's last level follows the new amount
    app.page.wait_for_timeout(4_500)  # let the animation end
    app.drag_slider(FN, 60)
    app.wait_until(lambda: app.slider_value(FN) != "0.10", what="the FN slider to move")
    app.wait_idle()
    app.wait_until(lambda: "FN 131 ·" not in _player_title(app) and _player_title(app).startswith("k = 10 of 10"),
                   what="the player to show the new FN amount")
    fn = float(app.slider_value(FN))
    assert f"FN {round(fn * 1312):,} ·" in _player_title(app), (fn, _player_title(app))
    app.assert_no_errors()
