"""SegLoss Lab: the router. Pages live in pages/; all computation in segloss_core."""
import streamlit as st

from segloss_app.common import PAGES, ROUTER_FLAG

st.set_page_config(page_title="SegLoss Lab", page_icon=":material/blur_on:", layout="wide")

pages = [
    st.Page(PAGES["playground"], title="Playground", icon=":material/draw:", default=True),
    st.Page(PAGES["large_vs_small"], title="Large vs small", icon=":material/trending_up:"),
    st.Page(PAGES["tune"], title="Tune", icon=":material/tune:"),
    st.Page(PAGES["gradients"], title="Gradients", icon=":material/explore:"),
    st.Page(PAGES["catalogue"], title="Catalogue", icon=":material/menu_book:"),
]
st.session_state[ROUTER_FLAG] = True  # the pages check it (see common.require_router)
st.navigation(pages).run()
