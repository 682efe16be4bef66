"""Latency as a user feels it: Chromium drives the app and the figures are printed (a benchmark, not a test).

    .venv/bin/python scripts/bench_latency.py [--repeat 5] [--json]

Starts its own server (the browser tests' helper), then
* first visit: each page opened once on the fresh server, seconds until its script has finished;
* slider → updated page: a slider is focused and moved one step with the keyboard, seconds until the
  page is idle again (script finished, no stale element), minus the 0.3 s the idle check waits; the
  median and the best of ``--repeat`` moves. Playground: the confidence c; Large vs small: the
  small radius (a new survey protocol); Tune: focal γ. Every move goes the same way, so each one
  is a value this server has not computed yet (no cache hit; moving back and forth would mostly
  measure cached results: those figures are printed as ``revisit_s``, one step back each).
Timings depend on the machine's load: run it on a quiet machine, compare figures from one run.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from conftest import CHROMIUM_ARGS, VIEWPORT, App, _chromium_path, streamlit_server  # noqa: E402

IDLE_S = 0.3  # App.wait_idle waits for 300 ms of continuous idleness
PAGES = ("/", "/large_vs_small", "/tune", "/gradients", "/catalogue", "/train", "/conventions", "/thin")
MOVES = (("/", "Confidence c"), ("/large_vs_small", "Small object radius (px)"), ("/tune", "gamma"))


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    out: dict = {"first_visit_s": {}, "slider_s": {}}
    with streamlit_server() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium_path(), args=CHROMIUM_ARGS)
        try:
            for path in PAGES:
                ctx = browser.new_context(viewport=VIEWPORT)
                app = App(ctx.new_page(), url)
                out["first_visit_s"][path] = round(_timed(lambda: app.goto(path, timeout=300_000)) - IDLE_S, 2)
                ctx.close()
            for path, label in MOVES:
                ctx = browser.new_context(viewport=VIEWPORT)
                app = App(ctx.new_page(), url).goto(path, timeout=300_000)
                def move(key: str) -> float:
                    return _timed(lambda: (app.press_slider(label, key), app.page.wait_for_timeout(150),
                                           app.wait_idle(timeout=300_000))) - IDLE_S - 0.15

                times = [move("ArrowRight") for _ in range(args.repeat)]  # new values only
                back = [move("ArrowLeft") for _ in range(min(3, args.repeat))]  # cached: seen just before
                out["slider_s"][f"{path} {label}"] = {"median": round(statistics.median(times), 2),
                                                      "best": round(min(times), 2)}
                out.setdefault("revisit_s", {})[f"{path} {label}"] = round(statistics.median(back), 2)
                ctx.close()
        finally:
            browser.close()
    with open("/proc/loadavg") as f:
        out["load_average"] = f.read().split()[:3]
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
