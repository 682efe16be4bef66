"""Real-browser tests: the app served by ``streamlit run`` and driven by Debian's Chromium.

Everything here is session-scoped and self-contained: one Streamlit server on a free port, one
Chromium launched through Playwright's sync API from ``/usr/bin/chromium`` (never a downloaded
browser), a fresh browser context per test. The fixtures are named ``app_*`` so they do not clash
with pytest-playwright's own ``browser``/``page`` fixtures (those want a downloaded browser).

When Chromium (or Playwright) is missing, every test in this folder is skipped with the reason
(or fails, when ``SEGLOSS_REQUIRE_BROWSER=1``). ``SEGLOSS_CHROMIUM`` overrides the browser path.
Screenshots go to artifacts/screenshots/, the server's log to artifacts/browser-server.log.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
SERVER_LOG = ROOT / "artifacts" / "browser-server.log"

CHROMIUM = os.environ.get("SEGLOSS_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}
#: Every page of the router, in app.py's order, as (path, name); the Train page with a short run
#: (its layout is the default's). The page-wide browser tests are parametrized over it.
PAGES = [
    ("/", "playground"),
    ("/large_vs_small", "large_vs_small"),
    ("/tune", "tune"),
    ("/gradients", "gradients"),
    ("/catalogue", "catalogue"),
    ("/train?train_steps=30&train_size=32", "train"),
    ("/conventions", "conventions"),
    ("/thin", "thin"),
]

FIRST_LOAD_MS = 60_000   # first page load pays the torch import and any first computation
RERUN_MS = 30_000        # a rerun after a widget change


def _missing_reason() -> str | None:
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        found = shutil.which("chromium")
        if not found:
            return (f"Chromium not found at {CHROMIUM} (install Debian's package: "
                    "apt-get install chromium); browser tests skipped")
    try:
        import playwright.sync_api  # noqa: F401
    except Exception as exc:  # pragma: no cover - depends on the environment
        return f"playwright is not importable ({exc}); browser tests skipped"
    return None


def _chromium_path() -> str:
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    return shutil.which("chromium") or CHROMIUM


@pytest.fixture(scope="session", autouse=True)
def _require_chromium():
    reason = _missing_reason()
    if reason:
        if os.environ.get("SEGLOSS_REQUIRE_BROWSER") == "1":  # CI: a missing browser is a failure
            pytest.fail(reason.replace("; browser tests skipped", ""), pytrace=False)
        pytest.skip(reason)


# ---------------------------------------------------------------------------------------------
# server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
            return r.status == 200 and r.read().strip() == b"ok"
    except Exception:
        return False


@contextmanager
def streamlit_server(log_path: Path = SERVER_LOG):
    """A Streamlit server running app.py on a free port (stopped by its pid afterwards); yields its URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "wb")
    cmd = [sys.executable, "-m", "segloss_app.serve", "--server.headless", "true",  # as scripts/run_app.sh
           "--server.address", "127.0.0.1", "--server.port", str(port),
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not _healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log_path}:\n"
                                   + log_path.read_text(errors="replace")[-3000:])
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit not healthy after 60 s; see {log_path}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def app_url(_require_chromium) -> str:
    """Base URL of the Streamlit server shared by the browser tests."""
    with streamlit_server() as url:
        yield url


# ---------------------------------------------------------------------------------------------
# browser


@pytest.fixture(scope="session")
def app_browser(_require_chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class App:
    """One browser page on the app, with the waits and checks the tests share."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.console_errors: list[str] = []  # uncaught errors of the page's scripts, in order
        page.on("pageerror", lambda exc: self.console_errors.append(str(exc)))

    # navigation and waiting -------------------------------------------------------------------

    def goto(self, path: str = "/", *, timeout: float = FIRST_LOAD_MS) -> "App":
        """Open ``path`` (may carry a query string) and wait until the script has finished."""
        self.page.goto(self.base_url + path, wait_until="domcontentloaded", timeout=timeout)
        self.wait_ready(timeout=timeout)
        return self

    def wait_ready(self, *, timeout: float = FIRST_LOAD_MS) -> None:
        """The script run is over: a title is shown, the app says notRunning, no status widget."""
        page = self.page
        # a title, or a script that stopped on an exception (then fail now, not after the timeout)
        page.wait_for_function(
            """() => {
                if (document.querySelector('[data-testid="stMain"] h1')) return true;
                const app = document.querySelector('[data-testid="stApp"]');
                return !!(app && app.getAttribute('data-test-script-state') === 'notRunning'
                          && document.querySelector('[data-testid="stException"]'));
            }""",
            timeout=timeout, polling=100,
        )
        self.wait_idle(timeout=timeout)
        if not page.locator('[data-testid="stMain"] h1').count():
            errs = self.errors()
            raise AssertionError(f"{page.url}: the page shows no title"
                                 + (":\n" + "\n".join(errs) if errs else ""))

    def wait_idle(self, *, timeout: float = RERUN_MS) -> None:
        page = self.page
        # idle = script state notRunning, no status widget, no stale element, continuously for
        # 300 ms: a rerun triggered by a widget starts a moment after the interaction.
        page.evaluate("window.__seglossIdleSince = null")
        page.wait_for_function(
            """() => {
                const app = document.querySelector('[data-testid="stApp"]');
                const idle = app && app.getAttribute('data-test-script-state') === 'notRunning'
                    && !document.querySelector('[data-testid="stStatusWidget"]')
                    && !document.querySelector('[data-stale="true"]');
                const now = performance.now();
                if (!idle) { window.__seglossIdleSince = null; return false; }
                if (window.__seglossIdleSince == null) window.__seglossIdleSince = now;
                return now - window.__seglossIdleSince >= 300;
            }""",
            timeout=timeout, polling=100,
        )

    def wait_until(self, fn, *, timeout: float = RERUN_MS, what: str = "condition") -> object:
        """Poll a Python callable until it returns a truthy value (then return it)."""
        deadline = time.monotonic() + timeout / 1000
        last_exc = None
        while time.monotonic() < deadline:
            try:
                value = fn()
                if value:
                    return value
            except Exception as exc:  # element replaced mid-rerun, etc.
                last_exc = exc
            errs = self.errors()
            if errs:  # the app failed: say so now rather than time out
                shot = self.screenshot(f"error-{re.sub(r'[^A-Za-z0-9]+', '-', what)[:60]}")
                raise AssertionError(f"error on the page while waiting for {what}:\n" + "\n".join(errs)
                                     + f"\nscreenshot {shot}")
            self.page.wait_for_timeout(200)
        shot = self.screenshot(f"timeout-{re.sub(r'[^A-Za-z0-9]+', '-', what)[:60]}")
        raise AssertionError(f"timed out waiting for {what}" + (f" (last error: {last_exc})" if last_exc else "")
                             + f"; screenshot {shot}")

    # checks ------------------------------------------------------------------------------------

    def errors(self) -> list[str]:
        """Texts of exception elements and st.error alerts on the page."""
        return self.page.evaluate(
            """() => [...document.querySelectorAll(
                    '[data-testid="stException"], [data-testid="stAlertContentError"]')]
                .map(e => e.getAttribute('data-testid') + ': ' + e.innerText.slice(0, 500))"""
        )

    def assert_no_errors(self) -> None:
        errs = self.errors()
        assert not errs, "error elements on the page:\n" + "\n".join(errs)

    def title(self) -> str:
        return self.page.locator('[data-testid="stMain"] h1').first.inner_text().strip()

    def infos(self) -> list[str]:
        loc = self.page.locator('[data-testid="stAlertContentInfo"]')
        return [loc.nth(i).inner_text() for i in range(loc.count())]

    # widgets and read-outs ---------------------------------------------------------------------

    def slider(self, label: str):
        """The st.slider / st.select_slider whose label is exactly ``label``."""
        page = self.page
        return page.get_by_test_id("stSlider").filter(
            has=page.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True))

    def slider_value(self, label: str) -> str:
        """The value shown on the slider's thumb, as the user sees it."""
        return self.slider(label).get_by_test_id("stSliderThumbValue").inner_text().strip()

    def press_slider(self, label: str, key: str = "ArrowRight", times: int = 1) -> None:
        """Focus the slider's thumb (as Tab does) and press ``key`` ``times`` times.

        Focusing rather than clicking: on a narrow slider a click on the thumb can itself move the
        value by a step, which would make the expected end value uncertain."""
        self.slider(label).locator('input[type="range"]').focus()
        for _ in range(times):
            self.page.keyboard.press(key)
            self.page.wait_for_timeout(30)

    def drag_slider(self, label: str, dx: float) -> None:
        """Drag the slider's thumb with the mouse by ``dx`` pixels."""
        thumb = self.slider(label).locator('input[type="range"]').locator("xpath=../..")
        thumb.scroll_into_view_if_needed()
        box = thumb.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        mouse = self.page.mouse
        mouse.move(x, y)
        mouse.down()
        for i in range(1, 11):
            mouse.move(x + dx * i / 10, y)
        mouse.up()

    def metric(self, label: str) -> str:
        """The value of the st.metric labelled ``label``."""
        page = self.page
        m = page.get_by_test_id("stMetric").filter(
            has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
        return m.get_by_test_id("stMetricValue").inner_text().strip()

    def radio_option(self, option: str, *, within=None):
        """The radio option whose text is exactly ``option`` (optionally inside a container)."""
        root = within if within is not None else self.page
        return root.get_by_test_id("stRadioOption").filter(has=self.page.get_by_text(option, exact=True))

    def chart_values(self, key: str) -> dict[str, float]:
        """{category: value} of the bar traces in the plotly chart with widget key ``key``."""
        return self.page.evaluate(
            """(key) => {
                const el = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
                const out = {};
                if (!el || !el.data) return out;
                for (const t of el.data) {
                    if (t.type !== 'bar') continue;
                    const h = t.orientation === 'h' || typeof (t.y || [])[0] === 'string';
                    const cats = h ? t.y : t.x, vals = h ? t.x : t.y;
                    // a chart on a log axis draws |value| and keeps the signed value in customdata
                    const cd = t.customdata;
                    (cats || []).forEach((c, i) => {
                        let v = vals[i];
                        if (cd && cd[i] !== undefined) {
                            const d = Array.isArray(cd[i]) ? cd[i][0] : cd[i];
                            if (typeof d === 'number') v = d;
                        }
                        out[String(c).replace(/\\s*\\(−\\)$/, '')] = Number(v);
                    });
                }
                return out;
            }""",
            key,
        )

    # downloads ---------------------------------------------------------------------------------

    def download_csv(self, key: str, folder: Path):
        """Click the "CSV data" button of the export row ``key`` and parse the file that arrives."""
        import pandas as pd

        button = self.page.locator(f".st-key-dl_csv_{key}").get_by_role("button", name="CSV data")
        with self.page.expect_download(timeout=30_000) as dl:
            button.click()
        path = folder / dl.value.suggested_filename
        dl.value.save_as(path)
        assert path.name.endswith(".csv"), path.name
        return pd.read_csv(path)

    # screenshots -------------------------------------------------------------------------------

    def screenshot(self, name: str) -> Path:
        """Full-height screenshot into artifacts/screenshots/<name>.png.

        Streamlit scrolls inside its main container rather than the document, so the viewport is
        grown to the content's height for the shot and then restored.
        """
        page = self.page
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
        self._settle_charts()
        height = page.evaluate(
            """() => {
                let h = document.documentElement.scrollHeight;
                for (const sel of ['[data-testid="stMain"]', '[data-testid="stAppViewContainer"]',
                                   '[data-testid="stMainBlockContainer"]', '[data-testid="stSidebarContent"]']) {
                    const el = document.querySelector(sel);
                    if (el) h = Math.max(h, el.scrollHeight + el.getBoundingClientRect().top);
                }
                return Math.ceil(h);
            }"""
        )
        size = page.viewport_size or VIEWPORT
        page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height) + 40, 12000))})
        page.wait_for_timeout(250)  # let plotly charts re-layout to the new size
        self._settle_charts()
        page.screenshot(path=str(path), full_page=True)
        page.set_viewport_size(size)
        return path

    def _settle_charts(self) -> None:
        """Wait (briefly) until every plotly chart container has drawn its SVG."""
        try:
            self.page.wait_for_function(
                """() => {
                    const charts = document.querySelectorAll('[data-testid="stPlotlyChart"]');
                    return [...charts].every(c => c.querySelector('.main-svg'));
                }""",
                timeout=10_000, polling=200,
            )
        except Exception:
            pass
        self.page.wait_for_timeout(150)


@pytest.fixture()
def app(app_browser, app_url):
    """A fresh browser context and page on the running app (a fresh Streamlit session)."""
    context = app_browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(RERUN_MS)
    helper = App(context.new_page(), app_url)
    try:
        yield helper
    finally:
        context.close()
