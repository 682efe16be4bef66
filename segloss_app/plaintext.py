"""User text (URL values, file names, JSON keys) echoed into Markdown elements as plain text.

``st.info``, ``st.caption``, ``st.error`` and friends render Markdown, with Streamlit's extras:
links, images, ``:red[...]`` colours, ``$...$`` LaTeX, and GFM's autolinks, which Streamlit's
renderer applies to the *parsed* text (a bare ``https://evil.example`` or ``www.evil.example``
becomes a link even when its punctuation was backslash-escaped). A value copied from a link such as
``[CLICK-ME](http://evil/phish)`` or ``![x](http://evil/x.png)`` would otherwise become a live
link, or make the browser fetch an outside image.

:func:`plain` makes such text inert, keeping what the reader sees:

* Markdown and HTML punctuation (``\\ ` * [ ] ( ) < > ! $ | ~ { } # &``, and ``_`` where it could
  open or close emphasis) is backslash-escaped; CommonMark shows an escaped character as itself;
* the autolink patterns (``://``, ``www.``, ``@``) get an invisible WORD JOINER (U+2060), which
  the autolinker's patterns do not match;
* line breaks become spaces and control characters are dropped, so one value stays one line, and
  long values are cut (``…``).

Intra-word underscores and dots are left alone (``tune_focal.gamma`` reads and searches as typed).
"""
from __future__ import annotations

import re

#: Longest echo of one user value (characters, before escaping).
MAX_ECHO = 80

WORD_JOINER = "\u2060"
_ESCAPE = {ord(c): "\\" + c for c in "\\`*[]()<>!$|~{}#&"}
_SPACES = {ord(c): " " for c in "\r\n\t\v\f\x85\u2028\u2029"}
_EDGE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_AUTOLINK = re.compile(r"(:)(//)|(www)(\.)|(@)", re.IGNORECASE)


def _defang(m: re.Match) -> str:
    return WORD_JOINER.join(g for g in m.groups() if g) + (WORD_JOINER if m.group(5) else "")


def plain(text: object, max_len: int = MAX_ECHO) -> str:
    """``text`` as Markdown that renders literally: one line, at most ``max_len`` characters
    (then ``…``), no Markdown, HTML, Streamlit directive or autolink left in it."""
    s = str(text).translate(_SPACES)
    s = "".join(ch for ch in s if ch.isprintable() or ch == " ")
    cut = len(s) > max_len
    s = s[:max_len].translate(_ESCAPE)
    s = _EDGE_UNDERSCORE.sub(r"\\_", s)
    s = _AUTOLINK.sub(_defang, s)
    return s + "…" if cut else s


def plain_list(items, max_items: int = 8, max_len: int = MAX_ECHO) -> str:
    """A comma-separated echo of ``items`` (each through :func:`plain`), ``… and N more`` past
    ``max_items``."""
    items = [str(i) for i in items]
    shown = ", ".join(plain(i, max_len) for i in items[:max_items])
    return shown + (f" … and {len(items) - max_items} more" if len(items) > max_items else "")
