"""Which Dice is this? The conventions of the major libraries as data, and the lessons they teach.

A preset is a registry key and the registry parameters that make this library compute what a
library computes with its own defaults::

    from segloss_core import REGISTRY
    from segloss_core.conventions import PRESETS
    p = PRESETS["monai.DiceLoss"]
    REGISTRY[p.key](logits, target, **p.params)   # (B,): MONAI's DiceLoss(sigmoid/softmax, reduction="none")

Inputs follow this library's convention: ``(B, C, *spatial)`` logits, sigmoid for C=1, softmax for
C>1, a one-hot target. A preset whose library sums the counts over the batch (``reduction="batch"``)
reports the batch value for every sample; for every preset the batch mean of the ``(B,)`` values is
the library's scalar with ``reduction="mean"``. Each preset is checked against the library itself
in ``tests/test_conventions.py`` (MONAI 1.6.1, segmentation_models_pytorch 0.6.0, kornia 0.9.0) on
random inputs and edge cases; nnU-Net is not installable here and is checked against its source
transcribed in that test:

* MONAI 1.6.1, ``monai/losses/dice.py`` (``DiceLoss``, ``DiceCELoss``) and ``monai/losses/tversky.py``:
  per sample (``batch=False``), ``smooth_nr = smooth_dr = 1e-5``, background included, the mean over
  *all* classes. ``DiceCELoss`` binary: Dice + BCE-with-logits, ``lambda_dice = lambda_ce = 1``.
  ``TverskyLoss``: α = β = 0.5, α on FP.
* segmentation_models_pytorch 0.6.0, ``losses/dice.py``, ``jaccard.py``, ``tversky.py``,
  ``_functional.py``: counts summed over batch and space (``dims=(0, 2)``), ``smooth = 0``, the
  denominator clamped at ``eps = 1e-7``, intersection ``(Σp + Σg - ‖p - g‖₁)/2`` (Wang & Blaschko's
  semimetric form), a class whose ground truth is empty over the batch masked to loss 0 but kept in
  the class mean (``empty="one"``, ``average="all"``), background included (multiclass mode).
  Binary mode: C=1 sigmoid; multiclass mode: C>1 softmax. ``TverskyLoss``: α = β = 0.5, γ = 1.
* kornia 0.9.0, ``kornia/losses/dice.py`` ``dice_loss``: softmax, ``average="micro"``: one Dice per
  sample pooled over all classes and pixels, ``eps = 1e-8`` in the denominator only, then the batch
  mean. kornia needs two channels for a binary task; a C=1 input here is pooled over (1-p, p), which
  is kornia on the logits ``[0, z]``.
* nnU-Net v2 (github.com/MIC-DKFZ/nnUNet, commit 0e495086eb108ff79afe106291e8c15bd2f2bc3a):
  ``nnunetv2/training/loss/dice.py`` (``SoftDiceLoss``, ``MemoryEfficientSoftDiceLoss``),
  ``nnunetv2/training/loss/compound_losses.py`` (``DC_and_CE_loss``) and
  ``nnunetv2/training/nnUNetTrainer/nnUNetTrainer.py`` (``_build_loss``): the trainer builds
  ``DC_and_CE_loss({'batch_dice': plans, 'smooth': 1e-5, 'do_bg': False}, {}, weight_ce=1,
  weight_dice=1, dice_class=MemoryEfficientSoftDiceLoss)`` with a softmax; the Dice term returns
  ``-dc`` (not ``1 - dc``), ``dc = (2TP + s)/max(Σp + Σg + s, 1e-8)`` averaged over the foreground
  classes. ``batch_dice`` comes from the plans
  (``experiment_planning/experiment_planners/default_experiment_planner.py``): True for 2d and for
  3d_fullres when a 3d_lowres exists, False otherwise. The presets take ``batch_dice=True``;
  :data:`VARIANTS` has the ``batch_dice=False`` forms. nnU-Net's binary task has two softmax
  channels; with ``do_bg=False`` that is the sigmoid foreground of a C=1 input here, and its CE
  is this library's BCE. ``SoftDiceLoss``'s own constructor defaults (``smooth=1``, ``do_bg=True``,
  no softmax) are not what nnU-Net trains with; the preset is the trainer's configuration.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from .losses.region import overlap_counts
from .registry import REGISTRY


@dataclass(frozen=True)
class Preset:
    """One library's convention: ``REGISTRY[key](logits, target, **params)``."""

    name: str
    key: str
    params: dict[str, Any]
    library: str
    call: str  # the library call it reproduces, with its defaults
    note: str = ""
    binary_only: bool = False
    batch: bool = False  # counts summed over the batch: couples the samples
    extra: dict[str, Any] = field(default_factory=dict)

    def __call__(self, logits: torch.Tensor, target: torch.Tensor, **overrides: Any) -> torch.Tensor:
        return REGISTRY[self.key](logits, target, **{**self.params, **overrides})


_MONAI_S = {"smooth_nr": 1e-5, "smooth_dr": 1e-5}
_SMP = {"smooth": 0.0, "reduction": "batch", "empty": "one", "average": "all", "soft": "semimetric"}
_NNUNET = {"smooth": 1e-5, "background": "exclude", "average": "all", "output": "negative"}

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("monai.DiceLoss", "dice", {**_MONAI_S, "average": "all"}, "MONAI 1.6",
           "DiceLoss(sigmoid=True | softmax=True, reduction='none')",
           "per sample, smoothing 1e-5 in numerator and denominator, background included, mean over all classes"),
    Preset("monai.DiceCELoss", "dice_bce", {"lam": 1.0, **_MONAI_S}, "MONAI 1.6",
           "DiceCELoss(sigmoid=True)", "Dice (as DiceLoss) + BCE with logits, weights 1 and 1; binary",
           binary_only=True),
    Preset("monai.TverskyLoss", "tversky", {"alpha": 0.5, "beta": 0.5, **_MONAI_S, "average": "all"}, "MONAI 1.6",
           "TverskyLoss(sigmoid=True | softmax=True, reduction='none')",
           "α = β = 0.5 (α on FP), smoothing 1e-5, per sample, mean over all classes: equals monai.DiceLoss"),
    Preset("smp.DiceLoss", "dice", dict(_SMP), "segmentation_models_pytorch 0.6",
           "DiceLoss(mode='binary' | 'multiclass')",
           "counts summed over the batch, no smoothing, an empty class masked to loss 0, L1 intersection",
           batch=True),
    Preset("smp.JaccardLoss", "jaccard", dict(_SMP), "segmentation_models_pytorch 0.6",
           "JaccardLoss(mode='binary' | 'multiclass')", "as smp.DiceLoss, with the IoU", batch=True),
    Preset("smp.TverskyLoss", "tversky", {"alpha": 0.5, "beta": 0.5, **_SMP}, "segmentation_models_pytorch 0.6",
           "TverskyLoss(mode='binary' | 'multiclass')", "α = β = 0.5, γ = 1; as smp.DiceLoss", batch=True),
    Preset("kornia.dice_loss", "dice", {"reduction": "classes", "smooth_nr": 0.0, "smooth_dr": 1e-8}, "kornia 0.9",
           "kornia.losses.dice_loss(pred, labels)  # average='micro'",
           "per sample, classes pooled (micro, background included), eps 1e-8 in the denominator only"),
    Preset("nnunet.SoftDiceLoss", "dice", {**_NNUNET, "reduction": "batch"}, "nnU-Net v2",
           "MemoryEfficientSoftDiceLoss(softmax_helper_dim1, batch_dice=True, do_bg=False, smooth=1e-5)",
           "batch Dice (2d plans), background excluded, smoothing 1e-5, returns -Dice", batch=True),
    Preset("nnunet.DC_and_CE_loss", "dice_bce",
           {"lam": 1.0, "smooth": 1e-5, "output": "negative", "reduction": "batch"}, "nnU-Net v2",
           "DC_and_CE_loss({'batch_dice': True, 'smooth': 1e-5, 'do_bg': False}, {}, 1, 1, "
           "dice_class=MemoryEfficientSoftDiceLoss)",
           "CE + (-Dice), batch Dice (2d plans), background excluded; binary", binary_only=True, batch=True),
    Preset("segloss.default", "dice", {}, "SegLoss Lab", "REGISTRY['dice'](logits, target)",
           "per sample, smoothing 1 in numerator and denominator, mean over the classes present"),
)}

#: nnU-Net with ``batch_dice=False`` (its 3d_fullres plans when no 3d_lowres exists).
VARIANTS: dict[str, Preset] = {
    "nnunet.SoftDiceLoss(batch_dice=False)": Preset(
        "nnunet.SoftDiceLoss(batch_dice=False)", "dice", {**_NNUNET}, "nnU-Net v2",
        "MemoryEfficientSoftDiceLoss(softmax_helper_dim1, batch_dice=False, do_bg=False, smooth=1e-5)",
        "per-sample Dice (3d_fullres plans without a cascade), background excluded, smoothing 1e-5, returns -Dice"),
    "nnunet.DC_and_CE_loss(batch_dice=False)": Preset(
        "nnunet.DC_and_CE_loss(batch_dice=False)", "dice_bce", {"lam": 1.0, "smooth": 1e-5, "output": "negative"},
        "nnU-Net v2", "DC_and_CE_loss({'batch_dice': False, 'smooth': 1e-5, 'do_bg': False}, {}, 1, 1, "
                      "dice_class=MemoryEfficientSoftDiceLoss)",
        "CE + (-Dice), per-sample Dice, background excluded; binary", binary_only=True),
}

ALL_PRESETS: dict[str, Preset] = {**PRESETS, **VARIANTS}


def get_preset(name: str) -> Preset:
    try:
        return ALL_PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(ALL_PRESETS)}") from None


# ---------------------------------------------------------------- the lessons, computed
def gradient_report(logits: torch.Tensor, target: torch.Tensor, key: str, params: dict[str, Any]) -> dict[str, Any]:
    """Values, the batch value and the gradient each sample receives when the batch mean of the
    values is minimized (the libraries' ``reduction="mean"``), with each sample's share of it.

    Per sample, sample i's gradient comes from its own value only (scaled by 1/B); with
    ``reduction="batch"`` every sample's pixels enter the same pooled ratio, so a small object's
    pixels are a small share of the batch sums and its gradient shrinks beside a large one's."""
    z = logits.detach().clone().requires_grad_(True)
    values = REGISTRY[key](z, target, **params)
    batch_value = values.mean()
    (grad,) = torch.autograd.grad(batch_value, z)
    norms = grad.flatten(1).norm(dim=1)
    total = norms.sum()
    share = norms / total if total > 0 else torch.zeros_like(norms)
    return {"values": values.detach(), "batch_value": float(batch_value.detach()), "grad_l2": norms,
            "share": share}


def counts(logits: torch.Tensor, target: torch.Tensor, background: str = "include") -> dict[str, torch.Tensor]:
    """Per sample and class soft TP, FP, FN, Σp and Σg ``(B, K)`` (for the explanations)."""
    tp, fp, fn, sg = overlap_counts(logits, target, background, "sample", "product")
    return {"tp": tp, "fp": fp, "fn": fn, "sum_p": tp + fp, "sum_g": sg}


def explain(names: list[str], logits: torch.Tensor, target: torch.Tensor, presets: list[Preset]) -> list[str]:
    """Two or three sentences per fact that makes the chosen presets differ on this batch, each
    computed from the counts (which term dominates)."""
    c = counts(logits, target)
    sp, sg, tp = c["sum_p"].sum(1), c["sum_g"].sum(1), c["tp"].sum(1)
    out: list[str] = []
    if logits.shape[1] == 1:
        sp, sg, tp = c["sum_p"][:, 0], c["sum_g"][:, 0], c["tp"][:, 0]
    for i, n in enumerate(names):
        if sg[i] == 0:
            s = float(sp[i])
            parts = [f"**{n}** has an empty ground truth and Σp = {s:.3g} of false positives."]
            for p in presets:
                prm = REGISTRY[p.key].resolve(p.params)
                nr = prm.get("smooth_nr") if prm.get("smooth_nr") is not None else prm.get("smooth", 0.0)
                dr = prm.get("smooth_dr") if prm.get("smooth_dr") is not None else prm.get("smooth", 0.0)
                if p.batch:
                    parts.append(f"{p.name} sums the counts over the batch, so this sample has no value of its own.")
                elif prm.get("empty") == "one":
                    parts.append(f"{p.name} masks the empty class: loss 0 whatever the prediction.")
                elif prm.get("reduction") == "classes":
                    parts.append(f"{p.name} pools the classes, so the background's overlap counts: the loss is "
                                 "the share of misclassified mass, not 1.")
                else:
                    parts.append(f"{p.name}: score = s_nr/(Σp + s_dr) = {nr:g}/({s:.3g} + {dr:g}) = "
                                 f"{(nr / (s + dr)) if s + dr > 0 else 1.0:.3g}, so the loss is "
                                 f"{1 - ((nr / (s + dr)) if s + dr > 0 else 1.0):.3g}.")
            out.append(" ".join(parts))
    if len(names) > 1 and any(p.batch for p in presets):
        big, small = int(torch.argmax(sg)), int(torch.argmin(torch.where(sg > 0, sg, torch.full_like(sg, float("inf")))))
        if sg[small] > 0 and big != small:
            out.append(f"The batch value pools the counts: **{names[big]}** brings {float(sg[big]):.0f} of the "
                       f"{float(sg.sum()):.0f} ground-truth pixels and **{names[small]}** {float(sg[small]):.0f}, so "
                       "the batch Dice is dominated by the large object and the small one's errors barely move it.")
    for i, n in enumerate(names):
        if sg[i] > 0:
            fp, fn = float(sp[i] - tp[i]), float(sg[i] - tp[i])
            if max(fp, fn) > 0:
                dom = "false positives" if fp > fn else "false negatives"
                out.append(f"**{n}**: TP = {float(tp[i]):.1f}, FP = {fp:.1f}, FN = {fn:.1f}: {dom} dominate; "
                           f"a Tversky α (FP) or β (FN) weighs that term.")
    return out
