"""The lesson box: a lesson's explanation on the page it opens, with its computed check.

A teaching preset links to a page with ``lesson=<id>`` in the URL (:mod:`segloss_core.lessons`).
That page calls :func:`lesson_box` right under its title: the lesson's name, its two sentences, and
what the computation shows for the lesson's settings (✓ it shows the point, ✗ it does not, and
why in numbers). ``sync_url`` keeps ``lesson`` in the URL like ``present``.
"""
from __future__ import annotations

import streamlit as st

from segloss_core.lessons import BY_ID


@st.cache_data(show_spinner=False)
def _checked(lesson_id: str) -> tuple[bool, str]:
    c = BY_ID[lesson_id].check()
    return c.shows, c.text


def _close() -> None:
    if "lesson" in st.query_params:
        del st.query_params["lesson"]


def lesson_box(page: str) -> None:
    """Show the lesson named in the URL when it belongs to ``page``; unknown ids are ignored."""
    lid = st.query_params.get("lesson")
    lesson = BY_ID.get(lid) if isinstance(lid, str) else None
    if lesson is None or lesson.page != page:
        return
    with st.container(border=True):
        head, btn = st.columns([12, 1])
        head.markdown(f"**Lesson: {lesson.name}.** {lesson.explanation}")
        btn.button("✕", key="lesson_close", on_click=_close, help="close the lesson")
        with st.spinner("Checking the lesson against the computation …"):
            shows, text = _checked(lesson.id)
        st.markdown(("✓ **The numbers show it.** " if shows else "✗ **The numbers do not show it here.** ") + text)
