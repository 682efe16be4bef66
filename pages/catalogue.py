"""Catalogue: every loss in the registry, grouped by family, with links into the other pages.

All text comes from the registry (segloss_core.registry); nothing is typed in here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from segloss_app.common import UrlParam, chart, open_page, page_header, sync_url, url_state
from segloss_app.plaintext import plain
from segloss_core import figures as F
from segloss_core.pixel_terms import PIXEL_WISE, pixel_term
from segloss_core.registry import FAMILIES, KEYS, REGISTRY, LossSpec, Param

SPEC = {"cat_q": UrlParam("", str)}
FAMILY_TEXT = {
    "distribution": "pixel-wise, from the cross-entropy: each pixel is scored on its own",
    "region": "overlap of the predicted and true regions (Dice, IoU and relatives)",
    "boundary": "distances to the true contour (need distance maps of the ground truth)",
    "compound": "sums or products of losses from the other families",
}


def param_rows(spec: LossSpec) -> pd.DataFrame:
    rows = []
    for p in spec.params:
        rows.append({"parameter": p.name, "default": _default(p), "range": _range(p), "scale": _scale(p),
                     "meaning": p.help})
    return pd.DataFrame(rows, columns=["parameter", "default", "range", "scale", "meaning"])


def _default(p: Param) -> str:
    if p.default is None:
        return "auto"
    return f"{p.default:.4g}" if isinstance(p.default, float) else str(p.default)


def _range(p: Param) -> str:
    if p.choices:
        return "one of " + ", ".join(p.choices)
    rng = f"[{p.low:g}, {p.high:g}]"
    return rng + " or auto" if p.auto else rng


def _scale(p: Param) -> str:
    return "choice" if p.choices else ("log" if p.log else "linear")


def catalogue_table() -> pd.DataFrame:
    """The whole catalogue, one row per loss (for the CSV download)."""
    rows = []
    for k in KEYS:
        s = REGISTRY[k]
        rows.append({
            "key": k, "name": s.name, "family": s.family, "formula_latex": s.formula, "reference": s.reference,
            "use_case": s.use_case, "notes": s.notes, "needs_distance_maps": s.needs_maps,
            "multiclass": s.multiclass,
            "parameters": "; ".join(f"{p.name}={_default(p)} {_range(p)} ({_scale(p)}): {p.help}" for p in s.params),
        })
    return pd.DataFrame(rows)


def matches(spec: LossSpec, q: str) -> bool:
    """Search over the key, name, family, use case, notes, reference and parameter meanings."""
    q = q.strip().lower()
    texts = (spec.key, spec.name, spec.family, spec.use_case, spec.notes, spec.reference,
             *(f"{p.name} {p.help}" for p in spec.params))
    return not q or any(q in t.lower() for t in texts)


@st.cache_data(show_spinner=False)
def term_figures(key: str):
    """The loss's per-pixel term and its gradient against p_t, beside cross-entropy's."""
    pt = np.linspace(0.02, 0.995, 200)
    curves, grads = {}, {}
    for k in dict.fromkeys([key, "bce"]):
        curves[REGISTRY[k].name], grads[REGISTRY[k].name] = pixel_term(k, pt)
    figs = (F.pixel_term_curve(pt, curves, "Per-pixel term vs p_t (default parameters)"),
            F.pixel_term_curve(pt, grads, "Its gradient ∂/∂z (negative: pushes p_t up)", "∂ term / ∂z"))
    for fig in figs:  # the legend well below the axis title: at 16 px (presenter mode) they overlapped
        fig.update_layout(height=380, margin=dict(b=110), legend=dict(orientation="h", yanchor="top", y=-0.38))
    return figs


def loss_card(spec: LossSpec) -> None:
    with st.container(border=True):
        head, buttons = st.columns([3, 1])
        with head:
            st.markdown(f"#### {spec.name}\n`{spec.key}` · {spec.family}")
        with buttons:
            if st.button("Open in Playground", key=f"cat_pg_{spec.key}", width="stretch",
                         help="this loss alone, with its gradient map and parameters"):
                params = {"pg_losses": spec.key, "pg_gkeys": spec.key, "pg_fams": ",".join(FAMILIES)}
                if spec.params:
                    params["pg_ploss"] = spec.key
                open_page("playground", params)
            if st.button("Open in Tune", key=f"cat_tune_{spec.key}", width="stretch",
                         help="sweep its parameters"):
                open_page("tune", {"tune_loss": spec.key})
        st.latex(spec.formula)
        if spec.use_case:
            st.markdown(f"**When to use it.** {spec.use_case}")
        if spec.notes:
            st.markdown(f"**Notes.** {spec.notes}")
        facts = [f"**Reference:** {spec.reference}",
                 f"**Needs distance maps:** {'yes' if spec.needs_maps else 'no'}",
                 f"**Multi-class:** {'yes' if spec.multiclass else 'binary only'}"]
        st.markdown(" · ".join(facts))
        if spec.params:
            st.dataframe(param_rows(spec), hide_index=True, width="stretch")
        else:
            st.caption("No parameters.")
        if spec.key in PIXEL_WISE:
            left, right = st.columns(2)
            value_fig, grad_fig = term_figures(spec.key)
            with left:
                chart(value_fig, key=f"cat_term_{spec.key}", config={"displayModeBar": False})
            with right:
                chart(grad_fig, key=f"cat_grad_{spec.key}", config={"displayModeBar": False})


present = page_header(
    "Catalogue",
    "Every loss the lab computes, grouped by family: formula, parameters with their defaults and ranges, "
    "reference, and when to use it. Open any of them in the Playground or the Tune page.",
)
url_state(SPEC)
q = st.text_input("Search by name, key or family", key="cat_q", placeholder="e.g. dice, focal, boundary")
sync_url(SPEC, {"cat_q": st.session_state.get("cat_q", "")})

shown = {f: [REGISTRY[k] for k in KEYS if REGISTRY[k].family == f and matches(REGISTRY[k], q)] for f in FAMILIES}
n = sum(len(v) for v in shown.values())
c1, c2 = st.columns([3, 1])
c1.caption(f"{n} of {len(KEYS)} losses" + (f" match “{plain(q)}”" if q.strip() else ""))
c2.download_button("Download the catalogue (CSV)", catalogue_table().to_csv(index=False).encode(),
                   "segloss-catalogue.csv", "text/csv", key="cat_csv", width="stretch")

if q.strip():  # a search: the matches, family by family, on one page (no empty tabs to click through)
    if not n:
        st.info("No loss matches the search; try a key such as `dice`, a name or a family.")
    for fam in FAMILIES:
        if shown[fam]:
            st.subheader(f"{fam.capitalize()} ({len(shown[fam])})")
            for spec in shown[fam]:
                loss_card(spec)
else:
    tabs = st.tabs([f"{f.capitalize()} ({len(shown[f])})" for f in FAMILIES])
    for tab, fam in zip(tabs, FAMILIES):
        with tab:
            st.caption(FAMILY_TEXT.get(fam, ""))
            for spec in shown[fam]:
                loss_card(spec)
