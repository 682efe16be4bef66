"""The identities and behaviours the docstrings, the catalogue and the README state, as numbers."""
import math

import numpy as np
import pytest
import torch

from segloss_core.registry import REGISTRY

F64 = torch.float64


def _pair(seed=0, shape=(1, 1, 24, 24)):
    rng = np.random.default_rng(seed)
    g = torch.tensor(rng.random(shape) > 0.7, dtype=F64)
    z = torch.tensor(rng.normal(0, 2, size=shape), dtype=F64)
    return z, g


@pytest.mark.parametrize("s", [0.0, 0.5, 1.0, 7.0])
def test_tversky_half_half_is_dice_with_double_smoothing(s):
    z, g = _pair(1)
    tv = REGISTRY["tversky"](z, g, alpha=0.5, beta=0.5, smooth=s)
    np.testing.assert_allclose(tv.numpy(), REGISTRY["dice"](z, g, smooth=2 * s).numpy(), rtol=1e-12)
    if s > 0:  # and not Dice with half the smoothing
        assert not np.allclose(tv.numpy(), REGISTRY["dice"](z, g, smooth=s / 2).numpy(), rtol=1e-6)


def _conservative(pt, **kw):
    z = torch.tensor(np.log(pt / (1 - pt)), dtype=F64).reshape(-1, 1, 1, 1).requires_grad_(True)
    v = REGISTRY["conservative"](z, torch.ones(1, 1, 1, 1, dtype=F64), **kw)
    (gz,) = torch.autograd.grad(v.sum(), z)
    return v.detach().numpy(), gz.reshape(-1).numpy()


def test_conservative_loss_is_strictly_decreasing_in_pt():
    pt = np.linspace(0.01, 0.999, 400)
    v, gz = _conservative(pt)
    assert (np.diff(v) < 0).all()
    assert (gz < 0).all()  # the gradient always pushes p_t up
    # the numbers the catalogue quotes (λ = 5, a = e)
    at = dict(zip((0.5, 0.9, 0.99), _conservative(np.array([0.5, 0.9, 0.99]))[0]))
    assert at[0.5] == pytest.approx(-0.1726, abs=1e-3) and at[0.9] == pytest.approx(-9.006, abs=1e-2)
    assert at[0.99] == pytest.approx(-22.54, abs=1e-2)
    assert _conservative(np.array([1 / math.e]))[0][0] == pytest.approx(0.0, abs=1e-12)


def test_conservative_gradient_tends_to_minus_lambda_where_ce_vanishes():
    for lam in (5.0, 2.0):
        _, gz = _conservative(np.array([1 - 1e-6]), lam=lam)
        assert gz[0] == pytest.approx(-lam, rel=1e-3)
    z = torch.tensor([[[[math.log((1 - 1e-6) / 1e-6)]]]], dtype=F64, requires_grad=True)
    (g_ce,) = torch.autograd.grad(REGISTRY["bce"](z, torch.ones(1, 1, 1, 1, dtype=F64)).sum(), z)
    assert abs(float(g_ce)) < 1e-5


@pytest.mark.parametrize("key", ["dice", "squared_dice", "jaccard", "tversky", "focal_tversky", "log_cosh_dice",
                                 "dice_bce", "dice_focal"])
def test_zero_smoothing_is_accepted_and_finite(key):
    assert REGISTRY[key].param("smooth").validate(0) == 0.0
    cases = [_pair(2), (torch.full((1, 1, 8, 8), -3.0, dtype=F64), torch.zeros(1, 1, 8, 8, dtype=F64)),
             (torch.full((1, 1, 8, 8), -1e4, dtype=F64), torch.zeros(1, 1, 8, 8, dtype=F64)),
             (torch.full((1, 1, 8, 8), 3.0, dtype=F64), torch.ones(1, 1, 8, 8, dtype=F64))]
    for z, g in cases:
        z = z.clone().requires_grad_(True)
        v = REGISTRY[key](z, g, smooth=0.0)
        (gz,) = torch.autograd.grad(v.sum(), z)
        assert torch.isfinite(v).all() and torch.isfinite(gz).all()


def test_zero_smoothing_on_an_empty_image_is_the_documented_behaviour():
    g = torch.zeros(1, 1, 8, 8, dtype=F64)
    exactly_empty = torch.full((1, 1, 8, 8), -1e9, dtype=F64)
    nearly_empty = torch.full((1, 1, 8, 8), -10.0, dtype=F64, requires_grad=True)
    assert float(REGISTRY["dice"](exactly_empty, g, smooth=0.0)) == 0.0
    v = REGISTRY["dice"](nearly_empty, g, smooth=0.0)
    (gz,) = torch.autograd.grad(v.sum(), nearly_empty)
    assert float(v.detach()) == 1.0 and float(gz.abs().max()) == 0.0  # loss 1, nothing to learn
    assert float(REGISTRY["dice"](nearly_empty, g, smooth=1.0)) < 0.01  # smoothing makes it ~0


def test_negative_or_tiny_smoothing_still_rejected():
    p = REGISTRY["dice"].param("smooth")
    for bad in (-1e-3, 1e-9, float("nan")):
        with pytest.raises(ValueError):
            p.validate(bad)


def test_focal_tversky_naming_is_stated():
    spec = REGISTRY["focal_tversky"]
    assert "false negatives" in spec.notes and "α = 0.7" in spec.notes
    assert "paper" in spec.param("alpha").help and "paper" in spec.param("beta").help
    # the paper's α = 0.7 on FN is β = 0.7 here: weighting FN more lowers the loss when FP dominate
    g = torch.zeros(1, 1, 10, 10, dtype=F64)
    g[..., 2:6, 2:6] = 1
    z = torch.where(g > 0, 4.0, -4.0).to(F64)
    z[..., 7:9, 2:9] = 4.0  # false positives only
    low = REGISTRY["focal_tversky"](z, g, alpha=0.3, beta=0.7)
    high = REGISTRY["focal_tversky"](z, g, alpha=0.7, beta=0.3)
    assert float(low) < float(high)


def test_cmss_reference_is_the_preprint():
    assert "1910.08711" in REGISTRY["cmss"].reference and "NeurIPS" not in REGISTRY["cmss"].reference
