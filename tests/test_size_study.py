"""Gradient magnitude vs object size (segloss_core.size_study): closed forms and the Dice blow-up.

Expected values are computed from the formulas in LOSSES.md (seed 004: the Dice gradient grows as
the object shrinks; cross-entropy's per-pixel gradient is (p - g)/N), never typed in.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from segloss_core.size_study import COLUMNS, blow_up, gradient_vs_size, log_radii, size_case

RADII = log_radii(2, 100, 6)
N = 256 * 256


@pytest.fixture(scope="module")
def table():
    return gradient_vs_size(RADII, ["dice", "bce", "jaccard", "focal"], confidence=0.99)


def test_log_radii_spacing():
    r = log_radii(2, 100, 15)
    assert r[0] == 2 and r[-1] == 100 and len(r) == 15
    ratios = r[1:] / r[:-1]
    assert np.allclose(ratios, (100 / 2) ** (1 / 14), rtol=0.02)  # log-spaced (up to the 0.01 px rounding)


def test_table_is_tidy(table):
    assert list(table.columns) == list(COLUMNS)
    assert len(table) == len(RADII) * 4
    assert set(table["loss"]) == {"dice", "bce", "jaccard", "focal"}
    px = table.groupby("radius")["pixels"].first().to_numpy()
    assert (np.diff(px) > 0).all()  # larger radius, larger object
    d = table[table["loss"] == "bce"]
    # 20 % of the object missed and 20 % of its size added, rounded to whole pixels
    assert (d["fn_px"] == np.round(0.2 * d["pixels"])).all()
    assert (d["fp_px"] == np.round(0.2 * d["pixels"])).all()
    assert np.isfinite(table[["value", "grad_l2", "grad_fn", "grad_fp", "grad_max"]].to_numpy()).all()


def test_bce_per_pixel_gradient_is_bounded_by_one_over_n(table):
    """BCE: ∂L/∂z = (p - g)/N per pixel, so |∂L/∂z| ≤ 1/N, and on a missed or an added pixel it is
    c/N (p = 1 - c with g = 1, or p = c with g = 0) whatever the object size."""
    d = table[table["loss"] == "bce"]
    c = 0.99
    assert (d["grad_max"] <= 1 / N * (1 + 1e-6)).all()
    assert np.allclose(d["grad_fn"], c / N, rtol=1e-4)
    assert np.allclose(d["grad_fp"], c / N, rtol=1e-4)
    # so its per-pixel blow-up factor is exactly 1
    assert blow_up(d, "grad_fn")["ratio"].iloc[0] == pytest.approx(1.0, rel=1e-6)


def test_dice_per_pixel_gradient_explodes_for_small_objects(table):
    dice = blow_up(table[table["loss"] == "dice"], "grad_fn")["ratio"].iloc[0]
    bce = blow_up(table[table["loss"] == "bce"], "grad_fn")["ratio"].iloc[0]
    assert dice > 50 * bce  # measured ~150 at c = 0.99 between r = 2 and r = 100
    d = table[table["loss"] == "dice"].sort_values("radius")
    assert d["grad_max"].iloc[0] > 50 * d["grad_max"].iloc[-1]


def test_dice_l2_norm_much_larger_at_radius_two_when_confident():
    """With c close to 1 the soft background mass (1-c)·N no longer caps Σp, and the L2 norm of
    Dice's gradient at r = 2 is orders of magnitude above the one at r = 100."""
    t = gradient_vs_size([2, 100], ["dice", "bce"], confidence=0.9999)
    r = blow_up(t, "grad_l2").set_index("loss")["ratio"]
    assert r["dice"] > 100
    assert r["bce"] < 1  # CE's L2 shrinks with the number of erroneous pixels


def test_dice_gradient_matches_closed_form():
    """Seed 004 / LOSSES.md: ∂L/∂p_i = -(2 g_i D - (2 TP + s)) / D² with D = Σp + Σg + s; on a
    missed pixel (g = 1) it is the same for every pixel, so the FN-region mean equals it."""
    for radius in (3, 40):
        case = size_case(radius, confidence=0.99)
        p = case.soft.astype(np.float64)
        g = case.gt.astype(np.float64)
        s = 1.0
        D = p.sum() + g.sum() + s
        tp = (p * g).sum()
        expected_fn = abs(2 * D - (2 * tp + s)) / D**2
        expected_fp = abs(-(2 * tp + s)) / D**2
        t = gradient_vs_size([radius], ["dice"], confidence=0.99, wrt_probs=True)
        assert t["grad_fn"].iloc[0] == pytest.approx(expected_fn, rel=2e-3)
        assert t["grad_fp"].iloc[0] == pytest.approx(expected_fp, rel=2e-3)


def test_gradient_wrt_logits_is_chain_rule_of_probabilities():
    z = gradient_vs_size([5], ["dice"], confidence=0.9)
    p = gradient_vs_size([5], ["dice"], confidence=0.9, wrt_probs=True)
    # every pixel has p = c or 1 - c, so dp/dz = c (1 - c) everywhere
    assert z["grad_fn"].iloc[0] == pytest.approx(p["grad_fn"].iloc[0] * 0.9 * 0.1, rel=1e-3)


def test_progress_is_reported():
    seen = []
    gradient_vs_size([2, 4, 8], ["bce"], progress=lambda f, msg: seen.append(f))
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(radii=[0.5]), "radius"),
    (dict(radii=[200]), "radius"),
    (dict(fn=1.5), "fn"),
    (dict(fp=-0.1), "fp"),
    (dict(keys=["nope"]), "unknown loss"),
    (dict(keys=[]), "at least one loss"),
    (dict(fp_mode="ring"), "fp_mode"),
])
def test_bad_arguments_raise_clear_errors(kwargs, match):
    args = {"radii": [4], "keys": ["dice"], **kwargs}
    with pytest.raises(ValueError, match=match):
        gradient_vs_size(args.pop("radii"), args.pop("keys"), **args)


def test_log_radii_rejects_bad_ranges():
    with pytest.raises(ValueError):
        log_radii(10, 5)
    with pytest.raises(ValueError):
        log_radii(2, 10, 1)
    assert math.isclose(log_radii(2, 100, 3)[1], 14.14)
