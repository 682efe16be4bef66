"""One visit per page and mode, shared by the browser test modules that check what a visit shows.

Each page of the router (conftest's ``PAGES``) is opened at most twice per test run:

* in presenter mode (``?present=1``) at 1280×720: the figure fonts, the layout, the body text and
  the screenshots ``presenter_<page>.png`` and ``presenter_<page>_screen.png``
  (test_browser_presenter.py);
* in normal mode at 1400×900: the layout and ``normal_<page>.png`` (test_browser_presenter.py),
  then, in the same browser context, which records every request, WebSocket and service worker
  from the first byte on: the page left alone for a second, one interaction a person makes (a
  slider moved one step with the keyboard, a button clicked, a search typed) and the page's first
  HTML export downloaded (test_browser_offline.py reads the recorded requests and opens the export
  with the network off).

A visit's findings are kept per (mode, page) for the run (:func:`measured`); a problem of the
interaction or the export is stored with them (``offline_error``) and fails the offline test, not
the layout test that happened to make the visit.
"""
from __future__ import annotations

import tempfile
import time
import traceback
from pathlib import Path
from urllib.parse import urlsplit

from conftest import FIRST_LOAD_MS, PAGES, RERUN_MS, SHOTS, App

PRESENTER = {"width": 1280, "height": 720}
NORMAL = {"width": 1400, "height": 900}
MIN_FONT = 16.0

# -- measurements in the page -------------------------------------------------------------------

FONTS_JS = """(min) => {
    const out = [];
    document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot').forEach((plot, i) => {
        const holder = plot.closest('[class*="st-key-"]');
        const key = holder ? [...holder.classList].find(c => c.startsWith('st-key-')).slice(7) : 'chart#' + i;
        plot.querySelectorAll('svg text').forEach(t => {
            if (t.closest('.hoverlayer')) return;
            const text = t.textContent.trim();
            if (!text) return;
            const r = t.getBoundingClientRect();
            if (r.width === 0 || r.height === 0) return;
            if (!t.checkVisibility({opacityProperty: true, visibilityProperty: true})) return;
            const m = t.getScreenCTM();
            const scale = m ? Math.hypot(m.a, m.b) : 1;
            const px = parseFloat(getComputedStyle(t).fontSize) * scale;
            if (px + 0.01 < min) {
                const g = t.closest('g[class]');
                out.push({chart: key, cls: t.getAttribute('class') || (g && g.getAttribute('class')) || '',
                          text: text.slice(0, 40), px: Math.round(px * 10) / 10});
            }
        });
    });
    return out;
}"""

OVERLAP_JS = """() => {
    const box = el => { const r = el.getBoundingClientRect(); return {x: r.left, y: r.top, r: r.right, b: r.bottom}; };
    const hit = (a, b) => Math.min(a.r, b.r) - Math.max(a.x, b.x) > 1 && Math.min(a.b, b.b) - Math.max(a.y, b.y) > 1;
    const visible = el => { const r = el.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && el.checkVisibility({opacityProperty: true, visibilityProperty: true}); };
    const out = [];
    const pairs = (items, where) => {
        for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++)
            if (hit(items[i].box, items[j].box))
                out.push({where, a: items[i].what, b: items[j].what,
                          boxes: [items[i].box, items[j].box].map(o => [o.x, o.y, o.r, o.b].map(Math.round))});
    };
    document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot').forEach((plot, i) => {
        const holder = plot.closest('[class*="st-key-"]');
        const key = holder ? [...holder.classList].find(c => c.startsWith('st-key-')).slice(7) : 'chart#' + i;
        const items = [];
        const add = (el, what) => {
            if (!visible(el) || !el.textContent.trim() && !el.matches('.slider-container, .legend')) return;
            items.push({what: what + ' "' + el.textContent.trim().slice(0, 30) + '"', box: box(el)});
        };
        plot.querySelectorAll('.g-gtitle .gtitle').forEach(e => add(e, 'figure title'));
        plot.querySelectorAll('[class$="title"] text[class$="title"]').forEach(e => {
            const c = e.getAttribute('class');
            if (/^[xy]\\d*title$/.test(c)) add(e, 'axis title ' + c);
        });
        plot.querySelectorAll('g.annotation .annotation-text-g').forEach(e => add(e, 'annotation'));
        plot.querySelectorAll('g.legend .scrollbox').forEach(e => add(e, 'legend'));
        plot.querySelectorAll('.updatemenu-button').forEach(e => add(e, 'button'));
        plot.querySelectorAll('.slider-container').forEach(e => add(e, 'scrubber'));
        pairs(items, key);
    });
    const heads = [...document.querySelectorAll('[data-testid="stMain"] :is(h1, h2, h3, h4)')]
        .filter(visible).map(h => ({what: h.tagName + ' "' + h.textContent.trim().slice(0, 40) + '"', box: box(h)}));
    pairs(heads, 'headings');
    return out;
}"""

CLIPPED_JS = """(withSidebar) => {
    const W = window.innerWidth, out = [];
    const sel = '[data-testid="stMain"] button, [data-testid="stHeader"] button'
        + (withSidebar ? ', [data-testid="stSidebar"] button' : '');
    document.querySelectorAll(sel).forEach(b => {
        const r = b.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) return;
        if (!b.checkVisibility({opacityProperty: true, visibilityProperty: true})) return;
        if (b.closest('[data-testid="stMultiSelectTagsContainer"]')) return;  // a chip's remove button: see above
        const label = (b.innerText || b.getAttribute('aria-label') || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
        const why = [];
        if (r.left < -0.5 || r.right > W + 0.5) why.push(`box ${Math.round(r.left)}..${Math.round(r.right)} outside 0..${W}`);
        // cut by a container that hides its overflow (a multiselect's chips past its edge)
        for (let a = b.parentElement; a && !a.matches('[data-testid="stMain"], body'); a = a.parentElement) {
            const ov = getComputedStyle(a).overflowX;
            if (ov === 'visible') continue;
            const ar = a.getBoundingClientRect();
            if (r.left < ar.left - 0.5 || r.right > ar.right + 0.5) {
                why.push(`box ${Math.round(r.left)}..${Math.round(r.right)} cut by its container `
                         + `${Math.round(ar.left)}..${Math.round(ar.right)} (overflow ${ov})`);
                break;
            }
        }
        if (b.scrollWidth > b.clientWidth + 1) why.push(`scrollWidth ${b.scrollWidth} > clientWidth ${b.clientWidth}`);
        const inner = b.querySelector('[data-testid="stMarkdownContainer"], p');
        if (inner && inner.scrollWidth > inner.clientWidth + 1)
            why.push(`label scrollWidth ${inner.scrollWidth} > clientWidth ${inner.clientWidth}`);
        if (why.length) out.push({button: label, why: why.join('; ')});
    });
    document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot .updatemenu-button').forEach(g => {
        const r = g.getBoundingClientRect();
        if (r.width && (r.left < -0.5 || r.right > W + 0.5))
            out.push({button: 'figure button "' + g.textContent.trim() + '"',
                      why: `box ${Math.round(r.left)}..${Math.round(r.right)} outside 0..${W}`});
    });
    return out;
}"""

SKELETONS_JS = """() => [...document.querySelectorAll('[data-testid="stSkeleton"]')].map(s => {
    const h = s.closest('[class*="st-key-"]');
    return h ? [...h.classList].find(c => c.startsWith('st-key-')).slice(7) : 'an element without key'; })"""

CHARTS_JS = """() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stPlotlyChart"]')]
    .filter(c => c.querySelector('.js-plotly-plot svg.main-svg text')).length"""

SIDEBAR_JS = """() => {
    const s = document.querySelector('[data-testid="stSidebar"]');
    const r = s ? s.getBoundingClientRect() : null;
    const b = document.querySelector('[data-testid="stExpandSidebarButton"]');
    return {exists: !!s, right: r ? r.right : null, width: r ? r.width : null,
            expanded: s ? s.getAttribute('aria-expanded') : null, expand_button: !!(b && b.checkVisibility())};
}"""


# -- the checks -----------------------------------------------------------------------------------


def fonts(app: App) -> list[str]:
    """Figure texts under 16 px, one line each."""
    return [f"font {f['px']} px < {MIN_FONT:g} px in chart {f['chart']}: {f['cls']} {f['text']!r}"
            for f in app.page.evaluate(FONTS_JS, MIN_FONT)]


def layout_problems(app: App, *, present: bool) -> list[str]:
    """Sidebar (presenter mode), overlapping titles, clipped buttons, one line each."""
    page = app.page
    out: list[str] = []
    if present:
        sb = page.evaluate(SIDEBAR_JS)
        if not (sb["expand_button"] and (not sb["exists"] or sb["right"] <= 0 or sb["width"] == 0)):
            out.append(f"sidebar not collapsed: {sb}")
    for o in page.evaluate(OVERLAP_JS):
        out.append(f"overlap in {o['where']}: {o['a']} and {o['b']} (boxes {o['boxes']})")
    for c in page.evaluate(CLIPPED_JS, not present):
        out.append(f"clipped button {c['button']!r}: {c['why']}")
    return out


def _open(app_browser, app_url, path: str, viewport: dict, *, record: bool = False):
    """The page opened and fully drawn: ``(app, context, recorder)`` (``recorder`` None unless
    ``record``: then every request of the context is recorded from before the first one)."""
    context = app_browser.new_context(viewport=viewport, accept_downloads=record)
    context.set_default_timeout(RERUN_MS)
    rec = Recorder(context) if record else None
    app = App(context.new_page(), app_url)
    app.goto(path)
    app.assert_no_errors()
    # the script has finished, but the browser may still be loading the code of some elements
    # (Streamlit draws a grey stSkeleton box until a lazily loaded widget's code has arrived): a page
    # measured then has buttons without labels and charts without SVG, and would pass vacuously
    try:
        app.page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')",
                                   timeout=FIRST_LOAD_MS, polling=200)
    except Exception:
        still = app.page.evaluate(SKELETONS_JS)
        context.close()
        raise AssertionError(f"{path}: elements still not drawn after {FIRST_LOAD_MS / 1000:.0f} s: {still}")
    app._settle_charts()
    app.page.wait_for_timeout(300)  # plotly's responsive re-layout after the last chart appears
    return app, context, rec


def _with_present(path: str) -> str:
    return path + ("&" if "?" in path else "?") + "present=1"


_MEASURED: dict[tuple[str, str], dict] = {}

# font sizes of the page's body paragraphs: not a button's label (sized 16 px to fit its button) nor
# the Playground's two-line notice (17.6 px, to fit the first screen)
BODY_PX_JS = """() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stMarkdownContainer"] p')]
    .filter(el => !el.closest('button') && !el.closest('.st-key-pg_notice') && el.innerText.trim())
    .map(el => parseFloat(getComputedStyle(el).fontSize))"""


# where the page's first figure is drawn, measured at the top of the page (before any scroll): its key,
# its top edge and how many pixels of it the first screen shows
FIRST_CHART_JS = """() => {
    const c = document.querySelector('[data-testid="stMain"] [data-testid="stPlotlyChart"]');
    if (!c) return null;
    const r = c.getBoundingClientRect();
    const h = c.closest('[class*="st-key-"]');
    return {key: h ? [...h.classList].find(k => k.startsWith('st-key-')).slice(7) : '?', top: Math.round(r.top),
            shown: Math.round(Math.max(0, Math.min(r.bottom, window.innerHeight) - Math.max(r.top, 0)))};
}"""


def measured(app_browser, app_url, path: str, name: str, *, present: bool) -> dict:
    """Open the page once per mode (the font, layout, render and offline tests share the visit), take
    the screenshots, and return what was found: the problems by kind ("fonts", "layout"), how many
    charts were drawn ("charts"), the title, body font sizes, screenshot size, uncaught errors, and in
    normal mode the requests by phase ("requests"), the downloaded export ("html") and any failure of
    the interaction or export ("offline_error")."""
    key = ("present" if present else "normal", name)
    if key not in _MEASURED:
        app, context, rec = _open(app_browser, app_url, _with_present(path) if present else path,
                                  PRESENTER if present else NORMAL, record=not present)
        try:
            loaded = rec.phase() if rec else 0
            if present:
                assert "present=1" in app.page.url, app.page.url
                SHOTS.mkdir(parents=True, exist_ok=True)
                app.page.screenshot(path=str(SHOTS / f"presenter_{name}_screen.png"))  # the first screen
            found = {"fonts": fonts(app) if present else [], "layout": layout_problems(app, present=present),
                     "charts": app.page.evaluate(CHARTS_JS), "title": app.title(),
                     "body_px": app.page.evaluate(BODY_PX_JS), "first_chart": app.page.evaluate(FIRST_CHART_JS)}
            shot = app.screenshot(f"presenter_{name}" if present else f"normal_{name}")
            found["shot_bytes"] = shot.stat().st_size
            found["console_errors"] = list(app.console_errors)  # after the screenshot's re-layout too
            if rec is not None:
                found.update(_offline_part(app, rec, name, loaded))
        finally:
            context.close()
        _MEASURED[key] = found
    return _MEASURED[key]


def _offline_part(app: App, rec: "Recorder", name: str, loaded: int) -> dict:
    """After the layout was measured: idle, one interaction, the HTML export; the requests by phase."""
    action, export = INTERACTIONS[name]
    out: dict = {"offline_error": None, "html": None, "requests": {}, "loaded": loaded, "all_urls": rec.urls}
    try:
        t0 = time.monotonic()
        app.page.wait_for_timeout(IDLE_MS)
        idled = rec.phase()
        desc = _interact(app, *action)
        app.page.wait_for_timeout(500)
        t_act = time.monotonic() - t0
        out["html"] = _download_html(app, export, EXPORTS) if export else None
        print(f"{name}: idle + interaction {t_act:.1f} s, export {time.monotonic() - t0 - t_act:.1f} s")
        out["requests"] = {"load": rec.urls[:loaded], "idle": rec.urls[loaded:idled], f"after {desc}": rec.urls[idled:]}
    except Exception:  # kept for the offline test: the layout test that made the visit is not about it
        out["offline_error"] = traceback.format_exc(limit=6)
    return out


# -- the offline part of a normal-mode visit ----------------------------------------------------

# name -> (interaction, HTML export) for conftest's PAGES. An interaction is ("slider", widget
# key): the thumb focused and ArrowRight pressed once; ("button", widget key): the button clicked;
# ("search", label): text typed and Enter.
INTERACTIONS = {
    "playground": (("slider", "pg_conf"), "HTML (interactive)"),
    "large_vs_small": (("slider", "lvs_conf"), "HTML (interactive)"),
    "tune": (("slider", "tune_level"), "HTML (interactive)"),
    "gradients": (("slider", "grad_fn"), "HTML (interactive)"),
    "catalogue": (("search", "Search by name, key or family"), None),
    "train": (("button", "train_next"), "Make HTML"),  # conftest's PAGES opens Train with a short run
    "conventions": (("slider", "conv_snr"), None),
    "thin": (("slider", "thin_conf"), "HTML (interactive)"),
}
IDLE_MS = 1_000  # how long the loaded page is left alone (late requests: fonts, favicon, lazy chunks)
assert set(INTERACTIONS) == {name for _, name in PAGES}, "an interaction for every page of the router"
EXPORTS = Path(tempfile.mkdtemp(prefix="segloss-exports-"))  # the downloaded HTML exports of the run

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
