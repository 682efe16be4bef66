"""Every page renders in a real browser with no exception and no error alert; screenshots of each.

Presenter mode (``?present=1``) renders too. Screenshots land in artifacts/screenshots/.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

PAGES = [
    ("/", "playground"),
    ("/large_vs_small", "large_vs_small"),
    ("/tune", "tune"),
    ("/gradients", "gradients"),
    ("/catalogue", "catalogue"),
    ("/train", "train"),
    ("/conventions", "conventions"),
    ("/thin", "thin"),
]


@pytest.mark.parametrize("path,name", PAGES, ids=[n for _, n in PAGES])
def test_page_renders_without_error(app, path, name):
    app.goto(path)
    assert app.title(), f"{path}: no page title"
    app.assert_no_errors()
    shot = app.screenshot(f"page-{name}")
    assert shot.stat().st_size > 5_000
    # the page script really ran to its end: no uncaught error in the browser either
    assert not app.console_errors, app.console_errors


@pytest.mark.parametrize("path,name", PAGES, ids=[n for _, n in PAGES])
def test_presenter_mode_renders_without_error(app, path, name):
    app.goto(path + "?present=1")
    assert app.title()
    app.assert_no_errors()
    # presenter mode enlarges body text (1.25rem = 20 px against Streamlit's 16 px) ...
    para = app.page.locator('[data-testid="stMain"] [data-testid="stMarkdownContainer"] p').first
    para.wait_for(state="attached")
    size = para.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert size >= 19, f"presenter-mode paragraph font-size {size}px"
    # ... and keeps itself in the URL across the page's own URL sync
    assert "present=1" in app.page.url, app.page.url
    app.screenshot(f"present-{name}")


def test_sidebar_navigation_reaches_every_page(app):
    """Clicking the sidebar links (as a person does) switches page without error."""
    app.goto("/")
    nav = app.page.locator('[data-testid="stSidebarNav"] a')
    assert nav.count() == len(PAGES), [nav.nth(i).inner_text() for i in range(nav.count())]
    titles = set()
    for i in range(nav.count()):
        link = app.page.locator('[data-testid="stSidebarNav"] a').nth(i)
        want = urlsplit(link.get_attribute("href") or "/").path.rstrip("/")
        link.click()
        app.wait_until(lambda: urlsplit(app.page.url).path.rstrip("/") == want, what=f"URL path {want!r}")
        app.wait_ready()
        app.assert_no_errors()
        titles.add(app.title())
    assert len(titles) == len(PAGES), titles


def test_deep_link_on_a_fresh_server_goes_through_the_router(app_browser):
    """The first request of a new server is a shared link to a sub-page: it must get the app's
    router (named pages, wide layout) and keep its parameters, not Streamlit's legacy file list."""
    from conftest import ROOT, App, streamlit_server

    with streamlit_server(ROOT / "artifacts" / "browser-fresh-server.log") as url:
        context = app_browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            app = App(context.new_page(), url).goto("/tune?tune_loss=tversky")
            app.assert_no_errors()
            nav = app.page.locator('[data-testid="stSidebarNav"] a')
            labels = [nav.nth(i).inner_text().strip().split("\n")[-1] for i in range(nav.count())]  # after the icon
            assert labels == ["Playground", "Large vs small", "Tune", "Gradients", "Catalogue", "Train", "Conventions",
                              "Thin structures"], labels  # the router's pages, in app.py's order
            assert app.title() == "Tune"
            assert "tune_loss=tversky" in app.page.evaluate("location.href")
            assert app.page.locator('input[role="combobox"]').first.input_value() != ""
        finally:
            context.close()
