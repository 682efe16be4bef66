"""Which losses notice that a vessel is broken? A sweep over one-pixel gaps in a vessel tree.

The ground truth is a branching vessel tree (:func:`segloss_core.thin_masks.vessel_tree`: one component,
no hole). Level ``k`` of the *gaps* protocol cuts ``k`` gaps across it
(:func:`segloss_core.thin_perturb.gap_order`, each a slab one pixel thick, widened only where needed to
disconnect, so level k has exactly ``1 + k`` components). The *control* protocol removes exactly
the same number of pixels at each level from the vessel's boundary without cutting anything (the
pixels of the one-pixel inner boundary that are not on the scikit-image skeleton, in seeded order):
same FN count, same FP count (0), connectivity intact.

Both are softened to ``c`` inside, ``1 - c`` outside and every loss is evaluated on both ladders
by the sweep engine. A loss that depends on the pixels only through the counts of (p, g) values
(Dice, CE, Tversky, ... : registry ``reducible``) gives *exactly* the same curve on both ladders:
it cannot tell a broken vessel from a thinner one. ``ratio = rise(gaps) / rise(control)`` says how
much more a loss charges for breaking the vessel than for removing the same pixels harmlessly:

* ``notices``: ratio ≥ 1.05 (the gaps cost at least 5 % more; ∞ when the control costs nothing);
* ``blind``: |ratio - 1| ≤ 1e-6 (the same value on both ladders, within float precision);
* ``prefers_gaps``: ratio ≤ 0.95 (the control costs more: the loss charges thinning more than cuts);
* ``barely``: anything else.

No Streamlit here; the page ``pages/thin.py`` and ``python -m segloss_core vessels`` read it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from .thin_masks import vessel_tree
from .perturb import soften
from .thin_perturb import gap_order
from .registry import KEYS, get
from .sweep import run_sweep
from .topology import betti_numbers, skeleton_scores

__all__ = ["VesselSweep", "vessel_sweep", "control_order", "LEVEL_COLUMNS", "CURVE_COLUMNS", "VERDICT_COLUMNS"]

LEVEL_COLUMNS = ("level", "gaps", "fn_px", "fp_px", "betti0_pred", "betti1_pred", "dice_metric", "cldice_metric",
                 "skeleton_recall", "skeleton_precision", "control_fn_px", "control_betti0", "control_cldice_metric")
CURVE_COLUMNS = ("protocol", "level", "fn_px", "loss", "value")
VERDICT_COLUMNS = ("loss", "family", "value_intact", "rise_gaps", "rise_control", "ratio", "verdict")


@dataclass
class VesselSweep:
    gt: np.ndarray                      # bool (H, W)
    gap_masks: np.ndarray               # bool (L, H, W)
    control_masks: np.ndarray           # bool (L, H, W)
    levels: pd.DataFrame                # LEVEL_COLUMNS
    curves: pd.DataFrame                # CURVE_COLUMNS
    verdicts: pd.DataFrame              # VERDICT_COLUMNS
    settings: dict[str, Any] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """What the computation shows, in words (the page and the CLI print it)."""
        v = self.verdicts
        last = self.levels.iloc[-1]
        words = {k: sorted(v.loc[v.verdict == k, "loss"]) for k in ("notices", "barely", "blind", "prefers_gaps")}
        dice = v.set_index("loss").get("rise_gaps", pd.Series(dtype=float)).get("dice")
        head = (f"{int(last.gaps)} one-pixel gaps break the tree into {int(last.betti0_pred)} pieces while removing "
                f"{int(last.fn_px)} of {int(self.gt.sum())} pixels ({100 * last.fn_px / max(self.gt.sum(), 1):.1f} %): "
                f"the Dice score of the hard prediction falls to {last.dice_metric:.3f}, the clDice metric to "
                f"{last.cldice_metric:.3f}.")
        if dice is not None:
            head += f" The soft Dice loss rises by {dice:.4f}."
        parts = [head]
        if words["notices"]:
            parts.append("Charge the gaps at least 5 % more than removing the same pixels without cutting: "
                         + ", ".join(words["notices"]) + ".")
        if words["blind"]:
            parts.append("Give exactly the same value whether the vessel is cut or not (on this ground truth "
                         "they depend only on how many pixels are wrong): " + ", ".join(words["blind"]) + ".")
        if words["barely"]:
            parts.append("Within ±5 %: " + ", ".join(words["barely"]) + ".")
        if words["prefers_gaps"]:
            parts.append("Charge the harmless removal more than the cuts: " + ", ".join(words["prefers_gaps"]) + ".")
        return " ".join(parts)


def control_order(gt: np.ndarray, seed: int = 0) -> np.ndarray:
    """Flat indices of the pixels the control removes, in order: the inner-boundary pixels (a face
    neighbour in the background) that are not on the skeleton, seeded order, then the deeper
    non-skeleton pixels by distance to the background."""
    from scipy import ndimage as ndi

    from .skeletons import cached_skeleton

    g = np.asarray(gt, bool)
    skel = cached_skeleton(g)
    dist = ndi.distance_transform_edt(np.pad(g, 1))[1:-1, 1:-1]
    cand = np.flatnonzero((g & ~skel).ravel())
    key = np.random.default_rng([seed, 16]).random(cand.size)
    order = np.lexsort((key, dist.ravel()[cand]))
    return cand[order]


def _verdict(ratio: float) -> str:
    if ratio == float("inf"):
        return "notices"  # the control costs nothing, the gaps do
    if not np.isfinite(ratio):
        return "barely"
    if abs(ratio - 1) <= 1e-6:
        return "blind"
    if ratio >= 1.05:
        return "notices"
    if ratio <= 0.95:
        return "prefers_gaps"
    return "barely"


def vessel_sweep(size: int = 128, levels: int = 13, width: int = 1, seed: int = 0, confidence: float = 0.99,
                 keys: Sequence[str] | None = None, params: dict[str, dict[str, Any]] | None = None,
                 device: str = "cpu", progress: Callable[[float], None] | None = None) -> VesselSweep:
    """Evaluate ``keys`` (default: every loss) on the gaps and control ladders of ``levels`` levels
    (k = 0 .. levels-1 gaps of ``width`` pixels) of a vessel tree of side ``size``."""
    if isinstance(levels, bool) or int(levels) != levels or not 2 <= int(levels) <= 41:
        raise ValueError(f"levels must be a whole number in [2, 41]; got {levels!r}")
    if isinstance(width, bool) or int(width) != width or not 1 <= int(width) <= 5:
        raise ValueError(f"width must be a whole number of pixels in [1, 5]; got {width!r}")
    if not 0.5 < float(confidence) <= 1.0:
        raise ValueError(f"confidence must be in (0.5, 1]; got {confidence!r}")
    levels, width = int(levels), int(width)
    keys = list(KEYS) if keys is None else list(keys)
    for k in keys:
        get(k)
    gt = vessel_tree(size, seed=seed, width=max(1, min(7, int(size) // 18)))
    cuts = gap_order(gt, width, seed, max_gaps=levels - 1)
    messages = []
    if len(cuts) < levels - 1:
        messages.append(f"only {len(cuts)} gaps fit in this tree; the ladder stops at {len(cuts)} gaps")
        levels = len(cuts) + 1
    ctrl = control_order(gt, seed)
    gap_masks, ctrl_masks, rows = [], [], []
    cur = gt.copy()
    for k in range(levels):
        if k > 0:
            cur = cur & ~cuts[k - 1]
        fn = int((gt & ~cur).sum())
        if fn > ctrl.size:
            raise ValueError("the control has fewer removable pixels than the gaps remove; use a larger size")
        c = gt.copy().ravel()
        c[ctrl[:fn]] = False
        c = c.reshape(gt.shape)
        gap_masks.append(cur.copy())
        ctrl_masks.append(c)
        b0, b1 = betti_numbers(cur)
        sk = skeleton_scores(gt, cur)
        tp = int((gt & cur).sum())
        rows.append({"level": k, "gaps": k, "fn_px": fn, "fp_px": int((cur & ~gt).sum()), "betti0_pred": b0,
                     "betti1_pred": b1, "dice_metric": 2 * tp / (2 * tp + fn) if tp + fn else 1.0,
                     "cldice_metric": sk["cldice"], "skeleton_recall": sk["skeleton_recall"],
                     "skeleton_precision": sk["skeleton_precision"], "control_fn_px": int((gt & ~c).sum()),
                     "control_betti0": betti_numbers(c)[0], "control_cldice_metric": skeleton_scores(gt, c)["cldice"]})
    gap_masks, ctrl_masks = np.stack(gap_masks), np.stack(ctrl_masks)
    import torch

    curves = []
    res = {}
    for i, (name, masks) in enumerate((("gaps", gap_masks), ("control", ctrl_masks))):
        soft = soften(masks, confidence=float(confidence), dtype=np.float64)
        r = run_sweep(gt, soft, keys, params, device=device, dtype=torch.float64)
        res[name] = r.values
        for k in keys:
            for lv in range(levels):
                curves.append({"protocol": name, "level": lv, "fn_px": rows[lv]["fn_px"], "loss": k,
                               "value": float(r.values[k][lv])})
        if progress:
            progress((i + 1) / 2)
    verdicts = []
    for k in keys:
        vg, vc = res["gaps"][k], res["control"][k]
        rg, rc = float(vg[-1] - vg[0]), float(vc[-1] - vc[0])
        ratio = rg / rc if rc != 0 else (1.0 if rg == 0 else float("inf"))
        verdicts.append({"loss": k, "family": get(k).family, "value_intact": float(vg[0]), "rise_gaps": rg,
                         "rise_control": rc, "ratio": ratio, "verdict": _verdict(ratio)})
    return VesselSweep(gt, gap_masks, ctrl_masks, pd.DataFrame(rows, columns=list(LEVEL_COLUMNS)),
                       pd.DataFrame(curves, columns=list(CURVE_COLUMNS)),
                       pd.DataFrame(verdicts, columns=list(VERDICT_COLUMNS)),
                       {"size": int(size), "levels": levels, "width": width, "seed": int(seed),
                        "confidence": float(confidence)}, messages)
