"""The loss registry as data: keys, metadata, parameter declarations and their validation.

The expected keys, families and defaults below are copied by hand from the contract
(/work/shared/LOSSES.md), not read from the registry, so that a drift between the two fails here.
"""
from __future__ import annotations

import inspect
import math
import re

import pytest

from segloss_core.registry import FAMILIES, KEYS, REGISTRY, LossSpec, Param, get, parse_keys, parse_setting

# ---- the contract (LOSSES.md), by family
CONTRACT_FAMILIES = {
    "distribution": ["bce", "wce", "balanced_ce", "focal", "unet_weighted_ce", "distance_penalized_ce",
                     "conservative"],
    "region": ["dice", "squared_dice", "jaccard", "tversky", "focal_tversky", "generalized_dice",
               "sensitivity_specificity", "log_cosh_dice", "lovasz_hinge", "lovasz_softmax"],
    "boundary": ["boundary", "gdl_boundary", "hausdorff_dt", "shape_aware"],
    "compound": ["combo", "exp_log", "dice_bce", "dice_focal", "cmss"],
}
CONTRACT_KEYS = {k for keys in CONTRACT_FAMILIES.values() for k in keys}
# The losses published after the surveys (issue 14), appended to the registry after the 26 above.
SINCE_2020 = {
    "distribution": ["topk_ce"],
    "region": ["cldice", "mcc"],
    "boundary": ["log_hausdorff_dt", "hausdorff_er", "boundary_dou"],
    "compound": ["skeleton_recall", "unified_focal"],
}
SINCE_2020_KEYS = {k for keys in SINCE_2020.values() for k in keys}

# Defaults stated in the "defaults" column of LOSSES.md (None = "auto").
CONTRACT_DEFAULTS = {
    "wce": {"beta": None},
    "balanced_ce": {"beta": None},
    "focal": {"alpha": 0.25, "gamma": 2.0},
    "unet_weighted_ce": {"w0": 10.0, "sigma": 5.0, "class_weight": "none"},
    "conservative": {"lam": 5.0, "a": math.e},
    "dice": {"smooth": 1.0},
    "squared_dice": {"smooth": 1.0},
    "jaccard": {"smooth": 1.0},
    "tversky": {"alpha": 0.3, "beta": 0.7, "smooth": 1.0},
    "focal_tversky": {"alpha": 0.3, "beta": 0.7, "gamma": 0.75, "smooth": 1.0},
    "sensitivity_specificity": {"lam": 0.05, "eps": 1e-5},
    "log_cosh_dice": {"smooth": 1.0},
    "lovasz_softmax": {"classes": "present"},
    "gdl_boundary": {"alpha": 0.5},
    "hausdorff_dt": {"alpha": 2.0},
    "combo": {"alpha": 0.5, "beta": 0.5},
    "exp_log": {"gamma": 0.3, "w_dice": 0.8, "w_ce": 0.2},
    "dice_bce": {"lam": 1.0},
    "dice_focal": {"lam": 0.5, "gamma": 2.0},
    "cmss": {"beta": 0.1},
    # issue 14: the authors' defaults
    "cldice": {"alpha": 0.5, "iters": 3.0, "smooth": 1.0},
    "skeleton_recall": {"w_srec": 1.0, "w_base": 1.0, "smooth": 1e-5},
    "unified_focal": {"lam": 0.5, "delta": 0.6, "gamma": 0.5, "variant": "asymmetric"},
    "topk_ce": {"k": 10.0},
    "mcc": {"eps": 1e-5},
    "log_hausdorff_dt": {"alpha": 2.0},
    "hausdorff_er": {"alpha": 2.0, "k": 10.0},
    "boundary_dou": {"alpha_max": 0.8},
}

# Losses that take ground-truth distance maps (the boundary family plus the two map-weighted CEs).
CONTRACT_NEEDS_MAPS = {"unet_weighted_ce", "distance_penalized_ce", "boundary", "gdl_boundary", "hausdorff_dt",
                       "shape_aware", "log_hausdorff_dt"}
# "the class-wise losses (CE family, focal, Dice family, Lovász-softmax) average over classes"
CONTRACT_MULTICLASS = {"bce", "wce", "balanced_ce", "focal", "dice", "squared_dice", "jaccard", "tversky",
                       "focal_tversky", "generalized_dice", "log_cosh_dice", "lovasz_softmax"}

SPECS = list(REGISTRY.values())
IDS = list(REGISTRY)


# ---------------------------------------------------------------- keys and metadata
def test_exactly_the_26_contract_keys_then_the_8_since_2020():
    assert len(CONTRACT_KEYS) == 26 and len(SINCE_2020_KEYS) == 8
    expected = CONTRACT_KEYS | SINCE_2020_KEYS
    assert len(KEYS) == len(set(KEYS)) == 34, "duplicate or missing keys"
    assert set(KEYS) == expected, (
        f"missing: {sorted(expected - set(KEYS))}; unexpected: {sorted(set(KEYS) - expected)}")
    assert set(KEYS[:26]) == CONTRACT_KEYS  # the survey's losses first, the newer ones appended
    assert tuple(REGISTRY) == KEYS


def test_families_match_contract():
    assert set(FAMILIES) == set(CONTRACT_FAMILIES)
    for fam, keys in CONTRACT_FAMILIES.items():
        got = sorted(k for k, s in REGISTRY.items() if s.family == fam)
        assert got == sorted(keys + SINCE_2020[fam]), fam


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_spec_metadata(spec: LossSpec):
    assert isinstance(spec, LossSpec)
    assert REGISTRY[spec.key] is spec and get(spec.key) is spec
    assert isinstance(spec.name, str) and spec.name.strip() and spec.name != spec.key
    assert spec.family in FAMILIES
    assert callable(spec.fn)
    assert isinstance(spec.reference, str) and len(spec.reference.strip()) >= 5
    # LaTeX: at least one control sequence or a sub/superscript, and balanced braces.
    f = spec.formula
    assert isinstance(f, str) and f.strip()
    assert re.search(r"\\[A-Za-z]+|[_^]", f), f"formula does not look like LaTeX: {f!r}"
    depth = 0
    for ch in f.replace(r"\{", "").replace(r"\}", ""):
        depth += ch == "{"
        depth -= ch == "}"
        assert depth >= 0, f"unbalanced braces in {f!r}"
    assert depth == 0, f"unbalanced braces in {f!r}"
    assert isinstance(spec.needs_maps, bool) and isinstance(spec.multiclass, bool)


def test_needs_maps_and_multiclass_flags():
    assert {k for k, s in REGISTRY.items() if s.needs_maps} == CONTRACT_NEEDS_MAPS
    assert {k for k, s in REGISTRY.items() if s.multiclass} == CONTRACT_MULTICLASS


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_params_match_function_signature(spec: LossSpec):
    """Every declared parameter is a keyword of the raw function (else the sliders would break it),
    and ``maps`` is a keyword exactly when ``needs_maps``."""
    sig = inspect.signature(spec.fn)
    names = [p.name for p in spec.params]
    assert len(names) == len(set(names)), "duplicate parameter names"
    for n in names:
        assert n in sig.parameters, f"{spec.key}.{n} is not an argument of {spec.fn.__name__}"
    assert ("maps" in sig.parameters) == spec.needs_maps


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_defaults_match_contract(spec: LossSpec):
    expected = CONTRACT_DEFAULTS.get(spec.key, {})
    got = spec.defaults
    for name, value in expected.items():
        assert name in got, f"{spec.key} lacks parameter {name}"
        if isinstance(value, float):
            assert got[name] == pytest.approx(value, rel=1e-12), f"{spec.key}.{name}"
        else:
            assert got[name] == value, f"{spec.key}.{name}"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_param_declarations_are_consistent(spec: LossSpec):
    for p in spec.params:
        assert isinstance(p, Param)
        assert p.name.isidentifier()
        assert p.help.strip(), f"{spec.key}.{p.name} has no help text"
        if p.choices is not None:
            assert not p.numeric
            assert len(p.choices) >= 2 and all(isinstance(c, str) for c in p.choices)
            assert p.default in p.choices
            assert p.low is None and p.high is None
        else:
            assert p.numeric
            assert math.isfinite(p.low) and math.isfinite(p.high) and p.low < p.high, (spec.key, p.name)
            if p.log:
                assert p.low > 0, f"{spec.key}.{p.name}: log scale needs low > 0"
            if p.auto:
                assert p.default is None or p.low <= p.default <= p.high
            else:
                assert p.default is not None and p.low <= p.default <= p.high, (spec.key, p.name, p.default)
            # the declared ends are valid values
            assert p.validate(p.low) == p.low and p.validate(p.high) == p.high
        # the default always validates to itself
        assert p.validate(p.default) == p.default


# ---------------------------------------------------------------- Param.validate
def _numeric_params():
    return [pytest.param(s, p, id=f"{s.key}.{p.name}") for s in SPECS for p in s.params if p.numeric]


@pytest.mark.parametrize("spec,p", _numeric_params())
def test_validate_rejects_out_of_range_and_nonfinite(spec, p):
    span = p.high - p.low
    for bad in (p.low - 0.01 * span, p.high + 0.01 * span, float("nan"), float("inf"), float("-inf"), "nan"):
        with pytest.raises(ValueError) as ei:
            p.validate(bad)
        msg = str(ei.value)
        assert p.name in msg and "[" in msg and "got" in msg, msg
    with pytest.raises(ValueError, match=p.name):
        p.validate("not-a-number")
    with pytest.raises(ValueError, match=p.name):
        p.validate([1.0])
    # numbers given as strings (command line) are accepted and converted
    mid = (p.low + p.high) / 2
    assert p.validate(repr(mid)) == pytest.approx(mid)
    assert isinstance(p.validate(str(p.high)), float)


def test_validate_message_states_the_range():
    p = REGISTRY["focal"].param("gamma")
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 5\]; got 7"):
        p.validate(7)
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 5\]"):
        p.validate(float("nan"))


def test_validate_choices():
    p = REGISTRY["lovasz_softmax"].param("classes")
    assert p.validate("all") == "all" and p.validate("present") == "present"
    with pytest.raises(ValueError, match=r"classes must be one of present, all; got 'some'"):
        p.validate("some")
    with pytest.raises(ValueError, match="classes must be one of"):
        p.validate(1.0)
    q = REGISTRY["unet_weighted_ce"].param("class_weight")
    with pytest.raises(ValueError, match="class_weight must be one of"):
        q.validate("inverse")


def test_validate_auto():
    p = REGISTRY["wce"].param("beta")
    assert p.auto
    for v in (None, "auto", " AUTO "):
        assert p.validate(v) is None
    assert p.validate("2.5") == 2.5
    with pytest.raises(ValueError, match="beta must be a number or auto"):
        p.validate("automatic")
    with pytest.raises(ValueError, match=r"beta must be in \[0.01, 100\]"):
        p.validate(0.0)
    # a parameter without auto rejects it
    q = REGISTRY["focal"].param("alpha")
    assert not q.auto
    with pytest.raises(ValueError, match="alpha must be a number; got 'auto'"):
        q.validate("auto")
    with pytest.raises(ValueError, match="alpha must be a number"):
        q.validate(None)


# ---------------------------------------------------------------- resolve / param / call
def test_resolve():
    spec = REGISTRY["tversky"]
    # the convention options (issue 13) with their defaults: per sample, today's behaviour
    conv = {"smooth_nr": None, "smooth_dr": None, "reduction": "sample", "background": "include", "empty": "smooth",
            "average": "present", "soft": "product"}
    assert spec.resolve() == {"alpha": 0.3, "beta": 0.7, "smooth": 1.0, **conv}
    assert spec.resolve({"alpha": "0.9"}) == {"alpha": 0.9, "beta": 0.7, "smooth": 1.0, **conv}
    assert spec.defaults["alpha"] == 0.3, "resolve must not change the defaults"
    with pytest.raises(ValueError, match=r"loss 'tversky' has no parameter 'gamma'; it has: alpha, beta, smooth, "
                                         r"smooth_nr, smooth_dr, reduction, background, empty, average, soft"):
        spec.resolve({"gamma": 1.0})
    with pytest.raises(ValueError, match="alpha must be in"):
        spec.resolve({"alpha": 2.0})
    with pytest.raises(ValueError, match="it has: none"):
        REGISTRY["bce"].resolve({"beta": 1.0})


def test_call_validates_params():
    import torch

    z = torch.zeros(1, 1, 4, 4)
    g = torch.zeros(1, 1, 4, 4)
    with pytest.raises(ValueError, match="no parameter 'gama'"):
        REGISTRY["focal"](z, g, gama=2.0)
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 5\]"):
        REGISTRY["focal"](z, g, gamma=-1.0)
    with pytest.raises(ValueError, match="classes must be one of"):
        REGISTRY["lovasz_softmax"](z, g, classes="none")


def test_get_unknown_key():
    with pytest.raises(ValueError, match=r"unknown loss 'dcie'; known: bce, "):
        get("dcie")


# ---------------------------------------------------------------- parse_keys / parse_setting
def test_parse_keys():
    assert parse_keys(None) == list(KEYS)
    assert parse_keys("") == list(KEYS)
    assert parse_keys("dice") == ["dice"]
    assert parse_keys(" dice , focal,,lovasz_hinge, ") == ["dice", "focal", "lovasz_hinge"]
    with pytest.raises(ValueError, match="unknown loss 'nope'"):
        parse_keys("dice,nope")


@pytest.mark.parametrize("text,expected", [
    ("focal.gamma=3", ("focal", "gamma", 3.0)),
    (" focal.gamma = 0.5 ", ("focal", "gamma", 0.5)),
    ("dice.smooth=1e-6", ("dice", "smooth", 1e-6)),
    ("wce.beta=auto", ("wce", "beta", None)),
    ("balanced_ce.beta=0.25", ("balanced_ce", "beta", 0.25)),
    ("lovasz_softmax.classes=all", ("lovasz_softmax", "classes", "all")),
    ("unet_weighted_ce.class_weight=inverse_frequency", ("unet_weighted_ce", "class_weight", "inverse_frequency")),
])
def test_parse_setting(text, expected):
    got = parse_setting(text)
    assert got == expected
    assert type(got[2]) is type(expected[2])


@pytest.mark.parametrize("text,match", [
    ("focal.gamma", "expected KEY.PARAM=VALUE"),
    ("focalgamma=3", "expected KEY.PARAM=VALUE"),
    ("=3", "expected KEY.PARAM=VALUE"),
    ("nope.gamma=3", "unknown loss 'nope'"),
    ("focal.beta=3", "loss 'focal' has no parameter 'beta'"),
    ("focal.gamma=9", r"gamma must be in \[0, 5\]"),
    ("focal.gamma=nan", r"gamma must be in \[0, 5\]"),
    ("focal.gamma=abc", "gamma must be a number"),
    ("focal.alpha=auto", "alpha must be a number"),
    ("lovasz_softmax.classes=some", "classes must be one of"),
])
def test_parse_setting_errors(text, match):
    with pytest.raises(ValueError, match=match):
        parse_setting(text)
