"""Teaching presets: a named link into one page with its settings.

Plain data. The explanations are static prose written before any computation: they say what to
look at and why, never a number the app is supposed to compute (those appear on the page).
URL parameter names follow each page's own names: ``pg_*`` (Playground), ``lvs_*`` (Large vs
small), ``tune_*`` (Tune; per-parameter sliders are ``tune_{loss}.{param}``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from segloss_core.lessons import LESSONS


@dataclass(frozen=True)
class Preset:
    name: str
    page: str  # a key of segloss_app.common.PAGES
    params: dict[str, str] = field(default_factory=dict)
    explanation: str = ""


#: The teaching presets: the lessons of segloss_core.lessons, each opening its page with ``lesson=<id>``
#: so that the page shows the explanation and the computed check (segloss_app.lessons.lesson_box).
PRESETS: tuple[Preset, ...] = tuple(Preset(l.name, l.page, {**l.params, "lesson": l.id}, l.explanation)
                                    for l in LESSONS)

BY_NAME = {p.name: p for p in PRESETS}


def params_from_config(data: bytes, prefix: str, known=None) -> tuple[dict[str, str], list[str]]:
    """URL parameters from an exported JSON configuration (``{"page": ..., "params": {...}}`` or a
    flat ``{name: value}``): ``(params to apply, names ignored)``. Kept: the names in ``known`` (a
    page's settings), or without it every name starting with ``prefix``. The file is read and
    checked by :func:`segloss_app.validate.read_config`; a file that is not such a JSON object
    raises ``ValueError`` with one line saying why."""
    from segloss_app.validate import read_config

    cfg = read_config(data, known if known is not None else (lambda k: str(k).startswith(prefix)))
    return cfg.params, cfg.ignored
