"""Monotonicity verdicts on constructed curves: the four words, exact zeros, tiny positive steps and
the tolerance at which the verdict flips."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segloss_core.monotonic import FLOAT_RTOL, VERDICTS, analyze, normalize, verdict_at


def test_strictly_rising_curve():
    m = analyze(np.arange(10.0) ** 2)
    assert m.monotone and m.violations == 0 and m.kendall_tau == pytest.approx(1.0) and m.verdict == "rises"
    assert m.first_violation is None
    # steps 1, 3, ..., 17; range 81, 9 steps: smallest step / even rise = 1 / 9
    assert m.min_step_rel == pytest.approx(1 / 9) and m.flip_tolerance == pytest.approx(1 / 81)


def test_straight_line_min_step_is_one_even_rise():
    m = analyze(np.linspace(0, 2, 11))
    assert m.min_step_rel == pytest.approx(1.0) and m.flip_tolerance == pytest.approx(0.1)


def test_exact_zero_step_is_flat_at_every_tolerance():
    v = np.array([0, 1, 2, 3, 3, 3, 3.0])
    for tol in (0.0, 1e-6, 1e-3, 0.3):
        m = analyze(v, tol)
        assert m.verdict == "flat" and not m.monotone and m.flip_tolerance is None
    assert analyze(v).violations == 3 and analyze(v).first_violation == 3


def test_step_below_float_precision_is_flat():
    v = np.array([0.0, 0.5, 1.0, 1.0 + 0.1 * FLOAT_RTOL])
    assert analyze(v, 0.0).verdict == "flat"


def test_tiny_positive_steps_saturate_and_the_flip_tolerance_is_exact():
    v = np.concatenate([np.linspace(0, 1, 6), 1 + 1e-5 * np.arange(1, 5)])  # range 1 + 4e-5
    m = analyze(v, tol=1e-3)
    assert m.verdict == "saturates" and m.violations == 4 and m.first_violation == 5
    flip = 1e-5 / (1 + 4e-5)
    assert m.flip_tolerance == pytest.approx(flip, rel=1e-6)
    # the verdict flips exactly there: rises below, saturates from it on
    assert analyze(v, tol=flip * 0.999).verdict == "rises"
    assert analyze(v, tol=flip * 1.001).verdict == "saturates"
    assert m.at(flip * 0.999) == "rises" and m.at(flip * 1.001) == "saturates"
    assert analyze(v, tol=0.0).verdict == "rises"


def test_decrease_is_falls_whatever_the_tolerance():
    v = np.array([0, 1, 2, 1.5, 3, 4.0])
    for tol in (0.0, 1e-3, 0.5):
        m = analyze(v, tol)
        assert m.verdict == "falls" and m.flip_tolerance is None and m.kendall_tau < 1
    m = analyze(v)
    assert m.violations == 1 and m.first_violation == 2 and m.max_fall_rel == pytest.approx(0.5 / 4)
    assert m.min_step_rel == pytest.approx(-0.5 / (4 / 5))


def test_tiny_decrease_beyond_precision_falls():
    v = np.array([0.0, 1.0, 2.0, 2.0 - 1e-4, 3.0])
    assert analyze(v, tol=1e-3).verdict == "falls"


def test_constant_curve():
    m = analyze(np.ones(5))
    assert m.verdict == "flat" and m.violations == 4 and m.kendall_tau == 0.0 and not m.monotone
    assert m.min_step_rel == 0.0
    assert (normalize(np.ones(5)) == 0).all()


def test_verdict_at_vectorized():
    t = np.array([1e-6, 1e-4, 1e-2])
    assert list(verdict_at("rises", 1e-3, t)) == ["rises", "rises", "saturates"]
    assert list(verdict_at("flat", None, t)) == ["flat"] * 3
    assert verdict_at("saturates", 1e-3, 1e-4) == "rises"


def test_bad_input():
    for bad in (np.array([1.0]), np.array([0, np.nan]), np.zeros((2, 2))):
        with pytest.raises(ValueError):
            analyze(bad)
    with pytest.raises(ValueError, match="tolerance"):
        analyze(np.arange(3.0), tol=2)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=40),
       st.floats(0, 0.5))
def test_properties(values, tol):
    v = np.array(values)
    m = analyze(v, tol)
    steps = np.diff(v)
    assert m.verdict in VERDICTS
    assert 0 <= m.violations <= v.size - 1
    assert -1 <= m.kendall_tau <= 1 and np.isfinite(m.kendall_tau)
    n = normalize(v)
    assert n.min() >= 0 and n.max() <= 1
    if m.verdict in ("rises", "saturates"):
        assert (steps > 0).all() and m.flip_tolerance is not None
        assert m.monotone == (tol < m.flip_tolerance)
        assert m.flip_tolerance == pytest.approx(steps.min() / (v.max() - v.min()))
    if m.verdict == "falls":
        assert (steps < 0).any()
    if m.monotone:
        assert (steps > tol * (v.max() - v.min())).all()
