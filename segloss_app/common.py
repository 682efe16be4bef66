"""Page scaffolding shared by every page: header and presenter mode, URL state, parameter widgets
generated from the registry, exports and error display."""
from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd
import streamlit as st

from segloss_app.plaintext import plain, plain_list
from segloss_core.registry import REGISTRY, Param

PRESENT_CSS = """
<style>
[data-testid="stMain"] .stMarkdown, [data-testid="stMain"] .stText, [data-testid="stMain"] label,
[data-testid="stMain"] p, [data-testid="stMain"] li { font-size: 1.25rem !important; }
[data-testid="stMainBlockContainer"] { padding-left: 2rem; padding-right: 2rem; padding-top: 2.5rem; }
h1 { font-size: 2.6rem !important; } h2 { font-size: 2.0rem !important; } h3 { font-size: 1.6rem !important; }
[data-testid^="stBaseButton"] p, [data-testid="stDownloadButton"] p { font-size: 1rem !important; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * { font-size: 2.4rem !important; }
</style>
"""


@dataclass(frozen=True)
class UrlParam:
    """How one page setting travels in the URL: its default and what is allowed."""

    default: Any
    kind: type = float  # float, int, str or bool
    low: float | None = None
    high: float | None = None
    choices: Sequence[str] | None = None

    def parse(self, text: str) -> Any:
        """The value for ``text``, or ``ValueError`` if it is not allowed."""
        if self.kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if self.kind is str:
            if self.choices is not None and text not in self.choices:
                raise ValueError(text)
            return text
        v = float(text)
        if not math.isfinite(v):
            raise ValueError(text)
        if self.kind is int:
            if v != int(v):
                raise ValueError(text)
            v = int(v)
        if (self.low is not None and v < self.low) or (self.high is not None and v > self.high):
            raise ValueError(text)
        return v

    def dump(self, value: Any) -> str:
        if self.kind is bool:
            return "1" if value else "0"
        if self.kind is float:
            return f"{float(value):.6g}"
        return str(value)


def is_present() -> bool:
    return st.query_params.get("present", "0") in ("1", "true")


def chart(fig, **kwargs):
    """``st.plotly_chart(fig, **kwargs)``; in presenter mode every text of the figure is first raised
    to 16 px (:func:`segloss_core.figure_style.presenter`), so no page sizes its fonts by hand."""
    if is_present():
        from segloss_core.figure_style import presenter
        fig = presenter(fig)
    return st.plotly_chart(fig, **kwargs)


def number_columns(df: pd.DataFrame, sig: int = 3, **labels: str) -> dict[str, Any]:
    """``st.dataframe`` column formats, one policy per column: a column of whole numbers (pixel
    counts, levels) is written as integers; any other numeric column with ``sig`` significant digits
    (``%.3g``: 0.523, 1.23e-05, 412), never fixed decimals (0.0000 for a gradient of 1e-6) and never
    SI prefixes. ``labels`` renames columns (``name="loss"``)."""
    out: dict[str, Any] = {}
    for c in df.columns:
        col = df[c]
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            if c in labels:
                out[c] = st.column_config.Column(labels[c])
            continue
        finite = col[pd.notna(col)]
        whole = pd.api.types.is_integer_dtype(col) or (len(finite) > 0 and bool((finite % 1 == 0).all())
                                                       and bool((finite.abs() < 1e15).all()))
        out[c] = st.column_config.NumberColumn(labels.get(c, c), format="%d" if whole else f"%.{sig}g")
    return out


def device_badge() -> str:
    from segloss_core.sweep import device_label, pick_device
    return device_label(pick_device("auto"))


ROUTER_FLAG = "_segloss_router"


def require_router() -> None:
    """Make sure the page runs inside ``app.py``'s router.

    A freshly started server whose very first request is a deep link (``/tune?...``) runs that page
    file on its own, in Streamlit's legacy ``pages/`` mode, without the router's page config and
    navigation (the sidebar lists raw file names). ``st.navigation`` is what switches that mode off,
    and it has not run yet, so do what it does and rerun: the rerun goes through ``app.py`` with the
    same URL. The retry counter makes this a no-op when a page is run on its own on purpose.
    """
    if st.session_state.get(ROUTER_FLAG):
        return
    tries = st.session_state.get("_segloss_router_tries", 0)
    if tries < 1:
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False  # as st.navigation does on its first call
        st.session_state["_segloss_router_tries"] = tries + 1
        st.rerun()


def page_header(title: str, intro: str) -> bool:
    """Title, intro and presenter mode; returns True in presenter mode."""
    require_router()
    present = is_present()
    if present:
        st.markdown(PRESENT_CSS, unsafe_allow_html=True)
    st.title(title)
    st.markdown(intro)
    st.sidebar.caption(f"Computing on **{device_badge()}**")
    return present


def url_state(spec: dict[str, UrlParam], *, notice: bool = True) -> dict[str, Any]:
    """Values for the page's settings: URL first (validated), else session, else default.

    On the first run of a page the URL seeds ``st.session_state[name]`` so widgets created with
    ``key=name`` show the restored value. Bad or out-of-range URL values fall back to the default,
    and one notice names them.
    """
    bad = []
    seeded_flag = "_url_seeded_" + ",".join(sorted(spec))
    first = not st.session_state.get(seeded_flag, False)
    values = {}
    for name, p in spec.items():
        raw = st.query_params.get(name)
        value = p.default
        if raw is not None and first:
            try:
                value = p.parse(raw)
            except (ValueError, TypeError):
                bad.append(bad_entry(name, raw))
                value = p.default
            st.session_state[name] = value
        elif name in st.session_state:
            value = st.session_state[name]
        else:
            st.session_state[name] = value
        values[name] = value
    st.session_state[seeded_flag] = True
    if bad:
        st.session_state["_url_bad"] = bad
    if notice and st.session_state.get("_url_bad"):
        bad_link_notice(st.session_state["_url_bad"])
    return values


def bad_entry(name: str, raw: Any) -> str:
    """How a rejected link parameter is listed in the notice: ``name='value'`` (value cut short)."""
    text = str(raw)
    return f"{name}={text[:80]!r}" + ("…" if len(text) > 80 else "")


def bad_link_notice(bad: Sequence[str]) -> None:
    """The one notice naming the link parameters that fell back to their defaults. The names and
    values come from the URL, so they are shown as plain text (:func:`segloss_app.plaintext.plain`):
    a value such as ``[x](http://evil)`` is no link on the page."""
    st.info("Some link parameters were not valid and were reset to defaults: " + plain_list(bad, max_len=100))


def sync_url(spec: dict[str, UrlParam], values: dict[str, Any]) -> None:
    """Write the page's current settings into the URL (only those that differ from defaults)."""
    keep = {k: v for k, v in st.query_params.items() if k in ("present", "lesson")}
    for name, p in spec.items():
        v = values.get(name, p.default)
        if v != p.default:
            keep[name] = p.dump(v)
    if dict(st.query_params) != keep:
        st.query_params.from_dict(keep)


class AutoParam(UrlParam):
    """A registry parameter that is ``auto`` or a number in its range, in the URL."""

    def __init__(self, p: Param):
        super().__init__("auto", str)
        object.__setattr__(self, "_param", p)

    def parse(self, text: str) -> Any:
        v = self._param.validate(text)
        return "auto" if v is None else v

    def dump(self, value: Any) -> str:
        return "auto" if value in (None, "auto") else f"{float(value):.6g}"


class ZeroOrRangeParam(UrlParam):
    """A registry parameter that is exactly 0 or a number in its range (``Param.zero``), in the URL."""

    def __init__(self, p: Param):
        super().__init__(p.default, float, p.low, p.high)
        object.__setattr__(self, "_param", p)

    def parse(self, text: str) -> Any:
        return float(self._param.validate(text))


def param_url_spec(key: str, prefix: str) -> dict[str, UrlParam]:
    """URL specs for every parameter of a loss, from the registry."""
    out = {}
    for p in REGISTRY[key].params:
        name = f"{prefix}{key}.{p.name}"
        if p.choices:
            out[name] = UrlParam(p.default, str, choices=p.choices)
        elif p.auto:
            out[name] = AutoParam(p)
        elif p.zero:
            out[name] = ZeroOrRangeParam(p)
        else:
            out[name] = UrlParam(p.default, float, p.low, p.high)
    return out


def _log_ticks(p: Param, n: int = 41) -> list[float]:
    lo, hi = math.log10(p.low), math.log10(p.high)
    vals = sorted({float(f"{10 ** (lo + (hi - lo) * i / (n - 1)):.3g}") for i in range(n)} | {float(p.default)})
    return ([0.0] if p.zero else []) + vals


def param_widget(key: str, p: Param, widget_key: str, *, disabled: bool = False) -> Any:
    """One widget for one registry parameter (slider, log slider, choice, or auto toggle)."""
    label = f"{p.name}"
    if p.choices:
        if widget_key not in st.session_state or st.session_state[widget_key] not in p.choices:
            st.session_state[widget_key] = p.default
        return st.selectbox(label, p.choices, key=widget_key, help=p.help, disabled=disabled)
    if p.auto:
        auto_key = widget_key + ".auto"
        raw = st.session_state.get(widget_key)
        if auto_key not in st.session_state:
            st.session_state[auto_key] = raw in (None, "auto")
        use_auto = st.checkbox(f"{p.name}: auto (from the ground truth)", key=auto_key, help=p.help, disabled=disabled)
        if use_auto:
            return None
        num_key = widget_key + ".value"
        if num_key not in st.session_state:
            try:  # a number from the URL arrives as text
                start = p.validate(raw) if raw not in (None, "auto") else None
            except ValueError:
                start = None
            st.session_state[num_key] = start if start is not None else (1.0 if p.log else (p.low + p.high) / 2)
        return _numeric_slider(p, num_key, label, disabled)
    if widget_key not in st.session_state or not isinstance(st.session_state[widget_key], (int, float)):
        st.session_state[widget_key] = float(p.default)
    return _numeric_slider(p, widget_key, label, disabled)


def _numeric_slider(p: Param, widget_key: str, label: str, disabled: bool) -> float:
    cur = float(st.session_state[widget_key])
    if p.log:
        ticks = _log_ticks(p)
        if cur not in ticks:
            ticks = sorted(set(ticks) | {cur})
        return float(st.select_slider(label, options=ticks, key=widget_key, help=p.help + " (log scale)",
                                      format_func=lambda v: f"{v:g}", disabled=disabled))
    step = (p.high - p.low) / 100
    cur = min(max(cur, p.low), p.high)
    st.session_state[widget_key] = cur
    return float(st.slider(label, float(p.low), float(p.high), step=step, key=widget_key, help=p.help,
                           disabled=disabled))


def loss_param_widgets(key: str, prefix: str = "", *, disabled: bool = False) -> dict[str, Any]:
    """Widgets for every parameter of ``key``; returns ``{param: value}`` (None for auto)."""
    out = {}
    for p in REGISTRY[key].params:
        v = param_widget(key, p, f"{prefix}{key}.{p.name}", disabled=disabled)
        out[p.name] = v
    if REGISTRY[key].slider_note:
        st.caption(REGISTRY[key].slider_note)
    return out


def show_error(exc: BaseException) -> None:
    """One clear line for an input problem; never a traceback. The message may quote user input
    (a file name, a value), so it is shown as plain text."""
    msg = str(exc) if isinstance(exc, ValueError) else f"Something went wrong: {type(exc).__name__}: {exc}"
    st.error(plain(msg, max_len=400))


@st.cache_resource(show_spinner=False)
def _kaleido_ready() -> bool:
    try:
        import kaleido
        kaleido.start_sync_server()
        return True
    except Exception:
        return False


def figure_png(fig) -> bytes | None:
    """PNG bytes of a figure via kaleido (needs a Chromium); None when unavailable."""
    try:
        _kaleido_ready()
        return fig.to_image(format="png", scale=2)
    except Exception:
        return None


def export_buttons(fig, data: pd.DataFrame | None, name: str, config: dict | None = None, *, png: bool = True) -> None:
    """Download buttons: CSV of the data behind the figure, PNG, interactive HTML, JSON config, in
    one row that sizes each button to its label and wraps (fixed columns cut "HTML (interactive)"
    in a narrow container)."""
    row = st.container(horizontal=True)
    if data is not None:
        row.download_button("CSV data", data.to_csv(index=False).encode(), f"{name}.csv", "text/csv",
                            key=f"dl_csv_{name}")
    if fig is not None:
        from segloss_app.exports import described, html_page
        if png:
            if row.button("Make PNG", key=f"mk_png_{name}", help="renders with kaleido (~1 s); the title and "
                          "the settings are written on the image"):
                st.session_state[f"png_{name}"] = figure_png(described(fig, name, config))
            data_png = st.session_state.get(f"png_{name}")
            if data_png:
                row.download_button("PNG image", data_png, f"{name}.png", "image/png", key=f"dl_png_{name}")
            elif f"png_{name}" in st.session_state:
                row.caption("PNG export needs Chromium (kaleido); use the HTML export.")
        row.download_button("HTML (interactive)", lambda: html_page(fig, name, config), f"{name}.html",
                            "text/html", key=f"dl_html_{name}",
                            help="opens offline: plotly.js, the title and the settings are in the file")
    if config is not None:
        row.download_button("Settings (JSON)", json.dumps(config, indent=2, default=str).encode(),
                            f"{name}-config.json", "application/json", key=f"dl_json_{name}")


PAGES = {
    "playground": "pages/playground.py",
    "large_vs_small": "pages/large_vs_small.py",
    "tune": "pages/tune.py",
    "gradients": "pages/gradients.py",
    "catalogue": "pages/catalogue.py",
    "train": "pages/train.py",
    "conventions": "pages/conventions.py",
    "thin": "pages/thin.py",
}


def open_page(page: str, params: dict[str, Any] | None = None) -> None:
    """Go to ``page`` (a key of ``PAGES``) with ``params`` in the URL; the target page restores
    them through :func:`url_state` (its widgets are re-seeded from the URL)."""
    for k in [k for k in st.session_state if str(k).startswith("_url_seeded_") or k == "_url_bad"]:
        del st.session_state[k]
    if is_present():
        params = {**(params or {}), "present": "1"}
    st.switch_page(PAGES[page], query_params={k: str(v) for k, v in (params or {}).items()})


@dataclass(frozen=True)
class KeyListParam(UrlParam):
    """A list of loss keys in the URL, comma-separated (``lvs_losses=dice,focal``); the session
    value is a list, so a ``st.multiselect`` with the same key starts there. Unknown keys, an
    empty list, or more than ``max_items`` keys (a multiselect's ``max_selections``, which Streamlit
    enforces by raising) are invalid (the page falls back to the default with the usual notice)."""

    kind: type = list
    max_items: int | None = None

    def parse(self, text: str) -> list[str]:
        from segloss_core.registry import parse_keys
        keys = parse_keys(text)
        if not text.strip() or not keys:
            raise ValueError(text)
        keys = list(dict.fromkeys(keys))
        if self.max_items is not None and len(keys) > self.max_items:
            raise ValueError(text)
        return keys

    def dump(self, value: Any) -> str:
        return ",".join(value)
