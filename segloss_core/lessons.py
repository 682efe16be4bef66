"""Teaching lessons: what each one claims, checked against the computation.

Every lesson is a link into one page (its settings) with a two-sentence explanation, and a check
that recomputes, with the library, the numbers that page shows for those settings and says
whether they show the lesson's point. The page displays the explanation and the check's sentence
together; when the numbers do not show the point, it says so. Tests run every check.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Check:
    shows: bool
    text: str  # computed: what the numbers are


@dataclass(frozen=True)
class Lesson:
    id: str
    name: str
    page: str  # a key of segloss_app.common.PAGES
    params: dict[str, str] = field(default_factory=dict)
    explanation: str = ""
    check: Callable[[], Check] | None = None


def _f(x: float) -> str:
    """Three significant digits; powers of ten outside [1e-3, 1e5) (no SI prefixes)."""
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
        m, e = f"{x:.2e}".split("e")
        return f"{m}·10^{int(e)}"
    return f"{x:.3g}"


def _pair_report(gt: np.ndarray, fn: float, fp: float, confidence: float, keys, params=None, fp_mode="boundary"):
    from .perturb import perturb, soften
    from .sweep import run_sweep
    pert = perturb(gt, fn=fn, fp=fp, units="fraction", fp_mode=fp_mode, seed=0)
    soft = soften(pert.mask, confidence=confidence, dtype=np.float32)
    return run_sweep(gt, soft[None], list(keys), params, keep_grads=True), pert


def check_small_object() -> Check:
    from .survey import SurveyConfig, run_survey
    res = run_survey(SurveyConfig(), ["dice", "jaccard", "tversky", "focal", "combo"])
    v = res.verdicts[res.verdicts.object == "small"].set_index("loss")
    sat = [k for k in ("dice", "jaccard", "tversky") if v.loc[k, "verdict"] == "saturates"]
    rise = [k for k in ("focal", "combo") if v.loc[k, "verdict"] == "rises"]
    flips = v.loc[["dice", "jaccard", "tversky"], "flip_tolerance"].astype(float)
    shows = len(sat) == 3 and len(rise) == 2
    return Check(shows, f"Computed on this page's default protocol: Dice, Jaccard and Tversky "
                        f"{'saturate' if len(sat) == 3 else 'do not all saturate'} on the small object (their smallest "
                        f"steps are {flips.min():.1e}–{flips.max():.1e} of their range), and focal and combo "
                        f"{'rise at every step' if len(rise) == 2 else 'do not both rise'}.")


def check_imbalance() -> Check:
    from .masks import make_shape
    gt = make_shape("disk", size=256, fraction=0.001)
    rep, pert = _pair_report(gt, 0.5, 0.5, 0.99, ["bce", "dice", "focal", "wce"])
    v = {k: float(rep.values[k][0]) for k in rep.keys}
    shows = v["bce"] < 0.05 and v["dice"] > 0.4 and v["wce"] > 5 * v["bce"]
    return Check(shows, f"With {pert.counts['fn']} missed and {pert.counts['fp']} added pixels on a "
                        f"{int(gt.sum())}-pixel object: BCE {v['bce']:.3g}, focal {v['focal']:.3g}, weighted CE "
                        f"{v['wce']:.3g} ({v['wce'] / max(v['bce'], 1e-30):.0f}× BCE), Dice {v['dice']:.3g}.")


def check_focal_gamma() -> Check:
    from .tuning import TuneSetup, evaluate
    g = evaluate("focal", "hard_easy", TuneSetup(profile="distance"), "gamma", [0.0, 1.0, 2.0, 5.0],
                 base={"alpha": 0.25}, level=5)
    q = g.q[0]
    shows = bool(np.all(np.diff(q) > 0))
    return Check(shows, "Hard/easy gradient ratio (wrong pixels over right ones, α = 0.25) at γ = 0, 1, 2, 5: "
                        + ", ".join(_f(x) for x in q) + (": γ shifts the push onto the hard pixels."
                                                              if shows else ": not increasing here."))


def check_tversky() -> Check:
    from .tuning import TuneSetup, summary
    setup = TuneSetup(obj="large", confidence=1.0, delta=5)
    r = {ab: summary("tversky", setup, {"alpha": ab[0], "beta": ab[1]}, level=1)["cost_ratio"]
         for ab in ((0.3, 0.7), (0.5, 0.5), (0.7, 0.3))}
    shows = r[(0.3, 0.7)] > 1.5 and abs(r[(0.5, 0.5)] - 1) < 0.2 and r[(0.7, 0.3)] < 0.7
    return Check(shows, "FN/FP cost ratio on the large disk (hard predictions, few errors): "
                        + "; ".join(f"α = {a:g}, β = {b:g}: {v:.2f} (β/α = {b / a:.2f})" for (a, b), v in r.items()) + ".")


def check_smoothing() -> Check:
    from .masks import make_shape
    gt = make_shape("disk", size=256, fraction=0.002)
    d = {}
    for c, s in ((0.7, 1.0), (0.99, 1.0), (0.7, 100.0)):
        rep, _ = _pair_report(gt, 0.0, 0.0, c, ["dice"], {"dice": {"smooth": s}})
        d[(c, s)] = float(rep.values["dice"][0])
    shows = d[(0.7, 1.0)] > 0.5 and d[(0.99, 1.0)] < d[(0.7, 1.0)]
    return Check(shows, f"Perfect overlap on a {int(gt.sum())}-pixel disk: Dice loss {d[(0.7, 1.0)]:.3f} at c = 0.7, "
                        f"{d[(0.99, 1.0)]:.3f} at c = 0.99, {d[(0.7, 100.0)]:.3f} at c = 0.7 with s = 100: the "
                        f"{'confidence' if abs(d[(0.7, 1.0)] - d[(0.99, 1.0)]) > abs(d[(0.7, 1.0)] - d[(0.7, 100.0)]) else 'smoothing'} "
                        "moves it more.")


def check_touching() -> Check:
    from scipy import ndimage as ndi

    from .masks import real_mask
    gt = real_mask("cells", 256)
    rep, _ = _pair_report(gt, 0.0, 0.05, 0.99, ["bce", "unet_weighted_ce"])
    lab, _ = ndi.label(gt)
    d = np.sort(np.stack([ndi.distance_transform_edt(lab != i) for i in range(1, lab.max() + 1)]), axis=0)
    gap = (~gt) & (d[0] + d[1] <= 6)  # background pixels between two cells
    far = (~gt) & (d[0] > 15)
    g_b, g_u = np.abs(rep.grads["bce"][0]), np.abs(rep.grads["unet_weighted_ce"][0])
    ratio_gap = float(g_u[gap].mean() / max(g_b[gap].mean(), 1e-30))
    ratio_far = float(g_u[far].mean() / max(g_b[far].mean(), 1e-30))
    shows = ratio_gap > 2 and abs(ratio_far - 1) < 0.05
    return Check(shows, f"In the 2-px gaps between the cells the U-Net weight-map gradient is {ratio_gap:.1f}× BCE's; "
                        f"far from any cell it is {ratio_far:.2f}× (the same).")


def check_vessel_gaps() -> Check:
    from .vessel_study import vessel_sweep
    sw = vessel_sweep(size=128, levels=13, keys=["dice", "bce", "cldice", "skeleton_recall"])
    v = sw.verdicts.set_index("loss")
    last = sw.levels.iloc[-1]
    shows = (v.loc["dice", "verdict"] == "blind" and v.loc["bce", "verdict"] == "blind"
             and v.loc["cldice", "verdict"] == "notices" and v.loc["skeleton_recall", "verdict"] == "notices")
    return Check(shows, f"{int(last.gaps)} gaps make {int(last.betti0_pred)} pieces out of one and remove "
                        f"{int(last.fn_px)} of {int(sw.gt.sum())} pixels; Dice and BCE rise by exactly as much as "
                        f"for the same pixels removed without a cut, soft clDice by {_f(v.loc['cldice', 'ratio'])}× "
                        f"and Skeleton Recall by {_f(v.loc['skeleton_recall', 'ratio'])}× as much.")


LESSONS: tuple[Lesson, ...] = (
    Lesson("small_object", "Small object: overlap losses saturate", "large_vs_small",
           {"lvs_small_r": "6", "lvs_large_r": "60", "lvs_delta": "20", "lvs_levels": "41", "lvs_conf": "0.99",
            "lvs_protocol": "boundary", "lvs_losses": "dice,jaccard,tversky,focal,combo,bce"},
           "The survey's experiment: the same absolute number of wrong pixels is added to a large and to a small "
           "disk, level by level. Once the small object has no true positive left, Dice-like losses barely move "
           "(they saturate) while focal and combo keep rising with every extra false positive.",
           check_small_object),
    Lesson("imbalance", "Extreme imbalance 1:1000", "playground",
           {"pg_src": "shape", "pg_shape": "disk", "pg_sizeby": "fraction", "pg_frac": "0.001",
            "pg_units": "fraction", "pg_fn": "0.5", "pg_fp": "0.5", "pg_losses": "bce,focal,wce,dice",
            "pg_gkeys": "bce,dice,focal,wce"},
           "One foreground pixel for every thousand background pixels, half the object missed and as many false "
           "alarms. The pixel-averaged cross-entropy barely notices, while the overlap losses and the weighted "
           "cross-entropy react strongly.",
           check_imbalance),
    Lesson("focal_gamma", "Focal γ at 0, 1, 2, 5", "tune",
           {"tune_loss": "focal", "tune_focal.alpha": "0.25", "tune_x": "gamma", "tune_y": "alpha",
            "tune_quantity": "hard_easy", "tune_profile": "distance", "tune_level": "5", "tune_target": "10"},
           "Focal's γ down-weights pixels that are already well classified; at γ = 0 it is a class-balanced "
           "cross-entropy. With easy and hard pixels (confidence growing with the distance to the boundary), the "
           "ratio of the gradient on wrong pixels to that on right ones grows with γ at a fixed α.",
           check_focal_gamma),
    Lesson("tversky", "Tversky trades FP for FN", "tune",
           {"tune_loss": "tversky", "tune_x": "alpha", "tune_y": "beta", "tune_quantity": "cost_ratio",
            "tune_obj": "large", "tune_hard": "1", "tune_delta": "5", "tune_level": "1", "tune_target": "2"},
           "Tversky weighs false positives by α and false negatives by β (α = β = 0.5 is Dice with double the "
           "smoothing). On a large object with few errors, one more missed pixel costs about β/α false alarms.",
           check_tversky),
    Lesson("smoothing", "Soft predictions and the smoothing term", "playground",
           {"pg_src": "shape", "pg_shape": "disk", "pg_sizeby": "fraction", "pg_frac": "0.002",
            "pg_units": "fraction", "pg_fn": "0", "pg_fp": "0", "pg_conf": "0.7", "pg_ploss": "dice",
            "pg_losses": "dice,squared_dice,jaccard,tversky,log_cosh_dice,bce", "pg_gkeys": "dice,jaccard,bce"},
           "A perfect but unconfident prediction of a small object: every background pixel still carries the "
           "probability 1 − c, and together that mass looks like false positives to a soft overlap loss. Move the "
           "confidence and the smoothing s to see which one dominates.",
           check_smoothing),
    Lesson("touching", "Touching objects: U-Net border weights", "playground",
           {"pg_src": "real", "pg_real": "cells", "pg_units": "fraction", "pg_fn": "0", "pg_fp": "0.05",
            "pg_fpmode": "boundary", "pg_gkeys": "bce,unet_weighted_ce,distance_penalized_ce,boundary"},
           "Nine cells separated by gaps of 2 px, each grown slightly at its border. The U-Net weight map puts "
           "extra weight in the narrow gaps, so its gradient lights up exactly where a network must learn to "
           "separate the cells, and equals BCE's far from them.",
           check_touching),
)
LESSONS = LESSONS + (
    Lesson("vessel_gaps", "A broken vessel: Dice does not care", "thin",
           {"thin_kind": "vessel_tree", "thin_mode": "gaps", "thin_n": "4", "thin_width": "1", "thin_levels": "13"},
           "One-pixel gaps cut a vessel tree into pieces but remove only a few of its pixels, and every loss that "
           "counts pixels charges a cut exactly like the same pixels shaved off the vessel's edge. The sweep on this "
           "page compares the two, loss by loss: clDice and Skeleton Recall charge the cuts more.",
           check_vessel_gaps),
)
BY_ID = {lesson.id: lesson for lesson in LESSONS}
