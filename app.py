"""SegLoss Lab: the router. Pages live in pages/; all computation in segloss_core."""
import streamlit as st

from segloss_app.common import PAGES, ROUTER_FLAG



def favicon():
    """The tab icon, shipped in assets/ (scripts/make_assets.py) and served by the app itself: a
    ``:material/...:`` page icon makes the browser fetch an SVG from fonts.gstatic.com (no request
    may leave the machine)."""
    from pathlib import Path

    from PIL import Image

    return Image.open(Path(__file__).resolve().parent / "assets" / "icon.png")


# presenter mode (?present=1) opens with the sidebar collapsed: the figures get the projector's width
st.set_page_config(page_title="SegLoss Lab", page_icon=favicon(), layout="wide",
                   initial_sidebar_state="collapsed" if st.query_params.get("present") in ("1", "true") else "auto")

pages = [
    st.Page(PAGES["playground"], title="Playground", icon=":material/draw:", default=True),
    st.Page(PAGES["large_vs_small"], title="Large vs small", icon=":material/trending_up:"),
    st.Page(PAGES["tune"], title="Tune", icon=":material/tune:"),
    st.Page(PAGES["gradients"], title="Gradients", icon=":material/explore:"),
    st.Page(PAGES["catalogue"], title="Catalogue", icon=":material/menu_book:"),
    st.Page(PAGES["train"], title="Train", icon=":material/play_circle:"),
    st.Page(PAGES["conventions"], title="Conventions", icon=":material/rule:"),
    st.Page(PAGES["thin"], title="Thin structures", icon=":material/account_tree:"),
]
st.session_state[ROUTER_FLAG] = True  # the pages check it (see common.require_router)
st.navigation(pages).run()
