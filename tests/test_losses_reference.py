"""Independent references for the losses.

* MONAI 1.6 as an oracle (``reduction="none"``, per-sample values), options mapped to ours in the
  comments after reading MONAI's source.
* Closed forms for gradients and identities between losses, with the expected side computed by a
  small NumPy re-implementation of LOSSES.md written here (never by the code under test).
* Hand-computed tiny cases, with the arithmetic in the comments.
* The pitfalls listed in LOSSES.md, each as a test.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage as ndi
from skimage.segmentation import find_boundaries

from monai.losses import BoundaryLoss, DiceLoss, FocalLoss, GeneralizedDiceLoss, HausdorffDTLoss, TverskyLoss
from segloss_core.distance import TargetMaps
from segloss_core.registry import REGISTRY

F64 = torch.float64

# Regression guard: region.dice used to return 1 - tversky_index(α=β=0.5, s)
# = 1 - (2TP + 2s)/(Σp + Σg + 2s), i.e. Dice with the smoothing constant doubled (seed 001 with
# s = 1 gave 1/3 instead of 3/8). Found by the Dice tests below (MONAI, closed-form gradient, seed 001,
# the compositions built on Dice), fixed in 8fad947.


# ================================================================ data
def disk(shape, center, r) -> np.ndarray:
    grids = np.meshgrid(*[np.arange(s, dtype=float) for s in shape], indexing="ij")
    return sum((g - c) ** 2 for g, c in zip(grids, center)) <= r * r


def noise_blob(shape, rng, frac, sigma=3.0) -> np.ndarray:
    """Thresholded smoothed noise: irregular blobs covering about ``frac`` of the image."""
    n = ndi.gaussian_filter(rng.standard_normal(shape), sigma)
    return n > np.quantile(n, 1 - frac)


def smooth_logits(shape, rng, scale=3.0, sigma=2.0) -> np.ndarray:
    n = ndi.gaussian_filter(rng.standard_normal(shape), sigma)
    return scale * n / n.std()


def soft_logits_of(mask, rng, sharp=3.0, noise=0.7) -> np.ndarray:
    """Logits of a blurry, noisy prediction of ``mask``."""
    m = ndi.gaussian_filter(mask.astype(float), 1.0)
    return sharp * (2 * m - 1) + noise * rng.standard_normal(mask.shape)


def pairs_2d():
    """(target, logits), each (B, 1, 32, 32) float64: a variety of GT/prediction pairs:
    noise blobs vs independent logits, a disk vs a shifted disk, a tiny disk, a GT vs a dilated
    prediction, two disks vs one, an empty GT and a full GT."""
    rng = np.random.default_rng(2024)
    s = (32, 32)
    gts, lgs = [], []
    g = noise_blob(s, rng, 0.3); gts.append(g); lgs.append(smooth_logits(s, rng))
    g = disk(s, (16, 15), 8); gts.append(g); lgs.append(soft_logits_of(disk(s, (19, 13), 8), rng))
    g = disk(s, (8, 22), 2); gts.append(g); lgs.append(smooth_logits(s, rng) - 2.0)
    g = noise_blob(s, rng, 0.1); gts.append(g); lgs.append(soft_logits_of(ndi.binary_dilation(g, iterations=2), rng))
    g = disk(s, (9, 9), 5) | disk(s, (23, 23), 6); gts.append(g); lgs.append(soft_logits_of(disk(s, (23, 22), 6), rng))
    gts.append(np.zeros(s, bool)); lgs.append(smooth_logits(s, rng) - 1.0)
    gts.append(np.ones(s, bool)); lgs.append(smooth_logits(s, rng) + 1.0)
    t = torch.tensor(np.stack(gts)[:, None], dtype=F64)
    z = torch.tensor(np.stack(lgs)[:, None], dtype=F64)
    return t, z


def pairs_3d():
    rng = np.random.default_rng(3)
    s = (12, 12, 12)
    gts = [disk(s, (6, 6, 5), 3.5), noise_blob(s, rng, 0.25, sigma=2.0)]
    lgs = [soft_logits_of(disk(s, (7, 5, 6), 3.5), rng), smooth_logits(s, rng)]
    return torch.tensor(np.stack(gts)[:, None], dtype=F64), torch.tensor(np.stack(lgs)[:, None], dtype=F64)


PAIRS = {"2d": pairs_2d, "3d": pairs_3d}


def multiclass_pairs(shape=(24, 24), b=3, c=3, seed=5):
    """One-hot (B, C, ...) targets in which every class is present in every sample, and logits."""
    rng = np.random.default_rng(seed)
    labs = []
    for _ in range(b):
        while True:
            n = np.stack([ndi.gaussian_filter(rng.standard_normal(shape), 2.5) for _ in range(c)])
            lab = n.argmax(0)
            if len(np.unique(lab)) == c:
                break
        labs.append(lab)
    labs = np.stack(labs)
    t = torch.tensor(np.stack([labs == k for k in range(c)], axis=1), dtype=F64)
    z = torch.tensor(np.stack([np.stack([smooth_logits(shape, rng, 2.0) for _ in range(c)]) for _ in range(b)]),
                     dtype=F64) + 2.0 * t
    return t, z, labs


def val_grad(fn, z):
    z = z.detach().clone().requires_grad_(True)
    out = fn(z)
    out.sum().backward()
    return out.detach(), z.grad


# ================================================================ NumPy references (LOSSES.md)
def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def flat(a):
    a = np.asarray(a, dtype=float)
    return a.reshape(a.shape[0], -1)


def np_bce(z, g):
    p, g = sig(flat(z)), flat(g)
    return -(g * np.log(p) + (1 - g) * np.log(1 - p)).mean(1)


def np_balanced_ce(z, g, beta):
    p, g = sig(flat(z)), flat(g)
    return -(beta * g * np.log(p) + (1 - beta) * (1 - g) * np.log(1 - p)).mean(1)


def np_focal(z, g, alpha, gamma):
    p, g = sig(flat(z)), flat(g)
    return -(alpha * (1 - p) ** gamma * g * np.log(p) + (1 - alpha) * p**gamma * (1 - g) * np.log(1 - p)).mean(1)


def np_tversky(z, g, alpha, beta, s):
    p, g = sig(flat(z)), flat(g)
    tp, fp, fn = (p * g).sum(1), (p * (1 - g)).sum(1), ((1 - p) * g).sum(1)
    return 1 - (tp + s) / (tp + alpha * fp + beta * fn + s)


def np_dice(z, g, s):
    p, g = sig(flat(z)), flat(g)
    return 1 - (2 * (p * g).sum(1) + s) / (p.sum(1) + g.sum(1) + s)


def np_gdl(z, g):
    p, g = sig(flat(z)), flat(g)
    pl, gl = np.stack([1 - p, p], 1), np.stack([1 - g, g], 1)  # (B, 2, N)
    vol = gl.sum(2)
    with np.errstate(divide="ignore"):
        w = 1.0 / vol**2
    wmax = np.where(np.isinf(w), 0, w).max(1, keepdims=True)
    w = np.where(np.isinf(w), wmax, w)  # empty label: largest finite weight
    return 1 - 2 * (w * (pl * gl).sum(2)).sum(1) / (w * (pl + gl).sum(2)).sum(1)


def np_signed(mask):
    """Kervadec: -(d_fg - 1) inside, d_bg outside, 0 for an empty or full mask."""
    m = np.asarray(mask, bool)
    if not m.any() or m.all():
        return np.zeros(m.shape)
    return np.where(m, -(ndi.distance_transform_edt(m) - 1), ndi.distance_transform_edt(~m))


def np_boundary(z, g):
    g = np.asarray(g)
    phi = np.stack([np_signed(x[0] > 0.5)[None] for x in g])
    return (flat(phi) * sig(flat(z))).mean(1)


# ================================================================ MONAI oracle
# MONAI returns (B, C, 1, ...) or (B, C) with reduction="none" and batch=False (per sample).
def per_sample(x, b):
    return x.reshape(b, -1).mean(1)


def assert_matches_monai(ours, ref, t, z, *, value_tol=(1e-10, 1e-12), grad_tol=(1e-8, 1e-12)):
    """Our loss ``ours(z)`` and a MONAI loss ``ref`` (reduction="none", averaged per sample) agree in
    value and in gradient with respect to the logits, within (rtol, atol)."""
    v, gr = val_grad(ours, z)
    rv, rg = val_grad(lambda x: per_sample(ref(x, t), len(t)), z)
    torch.testing.assert_close(v, rv, rtol=value_tol[0], atol=value_tol[1])
    torch.testing.assert_close(gr, rg, rtol=grad_tol[0], atol=grad_tol[1])
    return v


@pytest.mark.parametrize("dim", PAIRS)
@pytest.mark.parametrize("smooth", [1.0, 1e-5])
def test_dice_vs_monai(dim, smooth):
    t, z = PAIRS[dim]()
    ref = DiceLoss(sigmoid=True, smooth_nr=smooth, smooth_dr=smooth, reduction="none")
    assert_matches_monai(lambda x: REGISTRY["dice"](x, t, smooth=smooth), ref, t, z)


@pytest.mark.parametrize("dim", PAIRS)
def test_squared_dice_vs_monai(dim):
    # MONAI squared_pred=True: tp = Σpg, fp = Σp² - tp, fn = Σg² - tp (ord-2 norms), Dice halves
    # fp/fn, so 1 - (2Σpg + s)/(Σp² + Σg² + s): the V-Net form.
    t, z = PAIRS[dim]()
    ref = DiceLoss(sigmoid=True, squared_pred=True, smooth_nr=1.0, smooth_dr=1.0, reduction="none")
    assert_matches_monai(lambda x: REGISTRY["squared_dice"](x, t, smooth=1.0), ref, t, z)


@pytest.mark.parametrize("dim", PAIRS)
def test_jaccard_vs_monai(dim):
    # MONAI jaccard=True: 1 - (2TP + s_nr)/(2(TP+FP+FN) + s_dr) = 1 - (TP + s/2)/(U + s/2) with
    # U = Σp + Σg - TP. So MONAI with s = 2 is our 1 - (TP + 1)/(U + 1), i.e. smooth = 1.
    t, z = PAIRS[dim]()
    ref = DiceLoss(sigmoid=True, jaccard=True, smooth_nr=2.0, smooth_dr=2.0, reduction="none")
    assert_matches_monai(lambda x: REGISTRY["jaccard"](x, t, smooth=1.0), ref, t, z)


@pytest.mark.parametrize("dim", PAIRS)
@pytest.mark.parametrize("alpha,beta,smooth", [(0.3, 0.7, 1.0), (0.8, 0.2, 1.0), (0.5, 0.5, 0.1)])
def test_tversky_vs_monai(dim, alpha, beta, smooth):
    # MONAI TverskyLoss: alpha multiplies FP, beta multiplies FN (as ours). (0.8, 0.2) catches a swap:
    # the pairs have FP != FN.
    t, z = PAIRS[dim]()
    ref = TverskyLoss(sigmoid=True, alpha=alpha, beta=beta, smooth_nr=smooth, smooth_dr=smooth, reduction="none")
    assert_matches_monai(lambda x: REGISTRY["tversky"](x, t, alpha=alpha, beta=beta, smooth=smooth), ref, t, z)


@pytest.mark.parametrize("dim", PAIRS)
@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (0.75, 0.5), (0.5, 3.0)])
def test_focal_vs_monai(dim, alpha, gamma):
    # MONAI sigmoid_focal_loss: per pixel -(1-p_t)^γ log p_t, times α where t=1 and 1-α where t=0
    # (source: alpha_factor = target*α + (1-target)*(1-α)) -- our convention. reduction="none"
    # keeps pixels; we average them. MONAI casts the input to float32, hence rtol 1e-5.
    t, z = PAIRS[dim]()
    ref = FocalLoss(use_softmax=False, gamma=gamma, alpha=alpha, reduction="none")
    v, gr = val_grad(lambda x: REGISTRY["focal"](x, t, alpha=alpha, gamma=gamma), z)
    rv, rg = val_grad(lambda x: per_sample(ref(x, t), len(t)).double(), z)
    torch.testing.assert_close(v, rv, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(gr, rg, rtol=1e-4, atol=1e-8)


def test_bce_vs_torch_and_monai_focal_gamma0():
    # MONAI focal with γ=0 and no α is plain BCE (its own docstring); so is torch's BCE-with-logits.
    t, z = pairs_2d()
    ours = REGISTRY["bce"](z, t)
    torch.testing.assert_close(ours, per_sample(F.binary_cross_entropy_with_logits(z, t, reduction="none"), len(t)),
                               rtol=1e-12, atol=1e-14)
    mon = per_sample(FocalLoss(use_softmax=False, gamma=0.0, alpha=None, reduction="none")(z, t), len(t)).double()
    torch.testing.assert_close(ours, mon, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dim", PAIRS)
def test_generalized_dice_vs_monai(dim):
    # MONAI GeneralizedDiceLoss on the 2-channel input [1-p, p] and target [1-g, g], background
    # included, w = 1/vol² ("square"), no smoothing: 1 - 2 Σ_l w_l TP_l / Σ_l w_l (Σp_l + Σg_l).
    # An empty label's infinite weight becomes the largest finite weight in MONAI as in ours; the
    # empty-GT and full-GT samples of the 2-D batch exercise that. MONAI computes w in float32.
    t, z = PAIRS[dim]()
    ref = GeneralizedDiceLoss(w_type="square", smooth_nr=0.0, smooth_dr=0.0, include_background=True,
                              reduction="none")

    def monai_fn(x):
        p = torch.sigmoid(x)
        return per_sample(ref(torch.cat([1 - p, p], 1), torch.cat([1 - t, t], 1)), len(t))

    v, gr = val_grad(lambda x: REGISTRY["generalized_dice"](x, t), z)
    rv, rg = val_grad(monai_fn, z)
    torch.testing.assert_close(v, rv, rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(gr, rg, rtol=1e-5, atol=1e-10)
    torch.testing.assert_close(v, torch.tensor(np_gdl(z.numpy(), t.numpy())), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dim", PAIRS)
@pytest.mark.parametrize("alpha", [2.0, 1.0])
def test_hausdorff_dt_vs_monai(dim, alpha):
    # MONAI HausdorffDTLoss: (p-g)² (d_P^α + d_G^α), d = edt(fg) + edt(bg) of the mask > 0.5 (the
    # prediction is thresholded on probabilities, ours on logits > 0: the same set), zero field for
    # empty/full masks; mean over pixels (single channel: include_background has no effect). Its
    # distance fields are float32, hence rtol 1e-6.
    t, z = PAIRS[dim]()
    ref = HausdorffDTLoss(alpha=alpha, sigmoid=True, include_background=True, reduction="none")
    assert_matches_monai(lambda x: REGISTRY["hausdorff_dt"](x, t, alpha=alpha), ref, t, z,
                         value_tol=(1e-6, 1e-9), grad_tol=(1e-6, 1e-10))


@pytest.mark.parametrize("dim", PAIRS)
def test_boundary_vs_monai(dim):
    # MONAI BoundaryLoss: Σ p φ_G / N with Kervadec's signed map (-(d_fg-1) inside, d_bg outside,
    # zero for empty/full masks) -- also our NumPy reference.
    t, z = PAIRS[dim]()
    ref = BoundaryLoss(sigmoid=True, reduction="none")
    v = assert_matches_monai(lambda x: REGISTRY["boundary"](x, t), ref, t, z,
                             value_tol=(1e-6, 1e-9), grad_tol=(1e-6, 1e-12))
    torch.testing.assert_close(v, torch.tensor(np_boundary(z.numpy(), t.numpy())), rtol=1e-10, atol=1e-12)


def test_multiclass_dice_vs_monai():
    # C=3 softmax, every class present in every sample: our class mean over present classes is the
    # mean over all classes, which is what MONAI's per-class (B, C) values average to.
    t, z, _ = multiclass_pairs()
    ref = DiceLoss(softmax=True, smooth_nr=1.0, smooth_dr=1.0, reduction="none")
    assert_matches_monai(lambda x: REGISTRY["dice"](x, t), ref, t, z)


def test_multiclass_tversky_vs_monai():
    # Per-class Tversky averaged over classes (MONAI reduction="none" gives (B, C)). Micro-summing
    # FP and FN over softmax classes would make α and β cancel (Σ_c FP_c = Σ_c FN_c): not here.
    t, z, _ = multiclass_pairs()
    ref = TverskyLoss(softmax=True, alpha=0.3, beta=0.7, smooth_nr=1.0, smooth_dr=1.0, reduction="none")
    torch.testing.assert_close(REGISTRY["tversky"](z, t), per_sample(ref(z, t), len(t)), rtol=1e-10, atol=1e-12)


def test_multiclass_jaccard_and_generalized_dice_vs_monai():
    # Jaccard: MONAI s = 2 is our s = 1 (see test_jaccard_vs_monai). GDL over the C softmax
    # channels, background included, w = 1/vol², no smoothing.
    t, z, _ = multiclass_pairs(seed=6)
    jac = DiceLoss(softmax=True, jaccard=True, smooth_nr=2.0, smooth_dr=2.0, reduction="none")
    torch.testing.assert_close(REGISTRY["jaccard"](z, t), per_sample(jac(z, t), len(t)), rtol=1e-10, atol=1e-12)
    gdl = GeneralizedDiceLoss(softmax=True, w_type="square", smooth_nr=0.0, smooth_dr=0.0, include_background=True,
                              reduction="none")
    torch.testing.assert_close(REGISTRY["generalized_dice"](z, t), per_sample(gdl(z, t), len(t)), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("key,params", [("tversky", {"alpha": 0.3, "beta": 0.7, "smooth": 1.0}),
                                        ("jaccard", {"smooth": 0.5}),
                                        ("focal_tversky", {"alpha": 0.6, "beta": 0.4, "gamma": 1.5, "smooth": 1.0})])
def test_multiclass_region_losses_average_present_classes(key, params):
    # Sample 1 has no pixel of class 2: the class mean runs over the present classes {0, 1} only
    # (LOSSES.md: "present" classes by default); sample 0 has all three.
    t, z, labs = multiclass_pairs(shape=(16, 16), b=2, c=3, seed=13)
    labs = labs.copy()
    labs[1][labs[1] == 2] = 0
    t = torch.tensor(np.stack([labs == k for k in range(3)], axis=1), dtype=F64)
    a = params.get("alpha", 1.0)
    b = params.get("beta", 1.0)
    s, gamma = params["smooth"], params.get("gamma", 1.0)
    p, g = torch.softmax(z, 1).numpy(), t.numpy()
    tp, fp, fn = (p * g).sum((2, 3)), (p * (1 - g)).sum((2, 3)), ((1 - p) * g).sum((2, 3))
    per_class = (1 - (tp + s) / (tp + a * fp + b * fn + s)) ** gamma  # (B, C)
    expected = [per_class[0].mean(), per_class[1, :2].mean()]
    assert abs(per_class[1].mean() - per_class[1, :2].mean()) > 1e-3  # the test can tell
    np.testing.assert_allclose(REGISTRY[key](z, t, **params).numpy(), expected, rtol=1e-10)


def test_multiclass_focal_vs_monai():
    # MONAI softmax_focal_loss with scalar α: weight 1-α on class 0 (background), α on the others,
    # per pixel and class -α_c (1-p_c)^γ g_c log p_c; we sum over classes and average over pixels.
    t, z, _ = multiclass_pairs()
    ref = FocalLoss(use_softmax=True, gamma=2.0, alpha=0.25, reduction="none")
    mon = ref(z, t).sum(1).flatten(1).mean(1).double()
    torch.testing.assert_close(REGISTRY["focal"](z, t), mon, rtol=1e-5, atol=1e-7)


def test_multiclass_ce_vs_torch():
    t, z, labs = multiclass_pairs()
    ce = F.cross_entropy(z, torch.as_tensor(labs), reduction="none").flatten(1).mean(1)
    torch.testing.assert_close(REGISTRY["bce"](z, t), ce, rtol=1e-12, atol=1e-14)


# ================================================================ closed-form gradients
def test_bce_gradient_is_p_minus_g_over_n():
    t, z = pairs_2d()
    _, gr = val_grad(lambda x: REGISTRY["bce"](x, t), z)
    n = t[0].numel()
    torch.testing.assert_close(gr, (torch.sigmoid(z) - t) / n, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("smooth", [1.0, 1e-3])
def test_dice_gradient_wrt_p(smooth):
    # L = 1 - (2TP + s)/D, D = Σp + Σg + s  =>  ∂L/∂p_i = -(2 g_i D - (2TP + s)) / D².
    t, z = pairs_2d()
    p = torch.sigmoid(z).detach().requires_grad_(True)
    logits = torch.log(p) - torch.log1p(-p)  # logit(p): autograd flows back to p
    REGISTRY["dice"](logits, t, smooth=smooth).sum().backward()
    P, G = flat(p.detach().numpy()), flat(t.numpy())
    tp = (P * G).sum(1, keepdims=True)
    D = P.sum(1, keepdims=True) + G.sum(1, keepdims=True) + smooth
    expected = -(2 * G * D - (2 * tp + smooth)) / D**2
    np.testing.assert_allclose(flat(p.grad.numpy()), expected, rtol=1e-7, atol=1e-12)


def test_single_pixel_dice_gradients_seed004():
    # Seed 004: on one pixel with s = 0, Dice = 2pt/(p+t) and V-Net Dice = 2pt/(p²+t²); their
    # derivatives w.r.t. p are 2t²/(p+t)² and 2t(t²-p²)/(p²+t²)². The loss is 1 - Dice, so its
    # gradient is minus that. t = 1; the raw functions accept s = 0.
    pv = np.array([0.05, 0.2, 0.5, 0.9])
    p = torch.tensor(pv, dtype=F64).reshape(4, 1, 1, 1).requires_grad_(True)
    t = torch.ones(4, 1, 1, 1, dtype=F64)
    logits = torch.log(p) - torch.log1p(-p)
    REGISTRY["dice"].fn(logits, t, smooth=0.0).sum().backward()
    np.testing.assert_allclose(p.grad.flatten().numpy(), -2 / (pv + 1) ** 2, rtol=1e-9)
    p.grad = None
    logits = torch.log(p) - torch.log1p(-p)
    REGISTRY["squared_dice"].fn(logits, t, smooth=0.0).sum().backward()
    np.testing.assert_allclose(p.grad.flatten().numpy(), -2 * (1 - pv**2) / (pv**2 + 1) ** 2, rtol=1e-9)


# ================================================================ identities (vs the NumPy references)
@pytest.fixture(scope="module")
def pair():
    return pairs_2d()


def test_focal_gamma0_is_balanced_ce(pair):
    t, z = pair
    a = REGISTRY["focal"](z, t, alpha=0.3, gamma=0.0)
    torch.testing.assert_close(a, REGISTRY["balanced_ce"](z, t, beta=0.3), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.numpy(), np_balanced_ce(z.numpy(), t.numpy(), 0.3), rtol=1e-10)


def test_focal_gamma0_alpha_half_is_half_bce(pair):
    t, z = pair
    a = REGISTRY["focal"](z, t, alpha=0.5, gamma=0.0)
    np.testing.assert_allclose(a.numpy(), np_bce(z.numpy(), t.numpy()) / 2, rtol=1e-10)


def test_focal_general_vs_numpy(pair):
    t, z = pair
    np.testing.assert_allclose(REGISTRY["focal"](z, t, alpha=0.6, gamma=1.5).numpy(),
                               np_focal(z.numpy(), t.numpy(), 0.6, 1.5), rtol=1e-10)


def test_tversky_vs_numpy_and_jaccard_identity(pair):
    t, z = pair
    for s in (1.0, 0.01):
        for a, b in ((0.5, 0.5), (0.3, 0.7), (0.9, 0.1)):
            np.testing.assert_allclose(REGISTRY["tversky"](z, t, alpha=a, beta=b, smooth=s).numpy(),
                                       np_tversky(z.numpy(), t.numpy(), a, b, s), rtol=1e-10, atol=1e-14)
        j = REGISTRY["tversky"](z, t, alpha=1.0, beta=1.0, smooth=s)
        torch.testing.assert_close(j, REGISTRY["jaccard"](z, t, smooth=s), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(j.numpy(), np_tversky(z.numpy(), t.numpy(), 1.0, 1.0, s), rtol=1e-10, atol=1e-14)


def test_tversky_half_half_is_dice_without_smoothing(pair):
    # TI(α=β=½) = (TP + s)/(TP + (FP+FN)/2 + s) = (2TP + 2s)/(Σp + Σg + 2s): Dice exactly when s = 0
    # (raw functions accept s = 0) ...
    t, z = pair
    torch.testing.assert_close(REGISTRY["tversky"].fn(z, t, alpha=0.5, beta=0.5, smooth=0.0),
                               torch.tensor(np_dice(z.numpy(), t.numpy(), 0.0)), rtol=1e-10, atol=1e-14)
    torch.testing.assert_close(REGISTRY["dice"].fn(z, t, smooth=0.0),
                               torch.tensor(np_dice(z.numpy(), t.numpy(), 0.0)), rtol=1e-10, atol=1e-14)


def test_tversky_half_half_is_dice_with_double_smoothing(pair):
    # ... and with smoothing, Tversky(½, ½, s) is Dice with 2s (the formulas, not a choice).
    t, z = pair
    for s in (0.5, 0.01):
        torch.testing.assert_close(REGISTRY["tversky"](z, t, alpha=0.5, beta=0.5, smooth=s),
                                   REGISTRY["dice"](z, t, smooth=2 * s), rtol=1e-10, atol=1e-14)


def test_focal_tversky_gamma1_is_tversky(pair):
    t, z = pair
    a = REGISTRY["focal_tversky"](z, t, alpha=0.4, beta=0.9, gamma=1.0, smooth=0.5)
    np.testing.assert_allclose(a.numpy(), np_tversky(z.numpy(), t.numpy(), 0.4, 0.9, 0.5), rtol=1e-10)
    b = REGISTRY["focal_tversky"](z, t, alpha=0.4, beta=0.9, gamma=2.5, smooth=0.5)
    np.testing.assert_allclose(b.numpy(), np_tversky(z.numpy(), t.numpy(), 0.4, 0.9, 0.5) ** 2.5, rtol=1e-10)


def test_log_cosh_dice(pair):
    t, z = pair
    for s in (1.0, 0.1):
        np.testing.assert_allclose(REGISTRY["log_cosh_dice"](z, t, smooth=s).numpy(),
                                   np.log(np.cosh(np_dice(z.numpy(), t.numpy(), s))), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("alpha,beta", [(0.5, 0.5), (0.3, 0.8), (1.0, 0.2), (0.0, 0.9)])
def test_combo_composition(pair, alpha, beta):
    t, z = pair
    expected = alpha * np_balanced_ce(z.numpy(), t.numpy(), beta) + (1 - alpha) * np_dice(z.numpy(), t.numpy(), 1.0)
    np.testing.assert_allclose(REGISTRY["combo"](z, t, alpha=alpha, beta=beta).numpy(), expected, rtol=1e-10)


def test_dice_bce_composition(pair):
    t, z = pair
    expected = np_dice(z.numpy(), t.numpy(), 0.5) + 2.5 * np_bce(z.numpy(), t.numpy())
    np.testing.assert_allclose(REGISTRY["dice_bce"](z, t, lam=2.5, smooth=0.5).numpy(), expected, rtol=1e-10)


def test_dice_focal_composition(pair):
    # AnatomyNet focal term: no class weight, -mean[(1-p)^γ g log p + p^γ (1-g) log(1-p)]
    # = 2 · focal(α = 0.5, γ).
    t, z = pair
    zz, tt = z.numpy(), t.numpy()
    p, g = sig(flat(zz)), flat(tt)
    focal_term = -((1 - p) ** 1.5 * g * np.log(p) + p**1.5 * (1 - g) * np.log(1 - p)).mean(1)
    expected = np_dice(zz, tt, 2.0) + 0.7 * focal_term
    np.testing.assert_allclose(REGISTRY["dice_focal"](z, t, lam=0.7, gamma=1.5, smooth=2.0).numpy(), expected,
                               rtol=1e-10)


@pytest.mark.parametrize("alpha", [0.5, 0.2, 1.0, 0.0])
def test_gdl_boundary_composition(pair, alpha):
    t, z = pair
    expected = alpha * np_gdl(z.numpy(), t.numpy()) + (1 - alpha) * np_boundary(z.numpy(), t.numpy())
    np.testing.assert_allclose(REGISTRY["gdl_boundary"](z, t, alpha=alpha).numpy(), expected, rtol=1e-10, atol=1e-14)


def test_wce_auto_beta_by_hand():
    # 4x4 image, 4 foreground pixels: auto β = (N - Σg)/Σg = (16 - 4)/4 = 3.
    # Second sample, 2 foreground pixels: β = (16 - 2)/2 = 7 (β is per sample).
    g = np.zeros((2, 1, 4, 4))
    g[0, 0, 1:3, 1:3] = 1
    g[1, 0, 0, :2] = 1
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, size=g.shape)
    p, gf = sig(flat(z)), flat(g)
    expected = np.array([-(b * gf[i] * np.log(p[i]) + (1 - gf[i]) * np.log(1 - p[i])).sum() / 16
                         for i, b in enumerate([3.0, 7.0])])
    zt, gt = torch.tensor(z), torch.tensor(g)
    np.testing.assert_allclose(REGISTRY["wce"](zt, gt).numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(REGISTRY["wce"](zt, gt, beta="auto").numpy(), expected, rtol=1e-10)
    # balanced_ce auto: β = 1 - Σg/N = 0.75 and 0.875
    exp_bal = [np_balanced_ce(z[i:i + 1], g[i:i + 1], b)[0] for i, b in enumerate([0.75, 0.875])]
    np.testing.assert_allclose(REGISTRY["balanced_ce"](zt, gt).numpy(), exp_bal, rtol=1e-10)


# ================================================================ hand-computed tiny cases
SEED001_T = [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
SEED001_O = [[1, 0, 1], [0, 1, 0], [0, 0, 0]]


def seed001():
    # Hard output via logits ±30 (p = 1 - 9.4e-14 or 9.4e-14). TP = 2, Σp = 3, Σg = 4.
    t = torch.tensor(SEED001_T, dtype=F64)[None, None]
    z = 30.0 * (2 * torch.tensor(SEED001_O, dtype=F64)[None, None] - 1)
    return t, z


def test_seed001_dice():
    # Dice = (2·2 + 1e-6)/(3 + 4 + 1e-6) = 0.5714286326530..., the seed's printed value, so the Dice
    # loss is 1 - 0.5714286 = 0.4285714 (with s doubled it would be 0.42857131).
    t, z = seed001()
    d = REGISTRY["dice"](z, t, smooth=1e-6)
    assert d.item() == pytest.approx(3 / 7, abs=1e-6)
    assert d.item() == pytest.approx(1 - 0.5714286326530524, abs=1e-10)


def test_seed001_dice_smooth_one():
    # With s = 1: Dice = (4 + 1)/(7 + 1) = 5/8, loss 3/8 = 0.375 (with s doubled: 1/3 = 1 - 6/9).
    t, z = seed001()
    assert REGISTRY["dice"](z, t, smooth=1.0).item() == pytest.approx(0.375, abs=1e-10)


def test_seed001_iou():
    # IoU = TP/(Σp + Σg - TP) = 2/5 = 0.4; with s = 1e-6: (2 + 1e-6)/(5 + 1e-6).
    t, z = seed001()
    j = REGISTRY["jaccard"](z, t, smooth=1e-6)
    assert 1 - j.item() == pytest.approx(0.4, abs=1e-6)
    assert 1 - j.item() == pytest.approx((2 + 1e-6) / (5 + 1e-6), abs=1e-10)


# 1x4 image: g = [1, 1, 0, 0], p = [0.9, 0.4, 0.2, 0.7]
P4 = [0.9, 0.4, 0.2, 0.7]
G4 = [1.0, 1.0, 0.0, 0.0]


def tiny(p=P4, g=G4):
    pt = torch.tensor(p, dtype=F64).reshape(1, 1, 1, -1)
    return torch.log(pt) - torch.log1p(-pt), torch.tensor(g, dtype=F64).reshape(1, 1, 1, -1)


def test_tiny_bce():
    # -(ln .9 + ln .4 + ln .8 + ln .3)/4 = (0.1053605 + 0.9162907 + 0.2231436 + 1.2039728)/4 = 0.6121919
    z, g = tiny()
    expected = -(math.log(0.9) + math.log(0.4) + math.log(0.8) + math.log(0.3)) / 4
    assert expected == pytest.approx(0.6121919, abs=1e-7)
    assert REGISTRY["bce"](z, g).item() == pytest.approx(expected, rel=1e-12)


def test_tiny_focal():
    # α = 0.25, γ = 2; per pixel:
    #   g=1, p=.9: -.25·(.1)²·ln .9 = 0.000263401;  g=1, p=.4: -.25·(.6)²·ln .4 = 0.0824662
    #   g=0, p=.2: -.75·(.2)²·ln .8 = 0.00669431;   g=0, p=.7: -.75·(.7)²·ln .3 = 0.442460
    #   mean = 0.531884/4 = 0.132971
    z, g = tiny()
    terms = [-0.25 * 0.1**2 * math.log(0.9), -0.25 * 0.6**2 * math.log(0.4),
             -0.75 * 0.2**2 * math.log(0.8), -0.75 * 0.7**2 * math.log(0.3)]
    expected = sum(terms) / 4
    assert expected == pytest.approx(0.132971, abs=1e-6)
    assert REGISTRY["focal"](z, g).item() == pytest.approx(expected, rel=1e-12)


def test_tiny_tversky():
    # TP = .9 + .4 = 1.3, FP = .2 + .7 = .9, FN = .1 + .6 = .7; α = .3, β = .7, s = 1:
    # TI = 2.3/(1.3 + .27 + .49 + 1) = 2.3/3.06 = 0.751634, loss 0.248366.
    z, g = tiny()
    assert REGISTRY["tversky"](z, g).item() == pytest.approx(1 - 2.3 / 3.06, rel=1e-12)
    assert 1 - 2.3 / 3.06 == pytest.approx(0.248366, abs=1e-6)
    # and with α/β swapped: TI = 2.3/(1.3 + .63 + .21 + 1) = 2.3/3.14
    assert REGISTRY["tversky"](z, g, alpha=0.7, beta=0.3).item() == pytest.approx(1 - 2.3 / 3.14, rel=1e-12)


def test_tiny_sensitivity_specificity():
    # sens = ((1-.9)² + (1-.4)²)/(2 + ε) = .37/2.00001; spec = (.2² + .7²)/(2 + ε) = .53/2.00001;
    # λ = .05: .05·.37/2.00001 + .95·.53/2.00001 = (0.0185 + 0.5035)/2.00001 = 0.2609987
    z, g = tiny()
    expected = (0.05 * 0.37 + 0.95 * 0.53) / 2.00001
    assert expected == pytest.approx(0.2609987, abs=1e-7)
    assert REGISTRY["sensitivity_specificity"](z, g).item() == pytest.approx(expected, rel=1e-10)
    # λ = 1 keeps the foreground (sensitivity) term only
    assert REGISTRY["sensitivity_specificity"](z, g, lam=1.0).item() == pytest.approx(0.37 / 2.00001, rel=1e-10)


def test_tiny_conservative():
    # L = λ (1 + log_a p_t)² log_a(-log_a p_t), per pixel.
    # p_t = 1/a gives log_a p_t = -1: the loss is 0 (for a = e and a = 2).
    for a in (math.e, 2.0):
        pt = [1 / a] * 4
        z, g = tiny(p=[pt[0], pt[1], 1 - pt[2], 1 - pt[3]])
        assert REGISTRY["conservative"](z, g, a=a).item() == pytest.approx(0.0, abs=1e-12)
    # a = 2, p_t = 1/4: log_2 p_t = -2 -> (1-2)² · log_2(2) = 1, times λ = 5 -> 5 on every pixel.
    z, g = tiny(p=[0.25, 0.25, 0.75, 0.75])
    assert REGISTRY["conservative"](z, g, a=2.0).item() == pytest.approx(5.0, rel=1e-10)
    # a = e, p_t = 0.5: 5 · (1 - ln 2)² · ln(ln 2) = 5 · 0.0941588 · (-0.366513) = -0.172552 (negative)
    z, g = tiny(p=[0.5] * 4)
    expected = 5 * (1 - math.log(2)) ** 2 * math.log(math.log(2))
    assert expected == pytest.approx(-0.172552, abs=1e-6)
    assert REGISTRY["conservative"](z, g).item() == pytest.approx(expected, rel=1e-10)
    # general: the 1x4 case pixel by pixel, p_t = .9, .4, .8, .3
    z, g = tiny()
    expected = sum(5 * (1 + math.log(q)) ** 2 * math.log(-math.log(q)) for q in (0.9, 0.4, 0.8, 0.3)) / 4
    assert REGISTRY["conservative"](z, g).item() == pytest.approx(expected, rel=1e-10)


# ---- Lovász: Berman's algorithm from scratch on plain Python lists
def py_lovasz_grad(gt_sorted):
    gts = sum(gt_sorted)
    jac, seen_fg, seen_bg = [], 0, 0
    for g in gt_sorted:
        seen_fg += g
        seen_bg += 1 - g
        inter, union = gts - seen_fg, gts + seen_bg
        jac.append(1.0 - inter / union)
    return [jac[0]] + [jac[i] - jac[i - 1] for i in range(1, len(jac))]


def py_lovasz_flat(errors, fg, relu=False):
    order = sorted(range(len(errors)), key=lambda i: -errors[i])
    grad = py_lovasz_grad([fg[i] for i in order])
    return sum((max(errors[i], 0.0) if relu else errors[i]) * gr for i, gr in zip(order, grad))


def py_lovasz_hinge(z, g):
    return py_lovasz_flat([1 - zi * (2 * gi - 1) for zi, gi in zip(z, g)], g, relu=True)


def py_lovasz_softmax(probas, labels, classes="present"):
    """probas: list over classes of per-pixel lists; labels: per-pixel class index."""
    vals = []
    for c, pc in enumerate(probas):
        fg = [1 if lab == c else 0 for lab in labels]
        if classes == "present" and sum(fg) == 0:
            continue
        vals.append(py_lovasz_flat([abs(f - p) for f, p in zip(fg, pc)], fg))
    return sum(vals) / len(vals)


def test_lovasz_hinge_by_hand():
    # z = [2, -0.5, 0.3, -1], g = [1, 1, 0, 0]: hinge errors 1 - z(2g-1) = [-1, 1.5, 1.3, 0].
    # Sorted descending: 1.5 (g=1), 1.3 (g=0), 0 (g=0), -1 (g=1); Σg = 2.
    # intersection = 2 - cumsum(g) = [1, 1, 1, 0]; union = 2 + cumsum(1-g) = [2, 3, 4, 4]
    # J = 1 - I/U = [.5, 2/3, .75, 1] -> grad = [.5, 1/6, 1/12, .25]
    # loss = 1.5·.5 + 1.3/6 + 0 + 0 (relu) = 0.9666667
    z = torch.tensor([2.0, -0.5, 0.3, -1.0], dtype=F64).reshape(1, 1, 1, 4)
    g = torch.tensor(G4, dtype=F64).reshape(1, 1, 1, 4)
    assert REGISTRY["lovasz_hinge"](z, g).item() == pytest.approx(0.75 + 1.3 / 6, rel=1e-12)
    assert py_lovasz_hinge([2.0, -0.5, 0.3, -1.0], G4) == pytest.approx(0.75 + 1.3 / 6, rel=1e-12)


def test_lovasz_hinge_vs_python_reference():
    t, z = pairs_2d()
    got = REGISTRY["lovasz_hinge"](z, t)
    for i in range(len(t)):
        ref = py_lovasz_hinge(z[i].flatten().tolist(), t[i].flatten().tolist())
        assert got[i].item() == pytest.approx(ref, rel=1e-10, abs=1e-12), i


def test_lovasz_softmax_binary_by_hand():
    # p = [.9, .4, .2, .7], g = [1, 1, 0, 0]; both classes present.
    # fg class: errors |g - p| = [.1, .6, .2, .7]; sorted: .7(g0) .6(g1) .2(g0) .1(g1)
    #   I = 2 - cumsum = [2, 1, 1, 0], U = 2 + cumsum(1-g) = [3, 3, 4, 4], J = [1/3, 2/3, 3/4, 1]
    #   grad = [1/3, 1/3, 1/12, 1/4] -> .7/3 + .6/3 + .2/12 + .1/4 = 0.475
    # bg class: g_bg = [0, 0, 1, 1], same errors; sorted: .7(1) .6(0) .2(1) .1(0)
    #   I = [1, 1, 0, 0], U = [2, 3, 3, 4], J = [.5, 2/3, 1, 1], grad = [.5, 1/6, 1/3, 0]
    #   -> .35 + .1 + .2/3 = 0.5166667
    # mean = (0.475 + 0.5166667)/2 = 0.4958333
    z, g = tiny()
    expected = (0.475 + (0.35 + 0.1 + 0.2 / 3)) / 2
    assert REGISTRY["lovasz_softmax"](z, g).item() == pytest.approx(expected, rel=1e-12)
    assert py_lovasz_softmax([[1 - p for p in P4], P4], [int(x) for x in G4]) == pytest.approx(expected, rel=1e-12)


def test_lovasz_softmax_binary_vs_python_reference():
    t, z = pairs_2d()
    p = torch.sigmoid(z)
    for classes in ("present", "all"):
        got = REGISTRY["lovasz_softmax"](z, t, classes=classes)
        for i in range(len(t)):
            pi = p[i].flatten().tolist()
            ref = py_lovasz_softmax([[1 - q for q in pi], pi], [int(x) for x in t[i].flatten().tolist()], classes)
            assert got[i].item() == pytest.approx(ref, rel=1e-10, abs=1e-12), (classes, i)


def test_lovasz_softmax_multiclass_vs_python_reference():
    # C = 3 with one class absent from sample 1: "present" skips it, "all" includes it. Each class
    # uses its own foreground indicator (labels == c), not the label values.
    t, z, labs = multiclass_pairs(shape=(10, 10), b=2, c=3, seed=9)
    labs = labs.copy()
    labs[1][labs[1] == 2] = 1
    t = torch.tensor(np.stack([labs == k for k in range(3)], axis=1), dtype=F64)
    p = torch.softmax(z, 1)
    for classes in ("present", "all"):
        got = REGISTRY["lovasz_softmax"](z, t, classes=classes)
        for i in range(2):
            ref = py_lovasz_softmax([p[i, c].flatten().tolist() for c in range(3)], labs[i].flatten().tolist(), classes)
            assert got[i].item() == pytest.approx(ref, rel=1e-10), (classes, i)
    # sanity of the test: "present" and "all" differ on sample 1 only
    a, b = REGISTRY["lovasz_softmax"](z, t, classes="present"), REGISTRY["lovasz_softmax"](z, t, classes="all")
    assert a[0].item() == pytest.approx(b[0].item(), rel=1e-12) and abs(a[1] - b[1]) > 1e-3


# ---- boundary-based
SQUARE5 = np.zeros((5, 5), bool)
SQUARE5[1:4, 1:4] = True


def test_boundary_tiny_hand_signed_distance():
    # 5x5 image, 3x3 square GT in the middle. Inside: EDT to the background is 1 on the ring and 2
    # at the centre, so φ = -(d - 1) = 0 on the ring and -1 at the centre. Outside: distance to the
    # nearest GT pixel, 1 for the 12 edge pixels and √2 for the 4 corners.
    phi = np.array([[2**0.5, 1, 1, 1, 2**0.5],
                    [1, 0, 0, 0, 1],
                    [1, 0, -1, 0, 1],
                    [1, 0, 0, 0, 1],
                    [2**0.5, 1, 1, 1, 2**0.5]])
    t = torch.tensor(SQUARE5, dtype=F64)[None, None]
    np.testing.assert_allclose(TargetMaps(t).signed[0, 0].numpy(), phi, atol=1e-12)
    # p = 0.5 everywhere: 0.5 (4√2 + 12 - 1)/25 = 0.5 · 16.656854/25 = 0.3331371
    z0 = torch.zeros(1, 1, 5, 5, dtype=F64)
    assert REGISTRY["boundary"](z0, t).item() == pytest.approx(0.5 * (4 * 2**0.5 + 11) / 25, rel=1e-12)
    assert 0.5 * (4 * 2**0.5 + 11) / 25 == pytest.approx(0.3331371, abs=1e-7)
    # a (near-)perfect prediction: only the centre counts, -1/25 = -0.04 (the loss can be negative)
    zp = 40.0 * (2 * t - 1)
    assert REGISTRY["boundary"](zp, t).item() == pytest.approx(-0.04, abs=1e-12)
    # empty and full GT: no contour, φ = 0, loss 0 whatever the prediction
    for m in (torch.zeros_like(t), torch.ones_like(t)):
        assert REGISTRY["boundary"](torch.randn(1, 1, 5, 5, dtype=F64), m).item() == 0.0


def weights_from_gradient(key, z, t, **params):
    """For losses of the form mean_x[w(x) CE(x)] with w independent of the prediction,
    ∂L/∂z_x = w(x) (p_x - g_x)/N, so w = N ∂L/∂z / (p - g)."""
    _, gr = val_grad(lambda x: REGISTRY[key](x, t, **params), z)
    n = t[0].numel()
    return (gr * n / (torch.sigmoid(z) - t)).detach().numpy()


def test_distance_penalized_ce_weights_scipy():
    # φ per side: (max d - d)/max d with d the EDT of that side (scipy); weight 1 + φ.
    rng = np.random.default_rng(1)
    g = disk((20, 20), (9, 10), 6)
    t = torch.tensor(g, dtype=F64)[None, None]
    z = torch.tensor(rng.normal(0, 2, size=(1, 1, 20, 20)))
    phi = np.zeros(g.shape)
    for side in (g, ~g):
        d = ndi.distance_transform_edt(side)
        phi[side] = (d.max() - d[side]) / d.max()
    w = 1 + phi
    np.testing.assert_allclose(weights_from_gradient("distance_penalized_ce", z, t)[0, 0], w, rtol=1e-9)
    # the loss is the *weighted* mean (pitfall: computing w and returning the plain mean)
    p, gf = sig(flat(z.numpy())), flat(t.numpy())
    ce = -(gf * np.log(p) + (1 - gf) * np.log(1 - p))
    np.testing.assert_allclose(REGISTRY["distance_penalized_ce"](z, t).numpy(), (w.reshape(1, -1) * ce).mean(1),
                               rtol=1e-10)
    assert not np.allclose(REGISTRY["distance_penalized_ce"](z, t).numpy(), ce.mean(1), rtol=1e-3)
    # boundary pixels (d = 1 on either side) weigh ~2: 1 + (dmax-1)/dmax >= 1.8 here (dmax >= 6)
    edge = find_boundaries(g, mode="thick")
    assert w[edge].min() >= 1.8 and w.max() <= 2.0 and w.min() >= 1.0


def test_unet_weighted_ce_border_weights():
    # Two 8x5 rectangles separated by a 2-pixel gap (columns 6 and 7). A gap pixel in column 6 is at
    # distance d1 = 1 from the left object and d2 = 2 from the right one (and vice versa in column 7):
    # w = 1 + w0 exp(-(1+2)²/(2σ²)) = 1 + 10 exp(-9/50) = 9.3527 with the defaults (w0 = 10, σ = 5).
    g = np.zeros((12, 16), bool)
    g[2:10, 1:6] = True
    g[2:10, 8:13] = True
    t = torch.tensor(g, dtype=F64)[None, None]
    z = torch.tensor(np.random.default_rng(2).normal(0, 2, size=(1, 1, 12, 16)))
    w = weights_from_gradient("unet_weighted_ce", z, t)[0, 0]
    gap = 1 + 10 * math.exp(-9 / 50)
    assert gap == pytest.approx(9.3527, abs=1e-4)
    np.testing.assert_allclose(w[2:10, 6:8], gap, rtol=1e-9)
    # full map with scipy: per object the EDT to it, d1/d2 the two smallest. Border term on the
    # background only (the gaps between objects; the choice documented in the docstring).
    lab, n = ndi.label(g)
    assert n == 2
    d = np.sort(np.stack([ndi.distance_transform_edt(lab != k) for k in (1, 2)]), axis=0)
    expected = 1 + np.where(g, 0.0, 10 * np.exp(-((d[0] + d[1]) ** 2) / (2 * 25)))
    np.testing.assert_allclose(w, expected, rtol=1e-9)
    # other w0 / σ
    w2 = weights_from_gradient("unet_weighted_ce", z, t, w0=3.0, sigma=2.0)[0, 0]
    np.testing.assert_allclose(w2, 1 + np.where(g, 0.0, 3 * np.exp(-((d[0] + d[1]) ** 2) / 8)), rtol=1e-9)
    # border="everywhere": the paper's equation as printed, the term on object pixels too (d1 = 0 inside
    # an object, d2 its distance to the other one); identical on the background
    we = weights_from_gradient("unet_weighted_ce", z, t, border="everywhere")[0, 0]
    np.testing.assert_allclose(we, 1 + 10 * np.exp(-((d[0] + d[1]) ** 2) / 50), rtol=1e-9)
    np.testing.assert_allclose(we[~g], w[~g], rtol=1e-12)
    assert (we[g] > w[g] + 1e-3).any()  # object pixels facing the other object now weigh more


def test_unet_weighted_ce_single_object_has_no_border_term():
    g = np.zeros((12, 16), bool)
    g[2:10, 1:6] = True
    t = torch.tensor(g, dtype=F64)[None, None]
    z = torch.tensor(np.random.default_rng(3).normal(0, 2, size=(1, 1, 12, 16)))
    np.testing.assert_allclose(weights_from_gradient("unet_weighted_ce", z, t), 1.0, rtol=1e-9)
    np.testing.assert_allclose(REGISTRY["unet_weighted_ce"](z, t).numpy(), np_bce(z.numpy(), t.numpy()), rtol=1e-10)
    # inverse class frequency: N/(2 N_class): 192/(2·40) = 2.4 on the object, 192/(2·152) on the rest
    w = weights_from_gradient("unet_weighted_ce", z, t, class_weight="inverse_frequency")[0, 0]
    np.testing.assert_allclose(w, np.where(g, 192 / 80, 192 / 304), rtol=1e-9)
    assert w.mean() == pytest.approx(1.0, rel=1e-9)


def test_shape_aware():
    rng = np.random.default_rng(4)
    g = disk((20, 20), (10, 10), 5)
    t = torch.tensor(g, dtype=F64)[None, None]
    # perfect (thresholded) prediction: the predicted contour is the GT contour, E = 0 -> plain CE
    z = torch.tensor(3.0 * (2 * g - 1) + 0.5 * rng.standard_normal(g.shape))[None, None]
    assert ((z > 0) == (t > 0.5)).all()
    np.testing.assert_allclose(REGISTRY["shape_aware"](z, t).numpy(), np_bce(z.numpy(), t.numpy()), rtol=1e-10)
    # shifted prediction: E = distance to the GT inner contour on the predicted inner contour
    pred = disk((20, 20), (12, 8), 5)
    z = torch.tensor(3.0 * (2 * pred - 1) + 0.5 * rng.standard_normal(g.shape))[None, None]
    e = np.where(find_boundaries(pred, mode="inner"), ndi.distance_transform_edt(~find_boundaries(g, mode="inner")), 0)
    assert e.max() > 1
    p, gf = sig(flat(z.numpy())), flat(t.numpy())
    ce = -(gf * np.log(p) + (1 - gf) * np.log(1 - p))
    expected = ((1 + e.reshape(1, -1)) * ce).mean(1)
    np.testing.assert_allclose(REGISTRY["shape_aware"](z, t).numpy(), expected, rtol=1e-10)
    assert expected[0] > ce.mean() * 1.05


# ---- cmss, independent implementation with scipy (replicate padding = mode "nearest")
def np_local_standardize(x, c=0.01):
    ax = np.arange(3) - 1.0
    k1 = np.exp(-ax**2 / (2 * 1.5**2))
    k = k1
    for _ in range(x.ndim - 1):
        k = np.multiply.outer(k, k1)
    k /= k.sum()
    mu = ndi.correlate(x, k, mode="nearest")
    var = np.maximum(ndi.correlate(x * x, k, mode="nearest") - mu**2, 0)
    return (x - mu + c) / (np.sqrt(var) + c)


def np_cmss(z, g, beta=0.1):
    """(value, e·f weights / Σf) per sample, for arrays (1, *spatial)."""
    p = sig(z)
    e = np.abs(np_local_standardize(g) - np_local_standardize(p))
    f = (e > beta * e.max()).astype(float)
    ce = -(g * np.log(p) + (1 - g) * np.log(1 - p))
    return (e * f * ce).sum() / f.sum(), e * f / f.sum()


@pytest.mark.parametrize("dim", PAIRS)
@pytest.mark.parametrize("beta", [0.1, 0.5])
def test_cmss_vs_numpy(dim, beta):
    t, z = PAIRS[dim]()
    got = REGISTRY["cmss"](z, t, beta=beta)
    for i in range(len(t)):
        ref, _ = np_cmss(z[i, 0].numpy(), t[i, 0].numpy(), beta)
        # rel 1e-5, not 1e-9: the local std is sqrt(E[x²] - μ²); on flat regions of the mask the
        # difference cancels to ~1e-16 in either implementation, whose square root (~1e-8) is seen
        # through the constant C = 0.01 as a ~1e-6 relative change of e.
        assert got[i].item() == pytest.approx(ref, rel=1e-5, abs=1e-12), i


def test_cmss_gradient_is_weighted_ce_gradient():
    # e and f are detached (LOSSES.md): ∂L/∂z = e f (p - g)/Σf, with e, f frozen.
    t, z = pairs_2d()
    _, gr = val_grad(lambda x: REGISTRY["cmss"](x, t), z)
    for i in range(len(t)):
        _, wf = np_cmss(z[i, 0].numpy(), t[i, 0].numpy())
        np.testing.assert_allclose(gr[i, 0].numpy(), wf * (sig(z[i, 0].numpy()) - t[i, 0].numpy()),
                                   rtol=1e-4, atol=1e-9)  # see test_cmss_vs_numpy on the tolerance


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_cmss_perfect_prediction_is_zero(dtype):
    t, _ = pairs_2d()
    t = t.to(dtype)
    z = 30.0 * (2 * t - 1)
    out = REGISTRY["cmss"](z, t)
    assert torch.isfinite(out).all() and out.abs().max().item() < 1e-9


def np_exp_log(z, g, gamma, w_d, w_c):
    p = sig(z).ravel()
    g = g.ravel()
    pl, gl = [1 - p, p], [1 - g, g]
    dice = [(2 * (pl[k] * gl[k]).sum() + 1) / (pl[k].sum() + gl[k].sum() + 1) for k in range(2)]
    l_dice = np.mean([(-np.log(d)) ** gamma for d in dice])
    f = [gl[k].sum() for k in range(2)]
    w = [(sum(f) / fk) ** 0.5 if fk > 0 else 0.0 for fk in f]
    lab = g.astype(int)
    p_true = np.where(lab == 1, p, 1 - p)
    w_pix = np.where(lab == 1, w[1], w[0])
    l_ce = np.mean(w_pix * (-np.log(p_true)) ** gamma)
    return w_d * l_dice + w_c * l_ce


@pytest.mark.parametrize("gamma,w_d,w_c", [(0.3, 0.8, 0.2), (1.0, 0.5, 0.5), (2.0, 0.1, 0.9)])
def test_exp_log_vs_numpy(gamma, w_d, w_c):
    # Small case: a 6x6 image with a 3x4 object (f_fg = 12, f_bg = 24: w_fg = √3, w_bg = √1.5).
    g = np.zeros((6, 6))
    g[1:4, 1:5] = 1
    z = np.random.default_rng(5).normal(0, 1.5, size=(6, 6))
    got = REGISTRY["exp_log"](torch.tensor(z)[None, None], torch.tensor(g)[None, None], gamma=gamma, w_dice=w_d,
                              w_ce=w_c)
    assert got.item() == pytest.approx(np_exp_log(z, g, gamma, w_d, w_c), rel=1e-10)
    # and on the 2-D pairs (including empty and full GT)
    t, zz = pairs_2d()
    got = REGISTRY["exp_log"](zz, t, gamma=gamma, w_dice=w_d, w_ce=w_c)
    for i in range(len(t)):
        assert got[i].item() == pytest.approx(np_exp_log(zz[i, 0].numpy(), t[i, 0].numpy(), gamma, w_d, w_c),
                                              rel=1e-10), i


def test_sensitivity_specificity_vs_numpy(pair):
    t, z = pair
    p, g = sig(flat(z.numpy())), flat(t.numpy())
    lam, eps = 0.3, 1e-3
    expected = (lam * ((g - p) ** 2 * g).sum(1) / (g.sum(1) + eps)
                + (1 - lam) * ((g - p) ** 2 * (1 - g)).sum(1) / ((1 - g).sum(1) + eps))
    np.testing.assert_allclose(REGISTRY["sensitivity_specificity"](z, t, lam=lam, eps=eps).numpy(), expected,
                               rtol=1e-10)


# ================================================================ pitfalls (LOSSES.md)
def test_pitfall_no_batch_coupling_region_losses():
    # Libraries that sum TP/FP/FN over the batch give a sample's loss that depends on its
    # neighbours: the per-sample NumPy Tversky of each sample alone must be what we get in a batch,
    # and it must differ from the batch-summed value. (Every loss: test_losses_properties.py.)
    t, z = pairs_2d()
    got = REGISTRY["tversky"](z, t).numpy()
    np.testing.assert_allclose(got, np_tversky(z.numpy(), t.numpy(), 0.3, 0.7, 1.0), rtol=1e-10)
    p, g = sig(z.numpy()), t.numpy()
    tp, fp, fn = (p * g).sum(), (p * (1 - g)).sum(), ((1 - p) * g).sum()
    batch_summed = 1 - (tp + 1) / (tp + 0.3 * fp + 0.7 * fn + 1)
    assert np.abs(got - batch_summed).min() > 1e-3


def test_pitfall_focal_tversky_multiclass_is_mean_of_powers():
    t, z, _ = multiclass_pairs(seed=11)
    z = z.clone()
    z[:, 2] -= 2.0  # under-predict class 2: class-wise Tversky indices differ a lot
    a, b, gamma, s = 0.3, 0.7, 2.0, 1.0
    p, g = torch.softmax(z, 1).numpy(), t.numpy()
    tp = (p * g).sum((2, 3))
    fp = (p * (1 - g)).sum((2, 3))
    fn = ((1 - p) * g).sum((2, 3))
    one_minus_ti = 1 - (tp + s) / (tp + a * fp + b * fn + s)  # (B, C)
    mean_of_powers = (one_minus_ti**gamma).mean(1)
    power_of_mean = one_minus_ti.mean(1) ** gamma
    assert np.abs(mean_of_powers - power_of_mean).min() > 1e-3  # the test can tell them apart
    got = REGISTRY["focal_tversky"](z, t, alpha=a, beta=b, gamma=gamma, smooth=s).numpy()
    np.testing.assert_allclose(got, mean_of_powers, rtol=1e-10)


def test_pitfall_multiclass_tversky_alpha_beta_matter():
    # Micro-summed over softmax classes, Σ_c FP_c = Σ_c FN_c and α/β would cancel out; per class
    # they don't: swapping α and β must change the value.
    t, z, _ = multiclass_pairs(seed=12)
    z = z.clone()
    z[:, 1] += 1.5  # over-predict class 1
    a = REGISTRY["tversky"](z, t, alpha=0.9, beta=0.1)
    b = REGISTRY["tversky"](z, t, alpha=0.1, beta=0.9)
    assert (a - b).abs().min().item() > 1e-3


def test_pitfall_squared_dice_uses_sum_of_squares(pair):
    t, z = pair
    p, g = sig(flat(z.numpy())), flat(t.numpy())
    s = 1.0
    expected = 1 - (2 * (p * g).sum(1) + s) / ((p**2).sum(1) + (g**2).sum(1) + s)
    got = REGISTRY["squared_dice"](z, t).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    # the wrong variant: TP, FP, FN squared elementwise (Σ(pg)², Σ(p(1-g))², Σ((1-p)g)²)
    tp2, fp2, fn2 = ((p * g) ** 2).sum(1), ((p * (1 - g)) ** 2).sum(1), (((1 - p) * g) ** 2).sum(1)
    wrong = 1 - (2 * tp2 + s) / (2 * tp2 + fp2 + fn2 + s)
    assert np.abs(got - wrong)[:-2].min() > 1e-3  # the samples with a non-trivial GT


REGION_SMOOTH = ["dice", "squared_dice", "jaccard", "tversky", "focal_tversky", "log_cosh_dice", "dice_bce",
                 "dice_focal"]


@pytest.mark.parametrize("key", REGION_SMOOTH)
@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_pitfall_empty_gt_and_empty_prediction(key, dtype):
    # Probabilities exactly 0 (sigmoid(-1000) underflows to 0): (0 + s)/(0 + s) = 1, loss 0 for any
    # s, also at the low end of the range (1e-6). Never NaN, gradient finite.
    t = torch.zeros(1, 1, 8, 8, dtype=dtype)
    for s in (1e-6, 1.0, 100.0):
        z = torch.full((1, 1, 8, 8), -1000.0, dtype=dtype, requires_grad=True)
        out = REGISTRY[key](z, t, smooth=s)
        out.sum().backward()
        # focal_tversky clamps 1 - TI at eps (documented; eps = 1e-7 in float32, 1e-12 in float64),
        # so its floor is eps^γ (γ = 0.75 by default): 5.6e-6 in float32, 1e-9 in float64.
        tol = ((1e-7 if dtype == torch.float32 else 1e-12) ** 0.75 * 1.01) if key == "focal_tversky" else 1e-12
        assert 0.0 <= out.item() <= tol, (s, out)
        assert torch.isfinite(z.grad).all()


@pytest.mark.parametrize("key", ["dice", "jaccard"])
@pytest.mark.parametrize("smooth", [1e-6, 1e-3, 1.0])
def test_pitfall_empty_gt_nearly_empty_prediction_follows_formula(key, smooth):
    # With logits -20 the prediction is not exactly empty: Σp = 64·sigmoid(-20) = 1.32e-7 and TP = 0,
    # so Dice and Jaccard losses are both 1 - s/(Σp + s): 0.117 for s = 1e-6 (the smoothing constant
    # decides, which is the point of exposing it), ~1e-4 for 1e-3, ~1e-7 for 1. Never NaN.
    t = torch.zeros(1, 1, 8, 8, dtype=F64)
    z = torch.full((1, 1, 8, 8), -20.0, dtype=F64)
    sp = 64 / (1 + math.exp(20))
    expected = 1 - smooth / (sp + smooth)
    got = REGISTRY[key](z, t, smooth=smooth).item()
    assert got == pytest.approx(expected, rel=1e-9)
    assert 0 <= got < 0.2


def test_pitfall_empty_masks_raw_functions_smooth_zero():
    # The raw functions accept s = 0: an empty GT with an exactly empty prediction is a perfect score
    # (loss 0), not 0/0 = NaN.
    t = torch.zeros(2, 1, 6, 6, dtype=F64)
    z = torch.full((2, 1, 6, 6), -1000.0, dtype=F64, requires_grad=True)
    for key in ("dice", "jaccard", "tversky", "squared_dice"):
        out = REGISTRY[key].fn(z, t, smooth=0.0)
        assert torch.equal(out, torch.zeros(2, dtype=F64)), key
        (g,) = torch.autograd.grad(out.sum(), z)
        assert torch.isfinite(g).all(), key


def _orders_of_ties(errors):
    """Every order of decreasing error: tied pixels in all their permutations."""
    blocks = [[i for i in range(len(errors)) if errors[i] == e] for e in sorted(set(errors), reverse=True)]
    for combo in itertools.product(*(itertools.permutations(b) for b in blocks)):
        yield [i for block in combo for i in block]


def test_lovasz_tie_gradient_is_the_average_over_all_orders_of_the_ties():
    from segloss_core.losses.lovasz import tie_averaged_grad
    errors = [3.0, 2.0, 2.0, 2.0, 2.0, 1.0, 1.0, 0.5]
    fg = [1, 0, 1, 0, 1, 1, 0, 1]
    acc, n = [0.0] * len(errors), 0
    for order in _orders_of_ties(errors):
        for i, gr in zip(order, py_lovasz_grad([fg[i] for i in order])):
            acc[i] += gr
        n += 1
    assert n == 1 * 24 * 2 * 1
    expected = [a / n for a in acc]
    got = tie_averaged_grad(torch.tensor([errors], dtype=F64), torch.tensor([fg], dtype=F64),
                            torch.ones(1, len(errors), dtype=F64))[0].tolist()
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
    # without ties it is Berman's gradient along the one order
    distinct = [3.0, 2.5, 2.0, 1.5, 1.0, 0.5, 0.2, 0.1]
    got = tie_averaged_grad(torch.tensor([distinct], dtype=F64), torch.tensor([fg], dtype=F64),
                            torch.ones(1, len(fg), dtype=F64))[0].tolist()
    assert got == pytest.approx(py_lovasz_grad(fg), rel=1e-12)


def test_lovasz_multiplicities_equal_repeated_pixels():
    # a pixel of multiplicity w is w identical pixels: same value, and each copy's gradient is 1/w of it
    from segloss_core.losses.lovasz import tie_averaged_grad
    errors, fg, w = [2.0, 1.5, 1.0], [0.0, 1.0, 0.0], [3.0, 2.0, 4.0]
    rep_e = [e for e, k in zip(errors, w) for _ in range(int(k))]
    rep_f = [f for f, k in zip(fg, w) for _ in range(int(k))]
    full = tie_averaged_grad(torch.tensor([rep_e], dtype=F64), torch.tensor([rep_f], dtype=F64),
                             torch.ones(1, len(rep_e), dtype=F64))[0]
    comp = tie_averaged_grad(torch.tensor([errors], dtype=F64), torch.tensor([fg], dtype=F64),
                             torch.tensor([w], dtype=F64))[0]
    sums = torch.stack([full[:3].sum(), full[3:5].sum(), full[5:].sum()])
    torch.testing.assert_close(comp * torch.tensor(w, dtype=F64), sums, rtol=1e-12, atol=0)


@pytest.mark.parametrize("key", ["lovasz_hinge", "lovasz_softmax"])
def test_lovasz_identical_pixels_get_identical_gradients(key):
    # a soft two-level prediction: every FN pixel is identical, so must be its gradient
    g = torch.zeros(1, 1, 8, 8, dtype=F64)
    g[..., 2:6, 2:6] = 1
    p = torch.full_like(g, 0.1)
    p[..., 2:6, 2:5] = 0.9  # one column of FN pixels, no FP
    p[..., 0, :] = 0.9  # a row of FP pixels
    z = torch.logit(p).requires_grad_(True)
    v = REGISTRY[key](z, g)
    (gz,) = torch.autograd.grad(v.sum(), z)
    for region in (g.bool() & (p < 0.5), ~g.bool() & (p > 0.5), g.bool() & (p > 0.5), ~g.bool() & (p < 0.5)):
        vals = gz[region]
        assert torch.allclose(vals, vals[0].expand_as(vals), rtol=1e-12, atol=1e-15), key
    ref = (py_lovasz_hinge(z.detach().flatten().tolist(), g.flatten().tolist()) if key == "lovasz_hinge" else
           py_lovasz_softmax([(1 - p).flatten().tolist(), p.flatten().tolist()], [int(x) for x in g.flatten().tolist()]))
    assert v.item() == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("shape", [(9, 11), (5, 6, 7)])
def test_prediction_contour_is_skimage_inner_boundary(shape):
    rng = np.random.default_rng(len(shape))
    masks = [rng.random(shape) < q for q in (0.2, 0.5, 0.8)] + [np.ones(shape, bool), np.zeros(shape, bool)]
    z = torch.tensor(np.stack(masks)[:, None], dtype=F64) * 4 - 2  # logits: +2 inside, -2 outside
    maps = TargetMaps(torch.zeros((1, 1) + shape, dtype=F64))
    got = maps.prediction_contour(z).numpy()[:, 0].astype(bool)
    np.testing.assert_array_equal(maps.prediction_contour_mask(z)[:, 0], got)  # the compression's copy
    for m, c in zip(masks, got):
        np.testing.assert_array_equal(c, find_boundaries(m, mode="inner"))
