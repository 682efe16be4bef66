"""Offline and clean (issue #10): no request leaves the machine, exports open with the network off,
and users see no Deploy button or developer menu.

* Every page of the router (app.py's eight ``st.Page`` entries) is opened in a fresh browser
  context that records every request of the context (documents, scripts, fonts, images, fetch/XHR,
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

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import FIRST_LOAD_MS, RERUN_MS, VIEWPORT, App

# (URL path, name, interaction, HTML export): the router's pages in app.py's order. An
# interaction is ("slider", widget key): the thumb focused and ArrowRight pressed once;
# ("button", widget key): the button clicked; ("search", label): text typed and Enter.
PAGES = [
    ("/", "playground", ("slider", "pg_conf"), "HTML (interactive)"),
    ("/large_vs_small", "large_vs_small", ("slider", "lvs_conf"), "HTML (interactive)"),
    ("/tune", "tune", ("slider", "tune_level"), "HTML (interactive)"),
    ("/gradients", "gradients", ("slider", "grad_fn"), "HTML (interactive)"),
    ("/catalogue", "catalogue", ("search", "Search by name, key or family"), None),
    ("/train?train_steps=30&train_size=32", "train", ("button", "train_next"), "Make HTML"),  # a short run
    ("/conventions", "conventions", ("slider", "conv_snr"), None),
    ("/thin", "thin", ("slider", "thin_conf"), "HTML (interactive)"),
]

IDLE_MS = 1_000  # how long the loaded page is left alone (late requests: fonts, favicon, lazy chunks)
HARMLESS_SCHEMES = ("data", "blob", "about")


def foreign(urls: list[str], base_url: str) -> list[str]:
    """The URLs in ``urls`` that go anywhere but the app's own host and port (http, https, ws, wss);
    ``data:``, ``blob:`` and ``about:`` load nothing from a network. Any other scheme counts as
    foreign too (a ``file:`` URL has no business in the served app)."""
    own = urlsplit(base_url)
    own_port = own.port
    out = []
    for url in urls:
        u = urlsplit(url)
        if u.scheme in HARMLESS_SCHEMES:
            continue
        if (u.scheme in ("http", "https", "ws", "wss") and u.hostname in ("127.0.0.1", "localhost")
                and u.port == own_port):
            continue
        out.append(url)
    return sorted(set(out))


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


class Recorder:
    """Every request, WebSocket and service worker of one browser context."""

    def __init__(self, context):
        self.urls: list[str] = []
        context.on("request", lambda r: self.urls.append(r.url))
        context.on("serviceworker", lambda w: self.urls.append(w.url))
        context.on("page", self._watch)

    def _watch(self, page) -> None:
        page.on("websocket", lambda ws: self.urls.append(ws.url))

    def phase(self) -> int:
        return len(self.urls)


def _interact(app: App, kind: str, target: str) -> str:
    """Do what a person does once on the page; returns a description for the failure message."""
    page = app.page
    if kind == "slider":
        box = page.locator(f".st-key-{target}")
        box.wait_for(state="attached", timeout=RERUN_MS)
        before = box.get_by_test_id("stSliderThumbValue").inner_text().strip()
        box.locator('input[type="range"]').focus()
        page.keyboard.press("ArrowRight")
        app.wait_until(lambda: box.get_by_test_id("stSliderThumbValue").inner_text().strip() != before,
                       what=f"slider {target} to move")
        desc = f"slider {target} moved from {before}"
    elif kind == "button":
        button = page.locator(f".st-key-{target} button").first
        button.scroll_into_view_if_needed()
        button.click()
        desc = f"button {target} clicked"
    elif kind == "search":
        box = page.get_by_label(target)
        box.fill("focal")
        box.press("Enter")
        desc = f"typed 'focal' into {target!r}"
    else:  # pragma: no cover - a typo in PAGES
        raise ValueError(kind)
    page.wait_for_timeout(300)  # the rerun starts a moment after the event
    app.wait_idle(timeout=FIRST_LOAD_MS)
    app.assert_no_errors()
    return desc


def _download_html(app: App, label: str, folder: Path) -> Path:
    """Click the page's first HTML export (Train: "Make HTML" first) and save the file."""
    page = app.page
    if label == "Make HTML":
        page.get_by_role("button", name="Make HTML").click()
        app.wait_idle(timeout=FIRST_LOAD_MS)
        label = "HTML (interactive)"
    button = page.get_by_role("button", name=label).first
    button.scroll_into_view_if_needed()
    with page.expect_download(timeout=60_000) as dl:
        button.click()
    path = folder / dl.value.suggested_filename
    dl.value.save_as(path)
    assert path.suffix == ".html" and path.stat().st_size > 1_000_000, (path, path.stat().st_size)  # plotly.js inside
    return path


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


@pytest.mark.parametrize("path,name,action,export", PAGES, ids=[p[1] for p in PAGES])
def test_no_request_leaves_the_machine(app_browser, app_url, tmp_path, path, name, action, export):
    context = app_browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(RERUN_MS)
    rec = Recorder(context)
    try:
        app = App(context.new_page(), app_url)
        t0 = time.monotonic()
        app.goto(path)
        app.assert_no_errors()
        t_load = time.monotonic() - t0
        loaded = rec.phase()
        app.page.wait_for_timeout(IDLE_MS)
        idled = rec.phase()
        desc = _interact(app, *action)
        app.page.wait_for_timeout(500)
        t_act = time.monotonic() - t0 - t_load
        html = _download_html(app, export, tmp_path) if export else None
        print(f"{name}: load {t_load:.1f} s, idle + interaction {t_act:.1f} s, export "
              f"{time.monotonic() - t0 - t_load - t_act:.1f} s")
        phases = {"load": rec.urls[:loaded], "idle": rec.urls[loaded:idled], f"after {desc}": rec.urls[idled:]}
        bad = {k: foreign(v, app_url) for k, v in phases.items()}
        assert not any(bad.values()), (f"{name}: requests to hosts other than the app's ({urlsplit(app_url).netloc}):\n"
                                       + "\n".join(f"  {k}: {u}" for k, v in bad.items() for u in v))
        assert any(u.startswith("ws://") and "/_stcore/stream" in u for u in rec.urls), "no WebSocket recorded"
        assert loaded > 10, f"only {loaded} requests recorded while loading {path}: is the recorder attached?"
    finally:
        context.close()
    if html is not None:
        _open_offline(app_browser, html)


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
