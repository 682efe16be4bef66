"""What the survey states about the large vs small comparison, as data, and how a verdict is
compared with it.

Taghanaki et al. (2021, arXiv 1910.07655, the loss-function section's last paragraph) write: "For
the large object case, almost all the loss functions follow this assumption [they rise monotonically
with the error]; however, for the small object, only combo loss and focal loss monotonically increase
more with larger errors. In other words, overlap-based loss functions fluctuate a lot".

That is three statements, and only these are counted:

* small object, combo and focal: *rise*;
* small object, the overlap-based losses: *do not rise* (they "fluctuate"). Which losses are
  overlap-based is this project's reading of the words, listed in :data:`OVERLAP_LOSSES`: the
  losses computed from soft overlap counts and the Lovász surrogates of the Jaccard index;
* large object: *almost every* loss rises. This is a statement about the share of losses, not about
  any one loss; :func:`large_share` reports the measured share beside it.

Every other (loss, object) pair is "not stated": the survey does not list which losses its figure
plots, so "only combo and focal" read strictly would make claims about losses it may never have
drawn. Agreement is counted over the stated pairs only.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

RISES, DOES_NOT_RISE, NOT_STATED = "rises", "does not rise", "not stated"

#: The survey's sentences, verbatim in spirit (the seed is a translation; the English original is quoted above).
SENTENCE = {
    "large": "For the large object almost all the loss functions rise monotonically with the error.",
    "small": ("For the small object only combo loss and focal loss increase monotonically; overlap-based "
              "losses fluctuate."),
}
#: Losses the survey names as rising on the small object.
SMALL_RISING = ("combo", "focal")
#: Our reading of "overlap-based": losses computed from soft TP/FP/FN counts, and the Lovász
#: surrogates of the Jaccard index (sensitivity-specificity is a normalized squared error, not an overlap).
OVERLAP_LOSSES = ("dice", "squared_dice", "jaccard", "tversky", "focal_tversky", "generalized_dice",
                  "log_cosh_dice", "lovasz_hinge", "lovasz_softmax")


#: The 26 losses of the source surveys (shared/LOSSES.md): what the survey's figure could have plotted.
#: Losses published later are "not stated" by construction; the robustness map covers these 26.
SURVEY_LOSSES = ("bce", "wce", "balanced_ce", "focal", "unet_weighted_ce", "distance_penalized_ce", "conservative",
                 "dice", "squared_dice", "jaccard", "tversky", "focal_tversky", "generalized_dice",
                 "sensitivity_specificity", "log_cosh_dice", "lovasz_hinge", "lovasz_softmax", "boundary",
                 "gdl_boundary", "hausdorff_dt", "shape_aware", "combo", "exp_log", "dice_bce", "dice_focal", "cmss")


def survey_says(loss: str, obj: str) -> str:
    """``"rises"``, ``"does not rise"`` or ``"not stated"`` for one loss on one object."""
    if obj == "small":
        if loss in SMALL_RISING:
            return RISES
        if loss in OVERLAP_LOSSES:
            return DOES_NOT_RISE
    return NOT_STATED


def agrees(loss: str, obj: str, verdict: str) -> bool | None:
    """Whether a measured verdict matches the survey; None where the survey states nothing."""
    said = survey_says(loss, obj)
    if said == NOT_STATED:
        return None
    return (verdict == "rises") == (said == RISES)


def annotate(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Add ``survey_says`` and ``agrees`` (True/False, or None where not stated) to a verdict table
    with ``loss``, ``object`` and ``verdict`` columns."""
    out = verdicts.copy()
    out["survey_says"] = [survey_says(k, o) for k, o in zip(out["loss"], out["object"])]
    out["agrees"] = [agrees(k, o, v) for k, o, v in zip(out["loss"], out["object"], out["verdict"])]
    return out


def sentence_holds(verdicts: pd.DataFrame) -> bool | None:
    """Whether every stated small-object pair in ``verdicts`` agrees (None when none is present)."""
    a = [x for x in annotate(verdicts[verdicts["object"] == "small"])["agrees"] if x is not None]
    return bool(all(a)) if a else None


def large_share(verdicts: pd.DataFrame) -> tuple[int, int]:
    """(rising, total) on the large object: the measured side of "almost all the loss functions"."""
    v = verdicts[verdicts["object"] == "large"]
    return int((v["verdict"] == "rises").sum()), int(len(v))


def agreement_fraction(agree_column) -> float:
    """Share of stated pairs that agree (NaN when nothing is stated)."""
    a = [bool(x) for x in agree_column if x is not None and not (isinstance(x, float) and np.isnan(x))]
    return float(np.mean(a)) if a else float("nan")
