"""Convention options of the region losses and the library presets, proven against the libraries.

MONAI 1.6.1, kornia 0.9.0 and segmentation_models_pytorch 0.6.0 are run for real (SMP's ``losses``
package is imported without its ``__init__``, which needs timm/torchvision; it is installed with
``--no-deps`` because its dependencies pull torch 2.14 with CUDA). Where SMP is missing, its
formula transcribed from ``segmentation_models_pytorch/losses/_functional.py`` and ``dice.py``
(0.6.0) still runs. nnU-Net is transcribed from github.com/MIC-DKFZ/nnUNet at commit
0e495086eb108ff79afe106291e8c15bd2f2bc3a, ``nnunetv2/training/loss/dice.py``
(``MemoryEfficientSoftDiceLoss.forward``) and ``compound_losses.py`` (``DC_and_CE_loss.forward``).
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import json
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from segloss_core import REGISTRY
from segloss_core.conventions import ALL_PRESETS, PRESETS, VARIANTS, gradient_report, get_preset
from segloss_core.tensors import weighted_pixels

TOL = dict(rtol=0, atol=1e-6)
H = W = 24
EXPECTED_NAMES = {"monai.DiceLoss", "monai.DiceCELoss", "monai.TverskyLoss", "smp.DiceLoss", "smp.JaccardLoss",
                  "smp.TverskyLoss", "kornia.dice_loss", "nnunet.SoftDiceLoss", "nnunet.DC_and_CE_loss",
                  "segloss.default"}


def _smp_losses():
    spec = importlib.util.find_spec("segmentation_models_pytorch")
    if spec is None:
        return None
    if "segmentation_models_pytorch" not in sys.modules:
        m = types.ModuleType("segmentation_models_pytorch")
        m.__path__ = list(spec.submodule_search_locations)
        m.__spec__ = spec
        sys.modules["segmentation_models_pytorch"] = m
    import segmentation_models_pytorch.losses as L
    return L


SMP = _smp_losses()


# ---------------------------------------------------------------- cases
def _disk(r, cy=H // 2, cx=W // 2):
    y, x = np.mgrid[:H, :W]
    return ((y - cy) ** 2 + (x - cx) ** 2 <= r * r)


def _labels_binary(kind, rng):
    if kind == "random":
        return [rng.random((H, W)) < 0.3 for _ in range(4)]
    if kind == "empty_gt":
        return [np.zeros((H, W), bool)] * 3
    if kind == "one_pixel":
        m = np.zeros((H, W), bool)
        m[5, 7] = True
        return [m, m]
    if kind == "mixed":  # a large, a small and an empty object
        return [_disk(8), _disk(1.5), np.zeros((H, W), bool)]
    raise ValueError(kind)


def binary_case(kind, seed=0):
    rng = np.random.default_rng(seed)
    g = torch.as_tensor(np.stack(_labels_binary(kind if kind != "empty_pred" else "random", rng)), dtype=torch.float64)[:, None]
    z = torch.as_tensor(rng.normal(0, 2, g.shape)) + 3 * (2 * g - 1)
    if kind == "empty_pred":
        z = torch.full_like(z, -12.0)
    return z.requires_grad_(False), g


def multi_case(kind, seed=0, c=3):
    rng = np.random.default_rng(seed)
    b = 3
    lab = rng.integers(0, c, (b, H, W))
    if kind == "empty_gt":  # only background, and class 2 absent from the whole batch
        lab[:] = 0
        lab[0, 3:9, 3:9] = 1
    elif kind == "mixed":
        lab[:] = 0
        lab[0][_disk(8)] = 1
        lab[1][_disk(1.5)] = 2
    elif kind == "one_pixel":
        lab[:] = 0
        lab[:, 4, 4] = 1
    idx = torch.as_tensor(lab)
    g = F.one_hot(idx, c).permute(0, 3, 1, 2).to(torch.float64)
    z = torch.as_tensor(rng.normal(0, 2, g.shape)) + 2 * g
    if kind == "empty_pred":
        z = torch.as_tensor(rng.normal(0, 0.1, g.shape))
        z[:, 0] += 12  # everything predicted background
    return z, g, idx


BIN_KINDS = ["random", "empty_gt", "empty_pred", "one_pixel", "mixed"]
MULTI_KINDS = ["random", "empty_gt", "empty_pred", "one_pixel", "mixed"]


def ours(name, z, g):
    return get_preset(name)(z, g)


# ---------------------------------------------------------------- the presets are the listed ones
def test_preset_names_and_shape():
    assert set(PRESETS) == EXPECTED_NAMES
    for name, p in PRESETS.items():
        assert p.key in REGISTRY
        REGISTRY[p.key].resolve(p.params)  # every value valid
        z, g = binary_case("random")
        assert ours(name, z, g).shape == (z.shape[0],)
    assert set(VARIANTS).isdisjoint(PRESETS)


# ---------------------------------------------------------------- MONAI
@pytest.mark.parametrize("kind", BIN_KINDS)
def test_monai_binary(kind):
    from monai.losses import DiceCELoss, DiceLoss, TverskyLoss
    z, g = binary_case(kind)
    lib = DiceLoss(sigmoid=True, reduction="none")(z, g).flatten(1).mean(1)
    torch.testing.assert_close(ours("monai.DiceLoss", z, g), lib, **TOL)
    lib = TverskyLoss(sigmoid=True, reduction="none")(z, g).flatten(1).mean(1)
    torch.testing.assert_close(ours("monai.TverskyLoss", z, g), lib, **TOL)
    mine = ours("monai.DiceCELoss", z, g)
    per = torch.stack([DiceCELoss(sigmoid=True)(z[i:i + 1], g[i:i + 1]) for i in range(len(z))])
    torch.testing.assert_close(mine, per, **TOL)
    torch.testing.assert_close(mine.mean(), DiceCELoss(sigmoid=True)(z, g), **TOL)


@pytest.mark.parametrize("kind", MULTI_KINDS)
def test_monai_multiclass(kind):
    from monai.losses import DiceLoss, TverskyLoss
    z, g, _ = multi_case(kind)
    lib = DiceLoss(softmax=True, reduction="none")(z, g).flatten(1).mean(1)
    torch.testing.assert_close(ours("monai.DiceLoss", z, g), lib, **TOL)
    lib = TverskyLoss(softmax=True, reduction="none")(z, g).flatten(1).mean(1)
    torch.testing.assert_close(ours("monai.TverskyLoss", z, g), lib, **TOL)
    # options beyond the presets: background out, batch reduction, split smoothing
    lib = DiceLoss(softmax=True, include_background=False, batch=True, smooth_nr=0.0, smooth_dr=1e-3)(z, g)
    mine = REGISTRY["dice"](z, g, background="exclude", reduction="batch", smooth_nr=0.0, smooth_dr=1e-3,
                            average="all")
    torch.testing.assert_close(mine, lib.expand(len(z)), **TOL)


# ---------------------------------------------------------------- segmentation_models_pytorch
def smp_formula(name, p, g, alpha=0.5, beta=0.5, smooth=0.0, eps=1e-7):
    """segmentation_models_pytorch 0.6.0 transcribed: losses/_functional.py soft_tversky_score with
    dims=(0, 2) (batch and space), 1 - score, classes without true pixels masked to 0, mean over C."""
    p, g = p.flatten(2), g.flatten(2)
    ps, gs, diff = p.sum((0, 2)), g.sum((0, 2)), (p - g).abs().sum((0, 2))
    inter = (ps + gs - diff) / 2
    fp, fn = ps - inter, gs - inter
    if name == "smp.DiceLoss":
        alpha = beta = 0.5
    elif name == "smp.JaccardLoss":
        alpha = beta = 1.0
    score = (inter + smooth) / (inter + alpha * fp + beta * fn + smooth).clamp_min(eps)
    loss = (1 - score) * (gs > 0).to(p.dtype)
    return loss.mean()


SMP_NAMES = ["smp.DiceLoss", "smp.JaccardLoss", "smp.TverskyLoss"]


def _smp_lib(name, mode):
    cls = {"smp.DiceLoss": "DiceLoss", "smp.JaccardLoss": "JaccardLoss", "smp.TverskyLoss": "TverskyLoss"}[name]
    return getattr(SMP, cls)(mode=mode)


@pytest.mark.parametrize("name", SMP_NAMES)
@pytest.mark.parametrize("kind", BIN_KINDS)
def test_smp_binary(name, kind):
    z, g = binary_case(kind)
    mine = ours(name, z, g)
    assert torch.equal(mine, mine[:1].expand_as(mine)), "batch reduction: one value for the batch"
    torch.testing.assert_close(mine[0], smp_formula(name, torch.sigmoid(z), g), **TOL)
    if SMP is not None:
        torch.testing.assert_close(mine[0], _smp_lib(name, "binary")(z, g), **TOL)


@pytest.mark.parametrize("name", SMP_NAMES)
@pytest.mark.parametrize("kind", MULTI_KINDS)
def test_smp_multiclass(name, kind):
    z, g, idx = multi_case(kind)
    mine = ours(name, z, g)
    torch.testing.assert_close(mine[0], smp_formula(name, torch.softmax(z, 1), g), **TOL)
    if SMP is not None:
        torch.testing.assert_close(mine, _smp_lib(name, "multiclass")(z, idx).expand(len(z)), **TOL)


def test_smp_is_installed_here():
    if SMP is None:
        pytest.skip("segmentation_models_pytorch not installed (pip install --no-deps segmentation-models-pytorch==0.6.0)")
    assert SMP.DiceLoss is not None


# ---------------------------------------------------------------- kornia
@pytest.mark.parametrize("kind", MULTI_KINDS)
def test_kornia_multiclass(kind):
    from kornia.losses import dice_loss
    z, g, idx = multi_case(kind)
    mine = ours("kornia.dice_loss", z, g)
    per = torch.stack([dice_loss(z[i:i + 1], idx[i:i + 1]) for i in range(len(z))])
    torch.testing.assert_close(mine, per, **TOL)
    torch.testing.assert_close(mine.mean(), dice_loss(z, idx), **TOL)


@pytest.mark.parametrize("kind", BIN_KINDS)
def test_kornia_binary_as_two_channels(kind):
    from kornia.losses import dice_loss
    z, g = binary_case(kind)
    z2 = torch.cat([torch.zeros_like(z), z], 1)  # softmax([0, z]) = (1 - σ(z), σ(z))
    per = torch.stack([dice_loss(z2[i:i + 1], g[i:i + 1, 0].long()) for i in range(len(z))])
    torch.testing.assert_close(ours("kornia.dice_loss", z, g), per, **TOL)


# ---------------------------------------------------------------- nnU-Net (transcribed from its source)
def nnunet_dice(x_softmax, y_onehot, batch_dice, do_bg=False, smooth=1e-5):
    """MemoryEfficientSoftDiceLoss.forward (nnunetv2/training/loss/dice.py @ 0e49508), softmax applied."""
    axes = tuple(range(2, x_softmax.ndim))
    if not do_bg:
        x_softmax, y_onehot = x_softmax[:, 1:], y_onehot[:, 1:]
    sum_gt = y_onehot.sum(axes)
    intersect = (x_softmax * y_onehot).sum(axes)
    sum_pred = x_softmax.sum(axes)
    if batch_dice:
        intersect, sum_pred, sum_gt = intersect.sum(0), sum_pred.sum(0), sum_gt.sum(0)
    dc = (2 * intersect + smooth) / (sum_gt + sum_pred + float(smooth)).clamp_min(1e-8)
    return -dc.mean()


def nnunet_dc_ce(logits2, labels, batch_dice):
    """DC_and_CE_loss.forward (compound_losses.py @ 0e49508): weight_ce * CE + weight_dice * dc_loss."""
    y = F.one_hot(labels, logits2.shape[1]).movedim(-1, 1).to(logits2.dtype)
    return F.cross_entropy(logits2, labels) + nnunet_dice(torch.softmax(logits2, 1), y, batch_dice)


@pytest.mark.parametrize("batch_dice", [True, False], ids=["batch_dice", "per_sample"])
@pytest.mark.parametrize("kind", MULTI_KINDS)
def test_nnunet_soft_dice_multiclass(kind, batch_dice):
    z, g, _ = multi_case(kind)
    name = "nnunet.SoftDiceLoss" if batch_dice else "nnunet.SoftDiceLoss(batch_dice=False)"
    mine = ours(name, z, g)
    torch.testing.assert_close(mine.mean(), nnunet_dice(torch.softmax(z, 1), g, batch_dice), **TOL)
    if not batch_dice:
        per = torch.stack([nnunet_dice(torch.softmax(z[i:i + 1], 1), g[i:i + 1], False) for i in range(len(z))])
        torch.testing.assert_close(mine, per, **TOL)


@pytest.mark.parametrize("batch_dice", [True, False], ids=["batch_dice", "per_sample"])
@pytest.mark.parametrize("kind", BIN_KINDS)
def test_nnunet_binary(kind, batch_dice):
    z, g = binary_case(kind)
    z2 = torch.cat([torch.zeros_like(z), z], 1)
    labels = g[:, 0].long()
    y2 = torch.cat([1 - g, g], 1)
    sfx = "" if batch_dice else "(batch_dice=False)"
    torch.testing.assert_close(ours("nnunet.SoftDiceLoss" + sfx, z, g).mean(),
                               nnunet_dice(torch.softmax(z2, 1), y2, batch_dice), **TOL)
    torch.testing.assert_close(ours("nnunet.DC_and_CE_loss" + sfx, z, g).mean(),
                               nnunet_dc_ce(z2, labels, batch_dice), **TOL)


# ---------------------------------------------------------------- the options themselves
REGION = ["dice", "squared_dice", "jaccard", "tversky", "focal_tversky", "log_cosh_dice", "generalized_dice",
          "dice_bce", "dice_focal"]


def _choice_settings():
    out = []
    for k in REGION:
        for p in REGISTRY[k].params:
            if p.choices is not None:
                out += [pytest.param(k, p.name, c, id=f"{k}.{p.name}={c}") for c in p.choices if c != p.default]
    return out


@pytest.mark.parametrize("key,name,value", _choice_settings())
def test_batch_independence_of_every_option_but_batch(key, name, value):
    z, g = binary_case("mixed")
    cases = [(z, g)]
    if REGISTRY[key].multiclass:
        zm, gm, _ = multi_case("mixed")
        cases.append((zm, gm))
    for zz, gg in cases:
        full = REGISTRY[key](zz, gg, **{name: value})
        assert torch.isfinite(full).all()
        singles = torch.cat([REGISTRY[key](zz[i:i + 1], gg[i:i + 1], **{name: value}) for i in range(len(zz))])
        if value == "batch":
            assert not torch.allclose(full, singles), "the batch reduction couples the samples"
            assert torch.equal(full, full[:1].expand_as(full)) or key in ("dice_bce", "dice_focal")
        else:
            torch.testing.assert_close(full, singles, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("key,name,value", _choice_settings() + [
    pytest.param("dice", "smooth_nr", 0.0, id="dice.smooth_nr=0"),
    pytest.param("tversky", "smooth_dr", 1e-8, id="tversky.smooth_dr=1e-8")])
def test_options_exact_on_compressed_pixels(key, name, value):
    """Each distinct pixel given a weight equals the full image with the pixel repeated (engine)."""
    gen = torch.Generator().manual_seed(3)
    b, u = 3, 7
    zc = torch.randn(b, 1, u, 1, generator=gen, dtype=torch.float64) * 2
    gc = (torch.rand(b, 1, u, 1, generator=gen) < 0.4).to(torch.float64)
    gc[2] = 0
    reps = torch.randint(1, 6, (u,), generator=gen)  # the same multiplicities for every sample
    w_same = reps.reshape(1, 1, u, 1).expand(b, 1, u, 1).to(torch.float64)
    n = float(reps.sum())
    with weighted_pixels(w_same, n):
        comp = REGISTRY[key](zc, gc, **{name: value})
    zf = zc.repeat_interleave(reps, dim=2)
    gf = gc.repeat_interleave(reps, dim=2)
    torch.testing.assert_close(comp, REGISTRY[key](zf, gf, **{name: value}), rtol=1e-12, atol=1e-12)


def test_semimetric_is_zero_on_a_soft_target_and_equal_on_hard():
    gen = torch.Generator().manual_seed(0)
    soft = torch.rand(2, 1, 8, 8, generator=gen, dtype=torch.float64) * 0.9 + 0.05
    z = torch.logit(soft)
    for key in ("dice", "jaccard", "tversky"):
        prod = REGISTRY[key](z, soft, smooth=0.0)
        semi = REGISTRY[key](z, soft, smooth=0.0, soft="semimetric")
        assert (prod > 0.1).all()  # the usual soft Dice does not reach 0 at p = g
        torch.testing.assert_close(semi, torch.zeros_like(semi), rtol=0, atol=1e-12)
    z, g = binary_case("random")
    for key in ("dice", "jaccard", "tversky", "focal_tversky"):
        torch.testing.assert_close(REGISTRY[key](z, g, soft="semimetric"), REGISTRY[key](z, g), rtol=1e-10, atol=1e-12)


def test_empty_and_average_options_on_three_classes():
    z, g, _ = multi_case("empty_gt")  # class 2 absent everywhere; samples 1 and 2 only background
    v = {e: REGISTRY["dice"](z, g, average="all", empty=e) for e in ("smooth", "one", "zero", "ignore")}
    present = REGISTRY["dice"](z, g)
    torch.testing.assert_close(v["ignore"], present)  # ignore = the present classes here
    assert (v["one"] < v["smooth"]).all() and (v["zero"] >= v["smooth"] - 1e-12).all()
    # by hand: per-class Dice of the softmax, s = 1; "one" gives an empty class loss 0 in a mean over 3
    p = torch.softmax(z, 1)
    tp, sp, sg = (p * g).sum((2, 3)), p.sum((2, 3)), g.sum((2, 3))
    per_class = 1 - (2 * tp + 1) / (sp + sg + 1)
    torch.testing.assert_close(v["smooth"], per_class.mean(1))
    torch.testing.assert_close(v["one"], torch.where(sg > 0, per_class, 0.0).mean(1))
    torch.testing.assert_close(v["zero"], torch.where(sg > 0, per_class, 1.0).mean(1))
    w = (sg > 0).to(per_class.dtype)
    torch.testing.assert_close(v["ignore"], (per_class * w).sum(1) / w.sum(1))


def test_split_smoothing():
    z, g = binary_case("random")
    tp = (torch.sigmoid(z) * g).flatten(1).sum(1)
    sp, sg = torch.sigmoid(z).flatten(1).sum(1), g.flatten(1).sum(1)
    got = REGISTRY["dice"](z, g, smooth_nr=0.5, smooth_dr=2.0)
    torch.testing.assert_close(got, 1 - (2 * tp + 0.5) / (sp + sg + 2.0))
    torch.testing.assert_close(REGISTRY["dice"](z, g, smooth_nr=3.0, smooth_dr=3.0), REGISTRY["dice"](z, g, smooth=3.0))


def test_batch_gradient_lesson_small_object_share():
    z, g = binary_case("mixed")  # large, small, empty
    per = gradient_report(z, g, "dice", {"smooth": 1e-5})
    bat = gradient_report(z, g, "dice", {"smooth": 1e-5, "reduction": "batch"})
    assert bat["share"][1] < per["share"][1] / 2, (per["share"], bat["share"])
    assert torch.equal(bat["values"], bat["values"][:1].expand(3))


def test_cli_preset_and_set(tmp_path):
    from PIL import Image
    gt = _disk(5)
    Image.fromarray((gt * 255).astype(np.uint8)).save(tmp_path / "gt.png")
    Image.fromarray((_disk(6, cx=W // 2 + 2) * 255).astype(np.uint8)).save(tmp_path / "pred.png")
    base = [sys.executable, "-m", "segloss_core", "eval", "--gt", str(tmp_path / "gt.png"),
            "--pred", str(tmp_path / "pred.png"), "--json"]
    out = json.loads(subprocess.run(base + ["--preset", "monai.DiceLoss"], capture_output=True, text=True,
                                    check=True).stdout)
    from monai.losses import DiceLoss
    p = torch.where(torch.as_tensor(_disk(6, cx=W // 2 + 2)), 0.99, 0.01).to(torch.float64)[None, None]
    lib = float(DiceLoss(reduction="mean")(p, torch.as_tensor(gt, dtype=torch.float64)[None, None]))
    assert out["preset"]["name"] == "monai.DiceLoss"
    assert abs(out["losses"]["dice"]["value"] - lib) < 1e-6
    out2 = json.loads(subprocess.run(base + ["--losses", "dice", "--set", "dice.smooth_nr=1e-5", "--set",
                                             "dice.smooth_dr=1e-5", "--set", "dice.average=all",
                                             "--set", "dice.reduction=batch"],
                                     capture_output=True, text=True, check=True).stdout)
    assert abs(out2["losses"]["dice"]["value"] - lib) < 1e-6
    bad = subprocess.run(base + ["--preset", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "monai.DiceLoss" in bad.stderr


@pytest.mark.skipif(SMP is None, reason="segmentation_models_pytorch not installed")
def test_smp_float32_gap_is_smps_own_rounding():
    """On a float32 6×4×128×128 batch smp's value is ~2e-5 from the exact one (it sums ~400 000
    terms in float32 in one pass, and its L1 intersection (Σp+Σg-‖p-g‖₁)/2 cancels); the preset in
    float32 stays within 1e-6 of the float64 value, and in float64 the two agree to rounding."""
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(6, 4, 128, 128, generator=gen) * 3
    idx = torch.randint(0, 4, (6, 128, 128), generator=gen)
    g = F.one_hot(idx, 4).permute(0, 3, 1, 2).float()
    exact = ours("smp.DiceLoss", z.double(), g.double())[0]
    torch.testing.assert_close(_smp_lib("smp.DiceLoss", "multiclass")(z.double(), idx), exact, rtol=0, atol=1e-12)
    assert abs(float(ours("smp.DiceLoss", z, g)[0]) - float(exact)) < 1e-6
