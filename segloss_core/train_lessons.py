"""The Train page's lessons: a setting, two sentences, and the check that the computed run confirms them.

Each :class:`Lesson` holds a :class:`segloss_core.train.TrainConfig` and a check that reads the
finished :class:`segloss_core.train.TrainResult` (its summary table and per-step counts) and says,
with the measured numbers, whether the run shows what the sentences claim. A run that does not
show it says so; nothing here is asserted without the run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from .train import Run, TrainConfig, TrainResult, runs_from

@dataclass(frozen=True)
class Lesson:
    """A preset: a setting, two sentences, and the check that the computed run confirms them."""

    key: str
    title: str
    text: str
    config: TrainConfig
    check: Callable[[TrainResult], tuple[bool, str]] = field(compare=False, hash=False)


def _row(summary: pd.DataFrame, label: str) -> pd.Series:
    return summary[summary.loss == label].iloc[0]


def _fp_at(res: TrainResult, label: str, step: int) -> int:
    d = res.curves[(res.curves.loss == label) & (res.curves.object == "all")]
    d = d[d.step <= step]
    return int(d.fp.iloc[-1])


def _check_ce_small(res):
    s = res.summary()
    b, d = _row(s, "bce"), _row(s, "dice")
    ok = b.small_recall < d.small_recall
    return ok, (f"held-out recall of the small objects after {int(b.final_step)} steps: BCE {b.small_recall:.2f}, "
                f"Dice {d.small_recall:.2f} (final Dice {b.final_dice:.3f} and {d.final_dice:.3f}).")


def _check_dice_nosmooth(res):
    s = res.summary()
    l0, l1 = [r.label for r in res.config.runs]
    fp0 = _fp_at(res, l0, 0)
    a, b = _row(s, l0), _row(s, l1)
    ok = fp0 > 0 and a.final_fp == fp0 and b.final_fp == 0
    return ok, (f"false positives at the start {fp0}; after {int(a.final_step)} steps: s = 0 → {int(a.final_fp)}, "
                f"s = 1 → {int(b.final_fp)}.")


def _check_boundary(res):
    s = res.summary()
    b, g = _row(s, "boundary"), _row(s, "gdl_boundary")
    ok = b.final_dice < g.final_dice and b.final_fn > 0
    return ok, (f"final Dice: boundary alone {b.final_dice:.3f} ({int(b.final_fn)} missed pixels left), "
                f"GDL + boundary {g.final_dice:.3f} ({int(g.final_fn)}).")


def _check_focal(res):
    s = res.summary()
    st = [s.iloc[i]["steps_to_dice_0.9"] for i in range(len(s))]
    big = res.config.steps + 1
    vals = [big if v is None or (isinstance(v, float) and math.isnan(v)) else int(v) for v in st]
    ok = all(a <= b for a, b in zip(vals, vals[1:])) and vals[0] < vals[-1]
    txt = ", ".join(f"{r.label}: {'not within ' + str(res.config.steps) if v == big else v}"
                    for r, v in zip(res.config.runs, vals))
    return ok, f"steps to Dice ≥ 0.9 — {txt}."


def _check_tversky(res):
    s = res.summary()
    lo, hi = [r.label for r in res.config.runs]
    a, b = _row(s, lo), _row(s, hi)
    ok = b.final_fn < a.final_fn and b.final_fp > a.final_fp
    return ok, (f"held-out FN/FP after {int(a.final_step)} steps: {lo} {int(a.final_fn)}/{int(a.final_fp)}, "
                f"{hi} {int(b.final_fn)}/{int(b.final_fp)}.")


def _check_lovasz(res):
    c = res.curves[res.curves.object == "all"]

    def zero_at(label):
        d = c[(c.loss == label) & (c.fp == 0)]
        return int(d.step.iloc[0]) if len(d) else None
    lz, bz = zero_at("lovasz_hinge"), zero_at("bce")
    fp0 = _fp_at(res, "bce", 0)
    ok = bz is not None and (lz is None or lz > 2 * bz)
    return ok, (f"{fp0} false positives at the start; all removed by BCE at step {bz}, by the Lovász hinge "
                + (f"at step {lz}." if lz is not None else f"not within {res.config.steps} steps "
                   f"({_fp_at(res, 'lovasz_hinge', res.config.steps)} left)."))


def lessons() -> dict[str, Lesson]:
    """The page's teaching presets. Each check reads the computed run; the page shows whether the
    run confirms the two sentences."""
    L = [
        Lesson("ce_small", "Cross-entropy neglects the small object",
               "Cross-entropy is a mean over all pixels, so when the objects are a tiny share of the image the "
               "background dominates it. Trained on images whose only objects are three small disks of 1:500 of "
               "the image each, the BCE network recovers fewer of their pixels than the Dice network, whose loss "
               "is normalized by the object size.",
               TrainConfig(runs=runs_from(["bce", "dice"]), mode="net", size=64, small_area=0.002, n_small=3,
                           n_large=0, optimizer="adam", lr=0.01, steps=300, seed=0, noise=0.5), _check_ce_small),
        Lesson("dice_nosmooth", "Dice without smoothing",
               "With s = 0 and an empty ground truth the Dice loss is 1 for every positive prediction, so its "
               "gradient is exactly 0: false positives on an empty image are never removed. With s = 1 the same "
               "prediction is driven to empty.",
               TrainConfig(runs=(Run.make("dice", {"smooth": 0.0}), Run.make("dice", {"smooth": 1.0}, "dice (smooth=1)")),
                           mode="free", object="empty", size=64, start="perturbed", start_fp=3.0,
                           optimizer="adam", lr=0.1, steps=100), _check_dice_nosmooth),
        Lesson("boundary_alone", "Boundary loss needs a region term",
               "The boundary loss weighs each pixel by its signed distance to the contour, which is 0 on the "
               "object's inner contour: alone it never decides those pixels and leaves a rim of misses. "
               "Kervadec et al. pair it with a region loss (GDL), which fixes the rim.",
               TrainConfig(runs=runs_from(["boundary", "gdl_boundary"]), mode="free", object="large", size=64,
                           start="half", optimizer="adam", lr=0.1, steps=100), _check_boundary),
        Lesson("focal_gamma", "Focal γ slows the easy pixels",
               "Focal loss multiplies cross-entropy by (1 − p_t)^γ, so pixels that are already fairly right get "
               "almost no gradient. With plain SGD a larger γ takes more steps to reach Dice 0.9 from the same "
               "half-right start.",
               TrainConfig(runs=(Run.make("focal", {"gamma": 0.0, "alpha": 0.5}, "focal (γ=0)"),
                                 Run.make("focal", {"gamma": 2.0, "alpha": 0.5}, "focal (γ=2)"),
                                 Run.make("focal", {"gamma": 5.0, "alpha": 0.5}, "focal (γ=5)")),
                           mode="free", object="large", size=64, start="perturbed", confidence=0.6,
                           optimizer="sgd", lr=2000.0, steps=200), _check_focal),
        Lesson("tversky_beta", "Tversky β trades false negatives for false positives",
               "Tversky's β weighs false negatives and α false positives. A network trained with β = 0.9 misses "
               "fewer object pixels than one with β = 0.1, and pays with more false positives.",
               TrainConfig(runs=(Run.make("tversky", {"alpha": 0.9, "beta": 0.1}, "tversky (β=0.1)"),
                                 Run.make("tversky", {"alpha": 0.1, "beta": 0.9}, "tversky (β=0.9)")),
                           mode="net", size=64, small_area=0.004, large_area=0.12, optimizer="adam", lr=0.01,
                           steps=300, noise=0.8, blur=1.5), _check_tversky),
        Lesson("lovasz_empty", "Lovász on an empty image",
               "On an image with no object the Lovász extension of the Jaccard loss puts its whole gradient on the "
               "worst pixel (tied pixels share it): it shaves the highest logits first, and with Adam's per-pixel "
               "steps few false positives go away. BCE pushes every pixel at once and clears them.",
               TrainConfig(runs=runs_from(["bce", "lovasz_hinge"]), mode="free", object="empty", size=64,
                           start="noise", optimizer="adam", lr=0.1, steps=200), _check_lovasz),
    ]
    return {x.key: x for x in L}
