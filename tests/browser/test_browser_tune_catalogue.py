"""Tune and Catalogue in a real browser: a link restores the tuned loss, the catalogue search
filters, and the catalogue CSV downloads and parses. (Bad links are covered on Playground and
Large vs small; every page uses the same URL-state helper.)"""
from __future__ import annotations

import re

import pandas as pd

from segloss_core.registry import KEYS

N = len(KEYS)


def _selectbox_text(app, label: str) -> str:
    page = app.page
    box = page.get_by_test_id("stSelectbox").filter(
        has=page.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True))
    return box.first.locator('input[role="combobox"]').input_value()


def test_tune_link_restores_the_loss(app):
    app.goto("/tune?tune_loss=tversky")
    app.assert_no_errors()
    assert not any("not valid" in t for t in app.infos()), app.infos()
    assert _selectbox_text(app, "Loss") == "Tversky loss (tversky)"
    assert app.page.get_by_text("Tversky loss: parameters").count() >= 1
    assert "tune_loss=tversky" in app.page.url, app.page.url
    app.screenshot("tune-tversky")


def _count_caption(app) -> str:
    return app.page.get_by_test_id("stCaptionContainer").filter(has_text=re.compile(rf"\d+ of {N} losses")).first.inner_text()


def test_catalogue_search_filters(app):
    app.goto("/catalogue")
    assert f"{N} of {N} losses" in _count_caption(app)
    box = app.page.get_by_label("Search by name, key or family")
    box.fill("tversky")
    box.press("Enter")
    app.wait_until(lambda: f"{N} of {N}" not in _count_caption(app), what="the search to filter the catalogue")
    app.wait_idle()
    n = int(re.search(rf"(\d+) of {N}", _count_caption(app)).group(1))
    assert 1 <= n < N
    assert "cat_q=tversky" in app.page.url, app.page.url
    app.assert_no_errors()


def test_catalogue_csv_download_arrives_and_parses(app, tmp_path):
    app.goto("/catalogue")
    button = app.page.get_by_role("button", name="Download the catalogue (CSV)")
    with app.page.expect_download(timeout=30_000) as dl:
        button.click()
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    df = pd.read_csv(path)
    assert len(df) == N, df
    key_col = next(c for c in df.columns if c.lower() in ("key", "loss"))
    assert df[key_col].is_unique
    assert {"dice", "focal", "bce"} <= set(df[key_col])


def test_tune_pin_and_compare(app):
    """Pin the current setting as A, move a slider as a person would, and see A and B side by side."""
    app.goto("/tune?tune_loss=tversky")
    app.page.get_by_role("button", name="Pin as A").click()
    app.wait_idle()
    app.wait_until(lambda: "tune_pin=" in app.page.url, what="the pin in the link")
    app.press_slider("beta", "ArrowRight", times=10)  # β 0.7 -> about 0.8
    app.wait_idle()
    app.wait_until(lambda: re.search(r"tune_tversky\.beta=0\.(?!7(?:&|$))\d+", app.page.url),
                   what="the new β in the link")
    legend = app.page.locator('[data-testid="stPlotlyChart"] .legendtext').all_text_contents()
    assert "A (pinned)" in legend and "B (current)" in legend, legend
    assert app.page.get_by_text("A → B:").count() >= 1
    assert app.page.get_by_text("FN/FP cost ratio").count() >= 1
    app.assert_no_errors()
    app.screenshot("tune-pin-compare")
