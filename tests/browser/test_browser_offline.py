"""Offline and clean (issue #10): no request leaves the machine, exports open with the network off,
and users see no Deploy button or developer menu.

* Every page of the router (app.py's eight ``st.Page`` entries) is opened (the normal-mode visit of
  visits.py, shared with the layout checks) in a fresh browser context that records every request
  of the context (documents, scripts, fonts, images, fetch/XHR,
  the favicon), every WebSocket and every service worker, while the page loads, while it idles,
  and after one interaction a person makes (a slider moved one step with the keyboard, a button
  clicked, a search typed). Any host other than the app's own ``127.0.0.1:<port>`` fails the test,
  and the failure lists the offending URLs.
* Where the page offers an HTML export ("HTML (interactive)"; Train builds it with "Make HTML"),
  the file is downloaded and opened from ``file://`` in a context whose every non-file request is
  aborted (and recorded: any such attempt fails too); a plotly graph div must render its SVG.
* ``[client] toolbarMode = "viewer"`` (.streamlit/config.toml) is checked in the browser: no Deploy
  button, and the main menu holds no developer item.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import FIRST_LOAD_MS, PAGES, VIEWPORT
from visits import INTERACTIONS, Recorder, foreign, measured


def test_foreign_flags_outside_hosts_only():
    """The classifier itself (so the browser tests below can fail): other hosts, other ports of
    localhost, and odd schemes are flagged; the app's own http/ws URLs and data/blob are not."""
    base = "http://127.0.0.1:8765"
    ok = [base + "/", base + "/static/js/x.js", "ws://127.0.0.1:8765/_stcore/stream",
          "http://localhost:8765/favicon.png", "data:image/png;base64,AAAA", "blob:http://127.0.0.1:8765/abc",
          "about:blank"]
    bad = ["https://fonts.gstatic.com/s/x.woff2", "https://cdn.plot.ly/plotly-3.0.1.min.js",
           "http://127.0.0.1:9999/", "wss://evil.example/x", "http://[::1]:8765/", "file:///etc/passwd"]
    assert foreign(ok, base) == []
    assert foreign(ok + bad, base) == sorted(bad)


def _open_offline(browser, path: Path) -> None:
    """Open ``path`` from file:// with every non-file request aborted; a plotly graph must render."""
    context = browser.new_context(viewport=VIEWPORT)
    attempts: list[str] = []

    def block(route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            return route.continue_()
        attempts.append(url)
        return route.abort("internetdisconnected")

    context.route("**/*", block)
    rec = Recorder(context)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri(), wait_until="load", timeout=FIRST_LOAD_MS)

        def no_network() -> None:
            others = [u for u in rec.urls if not u.startswith(("file:", "data:", "blob:", "about:"))]
            assert not attempts and not others, (f"{path.name} tried to load from the network: "
                                                 + ", ".join(sorted(set(attempts + others))))

        no_network()  # a CDN script fails here, at once, rather than as a blank page
        page.wait_for_function(
            """() => [...document.querySelectorAll('.js-plotly-plot')].some(
                   d => d.querySelector('svg.main-svg') && d._fullLayout)""",
            timeout=30_000, polling=200)
        drawn = page.evaluate(
            """() => [...document.querySelectorAll('.js-plotly-plot')].map(d => ({
                   svgs: d.querySelectorAll('svg.main-svg').length,
                   marks: d.querySelectorAll('g.trace, g.imagelayer image, path.point, g.heatmaplayer image').length,
                   w: d.getBoundingClientRect().width}))""")
        page.wait_for_timeout(300)
        no_network()
        assert drawn and all(d["svgs"] >= 1 and d["w"] > 100 for d in drawn), (path.name, drawn)
        assert any(d["marks"] > 0 for d in drawn), (f"{path.name}: the plotly graph has an SVG but no trace drawn", drawn)
        assert not errors, (path.name, errors)
    finally:
        context.close()


@pytest.mark.parametrize("path,name", PAGES, ids=[n for _, n in PAGES])
def test_no_request_leaves_the_machine(app_browser, app_url, path, name):
    m = measured(app_browser, app_url, path, name, present=False)
    assert not m["offline_error"], f"{name}: the interaction or the export failed:\n{m['offline_error']}"
    bad = {k: foreign(v, app_url) for k, v in m["requests"].items()}
    assert not any(bad.values()), (f"{name}: requests to hosts other than the app's ({urlsplit(app_url).netloc}):\n"
                                   + "\n".join(f"  {k}: {u}" for k, v in bad.items() for u in v))
    assert any(u.startswith("ws://") and "/_stcore/stream" in u for u in m["all_urls"]), "no WebSocket recorded"
    assert m["loaded"] > 10, f"only {m['loaded']} requests recorded while loading {path}: is the recorder attached?"
    assert set(m["requests"]) >= {"load", "idle"} and len(m["requests"]) == 3, m["requests"].keys()
    if m["html"] is not None:
        _open_offline(app_browser, m["html"])
    else:
        assert INTERACTIONS[name][1] is None, f"{name}: its HTML export was not downloaded"


def test_no_deploy_button_and_no_developer_menu(app):
    """toolbarMode = viewer: the header has no Deploy button and the main menu only viewer items."""
    app.goto("/conventions")  # the lightest page: the header and menu are the same on every page
    page = app.page
    assert page.get_by_test_id("stAppDeployButton").count() == 0, "a Deploy button is shown"
    assert page.get_by_role("button", name="Deploy").count() == 0, "a Deploy button is shown"
    page.get_by_test_id("stMainMenuButton").click()
    menu = page.get_by_test_id("stMainMenuList")
    menu.wait_for(state="visible", timeout=10_000)
    items = menu.inner_text()
    developer = ["Deploy", "Clear cache", "Rerun", "Developer options"]
    shown = [d for d in developer if d.lower() in items.lower()]
    assert not shown, f"developer menu items shown to users: {shown} (menu: {items!r})"
    assert "Print" in items, items  # the menu did open: the viewer's items are there
    page.keyboard.press("Escape")
