"""Perturbations: exact FN/FP counts in every mode, clamping, determinism, the survey ladder.

Counts are always recomputed here from the masks (never read back from the object under test
alone), and the survey facts (the small disk loses its last true positive around level 6, the
large one keeps > 90 %) are computed from the masks, not typed in.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import ndimage as ndi

from segloss_core.masks import make_shape
from segloss_core.perturb import (
    FN_MODES,
    FP_MODES,
    Perturbation,
    perturb,
    soften,
    survey_levels,
    survey_stack,
)

EIGHT = np.ones((3, 3), dtype=bool)
SMALL = make_shape("disk", size=256, radius=6)
LARGE = make_shape("disk", size=256, radius=60)


def true_counts(pred: np.ndarray, gt: np.ndarray) -> dict[str, int]:
    return {
        "tp": int((pred & gt).sum()),
        "fp": int((pred & ~gt).sum()),
        "fn": int((~pred & gt).sum()),
        "tn": int((~pred & ~gt).sum()),
    }


# ---------------------------------------------------------------------------- strategies
@st.composite
def shape_gt(draw):
    size = draw(st.integers(16, 64))
    shape = draw(st.sampled_from(["disk", "ellipse", "rectangle", "star", "polygon"]))
    frac = draw(st.floats(0.01, 0.4))
    n = draw(st.sampled_from([1, 1, 2, 3]))
    try:
        return make_shape(shape, size=size, fraction=frac, n_objects=n, seed=draw(st.integers(0, 9)))
    except ValueError:
        return make_shape("disk", size=size, radius=size / 5)


random_gt = hnp.arrays(bool, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=24))
any_gt = st.one_of(shape_gt(), random_gt)


# ---------------------------------------------------------------------------- exactness
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    gt=any_gt,
    fn=st.integers(0, 1500),
    fp=st.integers(0, 5000),
    fn_mode=st.sampled_from(FN_MODES),
    fp_mode=st.sampled_from(FP_MODES),
    seed=st.integers(0, 2**16),
    radius=st.sampled_from([1, 2, 3, 4.5]),
)
def test_counts_exact_every_mode(gt, fn, fp, fn_mode, fp_mode, seed, radius):
    p = perturb(gt, fn=fn, fp=fp, fn_mode=fn_mode, fp_mode=fp_mode, seed=seed, blob_radius=radius)
    assert isinstance(p, Perturbation)
    assert p.mask.shape == gt.shape and p.mask.dtype == bool
    n_obj, n_bg = int(gt.sum()), int((~gt).sum())
    c = true_counts(p.mask, gt)
    assert c == p.counts
    assert c["fn"] == min(fn, n_obj)
    assert c["fp"] == min(fp, n_bg)
    assert p.applied == {"removed": c["fn"], "added": c["fp"]}
    assert any("FN pixels" in m for m in p.messages) == (fn > n_obj)
    assert any("FP pixels" in m for m in p.messages) == (fp > n_bg)
    assert all("\n" not in m for m in p.messages)


@settings(max_examples=40, deadline=None)
@given(gt=shape_gt(), fn=st.floats(0, 1.5), fp=st.floats(0, 3), seed=st.integers(0, 99))
def test_fraction_units(gt, fn, fp, seed):
    n_obj = int(gt.sum())
    p = perturb(gt, fn=fn, fp=fp, units="fraction", seed=seed)
    assert p.counts["fn"] == min(round(fn * n_obj), n_obj)
    assert p.counts["fp"] == min(round(fp * n_obj), gt.size - n_obj)
    assert p.requested["fn_pixels"] == round(fn * n_obj)


def test_clamp_message_text():
    n = int(SMALL.sum())
    p = perturb(SMALL, fn=500)
    assert p.counts["fn"] == n and p.counts["tp"] == 0
    assert f"requested 500 FN pixels but the object has {n}; removed {n}" in p.messages
    full_bg = int((~SMALL).sum())
    p = perturb(SMALL, fp=10**6)
    assert p.counts["fp"] == full_bg
    assert any(f"background has {full_bg}" in m for m in p.messages)


# ---------------------------------------------------------------------------- patterns
@pytest.mark.parametrize("gt", [SMALL, LARGE, make_shape("star", size=128, fraction=0.1)])
@pytest.mark.parametrize("n", [1, 37, 400])
def test_boundary_fn_peels_by_distance(gt, n):
    p = perturb(gt, fn=n)
    d = ndi.distance_transform_edt(np.pad(gt, 1))[1:-1, 1:-1]
    removed = gt & ~p.mask
    kept = gt & p.mask
    assert removed.sum() == min(n, gt.sum())
    if kept.any():
        assert d[removed].max() <= d[kept].min()


@pytest.mark.parametrize("n", [1, 50, 2000])
def test_boundary_fp_grows_by_distance(n):
    p = perturb(LARGE, fp=n)
    d = ndi.distance_transform_edt(~LARGE)
    added = p.mask & ~LARGE
    rest = ~p.mask & ~LARGE
    assert added.sum() == n
    assert d[added].max() <= d[rest].min()


def test_boundary_fp_from_centre_when_empty():
    gt = np.zeros((33, 33), bool)
    p = perturb(gt, fp=9)
    assert p.counts["fp"] == 9
    assert any("image centre" in m for m in p.messages)
    yy, xx = np.nonzero(p.mask)
    assert np.hypot(yy - 16, xx - 16).max() <= math.sqrt(2) + 1e-9


def test_holes_inside_and_round():
    R = 3
    p = perturb(LARGE, fn=300, fn_mode="holes", blob_radius=R, seed=4)
    removed = LARGE & ~p.mask
    assert removed.sum() == 300
    assert not p.messages  # enough room: all holes separate
    # No hole touches the background: the object's boundary ring is intact.
    ring = LARGE & ndi.binary_dilation(~LARGE, structure=EIGHT)
    assert not (removed & ring).any()
    full = int((np.hypot(*np.mgrid[-R : R + 1, -R : R + 1]) <= R).sum())
    labels, n = ndi.label(removed, structure=EIGHT)
    sizes = np.bincount(labels.ravel())[1:]
    assert n == math.ceil(300 / full)
    assert (np.sort(sizes)[1:] == full).all()  # all full discs but (at most) the partial last


def test_blobs_separate_from_object_and_each_other():
    R = 3
    p = perturb(SMALL, fp=500, fp_mode="blobs", blob_radius=R, seed=2)
    added = p.mask & ~SMALL
    assert added.sum() == 500
    assert not p.messages
    near_obj = ndi.binary_dilation(SMALL, structure=EIGHT)
    assert not (added & near_obj).any()
    full = int((np.hypot(*np.mgrid[-R : R + 1, -R : R + 1]) <= R).sum())
    _, n = ndi.label(added, structure=EIGHT)
    assert n == math.ceil(500 / full)


def test_crowded_blobs_and_holes_say_so():
    p = perturb(SMALL, fn=100, fn_mode="holes")
    assert p.counts["fn"] == 100
    assert any("separate hole" in m for m in p.messages)
    gt = make_shape("disk", size=32, radius=10)
    p = perturb(gt, fp=int((~gt).sum()), fp_mode="blobs")
    assert p.counts["fp"] == int((~gt).sum())
    assert any("touching the object" in m for m in p.messages)


@pytest.mark.parametrize("fn_mode,fp_mode", [("noise", "noise"), ("holes", "blobs"), ("boundary", "boundary")])
def test_same_seed_same_output(fn_mode, fp_mode):
    a = perturb(LARGE, fn=333, fp=444, fn_mode=fn_mode, fp_mode=fp_mode, seed=7)
    b = perturb(LARGE, fn=333, fp=444, fn_mode=fn_mode, fp_mode=fp_mode, seed=7)
    assert np.array_equal(a.mask, b.mask)


@pytest.mark.parametrize("fn_mode,fp_mode", [("noise", "noise"), ("holes", "blobs")])
def test_different_seed_different_output(fn_mode, fp_mode):
    a = perturb(LARGE, fn=333, fp=444, fn_mode=fn_mode, fp_mode=fp_mode, seed=7)
    b = perturb(LARGE, fn=333, fp=444, fn_mode=fn_mode, fp_mode=fp_mode, seed=8)
    assert not np.array_equal(a.mask & LARGE, b.mask & LARGE)  # FN pattern differs
    assert not np.array_equal(a.mask & ~LARGE, b.mask & ~LARGE)  # FP pattern differs
    assert a.counts == b.counts


def test_noise_is_scattered():
    p = perturb(LARGE, fp=500, fp_mode="noise")
    added = p.mask & ~LARGE
    _, n = ndi.label(added, structure=EIGHT)
    assert n > 300  # most random pixels in 54 000 are isolated


# ---------------------------------------------------------------------------- shift
@pytest.mark.parametrize("shift", [(0, 0), (5, -3), (-40, 70), (300, 0)])
@pytest.mark.parametrize("fn,fp", [(0, 0), (25, 60)])
def test_shift_reports_true_counts(shift, fn, fp):
    p = perturb(LARGE, fn=fn, fp=fp, shift=shift, seed=1)
    assert p.counts == true_counts(p.mask, LARGE)
    dy, dx = shift
    moved = np.zeros_like(LARGE)
    H, W = LARGE.shape
    ys, xs = np.nonzero(LARGE)
    ok = (ys + dy >= 0) & (ys + dy < H) & (xs + dx >= 0) & (xs + dx < W)
    moved[ys[ok] + dy, xs[ok] + dx] = True
    # The patterns act on the shifted mask: exactly fn of its pixels removed, fp added.
    assert int((moved & ~p.mask).sum()) == min(fn, int(moved.sum()))
    assert int((p.mask & ~moved).sum()) == min(fp, int((~moved).sum()))
    if fn == fp == 0:
        assert np.array_equal(p.mask, moved)
    if shift != (0, 0):
        assert any("shift" in m for m in p.messages)


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "gt,kwargs,match",
    [
        (np.zeros((4, 4, 4), bool), {}, "2-D"),
        (np.full((8, 8), 2), {}, "binary"),
        (LARGE, {"fn": -1}, "non-negative"),
        (LARGE, {"fp": 2.5}, "whole"),
        (LARGE, {"fn": float("nan")}, "non-negative"),
        (LARGE, {"fn_mode": "blobs"}, "fn_mode"),
        (LARGE, {"fp_mode": "holes"}, "fp_mode"),
        (LARGE, {"units": "percent"}, "units"),
        (np.zeros((8, 8), bool), {"units": "fraction", "fn": 0.1}, "non-empty"),
        (LARGE, {"seed": -3}, "seed"),
        (LARGE, {"blob_radius": 0}, "blob_radius"),
        (LARGE, {"shift": (1.5, 0)}, "shift"),
        (LARGE, {"shift": 3}, "shift"),
    ],
)
def test_invalid_inputs(gt, kwargs, match):
    with pytest.raises(ValueError, match=match) as exc:
        perturb(gt, **kwargs)
    assert "\n" not in str(exc.value)


def test_accepts_01_numbers():
    p = perturb(LARGE.astype(np.uint8), fn=10, fp=10)
    assert p.counts["fn"] == 10 and p.counts["fp"] == 10


# ---------------------------------------------------------------------------- soften
def test_soften_values():
    c = 0.9
    p = soften(LARGE, confidence=c)
    assert np.allclose(np.unique(p), [1 - c, c])
    assert np.array_equal(p > 0.5, LARGE)


@pytest.mark.parametrize("sigma", [0.5, 2.0, 6.0])
def test_soften_blur_stays_in_range(sigma):
    c = 0.99
    p = soften(LARGE, confidence=c, blur_sigma=sigma)
    assert p.min() >= 1 - c - 1e-12 and p.max() <= c + 1e-12
    assert len(np.unique(p)) > 2
    stack = soften(np.stack([LARGE, SMALL]), confidence=c, blur_sigma=sigma)
    assert np.allclose(stack[0], p) and np.allclose(stack[1], soften(SMALL, confidence=c, blur_sigma=sigma))


@pytest.mark.parametrize("bad", [1.0001, 0.5, 0.3, float("nan"), "high"])  # 1.0 = hard masks, allowed
def test_soften_confidence_validated(bad):
    with pytest.raises(ValueError, match="confidence"):
        soften(LARGE, confidence=bad)


def test_soften_sigma_validated():
    with pytest.raises(ValueError, match="blur_sigma"):
        soften(LARGE, blur_sigma=-1)


# ---------------------------------------------------------------------------- survey ladder
def first_level_without_tp(levels: list[Perturbation]) -> int | None:
    for k, p in enumerate(levels):
        if int((p.mask & SMALL).sum()) == 0:
            return k
    return None


def test_survey_small_object_loses_all_tp_around_level_6():
    delta = 20
    levels = survey_levels(SMALL, levels=41, delta=delta)
    n = int(SMALL.sum())
    k0 = first_level_without_tp(levels)
    assert k0 == math.ceil(n / delta)  # computed from the mask: ceil(113 / 20) = 6 for r = 6
    assert 5 <= k0 <= 7
    assert all(int((p.mask & SMALL).sum()) == 0 for p in levels[k0:])
    assert all(int((p.mask & SMALL).sum()) > 0 for p in levels[:k0])
    assert any("FN pixels" in m for m in levels[-1].messages)


def test_survey_large_object_keeps_over_90_percent():
    levels = survey_levels(LARGE, levels=41, delta=20)
    n = int(LARGE.sum())
    kept = [int((p.mask & LARGE).sum()) / n for p in levels]
    assert min(kept) > 0.9
    assert kept == sorted(kept, reverse=True)


@pytest.mark.parametrize("fp_mode", FP_MODES)
@pytest.mark.parametrize("fn_mode", ["boundary", "holes"])
def test_survey_levels_match_perturb(fp_mode, fn_mode):
    for gt in (SMALL, LARGE):
        ladder = survey_levels(gt, levels=12, delta=20, fp_mode=fp_mode, fn_mode=fn_mode, seed=5)
        assert len(ladder) == 12
        for k in (0, 1, 6, 11):
            single = perturb(gt, fn=20 * k, fp=20 * k, fp_mode=fp_mode, fn_mode=fn_mode, seed=5)
            assert np.array_equal(ladder[k].mask, single.mask)
            assert ladder[k].counts == single.counts == true_counts(single.mask, gt)
            assert ladder[k].counts["fp"] == 20 * k
            assert ladder[k].counts["fn"] == min(20 * k, int(gt.sum()))


def test_survey_stack_matches_levels():
    probs, counts = survey_stack(SMALL, 41, 20, 0.95, "blobs", 3)
    ladder = survey_levels(SMALL, levels=41, delta=20, fp_mode="blobs", seed=3)
    assert probs.shape == (41, 256, 256) and probs.dtype == np.float32
    assert counts == [p.counts for p in ladder]
    for k in (0, 10, 40):
        assert np.allclose(probs[k], soften(ladder[k].mask, confidence=0.95))
    blurred, _ = survey_stack(LARGE, levels=3, blur_sigma=1.5)
    assert blurred.min() >= np.float32(0.01) - 1e-6 and blurred.max() <= np.float32(0.99) + 1e-6


def test_survey_levels_fast():
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        survey_levels(SMALL)
        survey_levels(LARGE)
        best = min(best, time.perf_counter() - t0)
    # Budget: ~100 ms per 256x256 ladder; generous bound for slow CI machines (both objects).
    assert best < 0.5, f"survey_levels took {best * 1000:.0f} ms for two objects"


@pytest.mark.parametrize("kwargs", [{"levels": 0}, {"levels": 2.5}, {"delta": -1}, {"fp_mode": "x"}])
def test_survey_validation(kwargs):
    with pytest.raises(ValueError):
        survey_levels(LARGE, **kwargs)


# ------------------------------------------------------------------ translation ladder
def test_translation_counts_are_exact():
    from segloss_core.perturb import translation_masks, translation_stack
    from skimage.draw import disk as sk_disk
    gt = np.zeros((64, 64), bool)
    gt[sk_disk((32, 20), 5)] = True
    n = int(gt.sum())
    masks, counts = translation_masks(gt, levels=16, step=1)
    for k, (m, c) in enumerate(zip(masks, counts)):
        assert m.sum() == n  # moved, not grown: the object keeps its size
        assert np.array_equal(m[:, k:], gt[:, :64 - k])
        assert c == {"tp": int((m & gt).sum()), "fp": int((m & ~gt).sum()), "fn": int((~m & gt).sum()),
                     "tn": int((~m & ~gt).sum())}
        assert c["fp"] == c["fn"]  # as much moved out as in
    assert counts[0]["fp"] == 0 and counts[11]["tp"] == 0 and counts[15]["fn"] == n  # apart after 2r + 1 px
    grown, gcounts = translation_masks(gt, levels=6, step=2, grow=7)
    for k, (m, c) in enumerate(zip(grown, gcounts)):
        moved = np.zeros_like(gt)
        moved[:, 2 * k:] = gt[:, :64 - 2 * k]
        assert (m & moved).sum() == moved.sum() and m.sum() == n + 7 * k  # exactly k·grow FP pixels added
    probs, c2 = translation_stack(gt, levels=6, step=2, grow=7, confidence=1.0)
    assert probs.dtype == np.float32 and set(np.unique(probs)) <= {0.0, 1.0} and c2 == gcounts


def test_soften_hard_and_bad_confidence():
    m = np.zeros((4, 4), bool)
    m[1, 1] = True
    assert np.array_equal(soften(m, confidence=1.0), m.astype(float))
    for bad in (0.5, 1.0001, float("nan")):
        with pytest.raises(ValueError, match="confidence"):
            soften(m, confidence=bad)
