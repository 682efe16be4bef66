"""The loss registry: plain data, the single source of truth.

Every loss is one :class:`LossSpec`: its key, name, family, function, parameters (each a
:class:`Param` with default, range, scale and meaning), LaTeX formula, reference, whether it needs
ground-truth distance maps and whether it accepts multi-class input. The app's sliders, the
catalogue page, the command line, the README table and the tests all read this table; adding a
loss is one function and one entry here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import torch

from .distance import TargetMaps
from .losses import boundary as B
from .losses import compound as K
from .losses import distribution as D
from .losses import lovasz as LV
from .losses import recent as RC
from .losses import region as R
from .losses import thin as TH
from .tensors import check_pair

FAMILIES = ("distribution", "region", "boundary", "compound")


@dataclass(frozen=True)
class Param:
    """One loss parameter: numeric with a closed range, or a choice among strings.

    ``auto=True`` means the value ``None`` (spelled ``"auto"`` in the UI and on the command line)
    is allowed and computed from the ground truth. ``zero=True`` allows exactly 0 besides the range
    ``[low, high]`` (a log-scale parameter such as the smoothing, where 0 switches the term off).
    """

    name: str
    default: Any
    low: float | None = None
    high: float | None = None
    log: bool = False
    help: str = ""
    choices: tuple[str, ...] | None = None
    auto: bool = False
    zero: bool = False
    # values at which the parameter switches a term of the loss off (a tuning recommendation never
    # lands there), and what is lost
    off_at: tuple[float, ...] = ()
    off_note: str = ""
    # why this parameter cannot change any scale-free quantity (ratios, relative slopes), if so
    inert: str = ""

    def validate(self, value: Any) -> Any:
        """Return the value in canonical form, or raise ``ValueError`` saying what is allowed."""
        if self.auto and (value is None or (isinstance(value, str) and value.strip().lower() == "auto")):
            return None
        if self.choices is not None:
            if value not in self.choices:
                raise ValueError(f"{self.name} must be one of {', '.join(self.choices)}; got {value!r}")
            return value
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name} must be a number{' or auto' if self.auto else ''}; got {value!r}") from None
        if self.zero and v == 0:
            return 0.0
        if not math.isfinite(v) or v < self.low or v > self.high:
            raise ValueError(f"{self.name} must be {'0 or ' if self.zero else ''}in [{self.low:g}, {self.high:g}]; "
                             f"got {value!r}")
        return v

    @property
    def numeric(self) -> bool:
        return self.choices is None


@dataclass(frozen=True)
class LossSpec:
    key: str
    name: str
    family: str
    fn: Callable[..., torch.Tensor]
    formula: str
    reference: str
    params: tuple[Param, ...] = ()
    needs_maps: bool = False
    multiclass: bool = False
    # depends on the pixels only through the multiset of their (z, g) pairs (per-pixel terms and their
    # sums/means, or a sort of per-pixel errors with tie-averaged gradients), so it can be evaluated
    # exactly on the distinct (z, g) pairs weighted by their counts (tensors.weighted_pixels)
    reducible: bool = False
    # the distance maps (TargetMaps names, or "prediction_contour") the per-pixel terms read besides
    # (z, g): evaluated exactly on the distinct (z, g, map values) tuples (compression.compress_with_maps)
    pixel_maps: tuple[str, ...] = ()
    # reads the distance field of the thresholded prediction (the engine starts it in the background)
    prediction_distance: bool = False
    use_case: str = ""
    notes: str = ""
    # one line shown beside the parameter sliders on every page (a naming trap, an option's meaning)
    slider_note: str = ""
    # the settings the paper recommends, as (who, {param: value}) in this library's parameter names
    paper: tuple[tuple[str, dict], ...] = ()

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise ValueError(f"loss {self.key!r} has no parameter {name!r}; it has: {', '.join(p.name for p in self.params) or 'none'}")

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Defaults updated with validated overrides (unknown names raise ``ValueError``)."""
        out = self.defaults
        for k, v in (overrides or {}).items():
            out[k] = self.param(k).validate(v)
        return out

    def __call__(self, logits: torch.Tensor, target: torch.Tensor, *, maps: TargetMaps | None = None,
                 **params: Any) -> torch.Tensor:
        """Evaluate with validated parameters: ``(B, C, *spatial)`` logits -> ``(B,)``."""
        check_pair(logits, target)
        if not self.multiclass and logits.shape[1] != 1:
            raise ValueError(f"{self.key} supports binary input only (C=1); got C={logits.shape[1]}")
        kwargs = self.resolve(params)
        if self.needs_maps:
            kwargs["maps"] = maps
        return self.fn(logits, target, **kwargs)


_LOVASZ_TIES = ("Pixels with equal errors get the gradient averaged over all orders of the tie, so identical "
                "pixels get identical gradients (torch.sort alone leaves a raster-order pattern); the value "
                "does not depend on the order.")


def _smooth(default: float = 1.0) -> Param:
    return Param("smooth", default, 1e-6, 100.0, log=True, zero=True,
                 help="smoothing s added to numerator and denominator; decides empty and tiny objects; "
                      "0 = none: an empty ground truth then gives loss 1 (and gradient 0) for any prediction "
                      "that is not exactly 0 everywhere, which a sigmoid never is")


def _split_smooth() -> tuple[Param, ...]:
    return (Param("smooth_nr", None, 1e-8, 100.0, log=True, auto=True, zero=True,
                  help="smoothing of the numerator only; auto = smooth (MONAI's smooth_nr)"),
            Param("smooth_dr", None, 1e-8, 100.0, log=True, auto=True, zero=True,
                  help="smoothing of the denominator only; auto = smooth (MONAI's smooth_dr; kornia's eps)"))


_REDUCTION = Param("reduction", "sample", choices=R.REDUCTIONS,
                   help="where TP/FP/FN are summed: per sample (default), over the whole batch (one value for the "
                        "batch, reported for each sample: couples the samples), or pooled over the classes (micro)")
_BACKGROUND = Param("background", "include", choices=R.BACKGROUND,
                    help="multi-class: score channel 0 (background) or not; binary input scores its foreground")
_EMPTY = Param("empty", "smooth", choices=R.EMPTY,
               help="score of a class with an empty ground truth: the smoothed formula, 1 (loss 0; SMP's mask), "
                    "0 (loss 1), or left out of the class mean")
_AVERAGE = Param("average", "present", choices=R.AVERAGE,
                 help="class mean over the classes present in the ground truth, or over all classes")
_SOFT = Param("soft", "product", choices=R.SOFT,
              help="TP = Σpg, or the Wang & Blaschko (2023) semimetric (Σp+Σg-Σ|p-g|)/2: same on hard labels, "
                   "0 at p = g on soft labels")
_OUTPUT = Param("output", "one_minus", choices=R.OUTPUT,
                help="1 - score (default) or -score (nnU-Net's SoftDiceLoss: same gradient, shifted by -1)")


def _conventions(soft: bool = True, multiclass: bool = True, output: bool = False) -> tuple[Param, ...]:
    """The convention options of a region loss (see segloss_core/losses/region.py)."""
    out = _split_smooth() + (_REDUCTION,)
    out += (_BACKGROUND,) if multiclass else ()
    out += (_EMPTY,) + ((_AVERAGE,) if multiclass else ()) + ((_SOFT,) if soft else ())
    return out + ((_OUTPUT,) if output else ())


_BATCH_NOTE = ("reduction = batch pools the counts of a batch of images (the Conventions page, training). On Tune, "
               "Large vs small and Gradients every error level is its own image, a batch of one, where batch "
               "equals per sample, and the sweeps evaluate it so.")
_CONVENTIONS_NOTE = ("Conventions (parameters): reduction per sample, over the batch (couples the samples) or "
                     "pooled over the classes; smoothing split into numerator and denominator; background in or "
                     "out; the score of an empty ground truth; present- or all-class averaging; Wang & Blaschko's "
                     "semimetric form for soft labels. Library presets: segloss_core.conventions.PRESETS.")


_ALPHA_FP = Param("alpha", 0.3, 0.0, 1.0, help="weight of false positives", off_at=(0.0,),
                  off_note="false positives no longer count")
_BETA_FN = Param("beta", 0.7, 0.0, 1.0, help="weight of false negatives", off_at=(0.0,),
                 off_note="false negatives no longer count")

_SPECS = [
    # ---- distribution-based
    LossSpec("bce", "Binary cross-entropy", "distribution", D.bce,
             r"-\frac{1}{N}\sum_x \big[g\log p + (1-g)\log(1-p)\big]", "Standard; multi-class: categorical CE",
             multiclass=True,
             reducible=True, use_case="Works best when classes are roughly balanced; the Bernoulli log-likelihood."),
    LossSpec("wce", "Weighted cross-entropy", "distribution", D.wce,
             r"-\frac{1}{N}\sum_x \big[\beta\, g\log p + (1-g)\log(1-p)\big]",
             "Long, Shelhamer & Darrell, CVPR 2015",
             (Param("beta", None, 0.01, 100.0, log=True, auto=True,
                    help="weight of foreground pixels; auto = (N-Σg)/Σg; >1 cuts FN, <1 cuts FP"),),
             multiclass=True, reducible=True, use_case="Skewed data sets: positive pixels are weighted by β."),
    LossSpec("balanced_ce", "Balanced cross-entropy", "distribution", D.balanced_ce,
             r"-\frac{1}{N}\sum_x \big[\beta\, g\log p + (1-\beta)(1-g)\log(1-p)\big]",
             "Xie & Tu, HED, ICCV 2015",
             (Param("beta", None, 0.0, 1.0, auto=True, help="foreground weight; background gets 1-β; auto = 1-Σg/N",
                    off_at=(0.0, 1.0), off_note="one class gets weight 0 (β = 0: the object; β = 1: the background)"),),
             multiclass=True, reducible=True, use_case="Skewed data sets: positives weighted by β and negatives by 1-β."),
    LossSpec("focal", "Focal loss", "distribution", D.focal,
             r"-\frac{1}{N}\sum_x \big[\alpha(1-p)^{\gamma} g\log p + (1-\alpha)p^{\gamma}(1-g)\log(1-p)\big]",
             "Lin et al., ICCV 2017",
             (Param("alpha", 0.25, 0.0, 1.0, help="foreground weight α (background 1-α)", off_at=(0.0, 1.0),
                    off_note="one class gets weight 0 (α = 0: the object's term vanishes; α = 1: the background's)"),
              Param("gamma", 2.0, 0.0, 5.0, help="focusing γ: down-weights easy pixels; 0 is balanced CE")),
             multiclass=True, reducible=True, use_case="Highly imbalanced data: easy pixels are down-weighted, hard ones dominate."),
    LossSpec("unet_weighted_ce", "U-Net weight-map CE", "distribution", D.unet_weighted_ce,
             r"\frac{1}{N}\sum_x w(x)\,CE(x),\ w = w_c + w_0 e^{-(d_1+d_2)^2/2\sigma^2}",
             "Ronneberger, Fischer & Brox, MICCAI 2015",
             (Param("w0", 10.0, 0.0, 50.0, help="border weight w0 between touching objects", off_at=(0.0,),
                    off_note="the border term is switched off (plain CE)"),
              Param("sigma", 5.0, 0.5, 50.0, log=True, help="border width σ in pixels"),
              Param("class_weight", "none", choices=("none", "inverse_frequency"),
                    help="w_c: 1, or inverse class frequency normalized to mean 1"),
              Param("border", "background", choices=("background", "everywhere"),
                    help="where the border term applies: background pixels only (the separating gaps; default) "
                         "or every pixel, as the paper's equation is printed")),
             needs_maps=True, pixel_maps=("objects",),
             use_case="Touching objects (cells): forces the separating gaps to be learned.",
             slider_note=("border = background applies the border term in the gaps between objects only; "
                          "everywhere is the paper's equation as printed. With fewer than two objects w0 and σ do nothing."),
             notes=("The paper's equation adds the border term at every pixel; its text and figure aim it at the "
                    "background gaps between touching cells. border='background' (default) applies it there only; "
                    "border='everywhere' is the equation as printed (object pixels near a second object then weigh "
                    "more too).")),
    LossSpec("distance_penalized_ce", "Distance-map penalized CE", "distribution", D.distance_penalized_ce,
             r"\frac{1}{N}\sum_x (1+\varphi(x))\,CE(x)", "Caliva et al., MIDL 2019", needs_maps=True,
             pixel_maps=("side_penalty",), use_case="A CE variant that focuses on boundaries that are hard to segment.",
             notes=("φ = (max d - d)/max d per side, with d the EDT (1 on the pixels next to the contour), so contour "
                    "pixels weigh 2 - 1/max d. Some other reference code divides by max d - 1 instead (contour pixels "
                    "weigh exactly 2); the two differ by the factor max d/(max d - 1) on φ.")),
    LossSpec("conservative", "Conservative loss", "distribution", D.conservative,
             r"\frac{1}{N}\sum_x \lambda(1+\log_a p_t)^2\,\log_a(-\log_a p_t)", "Zhu et al., ECCV 2018",
             (Param("lam", 5.0, 0.1, 20.0, help="scale λ",
                    inert="a pure scale factor: it multiplies the loss and its gradient, so it changes no ratio "
                          "or relative slope (only the effective learning rate)"),
              Param("a", math.e, 1.1, 10.0, help="log base a; the loss is 0 at p_t = 1/a")),
             reducible=True,
             use_case=("Domain adaptation (Zhu et al. intend it to penalize both the worst and the over-confident "
                       "'top performers'). As printed and implemented it is strictly decreasing in p_t, so it pushes "
                       "every pixel towards p_t = 1, harder than CE when confident."),
             notes=("Strictly decreasing in p_t: +∞ as p_t → 0, 0 at p_t = 1/a, about -0.17 at 0.5, -9.0 at 0.9 and "
                    "-22.5 at 0.99 (λ = 5, a = e), unbounded below as p_t → 1 (p_t is clamped at 1-eps). Its "
                    "gradient w.r.t. the logit tends to -λ as p_t → 1, where CE's tends to 0: it does not reward "
                    "moderate confidence, whatever the paper's intent.")),
    # ---- region-based
    LossSpec("dice", "Dice loss", "region", R.dice,
             r"1 - \frac{2\,TP + s}{\sum p + \sum g + s}", "Drozdzal et al. 2016; Milletari et al. 2016",
             (_smooth(),) + _conventions(output=True), multiclass=True,
             reducible=True, use_case="Directly optimizes the Dice score; common for imbalanced foreground.",
             notes=_CONVENTIONS_NOTE, slider_note=_BATCH_NOTE),
    LossSpec("squared_dice", "Squared (V-Net) Dice", "region", R.squared_dice,
             r"1 - \frac{2\sum pg + s}{\sum p^2 + \sum g^2 + s}", "Milletari, Navab & Ahmadi, 3DV 2016",
             (_smooth(),) + _conventions(soft=False), multiclass=True, reducible=True,
             use_case="V-Net's form with squares in the denominator.", slider_note=_BATCH_NOTE,
             notes="Equal to its own Wang & Blaschko semimetric form on soft labels. " + _CONVENTIONS_NOTE),
    LossSpec("jaccard", "Soft IoU / Jaccard", "region", R.jaccard,
             r"1 - \frac{TP + s}{\sum p + \sum g - TP + s}", "Rahman & Wang, ISVC 2016",
             (_smooth(),) + _conventions(), multiclass=True, reducible=True,
             use_case="Directly optimizes IoU; like Dice, unstable on tiny objects.", notes=_CONVENTIONS_NOTE, slider_note=_BATCH_NOTE),
    LossSpec("tversky", "Tversky loss", "region", R.tversky,
             r"1 - \frac{TP + s}{TP + \alpha FP + \beta FN + s}", "Salehi, Erdogmus & Gholipour, MLMI 2017",
             (_ALPHA_FP, _BETA_FN, _smooth()) + _conventions(), multiclass=True,
             reducible=True, use_case="Dice variant that trades false positives (α) against false negatives (β).",
             notes="α weighs FP and β FN, as in MONAI and segmentation_models_pytorch. " + _CONVENTIONS_NOTE, slider_note=_BATCH_NOTE),
    LossSpec("focal_tversky", "Focal Tversky loss", "region", R.focal_tversky,
             r"\Big(1 - \frac{TP + s}{TP + \alpha FP + \beta FN + s}\Big)^{\gamma}", "Abraham & Khan, ISBI 2019",
             (Param("alpha", 0.3, 0.0, 1.0, help="weight of false positives (the paper's β; the paper's α weighs FN)",
                    off_at=(0.0,), off_note="false positives no longer count"),
              Param("beta", 0.7, 0.0, 1.0, help="weight of false negatives (the paper's α = 0.7 is this β = 0.7)",
                    off_at=(0.0,), off_note="false negatives no longer count"),
              Param("gamma", 0.75, 0.25, 3.0, help="exponent γ (the paper's 1/γ; 0.75 = paper's 4/3)"),
              _smooth()) + _conventions(), multiclass=True, reducible=True,
             use_case="Tversky with a focusing exponent for hard examples.",
             slider_note=("Here α weighs false positives and β false negatives. Abraham & Khan's paper and code "
                          "name them the other way round: their α = 0.7 (on FN) is β = 0.7 here." + " " + _BATCH_NOTE),
             notes=("Naming differs from the paper: Abraham & Khan's paper and code put α on the false negatives "
                    "(α = 0.7, β = 0.3). Here, as in Salehi's Tversky loss, α weighs false positives and β false "
                    "negatives, so the paper's setting is α = 0.3, β = 0.7 here (the default).")),
    LossSpec("generalized_dice", "Generalized Dice", "region", R.generalized_dice,
             r"1 - 2\frac{\sum_l w_l \sum_x p_l g_l}{\sum_l w_l \sum_x (p_l + g_l)},\ w_l = \frac{1}{(\sum_x g_l)^2}",
             "Sudre et al., DLMIA 2017",
             (Param("reduction", "sample", choices=("sample", "batch"),
                    help="volumes and overlaps per sample, or summed over the batch (MONAI batch=True; couples the samples)"),
              _BACKGROUND), multiclass=True,
             reducible=True, use_case="Dice with labels weighted by inverse squared volume; for several labels of very different size.", slider_note=_BATCH_NOTE,
             notes=("A label absent from the ground truth gets the largest finite weight of the sample (NiftyNet's and "
                    "MONAI's choice). Kervadec et al.'s boundary-loss code uses 1/(Σg + 1e-10)² instead, so an absent "
                    "label weighs ~1e20 and its false positives dominate the loss.")),
    LossSpec("sensitivity_specificity", "Sensitivity-specificity", "region", R.sensitivity_specificity,
             r"\lambda\frac{\sum (g-p)^2 g}{\sum g + \epsilon} + (1-\lambda)\frac{\sum (g-p)^2(1-g)}{\sum(1-g) + \epsilon}",
             "Brosch et al., MICCAI 2015 (NiftyNet form)",
             (Param("lam", 0.05, 0.0, 1.0, help="weight λ of the foreground (sensitivity) error", off_at=(0.0, 1.0),
                    off_note="one of the two terms gets weight 0 (λ = 0: missed pixels; λ = 1: false alarms)"),
              Param("eps", 1e-5, 1e-8, 1.0, log=True, help="ε in the denominators")),
             reducible=True, use_case="When the balance between missing lesion pixels and false alarms must be set explicitly."),
    LossSpec("log_cosh_dice", "Log-cosh Dice", "region", R.log_cosh_dice,
             r"\log\cosh\big(L_{Dice}\big)", "Jadon, CIBCB 2020", (_smooth(),) + _conventions(), multiclass=True,
             reducible=True, use_case="Smoothed Dice loss (log-cosh as in regression); for skewed data sets.", slider_note=_BATCH_NOTE),
    LossSpec("lovasz_hinge", "Lovász hinge", "region", LV.lovasz_hinge,
             r"\overline{\Delta_J}\big(\max(0, 1 - z(2g-1))\big)", "Berman, Rannen Triki & Blaschko, CVPR 2018",
             reducible=True, use_case="Binary surrogate of IoU on logits (per image).",
             notes=_LOVASZ_TIES),
    LossSpec("lovasz_softmax", "Lovász-Softmax", "region", LV.lovasz_softmax,
             r"\frac{1}{|C|}\sum_{c} \overline{\Delta_{J_c}}\big(|g_c - p_c|\big)", "Berman, Rannen Triki & Blaschko, CVPR 2018",
             (Param("classes", "present", choices=("present", "all"), help="average over present classes or all"),),
             multiclass=True, reducible=True, use_case="Convex surrogate of mean IoU on probabilities.",
             notes=_LOVASZ_TIES),
    # ---- boundary-based
    LossSpec("boundary", "Boundary loss", "boundary", B.boundary,
             r"\frac{1}{N}\sum_x \varphi_G(x)\,p(x)", "Kervadec et al., MIDL 2019", needs_maps=True,
             pixel_maps=("signed",), use_case="Highly unbalanced segmentation; integrates over the contour, usually with a region loss.",
             notes="Can be negative; 0 for an empty or full ground truth."),
    LossSpec("gdl_boundary", "Generalized Dice + boundary", "boundary", B.gdl_boundary,
             r"\alpha L_{GD} + (1-\alpha) L_B", "Kervadec et al., MIDL 2019",
             (Param("alpha", 0.5, 0.0, 1.0, help="weight α of the generalized Dice term", off_at=(0.0, 1.0),
                    off_note="one of the two terms is switched off (α = 0: generalized Dice; α = 1: boundary)"),),
             needs_maps=True,
             pixel_maps=("signed",), use_case="The boundary loss as used in the paper: alongside a region loss."),
    LossSpec("hausdorff_dt", "Hausdorff DT loss", "boundary", B.hausdorff_dt,
             r"\frac{1}{N}\sum_x (p-g)^2\,(d_G^{\alpha} + d_P^{\alpha})", "Karimi & Salcudean, IEEE TMI 2019",
             (Param("alpha", 2.0, 0.5, 4.0, help="exponent α of the distances"),), needs_maps=True,
             prediction_distance=True, use_case="Approximates the Hausdorff distance; penalizes errors far from the contour."),
    LossSpec("shape_aware", "Shape-aware loss", "boundary", B.shape_aware,
             r"\frac{1}{N}\sum_x (1 + E(x))\,CE(x)", "Al Arif, Knapp & Slabaugh, 2017", needs_maps=True,
             pixel_maps=("to_contour", "prediction_contour"), use_case="CE weighted by the distance of the predicted contour to the true one; hard boundaries."),
    # ---- compound
    LossSpec("combo", "Combo loss", "compound", K.combo,
             r"\alpha L_{mBCE} + (1-\alpha)(1 - DSC)", "Taghanaki et al., CMIG 2019",
             (Param("alpha", 0.5, 0.0, 1.0, help="weight α of the modified BCE", off_at=(0.0, 1.0),
                    off_note="one of the two terms is switched off (α = 0: the mBCE; α = 1: the Dice term)"),
              Param("beta", 0.5, 0.0, 1.0, help="β in mBCE; >0.5 penalizes false negatives more", off_at=(0.0, 1.0),
                    off_note="the mBCE drops one class (β = 0: the object's pixels; β = 1: the background's)")),
             reducible=True, use_case="Mild class imbalance: CE's smooth gradients with Dice's overlap term."),
    LossSpec("exp_log", "Exponential logarithmic", "compound", K.exp_log,
             r"w_d\,\mathbb{E}_l[(-\ln D_l)^{\gamma}] + w_c\,\mathbb{E}_x[w_l(-\ln p_l)^{\gamma}]",
             "Wong et al., MICCAI 2018",
             (Param("gamma", 0.3, 0.1, 3.0, help="exponent γ of both terms"),
              Param("w_dice", 0.8, 0.0, 1.0, help="weight of the Dice term", off_at=(0.0,),
                    off_note="the Dice term is switched off"),
              Param("w_ce", 0.2, 0.0, 1.0, help="weight of the cross-entropy term", off_at=(0.0,),
                    off_note="the cross-entropy term is switched off")),
             reducible=True, use_case="Small structures of very different sizes: focuses on poorly predicted labels."),
    LossSpec("dice_bce", "Dice + BCE", "compound", K.dice_bce,
             r"L_{Dice} + \lambda L_{BCE}", "Common practice (seed 003)",
             (Param("lam", 1.0, 0.0, 10.0, help="weight λ of BCE", off_at=(0.0,), off_note="the BCE term is switched off"),
              _smooth()) + _conventions(multiclass=False, output=True),
             reducible=True, use_case="Everyday compound; CE may vanish relative to Dice under extreme imbalance.", slider_note=_BATCH_NOTE,
             notes=("MONAI's DiceCELoss and nnU-Net's DC_and_CE_loss (binary) are settings of it: "
                    "segloss_core.conventions.PRESETS. With reduction = batch only the Dice term couples the samples.")),
    LossSpec("dice_focal", "Dice + focal", "compound", K.dice_focal,
             r"L_{Dice} - \frac{\lambda}{N}\sum_x\big[(1-p)^{\gamma} g\log p + p^{\gamma}(1-g)\log(1-p)\big]",
             "Zhu et al., AnatomyNet, Med. Phys. 2019",
             (Param("lam", 0.5, 0.0, 10.0, help="weight λ of the focal term", off_at=(0.0,),
                    off_note="the focal term is switched off"),
              Param("gamma", 2.0, 0.0, 5.0, help="focusing γ"), _smooth()) + _conventions(multiclass=False, output=True),
             reducible=True, use_case="Small organs: Dice for overlap, focal for hard pixels.", slider_note=_BATCH_NOTE),
    LossSpec("cmss", "Correlation-maximized structural similarity", "compound", K.cmss,
             r"\frac{\sum_x e f\, CE}{\sum_x f},\ f = \mathbb{1}[e > \beta\max e]",
             "Zhao, Wu, Chu, Hu & Cai, arXiv:1910.08711, 2019",
             (Param("beta", 0.1, 0.0, 0.99, help="threshold β on the structural error e"),),
             use_case="Structure-aware: CE restricted to pixels whose local structure disagrees."),
    # ---- since 2020 and thin structures (issue 14)
    LossSpec("cldice", "Soft clDice (+ Dice)", "region", TH.cldice,
             r"(1-\alpha)L_{Dice} + \alpha\Big(1 - \frac{2\,T_{prec}T_{sens}}{T_{prec}+T_{sens}}\Big),\ "
             r"T_{prec} = \frac{\sum S_P g + s}{\sum S_P + s},\ T_{sens} = \frac{\sum S_G p + s}{\sum S_G + s}",
             "Shit et al., CVPR 2021",
             (Param("alpha", 0.5, 0.0, 1.0, help="weight α of the clDice term (1-α on soft Dice); 1 = clDice alone",
                    off_at=(0.0,), off_note="the clDice term is switched off (plain soft Dice)"),
              Param("iters", 3.0, 0.0, 20.0, help="soft-skeleton iterations k (rounded to an integer); at least the "
                                                 "largest half-width of the structures in pixels"),
              Param("smooth", 1.0, 1e-4, 10.0, log=True, help="smoothing s of T_prec, T_sens and the Dice term")),
             use_case=("Vessels, airways, neurites: the soft skeletons of prediction and ground truth are scored "
                       "against the other mask, so a gap that cuts a thin structure costs a share of its centreline."),
             notes=("The authors' soft_dice_cldice: soft skeleton by iterated min/max pooling (Algorithm 1), "
                    "smoothing in both ratios and the Dice term, no constant in the harmonic mean. MONAI's "
                    "SoftclDiceLoss is the α = 1 term with 1e-4 added to the harmonic mean's denominator."),
             slider_note="α = 1 is clDice alone; the paper trains with α ≤ 0.5. iters is rounded to a whole number."),
    LossSpec("skeleton_recall", "Skeleton Recall (+ Dice + CE)", "compound", TH.skeleton_recall,
             r"w_{base}(L_{CE} + L_{Dice}) + w_{srec}\Big(1 - \frac{\sum p\,T + s}{\sum T + s}\Big)",
             "Kirchhoff et al., ECCV 2024",
             (Param("w_srec", 1.0, 0.0, 10.0, help="weight of the skeleton-recall term (the authors' weight_srec = 1)",
                    off_at=(0.0,), off_note="the skeleton-recall term is switched off (Dice + CE)"),
              Param("w_base", 1.0, 0.0, 1.0, help="weight of nnU-Net's Dice + CE; 0 = the recall term alone",
                    off_at=(0.0,), off_note="Dice + CE is switched off (the recall term alone)"),
              Param("smooth", 1e-5, 1e-6, 1.0, log=True, help="smoothing s of the recall and Dice ratios (nnU-Net: 1e-5)")),
             use_case=("Thin structures (vessels, the TopCoW 2023 winner): recall of the ground truth's tubed "
                       "skeleton, computed once per ground truth with scikit-image; cheap, any 2-D/3-D shape."),
             notes=("T: skimage skeletonize of the ground truth, dilated twice with the face cross, inside the mask "
                    "(the authors' SkeletonTransform with do_tube). The trainer adds weight_srec·(-Rec) to nnU-Net's "
                    "CE - Dice; here the constants w_base + w_srec are added so the loss is ≥ 0 (same gradients).")),
    LossSpec("unified_focal", "Unified Focal loss", "compound", RC.unified_focal,
             r"\lambda L_{mF} + (1-\lambda) L_{mFT},\ L_{maF} = -\frac{1}{N}\sum\big[\delta g\log p + (1-\delta)(1-g)p^{\gamma}\log(1-p)\big]",
             "Yeung, Sala, Schönlieb & Rundo, CMIG 2022",
             (Param("lam", 0.5, 0.0, 1.0, help="weight λ of the modified focal term (1-λ on the focal Tversky term)",
                    off_at=(0.0, 1.0), off_note="one of the two terms is switched off (λ = 0: focal; λ = 1: focal Tversky)"),
              Param("delta", 0.6, 0.0, 1.0, help="δ: weight of the foreground CE and of false negatives (1-δ: background, FP)",
                    off_at=(0.0, 1.0), off_note="one class's CE and one error kind get weight 0"),
              Param("gamma", 0.5, 0.0, 1.0, help="γ: suppresses easy background (p^γ) and enhances the foreground's "
                                                 "Tversky term (power 1-γ)",
                    off_at=(1.0,), off_note="the foreground focal Tversky term (1-mTI)^0 becomes the constant 1"),
              Param("variant", "asymmetric", choices=("asymmetric", "symmetric"),
                    help="asymmetric: only the background is suppressed (the paper's recommendation); symmetric: both labels")),
             reducible=True,
             use_case="Class-imbalanced medical segmentation: one loss that contains Dice, Tversky, focal and CE as special cases.",
             notes=("λ weighs the focal term as in the paper and MONAI (the authors' Keras code puts its `weight` on the "
                    "Tversky term; equal at λ = 0.5). The focal term sums the two labels per pixel as the authors' code "
                    "(MONAI's AsymmetricFocalLoss averages them: half)."),
             slider_note="δ > 0.5 weighs false negatives (and the foreground's CE) more; γ = 1 switches the foreground Tversky term off."),
    LossSpec("topk_ce", "TopK cross-entropy", "distribution", RC.topk_ce,
             r"\frac{1}{n}\sum_{x\in\mathrm{top}_n(CE)} CE(x),\ n = \max(1, \lfloor kN/100\rfloor)",
             "Wu, Shen & van den Hengel, arXiv:1605.06885, 2016 (nnU-Net TopK10)",
             (Param("k", 10.0, 0.1, 100.0, log=True, help="percentage k of the hardest pixels kept; 100 = plain CE"),),
             reducible=True,
             use_case="Online hard-pixel mining: the easy background drops out of the average (nnU-Net's TopK trainers).",
             notes=("Per sample (nnU-Net pools the batch). Pixels tied at the n-th largest CE share the remaining slots "
                    "equally, so identical pixels get identical gradients; the value is that of any choice among them.")),
    LossSpec("mcc", "Matthews correlation coefficient loss", "region", RC.mcc,
             r"1 - \frac{TP\,TN - FP\,FN}{\sqrt{(TP+FP)(TP+FN)(TN+FP)(TN+FN)}}",
             "Abhishek & Hamarneh, ISBI 2021",
             (Param("eps", 1e-5, 1e-6, 1.0, log=True, help="ε added to each soft count (smp's MCCLoss: 1e-5)"),),
             reducible=True,
             use_case="Imbalanced binary segmentation (skin lesions): counts true negatives, so FP and FN weigh alike.",
             notes="A perfect empty prediction of an empty ground truth gives MCC ≈ 1/2 (the ε counts), so loss ≈ 0.5."),
    LossSpec("log_hausdorff_dt", "Log Hausdorff DT loss", "boundary", RC.log_hausdorff_dt,
             r"\log\Big(1 + \frac{1}{N}\sum_x (p-g)^2\,(d_G^{\alpha} + d_P^{\alpha})\Big)",
             "MONAI LogHausdorffDTLoss, after Karimi & Salcudean, IEEE TMI 2019",
             (Param("alpha", 2.0, 0.5, 4.0, help="exponent α of the distances"),), needs_maps=True,
             prediction_distance=True,
             use_case="The Hausdorff DT loss on a log scale, so it can be added to a region loss without dominating it."),
    LossSpec("hausdorff_er", "Hausdorff ER loss (erosion)", "boundary", RC.hausdorff_er,
             r"\frac{1}{N}\sum_x\sum_{i=1}^{k} i^{\alpha}\,(f_i \ominus B)(x),\ f_0 = (p-g)^2",
             "Karimi & Salcudean, IEEE TMI 2019 (kornia HausdorffERLoss)",
             (Param("alpha", 2.0, 0.5, 4.0, help="exponent α of the erosion weight i^α"),
              Param("k", 10.0, 1.0, 20.0, help="number of erosions k (rounded to an integer)")),
             use_case="A Hausdorff surrogate without distance transforms: thick error regions survive many erosions."),
    LossSpec("boundary_dou", "Boundary DoU loss", "boundary", RC.boundary_dou,
             r"\frac{\sum p^2 + \sum g^2 - 2\sum pg + s}{\sum p^2 + \sum g^2 - (1+\alpha)\sum pg + s},\ "
             r"\alpha = \min\big(1 - 2\tfrac{C}{S},\ \alpha_{max}\big)",
             "Sun, Luo, Zhao, Yang & Wang, MICCAI 2023",
             (Param("alpha_max", 0.8, 0.0, 0.99, help="truncation of α (the authors recommend 0.8)"),),
             use_case=("Boundary-focused region loss: α from the ground truth's boundary ratio C/S; thin objects are "
                       "scored like IoU, large ones weigh the boundary band."),
             notes=("Averaged over {background, foreground} as the authors' loop over every class; the boundary counts "
                    "C treat the image border as outside (their zero-padded convolution).")),
]

#: The papers' recommended settings, in this library's parameter names (Tune draws them as references).
_PAPER = {
    "focal": (("Lin et al. 2017", {"alpha": 0.25, "gamma": 2.0}),),
    "tversky": (("Salehi et al. 2017", {"alpha": 0.3, "beta": 0.7}),),
    "focal_tversky": (("Abraham & Khan 2019 (their α = 0.7 on FN)", {"alpha": 0.3, "beta": 0.7, "gamma": 0.75}),),
    "unet_weighted_ce": (("Ronneberger et al. 2015", {"w0": 10.0, "sigma": 5.0}),),
    "exp_log": (("Wong et al. 2018", {"gamma": 0.3, "w_dice": 0.8, "w_ce": 0.2}),),
    "hausdorff_dt": (("Karimi & Salcudean 2019", {"alpha": 2.0}),),
    "conservative": (("Zhu et al. 2018", {"lam": 5.0, "a": math.e}),),
    "sensitivity_specificity": (("Brosch et al. 2015", {"lam": 0.05}),),
    # issue 14
    "cldice": (("Shit et al. 2021", {"alpha": 0.5, "iters": 3.0}),),
    "skeleton_recall": (("Kirchhoff et al. 2024 (nnU-Net trainer)", {"w_srec": 1.0, "w_base": 1.0, "smooth": 1e-5}),),
    "unified_focal": (("Yeung et al. 2022", {"lam": 0.5, "delta": 0.6, "gamma": 0.5}),),
    "topk_ce": (("nnU-Net TopK10", {"k": 10.0}),),
    "hausdorff_er": (("Karimi & Salcudean 2019", {"alpha": 2.0, "k": 10.0}),),
    "boundary_dou": (("Sun et al. 2023", {"alpha_max": 0.8}),),
}
_SPECS = [replace(s, paper=_PAPER.get(s.key, ())) for s in _SPECS]

REGISTRY: dict[str, LossSpec] = {s.key: s for s in _SPECS}
KEYS: tuple[str, ...] = tuple(REGISTRY)


def get(key: str) -> LossSpec:
    try:
        return REGISTRY[key]
    except KeyError:
        raise ValueError(f"unknown loss {key!r}; known: {', '.join(KEYS)}") from None


def by_family(family: str) -> list[LossSpec]:
    return [s for s in _SPECS if s.family == family]


def parse_keys(text: str | None) -> list[str]:
    """``"dice,focal"`` -> validated keys; ``None``/empty -> every loss."""
    if not text:
        return list(KEYS)
    keys = [k.strip() for k in text.split(",") if k.strip()]
    for k in keys:
        get(k)
    return keys


def parse_setting(text: str) -> tuple[str, str, Any]:
    """``"focal.gamma=3"`` -> ``("focal", "gamma", 3.0)`` validated against the registry."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ValueError(f"expected KEY.PARAM=VALUE; got {text!r}")
    lhs, value = text.split("=", 1)
    key, name = lhs.strip().split(".", 1)
    spec = get(key)
    return key, name, spec.param(name).validate(value.strip())


def markdown_table() -> str:
    """The README's table of losses, generated from the registry (a test keeps them equal)."""
    rows = ["| key | loss | family | parameters (default) | multi-class | distance maps | reference |",
            "|---|---|---|---|---|---|---|"]
    for s in _SPECS:
        params = ", ".join(f"{p.name}={'auto' if p.default is None else (f'{p.default:g}' if isinstance(p.default, float) else p.default)}"
                           for p in s.params) or "—"
        rows.append(f"| `{s.key}` | {s.name} | {s.family} | {params} | {'yes' if s.multiclass else 'no'} | "
                    f"{'yes' if s.needs_maps else 'no'} | {s.reference} |")
    return "\n".join(rows)
