"""Reproduction of the survey's large vs small object comparison (SURVEY.md).

Taghanaki et al. (2021) plot the losses against a growing error for a large and a small object and
state that for the small object "only combo loss and focal loss increase monotonically"
(:mod:`segloss_core.claim` holds the sentence as data and says which pairs it names). The paper gives
no protocol; this module implements the documented ones (:data:`PROTOCOLS`), computes the verdicts
with their robustness (:mod:`segloss_core.monotonic`) and compares them with what the survey states,
explaining each verdict from the measured curve. :mod:`segloss_core.robustness` repeats it over
protocols, confidences, Δ and tolerances.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from . import claim
from .monotonic import analyze, normalize
from .registry import KEYS, REGISTRY, get
from .sweep import prepare_maps, run_sweep

OBJECTS = ("large", "small")
#: Error protocols: how level k's prediction is made from the ground truth.
PROTOCOLS = ("boundary", "blobs", "translation")
PROTOCOL_HELP = {
    "boundary": "k·Δ FN pixels peeled from the boundary inward, k·Δ FP pixels grown outward (the FP pattern can be changed)",
    "blobs": "k·Δ FN pixels as round holes inside the object, k·Δ FP pixels as separate round blobs",
    "translation": "the ground truth moved by k·step pixels (optionally also grown by k·Δ FP pixels)",
}


@dataclass(frozen=True)
class SurveyConfig:
    size: int = 256
    large_radius: float = 60.0
    small_radius: float = 6.0
    levels: int = 41  # k = 0 .. levels-1
    delta: int = 20
    confidence: float = 0.99  # 1.0: hard 0/1 predictions
    fp_mode: str = "boundary"  # FP pattern of the "boundary" protocol
    blur: float = 0.0
    tolerance: float = 1e-3
    seed: int = 0
    shape: str = "disk"
    protocol: str = "boundary"
    shift_step: int = 1  # translation: pixels moved per level
    translation_grow: bool = False  # translation: also add k·Δ FP pixels around the moved mask

    def validate(self) -> "SurveyConfig":
        if not 32 <= self.size <= 1024:
            raise ValueError(f"image size must be in [32, 1024]; got {self.size}")
        if not 2 <= self.levels <= 201:
            raise ValueError(f"levels must be in [2, 201]; got {self.levels}")
        if not 1 <= self.delta <= 10_000:
            raise ValueError(f"delta must be in [1, 10000] pixels; got {self.delta}")
        if not 0.5 < self.confidence <= 1:
            raise ValueError(f"confidence must be in (0.5, 1] (1 = hard masks); got {self.confidence}")
        if not 0 <= self.tolerance < 1:
            raise ValueError(f"tolerance must be in [0, 1); got {self.tolerance}")
        if not (1 <= self.small_radius <= self.size / 2 and 1 <= self.large_radius <= self.size / 2):
            raise ValueError(f"radii must be between 1 and half the image size ({self.size / 2:g})")
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}; got {self.protocol!r}")
        if not 1 <= self.shift_step <= 64:
            raise ValueError(f"shift step must be in [1, 64] pixels; got {self.shift_step}")
        return self

    @property
    def hard(self) -> bool:
        return self.confidence >= 1.0

    @property
    def effective_delta(self) -> int:
        """Δ as the protocol uses it (the translation protocol without growth adds no FP pixels)."""
        return 0 if self.protocol == "translation" and not self.translation_grow else self.delta

    def describe(self) -> str:
        """The protocol in one plain sentence."""
        if self.protocol == "translation":
            err = (f"level k: the ground truth moved by k·{self.shift_step} px"
                   + (f" and grown by k·{self.delta} FP px" if self.translation_grow else ""))
        elif self.protocol == "blobs":
            err = f"level k: k·{self.delta} FN pixels as holes and k·{self.delta} FP pixels as separate blobs"
        else:
            err = (f"level k: k·{self.delta} FN pixels peeled from the boundary and k·{self.delta} FP pixels "
                   f"({self.fp_mode})")
        conf = ("hard 0/1 predictions (logs clamped at 1e-7)" if self.hard else
                f"probability {self.confidence:g} inside the prediction, {1 - self.confidence:.3g} outside")
        return (f"{err}, k = 0…{self.levels - 1}; {conf}" + (f", blur σ = {self.blur:g} px" if self.blur else ""))


@dataclass
class SurveyResult:
    config: SurveyConfig
    curves: pd.DataFrame  # object, level, fp, fn, tp, loss, value, value_norm, grad_l2
    verdicts: pd.DataFrame  # object, loss, verdict, survey_says, agrees, ... (see verdict_table)
    masks: dict[str, np.ndarray] = field(default_factory=dict)  # object -> GT (H, W)
    predictions: dict[str, np.ndarray] = field(default_factory=dict)  # object -> (L, H, W) probs
    device: str = "cpu"


def object_masks(cfg: SurveyConfig) -> dict[str, np.ndarray]:
    from .masks import make_shape
    return {"large": make_shape(cfg.shape, size=cfg.size, radius=cfg.large_radius),
            "small": make_shape(cfg.shape, size=cfg.size, radius=cfg.small_radius)}


def hard_ladder(gt: np.ndarray, cfg: SurveyConfig) -> tuple[np.ndarray, list[dict]]:
    """The hard predictions ``(L, H, W)`` bool of the protocol, with their exact counts."""
    from .perturb import survey_levels, translation_masks
    if cfg.protocol == "translation":
        return translation_masks(gt, levels=cfg.levels, step=cfg.shift_step,
                                 grow=cfg.delta if cfg.translation_grow else 0, seed=cfg.seed)
    fn_mode, fp_mode = ("holes", "blobs") if cfg.protocol == "blobs" else ("boundary", cfg.fp_mode)
    ladder = survey_levels(gt, levels=cfg.levels, delta=cfg.delta, fn_mode=fn_mode, fp_mode=fp_mode, seed=cfg.seed)
    return np.stack([p.mask for p in ladder]), [dict(p.counts) for p in ladder]


def level_stack(gt: np.ndarray, cfg: SurveyConfig) -> tuple[np.ndarray, list[dict]]:
    """The soft (or, with c = 1, hard) predictions ``(L, H, W)`` float32 of the protocol and their counts."""
    from .perturb import soften
    if cfg.protocol == "boundary":  # the survey's ladder in one vectorized call
        from .perturb import survey_stack
        return survey_stack(gt, levels=cfg.levels, delta=cfg.delta, confidence=cfg.confidence,
                            fp_mode=cfg.fp_mode, seed=cfg.seed, blur_sigma=cfg.blur)
    masks, counts = hard_ladder(gt, cfg)
    return soften(masks, confidence=cfg.confidence, blur_sigma=cfg.blur, dtype=np.float32), counts


def verdict_table(curves: pd.DataFrame, tol: float) -> pd.DataFrame:
    """One row per (object, loss) of ``curves``: the verdict at ``tol`` with its robustness, what the
    survey says and whether they agree, and the explanation computed from the curve."""
    rows = []
    groups = {name: d.sort_values("level") for name, d in curves.groupby(["object", "loss"], sort=False)}
    for obj in [o for o in OBJECTS if o in set(curves["object"])]:
        for k in dict.fromkeys(curves["loss"]):
            d = groups[(obj, k)]
            vals = d["value"].to_numpy()
            m = analyze(vals, tol)
            said = claim.survey_says(k, obj)
            rows.append({"object": obj, "loss": k, "family": REGISTRY[k].family, "verdict": m.verdict,
                         "monotone": m.monotone, "violations": m.violations, "kendall_tau": m.kendall_tau,
                         "min_step_rel": m.min_step_rel, "flip_tolerance": m.flip_tolerance,
                         "max_fall_rel": m.max_fall_rel, "first_violation": m.first_violation,
                         "survey_says": said, "agrees": claim.agrees(k, obj, m.verdict),
                         "explanation": explain(k, obj, m, vals, d["tp"].to_numpy(), d["fp"].to_numpy(),
                                                d["fn"].to_numpy(), tol)})
    return pd.DataFrame(rows)


def object_config(cfg: SurveyConfig, obj: str) -> tuple:
    """The settings that decide ``obj``'s curves, as sorted ``(field, value)`` pairs: every field but
    the other object's radius. A page that caches the survey per object with this key recomputes
    only the small object when the small radius moves (half the survey's work)."""
    other = {"large": "small_radius", "small": "large_radius"}[obj]
    return tuple((k, v) for k, v in sorted(asdict(cfg).items()) if k != other)


def run_survey(cfg: SurveyConfig | None = None, keys=None, params=None, *, device="auto",
               progress: Callable[[float, str], None] | None = None, keep_predictions: bool = False,
               objects: tuple[str, ...] = OBJECTS) -> SurveyResult:
    """Curves and verdicts for every loss (or ``keys``) on the large and the small object (or only
    on ``objects``; :func:`combine` joins per-object results again)."""
    cfg = (cfg or SurveyConfig()).validate()
    keys = list(keys or KEYS)
    for k in keys:
        get(k)
    objects = tuple(o for o in OBJECTS if o in objects)
    if not objects:
        raise ValueError(f"objects must name at least one of {', '.join(OBJECTS)}")
    masks = {o: m for o, m in object_masks(cfg).items() if o in objects}
    stacks, maps = {}, {}
    for obj in objects:  # every object's maps first: their background work overlaps with the sweeps
        stacks[obj] = level_stack(masks[obj], cfg)
        maps[obj] = prepare_maps(masks[obj], stacks[obj][0], keys, device=device)
    frames, preds_out = [], {}
    dev = "cpu"
    for oi, obj in enumerate(objects):
        gt = masks[obj]
        preds, counts = stacks[obj]
        if keep_predictions:
            preds_out[obj] = preds
        step = (lambda f, oi=oi, obj=obj: progress((oi + f) / len(objects), obj)) if progress else None
        res = run_sweep(gt, preds, keys, params, device=device, progress=step, maps=maps[obj])
        dev = res.device
        frames.append(curve_frame(obj, counts, keys, res.values, res.grad_l2))
    curves = pd.concat(frames, ignore_index=True)
    return SurveyResult(cfg, curves, verdict_table(curves, cfg.tolerance), masks, preds_out, dev)


def split(res: SurveyResult) -> dict[str, SurveyResult]:
    """``res`` as one result per object (curves, verdicts, mask and level stack of that object)."""
    def only(d: pd.DataFrame, obj: str) -> pd.DataFrame:
        return d[d["object"] == obj].reset_index(drop=True)
    return {o: SurveyResult(res.config, only(res.curves, o), only(res.verdicts, o), {o: res.masks[o]},
                            {o: res.predictions[o]} if o in res.predictions else {}, res.device)
            for o in OBJECTS if o in res.masks}


def combine(cfg: SurveyConfig, parts: dict[str, SurveyResult]) -> SurveyResult:
    """One result of ``cfg`` from per-object results (each computed with a configuration of the same
    :func:`object_config`), objects in :data:`OBJECTS` order."""
    objs = [o for o in OBJECTS if o in parts]
    for o in objs:
        if object_config(parts[o].config, o) != object_config(cfg, o):
            raise ValueError(f"the {o} object's part was computed for other settings")
    return SurveyResult(cfg, pd.concat([parts[o].curves for o in objs], ignore_index=True),
                        pd.concat([parts[o].verdicts for o in objs], ignore_index=True),
                        {o: parts[o].masks[o] for o in objs},
                        {o: parts[o].predictions[o] for o in objs if o in parts[o].predictions},
                        parts[objs[0]].device)


def curve_frame(obj: str, counts: list[dict], keys, values: dict, grad_l2: dict) -> pd.DataFrame:
    """The long curve table of one object: one row per (loss, level)."""
    L = len(counts)
    lv = np.arange(L)
    fp, fn, tp = (np.array([c[n] for c in counts]) for n in ("fp", "fn", "tp"))
    cols = {"object": [], "level": [], "fp": [], "fn": [], "tp": [], "loss": [], "value": [], "value_norm": [],
            "grad_l2": []}
    for k in keys:
        vals = np.asarray(values[k], dtype=np.float64)
        if not np.isfinite(vals).all():
            raise ArithmeticError(f"{k} produced a non-finite value on the {obj} object")
        for name, col in (("object", np.full(L, obj)), ("level", lv), ("fp", fp), ("fn", fn), ("tp", tp),
                          ("loss", np.full(L, k)), ("value", vals), ("value_norm", normalize(vals)),
                          ("grad_l2", np.asarray(grad_l2[k], dtype=np.float64))):
            cols[name].append(col)
    return pd.DataFrame({c: np.concatenate(v) for c, v in cols.items()})


def _tp_zero_level(tp: np.ndarray) -> int | None:
    z = np.flatnonzero(tp == 0)
    return int(z[0]) if z.size else None


def _frozen_counts_level(fp, fn) -> int | None:
    """First level from which FP and FN stop changing (the error no longer grows), if any."""
    fp, fn = np.asarray(fp), np.asarray(fn)
    same = (np.diff(fp) == 0) & (np.diff(fn) == 0)
    if not same.any():
        return None
    tail = np.flatnonzero(~same)
    k = int(tail[-1]) + 1 if tail.size else 0
    return k if k < same.size else None


_RISE_REASONS = {
    "distribution": "Each added FP or FN pixel adds its own cross-entropy term, whatever the object size.",
    "boundary": "Added pixels lie ever farther from the contour, and the distance weights grow with them.",
    "sensitivity_specificity": ("A normalized sum of squared errors: every FN pixel adds to the first term and every "
                                "FP pixel to the second; there is no ratio to saturate."),
    "conservative": ("Its per-pixel term is strictly decreasing in p_t (positive below p_t = 1/a, negative above), "
                     "and every added error turns a pixel from p_t = c into p_t = 1 - c, so each one raises the mean."),
    "compound": "Its cross-entropy part adds a term for every added FP or FN pixel, so the sum keeps rising.",
    "region": "True positives remain, so the soft overlap keeps falling as FP and FN grow.",
}
_STALL_REASONS = {
    "wce": ("With β = auto = (N-Σg)/Σg a false negative weighs ~N/|G| times a false positive; once the object is "
            "fully missed only FP pixels are added, and their steps are small against that range."),
    "balanced_ce": ("With β = auto = 1-Σg/N nearly all weight sits on the object's pixels; once the object is fully "
                    "missed only FP pixels are added, and their steps are small against that range."),
    "hausdorff_dt": ("With soft predictions every background pixel carries a (1-c)² error weighted by its distance to "
                     "the predicted contour; growing the prediction outward shrinks that distance for the whole "
                     "background, which can outweigh the new errors."),
    "cmss": "CMSS averages CE over the structurally mismatched pixels only, and that set changes with the error.",
    "boundary": ("φ_G is 0 on the object's inner contour, negative inside and positive outside: peeling the first "
                 "ring changes nothing, and deeper false negatives and every false positive raise the loss, by "
                 "(2c - 1)·|φ| per pixel, which is small near the contour."),
}


def explain(key: str, obj: str, m, vals: np.ndarray, tp, fp, fn, tol: float = 1e-3) -> str:
    """One or two sentences, built from the measured curve, saying what it does and why."""
    spec = REGISTRY[key]
    k0 = _tp_zero_level(np.asarray(tp))
    frozen = _frozen_counts_level(fp, fn)
    steps = np.diff(np.asarray(vals, dtype=np.float64))
    n = steps.size
    tau = f"τ = {m.kendall_tau:.2f}"
    if m.verdict == "rises":
        head = (f"Rises at every step; the smallest step is {m.min_step_rel:.2g}× an even rise, so it would read "
                f"'saturates' from tolerance {m.flip_tolerance:.1e} on ({tau}).")
        reason = _RISE_REASONS.get(key) or _RISE_REASONS[spec.family]
        if spec.family == "region" and key != "sensitivity_specificity" and k0 is not None:
            reason = f"Even after TP = 0 (level {k0}) the soft overlap still falls with the growing FP mass."
        return f"{head} {reason}"
    if m.verdict == "saturates":
        at = int(np.argmin(steps))
        head = (f"Saturates: every step rises, but the smallest (level {at}→{at + 1}) is only "
                f"{m.flip_tolerance:.1e} of the range ({m.min_step_rel:.2g}× an even rise), not above the tolerance "
                f"{tol:g}; it reads 'rises' for any tolerance below {m.flip_tolerance:.1e} ({tau}).")
    elif m.verdict == "flat":
        zero = int(np.sum(np.abs(steps) <= 1e-6 * float(np.abs(vals).max()))) if n else 0
        head = (f"Flat: {zero} of {n} steps leave the value unchanged within float precision"
                + (f", first at level {m.first_violation}" if m.first_violation is not None else "") + f" ({tau}).")
    else:
        head = (f"Falls: by up to {m.max_fall_rel:.1%} of its range at some step ({m.violations} of {n} steps do "
                f"not rise by more than the tolerance; {tau}).")
    if frozen is not None and spec.family != "boundary":
        reason = (f"From level {frozen} on FP and FN no longer change (the moved object no longer overlaps itself), "
                  "so a loss of per-pixel errors and overlap counts sees the same prediction errors.")
    elif key in _STALL_REASONS:
        reason = _STALL_REASONS[key]
    elif spec.family == "region" or key in ("gdl_boundary", "dice_bce", "dice_focal", "exp_log"):
        reason = (f"The object has no true positive left from level {k0} on: the overlap is then only the (1-c) "
                  "mass of the prediction on the object, so each added FP pixel barely changes the ratio." if k0 is not None
                  else "The overlap ratio changes too little per step relative to its range.")
    else:
        reason = "Its weighting changes with the error pattern, not only with the error count."
    return f"{head} {reason}"


def general_note(res: "SurveyResult") -> str:
    """What the measured verdicts on the small object say, by kind of loss (computed, not typed)."""
    v = res.verdicts[res.verdicts.object == "small"]
    per_pixel = v[v.family.isin(["distribution", "compound", "boundary"])]
    overlap = v[v.loss.isin(claim.OVERLAP_LOSSES)]
    names = lambda d: ", ".join(REGISTRY[k].name for k in d.loss) or "none"
    words = lambda d: ", ".join(f"{(d.verdict == w).sum()} {w}" for w in ("rises", "saturates", "flat", "falls")
                                if (d.verdict == w).any())
    return (f"On the small object, of {len(per_pixel)} losses with a per-pixel (cross-entropy or distance) term: "
            f"{words(per_pixel) or 'none'}; of {len(overlap)} overlap-based losses: {words(overlap) or 'none'}"
            + (f" (saturating: {names(overlap[overlap.verdict == 'saturates'])})" if (overlap.verdict == "saturates").any() else "")
            + ". 'Saturates' means the loss still rises at every step, by less than the tolerance: it barely "
              "notices more error, but it is not flat.")


def summary_table(res: SurveyResult) -> str:
    """A plain-text table: one row per loss, verdict per object, what the survey says, agreement."""
    v = res.verdicts.set_index(["loss", "object"])
    lines = [f"{'loss':<24}{'large':<11}{'small':<11}{'flip tol (small)':<18}{'survey (small)':<16}{'agrees':<7}",
             "-" * 87]
    for k in dict.fromkeys(res.verdicts["loss"]):
        lg, sm = v.loc[(k, "large")], v.loc[(k, "small")]
        flip = "—" if sm["flip_tolerance"] is None or pd.isna(sm["flip_tolerance"]) else f"{sm['flip_tolerance']:.1e}"
        agree = {True: "yes", False: "no"}.get(sm["agrees"], "—")
        lines.append(f"{k:<24}{lg['verdict']:<11}{sm['verdict']:<11}{flip:<18}{sm['survey_says']:<16}{agree:<7}")
    return "\n".join(lines)


def agreement_text(res: SurveyResult) -> str:
    """Plain statement of what the survey says, what is measured, and where they agree."""
    v = res.verdicts
    tol = res.config.tolerance
    out = []
    up, n = claim.large_share(v)
    if n:
        out.append(f"Large object: {up} of {n} losses rise at every step (tolerance {tol:g}). Survey: "
                   f"{claim.SENTENCE['large']} That is a statement about the share, not about any one loss.")
    vs = v[v.object == "small"]
    if len(vs):
        stated = vs[vs.survey_says != claim.NOT_STATED]
        ok = stated[stated.agrees == True]  # noqa: E712 (None = not stated)
        out.append(f"Small object: survey: {claim.SENTENCE['small']} Of the {len(stated)} losses the sentence names, "
                   f"{len(ok)} agree at tolerance {tol:g}; {len(vs) - len(stated)} losses are not stated by the survey.")
        for _, r in stated[stated.agrees == False].iterrows():  # noqa: E712
            out.append(f"  {REGISTRY[r.loss].name}: survey says it {r.survey_says}; measured: {r.verdict}. {r.explanation}")
        out.append(general_note(res))
    return "\n".join(out)


def config_dict(cfg: SurveyConfig) -> dict:
    return asdict(cfg)
