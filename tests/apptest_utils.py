"""Helpers shared by the AppTest page tests (tests/test_app_*.py)."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def run_page(page: str, query: dict | None = None, state: dict | None = None, timeout: float = 90) -> AppTest:
    """Run ``app.py`` switched to ``page`` with the given URL parameters and session state."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.switch_page(page)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    for k, v in (state or {}).items():
        at.session_state[k] = v
    return at.run()


def ok(at: AppTest) -> None:
    """No exception and no st.error on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def arr(v) -> np.ndarray:
    """A Plotly data array: a plain list, or a typed array {"dtype", "bdata"[, "shape"]}."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return a.reshape([int(n) for n in str(v["shape"]).split(",")]) if "shape" in v else a
    return np.asarray(v)


def figure(at: AppTest, key: str) -> dict:
    """The Plotly figure JSON of the chart created with ``key`` (else the first whose key starts with it)."""
    charts = [(el.proto.id.split("-", 2)[-1], el) for el in at.get("plotly_chart")]
    for match in (lambda k: k == key, lambda k: k.startswith(key)):
        for k, el in charts:
            if match(k):
                return json.loads(el.proto.spec)
    raise AssertionError(f"no chart with key {key!r}; have {[k for k, _ in charts]}")


def infos(at: AppTest) -> str:
    """All st.info texts on the page (notices such as the bad-link fallbacks), joined by " | "."""
    return " | ".join(str(e.value) for e in at.info)


def markdown(at: AppTest) -> str:
    """All markdown text on the page, one element a line."""
    return "\n".join(str(e.value) for e in at.markdown)
