"""Placeholder until the page lands."""
import streamlit as st

st.title("large_vs_small")
