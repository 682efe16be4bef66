"""segloss_core.tuning: protocols that let parameters act, effect-size quantities, recommendations
that never switch a term off, and the registry-wide promise that every parameter acts somewhere."""
import math

import numpy as np
import pytest

from segloss_core import tune_readouts as TR
from segloss_core import tuning as T
from segloss_core.registry import REGISTRY

SMALL = T.TuneSetup(obj="disk", size=96, radius=10.0, levels=9, delta=8)


def test_protocol_counts_are_exact():
    gt = T.ground_truth(SMALL)
    for protocol, fn_k, fp_k in (("survey", 8, 8), ("fn_only", 8, 0), ("fp_only", 0, 8), ("ratio", 8, 24)):
        setup = T.with_setup(SMALL, protocol=protocol)
        probs, counts = T.ladder(gt, setup)
        for k, c in enumerate(counts):
            assert (c["fn"], c["fp"]) == (min(k * fn_k, int(gt.sum())), k * fp_k), (protocol, k)
            hard = probs[k] > 0.5
            assert c["fp"] == int((hard & ~gt).sum()) and c["fn"] == int((~hard & gt).sum())
    # the probe: the level itself, then exactly Δ more FN, then exactly Δ more FP
    _, pc = T.probe(gt, SMALL, 3)
    assert pc[1]["fn"] - pc[0]["fn"] == 8 and pc[1]["fp"] == pc[0]["fp"]
    assert pc[2]["fp"] - pc[0]["fp"] == 8 and pc[2]["fn"] == pc[0]["fn"]


@pytest.mark.parametrize("profile", ["distance", "noise", "blur"])
def test_profiles_spread_the_confidences_but_keep_the_hard_mask(profile):
    gt = T.ground_truth(SMALL)
    setup = T.with_setup(SMALL, profile=profile, spread=3.0)
    probs, counts = T.ladder(gt, setup)
    two, _ = T.ladder(gt, SMALL)
    assert probs.dtype == np.float32 and np.isfinite(probs).all() and (probs > 0).all() and (probs < 1).all()
    if profile == "distance":  # the thresholded prediction is the hard mask the counts describe
        assert np.array_equal(probs > 0.5, two > 0.5)
    elif profile == "blur":  # only edge pixels (corners of the peel) may cross 0.5
        assert (probs > 0.5) .__ne__(two > 0.5).mean() < 0.01
    distinct = len(np.unique(probs[3]))
    assert 3 <= distinct <= 2100  # a spread of values, few enough to stay exact and batched


def test_distance_profile_makes_boundary_pixels_hard():
    gt = T.ground_truth(SMALL)
    probs, _ = T.ladder(gt, T.with_setup(SMALL, profile="distance", spread=4.0))
    p = probs[0]
    from skimage.segmentation import find_boundaries
    edge = find_boundaries(gt, mode="inner")
    centre = np.zeros_like(gt)
    centre[48, 48] = True
    assert p[edge].max() < p[centre].min()  # less confident at the edge than in the middle
    assert p[centre][0] == pytest.approx(0.99, abs=1e-6)


def test_tversky_cost_ratio_follows_beta_over_alpha():
    # hard prediction of a large object with few errors: ΔL per FN / ΔL per FP = β/α + FP/(TP+s) + ...
    setup = T.TuneSetup(obj="disk", size=128, radius=40.0, levels=5, delta=4, confidence=1.0)
    for a, b in ((0.3, 0.7), (0.5, 0.5), (0.2, 0.9)):
        s = T.summary("tversky", setup, {"alpha": a, "beta": b, "smooth": 1.0}, level=1)
        assert s["cost_ratio"] == pytest.approx(b / a, rel=0.02), (a, b, s["cost_ratio"])
    g = T.evaluate("tversky", "cost_ratio", setup, "alpha", [0.25, 0.5], "beta", [0.5, 1.0], level=1)
    assert g.q[1, 0] / g.q[0, 0] == pytest.approx(2.0, rel=0.02)  # doubling β doubles the cost ratio


def test_focal_gamma_is_inert_under_the_survey_protocol_and_acts_with_a_spread():
    g = T.evaluate("focal", "cost_ratio", T.TuneSetup(), "alpha", [0.25, 0.5, 0.75], "gamma", [0.0, 2.0, 5.0], level=2)
    assert TR.inert_axes(g) == ["gamma"]  # the horizontal bands: α/(1-α) whatever γ
    np.testing.assert_allclose(g.q[:, 0], 1 / 3, rtol=1e-6)
    where = TR.where_it_acts("focal", "gamma", "cost_ratio")
    assert where and "distance" in where[0]
    g2 = T.evaluate("focal", "hard_easy", SMALL, "gamma", [0.0, 1.0, 2.0, 5.0], level=3)
    assert (np.diff(g2.q[0]) > 0).all()  # γ weights hard pixels ever more against easy ones


def test_unet_border_needs_two_objects():
    g = T.evaluate("unet_weighted_ce", "cost_ratio", SMALL, "w0", [1.0, 10.0, 30.0], level=2)
    assert TR.inert_axes(g) == ["w0"]
    assert TR.where_it_acts("unet_weighted_ce", "w0", "cost_ratio")[0].startswith("two touching disks")


def test_recommendation_never_switches_a_term_off():
    for key, x, y in (("focal", "alpha", "gamma"), ("tversky", "alpha", "beta"), ("combo", "alpha", "beta")):
        p = REGISTRY[key]
        xs = np.linspace(p.param(x).low, p.param(x).high, 9)
        ys = np.linspace(p.param(y).low, p.param(y).high, 9)
        for quantity, target in (("cost_ratio", 1.0), ("cost_ratio", 3.0), ("slope", None), ("min_step", None)):
            g = T.evaluate(key, quantity, SMALL, x, xs, y, ys, level=2)
            rec = TR.recommend(g, target)
            if rec.cell is None:
                continue
            for name, v in rec.params.items():
                assert TR.switched_off(key, name, v) is None, (key, quantity, rec.params)
            for params, _ in rec.runners_up:
                assert all(TR.switched_off(key, n, v) is None for n, v in params.items())
            assert rec.excluded == int(TR.degenerate(g).sum()) > 0


def test_recommendation_reason_says_when_the_target_is_out_of_reach():
    g = T.evaluate("tversky", "cost_ratio", T.TuneSetup(), "alpha", [0.3, 0.6], "beta", [0.3, 0.6], level=2)
    rec = TR.recommend(g, 0.01)
    assert "not reached" in rec.reason
    assert TR.recommend(g, None).reason.startswith("FN/FP cost ratio closest to the target 1")
    assert TR.recommend(T.evaluate("tversky", "value", SMALL, "alpha", [0.3, 0.6], level=2)).cell is None


def _numeric_params():
    return [(k, p.name) for k, s in REGISTRY.items() for p in s.params if p.numeric]


@pytest.mark.parametrize("key,name", _numeric_params())
def test_every_parameter_acts_somewhere_or_says_why_not(key, name):
    p = REGISTRY[key].param(name)
    if p.inert:  # declared: e.g. the conservative loss's λ, a pure scale
        g = T.evaluate(key, "cost_ratio", SMALL, name, [p.low, p.high], level=2)
        assert TR.inert_axes(g) == [name]
        return
    for quantity in ("cost_ratio", "slope", "min_step", "hard_easy"):
        if TR.where_it_acts(key, name, quantity):
            return
    pytest.fail(f"{key}.{name} changes no quantity under any offered protocol and is not declared inert")


def test_bad_setups_and_quantities():
    for bad in (dict(obj="moon"), dict(protocol="x"), dict(profile="x"), dict(levels=2), dict(confidence=0.5),
                dict(spread=0.0), dict(fp_per_fn=0.0)):
        with pytest.raises(ValueError):
            T.TuneSetup(**bad).validate()
    with pytest.raises(ValueError, match="quantity"):
        T.evaluate("focal", "magic", SMALL, "alpha", [0.5])
    with pytest.raises(ValueError, match="level"):
        T.evaluate("focal", "value", SMALL, "alpha", [0.5], level=50)
    with pytest.raises(ValueError, match="given"):
        T.ground_truth(T.TuneSetup(obj="given"))


def test_summary_matches_the_grid():
    s = T.summary("focal", SMALL, {"alpha": 0.25, "gamma": 2.0}, level=3)
    for q in ("cost_ratio", "slope", "min_step", "value", "hard_easy"):
        g = T.evaluate("focal", q, SMALL, "alpha", [0.25], base={"gamma": 2.0}, level=3)
        assert g.q[0, 0] == pytest.approx(s[q], rel=1e-5), q
    assert s["verdict"] in ("rises", "saturates", "flat", "falls") and len(s["curve"]) == SMALL.levels
    assert math.isfinite(s["grad_ratio"])


def test_bench_figure_for_the_soft_grid():
    out = T.bench_soft_grid(repeat=1)
    assert set(out) == {"tune_grid_soft_s"} and out["tune_grid_soft_s"] > 0


def test_ladder_from_a_given_pair():
    from segloss_core.perturb import error_ladder_from
    gt = T.ground_truth(SMALL)
    start = np.roll(gt, 3, axis=1)  # a shifted prediction: some FN and FP already
    masks, counts = error_ladder_from(gt, start, [0, 10, 20], [0, 5, 40])
    assert np.array_equal(masks[0], start)
    c0 = counts[0]
    for k, (dfn, dfp) in enumerate(((0, 0), (10, 5), (20, 40))):
        assert counts[k]["fn"] == c0["fn"] + dfn and counts[k]["fp"] == c0["fp"] + dfp
        assert (masks[k] & ~start & gt).sum() == 0  # nothing of the object is added back
    setup = T.TuneSetup(obj="given", size=96, levels=5, delta=4, from_pair=True)
    g = T.evaluate("tversky", "cost_ratio", setup, "alpha", [0.3, 0.6], level=1, given=gt, given_pred=start)
    assert np.isfinite(g.q).all()
    c, cnt = T.curve("dice", setup, {}, given=gt, given_pred=start)
    assert cnt[0] == c0 and (np.diff(c) > 0).all()
    with pytest.raises(ValueError, match="given ground truth"):
        T.TuneSetup(obj="small", from_pair=True).validate()
