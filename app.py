"""SegLoss Lab: the router. Pages live in pages/; all computation in segloss_core."""
import streamlit as st

st.set_page_config(page_title="SegLoss Lab", layout="wide")
st.title("SegLoss Lab")
st.write("The app is being built; the library is in `segloss_core`.")
