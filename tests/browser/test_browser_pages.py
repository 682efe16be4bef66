"""The router in a real browser: the sidebar links reach every page, a deep link on a fresh server
gets the named pages and keeps its parameters.

That every page renders (no error element, no uncaught error, a screenshot, in both modes, presenter
mode's body text enlarged) is checked on the same visits as the layout: test_browser_presenter.py.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from conftest import PAGES


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
