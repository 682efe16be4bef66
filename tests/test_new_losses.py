"""The losses since 2020 (issue 14) against independent implementations and hand-computed cases.

Oracles: MONAI 1.6 (SoftclDiceLoss, SoftDiceclDiceLoss, AsymmetricUnifiedFocalLoss and its two
parts, LogHausdorffDTLoss), segmentation_models_pytorch 0.6 MCCLoss, kornia 0.9 HausdorffERLoss
(2-D and 3-D). Conventions mapped are stated at each test. Where no library implements a loss
(Skeleton Recall, TopK CE, Boundary DoU) the authors' formulas are transcribed here from their code,
independently of the library, and tiny cases are computed by hand.
"""
from __future__ import annotations

import importlib.util
import math
import sys
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from segloss_core.registry import REGISTRY
from segloss_core.skeletons import tubed_skeleton

NEW = ["cldice", "skeleton_recall", "unified_focal", "topk_ce", "mcc", "log_hausdorff_dt", "hausdorff_er",
       "boundary_dou"]


def _vessel(shape=(24, 24)) -> np.ndarray:
    """A small branching structure: a horizontal trunk (2 px), a vertical branch (1 px), a blob."""
    m = np.zeros(shape, bool)
    m[10:12, 2:22] = True
    m[3:10, 14] = True
    m[15:20, 4:9] = True
    return m


def _cases(dtype=torch.float64, ndim=2):
    """Three samples: the vessel, a ring, an empty ground truth; logits correlated with the truth."""
    gen = torch.Generator().manual_seed(5)
    if ndim == 2:
        from skimage.draw import disk
        ring = np.zeros((24, 24), bool)
        ring[disk((12, 12), 8)] = True
        ring[disk((12, 12), 5)] = False
        masks = [_vessel(), ring, np.zeros((24, 24), bool)]
    else:
        v = np.zeros((8, 12, 12), bool)
        v[3:5, 2:10, 5:7] = True
        v[2:6, 5, 2:10] = True
        masks = [v, np.roll(v, 2, axis=2), np.zeros_like(v)]
    g = torch.as_tensor(np.stack([m[None] for m in masks]), dtype=dtype)
    z = (2.0 * (2 * g - 1) + 2.0 * torch.randn(g.shape, generator=gen, dtype=torch.float64).to(dtype))
    return z, g


def _two(p):  # binary probability -> MONAI/kornia two-channel [bg, fg]
    return torch.cat([1 - p, p], 1)


# ---------------------------------------------------------------- clDice: MONAI
@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("iters", [0, 3, 7])
def test_cldice_alone_equals_monai_soft_cldice(ndim, iters):
    from monai.losses import SoftclDiceLoss
    z, g = _cases(ndim=ndim)
    # MONAI adds `smooth` (1e-4 by default) to the harmonic mean's denominator; the authors do not
    ref = SoftclDiceLoss(iter_=iters, smooth_nr=1.0, smooth_dr=1.0, smooth=1e-300, reduction="none")(torch.sigmoid(z), g)
    got = REGISTRY["cldice"](z, g, alpha=1.0, iters=float(iters))
    torch.testing.assert_close(got, ref.flatten(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("kind", ["random", "two_valued"])
def test_soft_skeleton_pooling_equals_plain_max_pool_values_and_gradients(ndim, kind):
    """The stacked channels-last pooling (thin._max_pool) keeps every window and the first-max tie
    rule: values and gradients equal the plain per-sample F.max_pool2d/3d, also on two-valued input
    where nearly every window has ties (the survey's predictions)."""
    from segloss_core.losses import thin
    gen = torch.Generator().manual_seed(3)
    shape = (5, 1, 20, 24) if ndim == 2 else (4, 1, 6, 10, 12)
    x = torch.rand(shape, generator=gen, dtype=torch.float64)
    if kind == "two_valued":
        x = torch.where(x > 0.5, 0.99, 0.01).to(torch.float64)
    pool = F.max_pool2d if ndim == 2 else F.max_pool3d
    kernels = [((3, 1), (1, 0)), ((1, 3), (0, 1)), ((3, 3), (1, 1))] if ndim == 2 else \
        [((3, 1, 1), (1, 0, 0)), ((1, 1, 3), (0, 0, 1)), ((3, 3, 3), (1, 1, 1))]
    w = torch.rand(shape, generator=gen, dtype=torch.float64)
    for k, p in kernels:
        a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
        ya, yb = thin._max_pool(thin._stacked(a), k, p).contiguous().reshape(shape), torch.cat([pool(b[i:i + 1], k, 1, p) for i in range(shape[0])])
        (ya * w).sum().backward()
        (yb * w).sum().backward()
        assert torch.equal(ya, yb) and torch.equal(a.grad, b.grad), (k, kind)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.5])
def test_cldice_mix_equals_monai_soft_dice_cldice(alpha):
    from monai.losses import SoftDiceclDiceLoss
    z, g = _cases()
    ref = SoftDiceclDiceLoss(iter_=3, alpha=alpha, smooth=1e-300)
    for i in range(z.shape[0]):  # MONAI's reduction="none" does not give per-sample values here: one at a time
        got = REGISTRY["cldice"](z[i:i + 1], g[i:i + 1], alpha=alpha)
        assert got.item() == pytest.approx(ref(torch.sigmoid(z[i:i + 1]), g[i:i + 1]).item(), rel=1e-12, abs=1e-12)


def test_cldice_weighs_a_gap_by_centreline_not_by_area():
    """A thick trunk (7 px) with a thin branch (1 px): cutting the branch costs Dice one pixel of the
    whole area, clDice a share of the whole centreline (several times more)."""
    gt = np.zeros((24, 40), bool)
    gt[4:11, 4:36] = True                       # trunk, 224 px, centreline ~32 px
    gt[11:23, 20] = True                        # branch, 12 px
    cut = gt.copy()
    cut[16, 20] = False                         # a one-pixel gap: the branch is disconnected at its tip
    g = torch.as_tensor(gt, dtype=torch.float64)[None, None]
    z = lambda m: torch.as_tensor(np.where(m, 12.0, -12.0))[None, None]
    d_dice = (REGISTRY["dice"](z(cut), g) - REGISTRY["dice"](z(gt), g)).item()
    d_cl = (REGISTRY["cldice"](z(cut), g, alpha=1.0) - REGISTRY["cldice"](z(gt), g, alpha=1.0)).item()
    assert 0 < d_dice < 0.003
    assert d_cl > 3 * d_dice


# ---------------------------------------------------------------- Skeleton Recall: the authors' transform
def test_tube_is_the_authors_transform():
    """SkeletonTransform(do_tube=True): skeletonize, dilate with iterate_structure(cross, 2), times the mask."""
    from scipy import ndimage as ndi
    from skimage.morphology import dilation, skeletonize
    for m in (_vessel(), np.ones((9, 9), bool), _cases(ndim=3)[1][0, 0].numpy() > 0):
        skel = skeletonize(m).astype(np.int16)
        want = dilation(skel, footprint=ndi.iterate_structure(ndi.generate_binary_structure(m.ndim, 1), 2)) * m
        np.testing.assert_array_equal(tubed_skeleton(m), want > 0)
    assert not tubed_skeleton(np.zeros((5, 5), bool)).any()


def _srec_reference(p: torch.Tensor, g: torch.Tensor, smooth=1e-5):
    """The authors' SoftSkeletonRecallLoss (batch_dice off) + nnU-Net's MemoryEfficientSoftDiceLoss and
    CE on the foreground channel, per sample: CE - Dice - Rec, as the trainer sums them."""
    out = []
    for i in range(p.shape[0]):
        m = g[i, 0].numpy() > 0.5
        t = torch.as_tensor(tubed_skeleton(m), dtype=p.dtype)
        x = p[i, 0]
        rec = ((x * t).sum() + smooth) / torch.clip(t.sum() + smooth, 1e-8)
        dc = (2 * (x * g[i, 0]).sum() + smooth) / torch.clip(x.sum() + g[i, 0].sum() + smooth, 1e-8)
        ce = F.binary_cross_entropy(x, g[i, 0])
        out.append(ce - dc - rec)
    return torch.stack(out)


@pytest.mark.parametrize("ndim", [2, 3])
def test_skeleton_recall_equals_the_authors_sum_plus_constants(ndim):
    z, g = _cases(ndim=ndim)
    got = REGISTRY["skeleton_recall"](z, g)
    # the registry adds w_base + w_srec = 2 so that the loss is >= 0 (same gradient)
    torch.testing.assert_close(got, _srec_reference(torch.sigmoid(z), g) + 2.0, rtol=1e-10, atol=1e-10)


def test_skeleton_recall_hand_case():
    gt = np.zeros((9, 13), bool)
    gt[4, 1:12] = True                            # a 1-px line: its tube inside the mask is the line itself
    tube = tubed_skeleton(gt)
    assert tube.sum() > 0 and (tube <= gt).all()
    pred = np.zeros_like(gt)
    cols = np.flatnonzero(tube.any(0))
    pred[4, cols[: len(cols) // 2]] = True        # half of the centreline predicted
    z = torch.as_tensor(np.where(pred, 40.0, -40.0))[None, None]
    g = torch.as_tensor(gt, dtype=torch.float64)[None, None]
    only_rec = REGISTRY["skeleton_recall"](z, g, w_base=0.0, smooth=1e-6).item()
    want = 1 - (len(cols) // 2 + 1e-6) / (tube.sum() + 1e-6)
    assert only_rec == pytest.approx(want, abs=1e-9)


# ---------------------------------------------------------------- Unified Focal: MONAI parts
@pytest.mark.parametrize("lam,delta,gamma", [(0.5, 0.6, 0.5), (0.2, 0.7, 0.3), (0.9, 0.4, 0.9)])
def test_asymmetric_unified_focal_equals_monai_parts(lam, delta, gamma):
    from monai.losses import AsymmetricUnifiedFocalLoss
    z, g = _cases()
    for i in range(z.shape[0]):
        m = AsymmetricUnifiedFocalLoss(weight=lam, delta=delta, gamma=gamma)
        p2, g2 = _two(torch.sigmoid(z[i:i + 1])), _two(g[i:i + 1])
        # MONAI's AsymmetricFocalLoss means over the two label channels: the authors' sum is twice it
        want = lam * 2 * m.asy_focal_loss(p2, g2) + (1 - lam) * m.asy_focal_tversky_loss(p2, g2)
        got = REGISTRY["unified_focal"](z[i:i + 1], g[i:i + 1], lam=lam, delta=delta, gamma=gamma)
        assert got.item() == pytest.approx(want.item(), rel=1e-9, abs=1e-12)
        # and at λ = 0 (the Tversky part only) MONAI's whole loss agrees with no mapping at all
        assert REGISTRY["unified_focal"](z[i:i + 1], g[i:i + 1], lam=0.0, delta=delta, gamma=gamma).item() == \
            pytest.approx(AsymmetricUnifiedFocalLoss(weight=0.0, delta=delta, gamma=gamma)(p2, g2).item(), rel=1e-9)


def test_symmetric_unified_focal_formula_and_special_cases():
    z, g = _cases()
    p = torch.sigmoid(z)
    lam, delta, gamma = 0.4, 0.7, 0.3
    # the authors' symmetric_focal_loss and symmetric_focal_tversky_loss, transcribed (per sample)
    ce_f, ce_b = -g * torch.log(p), -(1 - g) * torch.log(1 - p)
    focal = ((1 - delta) * p ** gamma * ce_b + delta * (1 - p) ** gamma * ce_f).flatten(1).mean(1)
    eps = 1e-7

    def mti(pc, gc):
        tp, fn, fp = (pc * gc).flatten(1).sum(1), ((1 - pc) * gc).flatten(1).sum(1), (pc * (1 - gc)).flatten(1).sum(1)
        return (tp + eps) / (tp + delta * fn + (1 - delta) * fp + eps)

    ft = 0.5 * ((1 - mti(1 - p, 1 - g)) ** (1 - gamma) + (1 - mti(p, g)) ** (1 - gamma))
    got = REGISTRY["unified_focal"](z, g, lam=lam, delta=delta, gamma=gamma, variant="symmetric")
    torch.testing.assert_close(got, lam * focal + (1 - lam) * ft, rtol=1e-10, atol=1e-12)
    # γ = 0, δ = 0.5, λ = 1: the focal term is half the cross-entropy (the paper's CE special case)
    torch.testing.assert_close(REGISTRY["unified_focal"](z, g, lam=1.0, delta=0.5, gamma=0.0, variant="symmetric"),
                               0.5 * REGISTRY["bce"](z, g), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- TopK: nnU-Net's TopKLoss per sample
def test_topk_equals_nnunet_topk_without_ties():
    z, g = _cases()
    ce = F.binary_cross_entropy_with_logits(z, g, reduction="none").flatten(1)
    for k in (1.0, 10.0, 37.5, 100.0):
        n = int(ce.shape[1] * k / 100)
        want = torch.stack([torch.topk(c, n, sorted=False).values.mean() for c in ce])
        torch.testing.assert_close(REGISTRY["topk_ce"](z, g, k=k), want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(REGISTRY["topk_ce"](z, g, k=100.0), REGISTRY["bce"](z, g), rtol=1e-12, atol=1e-12)


def test_topk_ties_share_the_slots():
    # 4 pixels, k = 50 %: n = 2; three FN pixels tie at logit -1 (CE = log(1+e)), one TN pixel is easy
    z = torch.tensor([[[[-1.0, -1.0], [-1.0, -3.0]]]], dtype=torch.float64, requires_grad=True)
    g = torch.tensor([[[[1.0, 1.0], [1.0, 0.0]]]], dtype=torch.float64)
    v = REGISTRY["topk_ce"](z, g, k=50.0)
    assert v.item() == pytest.approx(math.log1p(math.e), rel=1e-12)
    v.backward()
    gr = z.grad[0, 0].flatten()
    # each tied pixel gets 2/3 of a slot: -(1 - sigmoid(-1)) * (2/3) / 2
    want = -(1 - 1 / (1 + math.e)) * (2 / 3) / 2
    np.testing.assert_allclose(gr[:3].numpy(), want, rtol=1e-12)
    assert gr[3].item() == 0.0
    # one pixel at least: k = 0.1 % of 4 pixels is the single largest CE
    assert REGISTRY["topk_ce"](z.detach(), g, k=0.1).item() == pytest.approx(math.log1p(math.e), rel=1e-12)


# ---------------------------------------------------------------- MCC: segmentation_models_pytorch
def _smp_losses():
    """smp's losses without its package __init__ (which imports timm/torchvision): a bare package module."""
    if "segmentation_models_pytorch" not in sys.modules:
        spec = importlib.util.find_spec("segmentation_models_pytorch")
        if spec is None:
            pytest.skip("segmentation_models_pytorch is not installed (requirements-test-nodeps.txt)")
        mod = types.ModuleType("segmentation_models_pytorch")
        mod.__path__ = list(spec.submodule_search_locations)
        mod.__spec__ = spec
        sys.modules["segmentation_models_pytorch"] = mod
    import segmentation_models_pytorch.losses as L
    return L


@pytest.mark.parametrize("eps", [1e-5, 1e-3, 1.0])
def test_mcc_equals_smp_per_sample(eps):
    L = _smp_losses()
    for ndim in (2, 3):
        z, g = _cases(ndim=ndim)
        p = torch.sigmoid(z)
        got = REGISTRY["mcc"](z, g, eps=eps)
        want = torch.stack([L.MCCLoss(eps=eps)(p[i:i + 1], g[i:i + 1]) for i in range(z.shape[0])])  # smp pools the batch
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_mcc_hand_values():
    g = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]], dtype=torch.float64)
    hard = lambda m: torch.tensor(m, dtype=torch.float64)[None, None] * 80 - 40
    assert REGISTRY["mcc"](hard([[1, 1], [0, 0]]), g, eps=1e-6).item() == pytest.approx(0.0, abs=1e-5)   # MCC = 1
    assert REGISTRY["mcc"](hard([[0, 0], [1, 1]]), g, eps=1e-6).item() == pytest.approx(2.0, abs=1e-5)   # MCC = -1
    # TP=1, FN=1, FP=0, TN=2: (1·2 - 0)/sqrt(1·2·2·3) = 2/sqrt(12)
    assert REGISTRY["mcc"].fn(hard([[1, 0], [0, 0]]), g, eps=1e-9).item() == pytest.approx(1 - 2 / math.sqrt(12), abs=1e-6)


# ---------------------------------------------------------------- log-Hausdorff DT: MONAI
@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("alpha", [0.5, 2.0, 4.0])
def test_log_hausdorff_equals_monai(ndim, alpha):
    from monai.losses import LogHausdorffDTLoss
    z, g = _cases(ndim=ndim)
    z = torch.where(z.abs() < 1e-3, torch.full_like(z, 0.5), z)  # MONAI thresholds p > 0.5, here z > 0: same off z = 0
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = LogHausdorffDTLoss(alpha=alpha, reduction="none")(torch.sigmoid(z), g).flatten()
    # MONAI casts its distance fields to float32: agreement to float32 rounding of the distances
    torch.testing.assert_close(REGISTRY["log_hausdorff_dt"](z, g, alpha=alpha), want, rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(REGISTRY["log_hausdorff_dt"](z, g, alpha=alpha),
                               torch.log1p(REGISTRY["hausdorff_dt"](z, g, alpha=alpha)), rtol=1e-12, atol=0)


# ---------------------------------------------------------------- Hausdorff ER: kornia
@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("alpha,k", [(2.0, 10), (0.5, 1), (4.0, 20)])
def test_hausdorff_er_equals_kornia(ndim, alpha, k):
    kl = pytest.importorskip("kornia.losses")
    z, g = _cases(ndim=ndim)
    cls = kl.HausdorffERLoss if ndim == 2 else kl.HausdorffERLoss3D
    p = torch.sigmoid(z)
    # kornia scores channel c against target == c: with [1-p, p] both channels carry (p - g)^2, so the
    # mean over its (C, B, ...) output is the binary loss; its kernel buffer is float32 (0.2 and 1/7
    # rounded), hence the float32-level tolerance
    want = torch.stack([cls(alpha=alpha, k=k)(_two(p[i:i + 1]), g[i:i + 1].long()) for i in range(z.shape[0])])
    torch.testing.assert_close(REGISTRY["hausdorff_er"](z, g, alpha=alpha, k=float(k)), want, rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------- Boundary DoU: the authors' code, transcribed
def _dou_reference(p: torch.Tensor, g: torch.Tensor, alpha_max=0.8):
    """BoundaryDoULoss._adaptive_size per sample, averaged over [bg, fg] (2-D)."""
    kernel = torch.tensor([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=p.dtype)[None, None]
    out = []
    for i in range(p.shape[0]):
        tot = 0.0
        for score, target in ((1 - p[i:i + 1, 0], 1 - g[i:i + 1, 0]), (p[i:i + 1, 0], g[i:i + 1, 0])):
            Y = F.conv2d(target[:, None], kernel, padding=1)[:, 0] * target
            Y[Y == 5] = 0
            C, S = torch.count_nonzero(Y).item(), torch.count_nonzero(target).item()  # float64 here (theirs: float32)
            a = 2 * (1 - (C + 1e-5) / (S + 1e-5)) - 1
            a = min(float(a), alpha_max)
            inter, y_sum, z_sum = (score * target).sum(), (target * target).sum(), (score * score).sum()
            tot = tot + (z_sum + y_sum - 2 * inter + 1e-5) / (z_sum + y_sum - (1 + a) * inter + 1e-5)
        out.append(tot / 2)
    return torch.stack(out)


@pytest.mark.parametrize("alpha_max", [0.0, 0.8, 0.99])
def test_boundary_dou_equals_the_authors_code(alpha_max):
    z, g = _cases()
    torch.testing.assert_close(REGISTRY["boundary_dou"](z, g, alpha_max=alpha_max),
                               _dou_reference(torch.sigmoid(z), g, alpha_max), rtol=1e-12, atol=1e-12)


def test_boundary_dou_thin_line_is_jaccard_like():
    # a 1-px line: every pixel is boundary, α = 2(1 - 1) - 1 = -1, so the foreground term is
    # (Σp² + Σg² - 2Σpg)/(Σp² + Σg²) for the hard prediction
    g = torch.zeros(1, 1, 7, 9, dtype=torch.float64)
    g[0, 0, 3, 1:8] = 1
    pred = g.clone()
    pred[0, 0, 3, 4] = 0                          # one gap pixel: 6 of 7 predicted
    z = pred * 80 - 40
    p = torch.sigmoid(z)
    fg = ((p * p).sum() + 7 - 2 * (p * g).sum() + 1e-5) / ((p * p).sum() + 7 + 1e-5)
    assert fg.item() == pytest.approx(1 / 13, rel=1e-4)   # (6 + 7 - 12)/(6 + 7), s = 1e-5 aside
    from segloss_core.losses.recent import _boundary_fraction
    assert _boundary_fraction(g[:, 0].numpy() > 0.5)[0] == pytest.approx(1.0)   # C = S: α = -1
    got = REGISTRY["boundary_dou"](z, g, alpha_max=0.8)
    assert got.item() == pytest.approx(_dou_reference(p, g)[0].item(), rel=1e-12)


# ---------------------------------------------------------------- all new losses
@pytest.mark.parametrize("key", NEW)
def test_new_keys_are_in_the_registry_with_references(key):
    spec = REGISTRY[key]
    assert spec.reference and spec.formula and spec.use_case and not spec.multiclass
    assert spec.fn.__doc__ and ".. math::" in spec.fn.__doc__


@pytest.mark.parametrize("key", NEW)
def test_perfect_beats_broken_on_a_vessel(key):
    """A confident correct prediction scores better than the same prediction with the vessel cut."""
    gt = _vessel()
    cut = gt.copy()
    cut[:, 9:11] = False
    g = torch.as_tensor(gt, dtype=torch.float64)[None, None]
    z = lambda m: torch.as_tensor(np.where(m, 6.0, -6.0))[None, None]
    assert REGISTRY[key](z(gt), g).item() < REGISTRY[key](z(cut), g).item()
