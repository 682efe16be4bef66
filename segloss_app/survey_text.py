"""The Large vs small page's verdicts told in words, computed from the verdict table shown.

:func:`agreement_summary` (per object: how many losses rise, saturate, are flat or fall, and what
the survey states about them), :func:`what_to_notice` (the page's two computed lines, with the
tolerance interval in which the survey's sentence holds), :func:`full_agreement_text` (every loss,
as plain text), :func:`soft_dice_at_zero` (the soft Dice loss at perfect overlap) and the number
helpers they share. Nothing here computes a loss: the text is read off the survey result and its
verdicts at the page's tolerance (:mod:`segloss_app.compute_analysis`).
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from segloss_core import claim
from segloss_core.monotonic import VERDICTS
from segloss_core.registry import REGISTRY
from segloss_core.survey import OBJECTS, SurveyResult, agreement_text

def with_verdicts(res: SurveyResult, verdicts: pd.DataFrame, keys: list[str] | None = None) -> SurveyResult:
    """A view of ``res`` with other verdicts, restricted to ``keys`` (for the core's text helpers)."""
    curves = res.curves
    if keys is not None:
        curves = curves[curves["loss"].isin(keys)]
        verdicts = verdicts[verdicts["loss"].isin(keys)]
    return replace(res, curves=curves.reset_index(drop=True), verdicts=verdicts.reset_index(drop=True))


def full_agreement_text(res: SurveyResult, verdicts: pd.DataFrame, keys: list[str]) -> str:
    return agreement_text(with_verdicts(res, verdicts, keys))


def _names(keys) -> str:
    keys = list(keys)
    return ", ".join(REGISTRY[k].name for k in keys) if keys else "none"


def agreement_summary(verdicts: pd.DataFrame) -> list[str]:
    """Plain sentences (Markdown), one block per object: what the survey says, what is measured, and
    where they agree, counted over the pairs the survey states only."""
    out = []
    for obj in dict.fromkeys(verdicts["object"]):
        v = verdicts[verdicts["object"] == obj]
        n = len(v)
        words = count_words(v.verdict)
        stated = v[v["survey_says"] != claim.NOT_STATED]
        lines = [f"**{obj.capitalize()} object**: of {n} losses, {words}. "
                 f"Survey: *{claim.SENTENCE[obj]}*"]
        if obj == "large":
            up, tot = claim.large_share(v)
            lines.append(f"- That is a statement about the share: here {up} of {tot} ({up / max(tot, 1):.0%}) rise. "
                         "It names no single loss, so every loss is *not stated* for the large object.")
        if len(stated):
            ok = stated[stated["agrees"] == True]  # noqa: E712 (None = not stated)
            bad = stated[stated["agrees"] == False]  # noqa: E712
            lines.append(f"- Of the {len(stated)} losses the sentence names, **{len(ok)} agree**"
                         + (": every one." if bad.empty else
                            "; not: " + "; ".join(f"{REGISTRY[r.loss].name} (survey: {r.survey_says}; measured: "
                                                  f"{r.verdict})" for r in bad.itertuples()) + "."))
            sat = stated[(stated["survey_says"] == claim.DOES_NOT_RISE) & (stated["verdict"] == "saturates")]
            if len(sat):
                flips = sat["flip_tolerance"].astype(float)
                lines.append(f"- {len(sat)} of them agree only because they *saturate*: they rise at every step, by "
                             f"{flips.min():.1e}–{flips.max():.1e} of their range at the smallest; below that "
                             "tolerance they would count as rising.")
        n_not = n - len(stated)
        if n_not and obj == "small":
            lines.append(f"- {n_not} losses are not named by the sentence (*not stated*), so they count neither way.")
        out.append("\n".join(lines))
    return out


_PLURAL = {"rises": ("rises", "rise"), "saturates": ("saturates", "saturate"), "flat": ("is flat", "are flat"),
           "falls": ("falls", "fall")}


def count_words(verdicts) -> str:
    """``"8 saturate and 1 is flat"``: how many curves get each verdict, in words."""
    v = list(verdicts)
    parts = [f"{n} {_PLURAL[w][n != 1]}" for w in VERDICTS for n in [v.count(w)] if n]
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + (parts[-1] if parts else "")


def short_e(x: float) -> str:
    """``3.0e-4`` rather than ``3.0e-04``: powers of ten that fit a metric tile."""
    m, e = f"{x:.1e}".split("e")
    return f"{m}e{int(e)}"


def what_to_notice(res: SurveyResult, verdicts: pd.DataFrame, tol: float, lo: float, hi: float) -> str:
    """Two sentences for the top of the page, computed from the verdicts of every loss."""
    small = verdicts[verdicts["object"] == "small"]
    tp = res.curves[(res.curves["object"] == "small") & (res.curves["loss"] == res.curves["loss"].iloc[0])]
    k0 = tp[tp["tp"] == 0]["level"]
    overlap = small[small["loss"].isin(claim.OVERLAP_LOSSES)]
    words = count_words(overlap.verdict)
    rising = [REGISTRY[k].name for k in small[small.verdict == "rises"].loss][:3]
    first = (f"**What to notice.** On the small object, "
             + (f"from level {int(k0.iloc[0])} on no true positive is left; " if len(k0) else "")
             + f"of the {len(overlap)} overlap losses {words or 'none'}, while {', '.join(rising) or 'no loss'}"
             + (" and others keep rising." if len(small[small.verdict == "rises"]) > 3 else " keep rising."))
    holds = lo <= tol < hi
    second = (f" The survey's small-object sentence holds for tolerances from {lo:.1e} to {hi:.1e} "
              f"({'it holds' if holds else 'it does not hold'} at the tolerance used, {tol:g})." if lo < hi else
              " Under this protocol the survey's small-object sentence holds at no tolerance.")
    return first + second


def soft_dice_at_zero(res: SurveyResult) -> dict[str, dict[str, float]]:
    """Measured soft Dice loss at level 0 (perfect overlap) per object, with the object's size."""
    c = res.curves
    out = {}
    for obj in OBJECTS:
        d = c[(c["loss"] == "dice") & (c["object"] == obj) & (c["level"] == 0)]
        if len(d):
            pixels = int(res.masks[obj].sum()) if obj in res.masks else int(d["tp"].iloc[0])
            out[obj] = {"value": float(d["value"].iloc[0]), "pixels": pixels}
    return out
