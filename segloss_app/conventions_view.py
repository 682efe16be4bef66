"""The Conventions page's computations (no Streamlit drawing): the editable batch, the presets side
by side, the 3-class example and the copy-as-code snippets. All loss math is in segloss_core."""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from segloss_core.conventions import ALL_PRESETS, PRESETS, Preset, explain, gradient_report
from segloss_core.masks import make_shape
from segloss_core.perturb import perturb, soften
from segloss_core.registry import REGISTRY
from segloss_core.tensors import logits_from_probs

SIZE = 64
NAMES = ("large", "small", "empty", "noisy medium")


@dataclass(frozen=True)
class Sample:
    radius: float  # 0 = empty ground truth
    fn: int
    fp: int
    confidence: float
    noise: bool = False


DEFAULT_SAMPLES = (Sample(20.0, 60, 60, 0.9), Sample(3.0, 6, 6, 0.9), Sample(0.0, 0, 12, 0.9),
                   Sample(9.0, 40, 40, 0.8, noise=True))
DEFAULT_PRESETS = ("monai.DiceLoss", "smp.DiceLoss", "kornia.dice_loss", "nnunet.SoftDiceLoss")
CONVENTION_NAMES = ("reduction", "smooth_nr", "smooth_dr", "background", "empty", "average", "soft")


def build_masks(samples) -> tuple[np.ndarray, np.ndarray]:
    """Ground truths and hard predictions ``(4, SIZE, SIZE)`` from the generators and perturbations."""
    gts, preds = [], []
    for s in samples:
        if s.radius <= 0:
            g = np.zeros((SIZE, SIZE), bool)
        else:
            g = make_shape("disk", size=SIZE, radius=float(s.radius))
        mode = "noise" if s.noise else "boundary"
        pr = perturb(g, fn=int(s.fn), fp=int(s.fp), fn_mode=mode, fp_mode="noise" if s.noise else "boundary",
                     seed=3).mask
        gts.append(g)
        preds.append(pr)
    return np.stack(gts), np.stack(preds)


def overlays(samples) -> list[np.ndarray]:
    """TP/FP/FN/TN overlay of each sample, ``(SIZE, SIZE, 3)`` uint8 (Okabe-Ito colours)."""
    gts, preds = build_masks(samples)
    out = []
    for g, p in zip(gts, preds):
        img = np.full(g.shape + (3,), 240, np.uint8)
        img[g & p] = (0, 114, 178)  # TP blue
        img[~g & p] = (230, 159, 0)  # FP orange
        img[g & ~p] = (204, 121, 167)  # FN pink
        out.append(img)
    return out


def build_batch(samples) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits, target)`` in float64, ``(4, 1, SIZE, SIZE)``: c inside the prediction, 1-c outside."""
    gts, preds = build_masks(samples)
    probs = np.stack([soften(p, confidence=s.confidence) for p, s in zip(preds, samples)])
    target = torch.as_tensor(gts, dtype=torch.float64)[:, None]
    return logits_from_probs(torch.as_tensor(probs)[:, None]), target


def preset_table(logits, target, presets: list[Preset]) -> pd.DataFrame:
    """One row per preset: per-sample values, the batch value (mean; the library's scalar), the
    gradient norm each sample receives from it and its share."""
    rows = []
    for p in presets:
        rep = gradient_report(logits, target, p.key, p.params)
        row = {"preset": p.name, "key": p.key}
        for i, n in enumerate(NAMES[: logits.shape[0]]):
            row[f"value: {n}"] = float(rep["values"][i])
        row["batch value"] = rep["batch_value"]
        for i, n in enumerate(NAMES[: logits.shape[0]]):
            row[f"grad L2: {n}"] = float(rep["grad_l2"][i])
        for i, n in enumerate(NAMES[: logits.shape[0]]):
            row[f"grad share: {n}"] = float(rep["share"][i])
        rows.append(row)
    return pd.DataFrame(rows)


def custom_preset(base: str, overrides: dict) -> Preset:
    """The base preset with the toggled conventions (only those its loss has)."""
    b = ALL_PRESETS[base]
    names = {p.name for p in REGISTRY[b.key].params}
    params = {**b.params, **{k: v for k, v in overrides.items() if k in names}}
    return Preset("custom", b.key, params, "SegLoss Lab", f"REGISTRY[{b.key!r}](logits, target, **{params!r})",
                  f"{base} with the toggles", batch=params.get("reduction") == "batch")


def explanations(logits, target, presets: list[Preset]) -> list[str]:
    return explain(list(NAMES[: logits.shape[0]]), logits, target, presets)


# ---------------------------------------------------------------- 3 classes
def three_class_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Two samples, C=3 (background, a large organ, a small lesion); the second has no lesion in
    its ground truth but a false-positive spot of it in the prediction."""
    size = 48
    big = make_shape("disk", size=size, radius=14.0)
    small = make_shape("disk", size=size, radius=2.5, center=(0.3, 0.3))
    lab = np.zeros((2, size, size), int)
    lab[0][big] = 1
    lab[0][small] = 2
    lab[1][big] = 1
    g = torch.nn.functional.one_hot(torch.as_tensor(lab), 3).permute(0, 3, 1, 2).to(torch.float64)
    pred = lab.copy()
    pred[0][np.roll(small, 2, axis=1)] = 2  # the lesion predicted 2 px off
    pred[1][small] = 2  # a lesion predicted where there is none
    p = torch.nn.functional.one_hot(torch.as_tensor(pred), 3).permute(0, 3, 1, 2).to(torch.float64) * 0.8 + 0.1 / 1
    p = p / p.sum(1, keepdim=True)
    return torch.log(p), g


def per_class_table(logits, target) -> pd.DataFrame:
    """Per sample and class: Σg, Σp, TP and the Dice loss with s = 1e-5."""
    prob = torch.softmax(logits, 1)
    rows = []
    for b in range(logits.shape[0]):
        for c in range(logits.shape[1]):
            tp = float((prob[b, c] * target[b, c]).sum())
            sp, sg = float(prob[b, c].sum()), float(target[b, c].sum())
            rows.append({"sample": b + 1, "class": ["background", "organ", "lesion"][c], "Σg": sg, "Σp": round(sp, 3),
                         "TP": round(tp, 3), "Dice loss (s=1e-5)": 1 - (2 * tp + 1e-5) / (sp + sg + 1e-5)})
    return pd.DataFrame(rows)


def averaging_table(logits, target) -> pd.DataFrame:
    """The Dice loss of each sample under background in/out × present/all classes × empty masked."""
    rows = []
    for bg in ("include", "exclude"):
        for avg in ("present", "all"):
            for empty in ("smooth", "one"):
                v = REGISTRY["dice"](logits, target, smooth=1e-5, background=bg, average=avg, empty=empty)
                rows.append({"background": bg, "average": avg, "empty": empty,
                             "sample 1": float(v[0]), "sample 2 (no lesion)": float(v[1])})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- copy as code
def batch_npz(logits, target) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, logits=logits.numpy(), target=target.numpy())
    return buf.getvalue()


_LOAD = """import numpy as np, torch
d = np.load("conventions_batch.npz")            # downloaded from the Conventions page
logits = torch.from_numpy(d["logits"])           # (B, C, H, W) float64, C = 1: sigmoid
target = torch.from_numpy(d["target"])           # (B, C, H, W) one-hot / 0-1
"""


def snippet(name: str, preset: Preset | None = None) -> str:
    """A script that computes this preset's value with the library itself (and with this one)."""
    p = preset if preset is not None else ALL_PRESETS[name]
    ours = (f"from segloss_core import REGISTRY\n"
            f"values = REGISTRY[{p.key!r}](logits, target, **{p.params!r})   # (B,)\n"
            f"print(values, values.mean())   # the batch mean is the library's reduction='mean' value\n")
    lib = {
        "monai.DiceLoss": "from monai.losses import DiceLoss\n"
                          "loss = DiceLoss(sigmoid=logits.shape[1] == 1, softmax=logits.shape[1] > 1)\n"
                          "print(loss(logits, target))\n",
        "monai.DiceCELoss": "from monai.losses import DiceCELoss\nprint(DiceCELoss(sigmoid=True)(logits, target))\n",
        "monai.TverskyLoss": "from monai.losses import TverskyLoss\n"
                             "loss = TverskyLoss(sigmoid=logits.shape[1] == 1, softmax=logits.shape[1] > 1)\n"
                             "print(loss(logits, target))\n",
        "kornia.dice_loss": "from kornia.losses import dice_loss\n"
                            "two = torch.cat([torch.zeros_like(logits), logits], 1) if logits.shape[1] == 1 else logits\n"
                            "labels = target[:, 0].long() if target.shape[1] == 1 else target.argmax(1)\n"
                            "print(dice_loss(two, labels))   # average='micro', eps=1e-8\n",
    }
    for cls, short in (("DiceLoss", "smp.DiceLoss"), ("JaccardLoss", "smp.JaccardLoss"), ("TverskyLoss", "smp.TverskyLoss")):
        lib[short] = ("# pip install --no-deps segmentation-models-pytorch==0.6.0  (its deps pull another torch)\n"
                      "import importlib.util, sys, types\n"
                      "if 'segmentation_models_pytorch' not in sys.modules:  # its losses, without its __init__\n"
                      "    spec = importlib.util.find_spec('segmentation_models_pytorch')\n"
                      "    m = types.ModuleType('segmentation_models_pytorch'); m.__path__ = list(spec.submodule_search_locations)\n"
                      "    m.__spec__ = spec; sys.modules['segmentation_models_pytorch'] = m\n"
                      f"from segmentation_models_pytorch.losses import {cls}\n"
                      "if logits.shape[1] == 1:\n"
                      f"    print({cls}(mode='binary')(logits, target))\n"
                      "else:\n"
                      f"    print({cls}(mode='multiclass')(logits, target.argmax(1)))\n")
    for short, batch in (("nnunet.SoftDiceLoss", True), ("nnunet.SoftDiceLoss(batch_dice=False)", False),
                         ("nnunet.DC_and_CE_loss", True), ("nnunet.DC_and_CE_loss(batch_dice=False)", False)):
        ce = "DC_and_CE" in short
        lib[short] = ("# nnU-Net v2 (MIC-DKFZ/nnUNet @ 0e49508), binary as two softmax channels [0, z]\n"
                      "from nnunetv2.training.loss.compound_losses import DC_and_CE_loss\n"
                      "from nnunetv2.training.loss.dice import MemoryEfficientSoftDiceLoss\n"
                      "from nnunetv2.utilities.helpers import softmax_helper_dim1\n"
                      "two = torch.cat([torch.zeros_like(logits), logits], 1) if logits.shape[1] == 1 else logits\n"
                      "labels = (target[:, :1] if target.shape[1] == 1 else target.argmax(1, keepdim=True)).float()\n"
                      + (f"loss = DC_and_CE_loss({{'batch_dice': {batch}, 'smooth': 1e-5, 'do_bg': False, 'ddp': False}}, "
                         "{}, weight_ce=1, weight_dice=1, dice_class=MemoryEfficientSoftDiceLoss)\n" if ce else
                         f"loss = MemoryEfficientSoftDiceLoss(softmax_helper_dim1, batch_dice={batch}, do_bg=False, "
                         "smooth=1e-5, ddp=False)\n")
                      + "print(loss(two, labels))\n")
    lib["segloss.default"] = ""
    lib["custom"] = ""
    body = lib.get(name, "")
    return _LOAD + "\n# this library\n" + ours + (("\n# " + p.library + "\n" + body) if body else "")


def preset_names() -> tuple[str, ...]:
    return tuple(PRESETS) + tuple(n for n in ALL_PRESETS if n not in PRESETS)
