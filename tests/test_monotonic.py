"""Monotonicity analysis on constructed curves."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segloss_core.monotonic import analyze, normalize


def test_strictly_rising_curve():
    m = analyze(np.arange(10.0) ** 2)
    assert m.monotone and m.violations == 0 and m.kendall_tau == pytest.approx(1.0) and m.verdict == "rises"
    assert m.first_violation is None


def test_plateau_counts_as_failure():
    v = np.array([0, 1, 2, 3, 3, 3, 3.0])
    m = analyze(v)
    assert not m.monotone and m.violations == 3 and m.verdict == "plateaus" and m.first_violation == 3


def test_increase_below_tolerance_is_a_plateau():
    v = np.concatenate([np.linspace(0, 1, 6), 1 + 1e-5 * np.arange(1, 5)])
    assert analyze(v, tol=1e-3).violations == 4
    assert analyze(v, tol=1e-6).violations == 0


def test_decrease_is_falls_and_lowers_tau():
    v = np.array([0, 1, 2, 1.5, 3, 4.0])
    m = analyze(v)
    assert m.verdict == "falls" and m.violations == 1 and m.first_violation == 2 and m.kendall_tau < 1


def test_constant_curve():
    m = analyze(np.ones(5))
    assert m.violations == 4 and m.kendall_tau == 0.0 and not m.monotone
    assert (normalize(np.ones(5)) == 0).all()


def test_bad_input():
    for bad in (np.array([1.0]), np.array([0, np.nan]), np.zeros((2, 2))):
        with pytest.raises(ValueError):
            analyze(bad)
    with pytest.raises(ValueError, match="tolerance"):
        analyze(np.arange(3.0), tol=2)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=40))
def test_properties(values):
    v = np.array(values)
    m = analyze(v)
    assert 0 <= m.violations <= v.size - 1
    assert -1 <= m.kendall_tau <= 1 and np.isfinite(m.kendall_tau)
    n = normalize(v)
    assert n.min() >= 0 and n.max() <= 1
    if m.monotone:
        assert (np.diff(v) > 0).all()
