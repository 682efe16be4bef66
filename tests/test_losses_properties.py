"""Properties every loss of the registry must have, parametrized over the registry (ids = keys).

Shapes and dtypes, finiteness of values and gradients on edge masks and at the ends of every
parameter's range, batch independence, target broadcasting, float64 gradcheck, multi-class
handling, the binary == 2-class-softmax identity, and a Hypothesis property test.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segloss_core.distance import TargetMaps
from segloss_core.registry import KEYS, REGISTRY

ALL = list(KEYS)
MULTICLASS = [k for k in KEYS if REGISTRY[k].multiclass]
BINARY_ONLY = [k for k in KEYS if not REGISTRY[k].multiclass]
# Weights computed from the prediction thresholded at p = 0.5: piecewise constant in the logits,
# so finite differences are valid only away from the threshold.
THRESHOLDED = {"hausdorff_dt", "shape_aware", "cmss"}
# Losses that sort per-pixel errors: piecewise smooth, kinks where two errors tie.
SORTING = {"lovasz_hinge", "lovasz_softmax"}

SHAPES = {"2d": (12, 12), "3d": (6, 6, 6)}


# ---------------------------------------------------------------- helpers (kept in this file)
def ellipse(shape, center, radii) -> np.ndarray:
    grids = np.meshgrid(*[np.arange(s, dtype=float) for s in shape], indexing="ij")
    return sum(((g - c) / r) ** 2 for g, c, r in zip(grids, center, radii)) <= 1.0


def random_blob(shape, rng) -> np.ndarray:
    for _ in range(100):
        c = [rng.uniform(0.3 * s, 0.7 * s) for s in shape]
        r = [rng.uniform(0.15 * s, 0.35 * s) + 0.6 for s in shape]
        m = ellipse(shape, c, r)
        if 1 < m.sum() < m.size:
            return m
    raise AssertionError("could not draw a blob")


def two_blobs(shape) -> np.ndarray:
    """Two separate objects (so the U-Net border term is active)."""
    m = np.zeros(shape, dtype=bool)
    lo = tuple(slice(0, max(1, s // 3)) for s in shape)
    hi = tuple(slice(s - max(1, s // 3), s) for s in shape)
    m[lo] = True
    m[hi] = True
    return m


def one_pixel(shape, where=None) -> np.ndarray:
    m = np.zeros(shape, dtype=bool)
    m[where if where is not None else tuple(s // 2 for s in shape)] = True
    return m


def varied_targets(shape, rng) -> list[np.ndarray]:
    """Five targets with different foreground counts and topology: every per-sample statistic
    (auto β, class presence, distance maps, object count) differs across the batch."""
    return [random_blob(shape, rng), two_blobs(shape), np.zeros(shape, bool), np.ones(shape, bool),
            one_pixel(shape)]


def stack(masks, dtype=torch.float64) -> torch.Tensor:
    return torch.as_tensor(np.stack([m[None] for m in masks]), dtype=dtype)


def related_logits(target: torch.Tensor, gen: torch.Generator, b: int | None = None) -> torch.Tensor:
    """Logits loosely correlated with the target (a partly right prediction), plus noise."""
    b = target.shape[0] if b is None else b
    t = target.expand(b, *target.shape[1:])
    noise = torch.randn(t.shape, generator=gen, dtype=torch.float64)
    return (1.5 * (2 * t - 1) + 1.5 * noise).to(target.dtype)


def call(key, logits, target, with_maps=False, **params):
    spec = REGISTRY[key]
    if with_maps and spec.needs_maps:
        return spec(logits, target, maps=TargetMaps(target), **params)
    return spec(logits, target, **params)


def value_and_grad(key, logits, target, with_maps=False, **params):
    z = logits.detach().clone().requires_grad_(True)
    out = call(key, z, target, with_maps, **params)
    out.sum().backward()
    return out.detach(), z.grad


def edge_batch(shape, dtype):
    """All 16 combinations of 4 ground truths x 4 predictions, one per sample:
    GT in {empty, full, one pixel, blob}; prediction logits in {-20 everywhere (empty),
    +20 everywhere (full), +20 on one pixel only, random N(0, 3^2)}."""
    rng = np.random.default_rng(7)
    gts = {"empty": np.zeros(shape, bool), "full": np.ones(shape, bool), "gt_1px": one_pixel(shape),
           "blob": random_blob(shape, rng)}
    corner = tuple(0 for _ in shape)
    preds = {"pred_empty": np.full(shape, -20.0), "pred_full": np.full(shape, 20.0),
             "pred_1px": np.where(one_pixel(shape, corner), 20.0, -20.0),
             "pred_random": 3.0 * rng.standard_normal(shape)}
    names, tg, lg = [], [], []
    for gn, g in gts.items():
        for pn, p in preds.items():
            names.append(f"{gn}/{pn}")
            tg.append(g)
            lg.append(p)
    return names, stack(tg, dtype), stack(lg, dtype)


def assert_finite_batch(names, out, grad, what=""):
    bad_v = [n for n, v in zip(names, out) if not torch.isfinite(v)]
    assert not bad_v, f"non-finite value {what} for {bad_v}: {out}"
    bad_g = [n for n, g in zip(names, grad) if not torch.isfinite(g).all()]
    assert not bad_g, f"non-finite gradient {what} for {bad_g}"


# ---------------------------------------------------------------- shape, dtype
@pytest.mark.parametrize("ndim", SHAPES, ids=list(SHAPES))
@pytest.mark.parametrize("key", ALL, ids=ALL)
def test_shape_dtype_and_precision(key, ndim):
    shape = SHAPES[ndim]
    rng = np.random.default_rng(1)
    target = stack([random_blob(shape, rng), two_blobs(shape), random_blob(shape, rng)])
    logits = related_logits(target, torch.Generator().manual_seed(1))
    vals = {}
    for dtype in (torch.float32, torch.float64):
        z, g = logits.to(dtype), target.to(dtype)
        out, grad = value_and_grad(key, z, g)
        assert out.shape == (3,), out.shape
        assert out.dtype == dtype and grad.dtype == dtype
        assert grad.shape == z.shape
        assert torch.isfinite(out).all() and torch.isfinite(grad).all()
        vals[dtype] = out
    # float32 must agree with float64 (no hidden casts / precision loss beyond float32 rounding)
    torch.testing.assert_close(vals[torch.float32].double(), vals[torch.float64], rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- edge masks and parameter ends
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("ndim", SHAPES, ids=list(SHAPES))
@pytest.mark.parametrize("key", ALL, ids=ALL)
def test_edge_masks_finite(key, ndim, dtype):
    names, target, logits = edge_batch(SHAPES[ndim], dtype)
    out, grad = value_and_grad(key, logits, target, with_maps=True)
    assert out.shape == (len(names),)
    assert_finite_batch(names, out, grad)


def _param_ends():
    cases = []
    for k in KEYS:
        for p in REGISTRY[k].params:
            if p.numeric:
                cases += [pytest.param(k, p.name, p.low, id=f"{k}.{p.name}=low"),
                          pytest.param(k, p.name, p.high, id=f"{k}.{p.name}=high")]
                if p.auto:
                    cases.append(pytest.param(k, p.name, None, id=f"{k}.{p.name}=auto"))
            else:
                cases += [pytest.param(k, p.name, c, id=f"{k}.{p.name}={c}") for c in p.choices]
    return cases


@pytest.mark.parametrize("ndim", SHAPES, ids=list(SHAPES))
@pytest.mark.parametrize("key,name,value", _param_ends())
def test_parameter_extremes_finite(key, name, value, ndim):
    for dtype in (torch.float32, torch.float64):
        names, target, logits = edge_batch(SHAPES[ndim], dtype)
        out, grad = value_and_grad(key, logits, target, **{name: value})
        assert_finite_batch(names, out, grad, f"at {name}={value} ({dtype})")


# ---------------------------------------------------------------- batch independence, broadcasting
@pytest.mark.parametrize("ndim", SHAPES, ids=list(SHAPES))
@pytest.mark.parametrize("key", ALL, ids=ALL)
def test_batch_independence(key, ndim):
    """loss(x)[i] == loss(x[i:i+1], t[i:i+1]) with five different per-sample targets."""
    shape = SHAPES[ndim]
    target = stack(varied_targets(shape, np.random.default_rng(2)))
    logits = related_logits(target, torch.Generator().manual_seed(2))
    full = call(key, logits, target)
    full_maps = call(key, logits, target, with_maps=True)
    torch.testing.assert_close(full_maps, full, rtol=0, atol=0)
    for i in range(target.shape[0]):
        single = call(key, logits[i:i + 1], target[i:i + 1])
        torch.testing.assert_close(full[i:i + 1], single, rtol=1e-12, atol=1e-12,
                                   msg=lambda m: f"sample {i}: {m}")
    # and changing the other samples does not move sample 0
    other = torch.cat([logits[:1], -logits[1:]])
    torch.testing.assert_close(call(key, other, target)[0], full[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ndim", SHAPES, ids=list(SHAPES))
@pytest.mark.parametrize("key", ALL, ids=ALL)
def test_target_batch_one_broadcasts(key, ndim):
    shape = SHAPES[ndim]
    t1 = stack([two_blobs(shape) | one_pixel(shape)])
    logits = related_logits(t1, torch.Generator().manual_seed(3), b=4)
    expected = call(key, logits, t1.repeat(4, *([1] * (t1.ndim - 1))))
    assert expected.shape == (4,)
    torch.testing.assert_close(call(key, logits, t1), expected, rtol=1e-12, atol=1e-12)
    if REGISTRY[key].needs_maps:  # maps of the single target serve the whole batch
        torch.testing.assert_close(call(key, logits, t1, with_maps=True), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("key", [k for k in KEYS if REGISTRY[k].needs_maps])
def test_maps_are_optional_and_shape_checked(key):
    shape = SHAPES["2d"]
    target = stack(varied_targets(shape, np.random.default_rng(4)))
    logits = related_logits(target, torch.Generator().manual_seed(4))
    maps = TargetMaps(target)
    a = REGISTRY[key](logits, target, maps=maps)
    b = REGISTRY[key](logits, target, maps=maps)  # cached maps reused
    c = REGISTRY[key](logits, target)
    torch.testing.assert_close(a, c, rtol=0, atol=0)
    torch.testing.assert_close(b, c, rtol=0, atol=0)
    wrong = TargetMaps(torch.zeros(1, 1, 8, 8, dtype=torch.float64))
    with pytest.raises(ValueError, match="distance maps were computed for a different ground truth"):
        REGISTRY[key](logits, target, maps=wrong)
    other = TargetMaps(1 - target)  # same shape, different ground truth
    with pytest.raises(ValueError, match="different ground truth"):
        REGISTRY[key](logits, target, maps=other)


# ---------------------------------------------------------------- gradcheck
def gradcheck_logits(b, shape, seed, away_from_zero=False, no_ties=False) -> torch.Tensor:
    """Random float64 logits in [-3, 3]. ``away_from_zero``: |z| >= 0.5, so the 1e-6 perturbation
    of gradcheck cannot flip the p=0.5 threshold. ``no_ties``: the Lovász errors of a sample
    (1 - z for g=1, 1 + z for g=0, and likewise for |g - p|) never tie and the hinge never sits at
    its kink: z_i != z_j, z_i != -z_j, |z_i| != 1 by at least 1e-3."""
    rng = np.random.default_rng(seed)
    for _ in range(1000):
        z = rng.uniform(-3, 3, size=(b, 1) + shape)
        if away_from_zero:
            z = np.sign(z) * (0.5 + np.abs(z) * (2.5 / 3))
        if no_ties:
            ok = True
            for zs in z.reshape(b, -1):
                d1 = np.abs(zs[:, None] - zs[None, :]) + np.eye(zs.size)
                d2 = np.abs(zs[:, None] + zs[None, :]) + np.eye(zs.size)
                ok &= d1.min() > 1e-3 and d2.min() > 1e-3 and np.abs(np.abs(zs) - 1).min() > 1e-3
            if not ok:
                continue
        return torch.tensor(z, dtype=torch.float64)
    raise AssertionError("no suitable logits")


GRADCHECK_TARGET = stack([
    np.array([[0, 0, 0, 0, 0, 0],
              [0, 1, 1, 1, 1, 0],
              [0, 1, 1, 1, 1, 0],
              [0, 1, 1, 1, 0, 0],
              [0, 0, 0, 0, 0, 0],
              [0, 0, 0, 0, 0, 0]], bool),
    np.array([[1, 1, 0, 0, 0, 0],
              [1, 1, 0, 0, 0, 0],
              [0, 0, 0, 0, 0, 0],
              [0, 0, 0, 0, 1, 1],
              [0, 0, 0, 0, 1, 1],
              [0, 0, 0, 1, 1, 1]], bool),   # two objects: U-Net border term active
])


# cmss is not in this list: its weights e and f are continuous functions of p that are *detached*
# by design (LOSSES.md: "e and f carry no gradient"), so finite differences see d e/dz and the
# analytic gradient does not. Its gradient is checked against the detached-weight formula in
# test_losses_reference.py::test_cmss_gradient_is_weighted_ce_gradient.
@pytest.mark.parametrize("key", [k for k in ALL if k != "cmss"])
def test_gradcheck_binary(key):
    z = gradcheck_logits(2, (6, 6), seed=11, away_from_zero=key in THRESHOLDED, no_ties=key in SORTING)
    z.requires_grad_(True)
    target = GRADCHECK_TARGET
    maps = TargetMaps(target) if REGISTRY[key].needs_maps else None
    fn = (lambda x: REGISTRY[key](x, target, maps=maps)) if maps is not None else (lambda x: REGISTRY[key](x, target))
    assert torch.autograd.gradcheck(fn, (z,), eps=1e-6, atol=1e-7, rtol=1e-5)


def onehot(labels: np.ndarray, c: int, dtype=torch.float64) -> torch.Tensor:
    """(B, *spatial) int labels -> (B, C, *spatial) one-hot."""
    return torch.as_tensor(np.stack([(labels == k) for k in range(c)], axis=1), dtype=dtype)


@pytest.mark.parametrize("key", MULTICLASS)
def test_gradcheck_multiclass(key):
    rng = np.random.default_rng(12)
    labels = rng.integers(0, 3, size=(2, 4, 4))
    labels[1][labels[1] == 2] = 0  # sample 1 has an absent class
    target = onehot(labels, 3)
    z = torch.tensor(rng.uniform(-3, 3, size=(2, 3, 4, 4)), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: REGISTRY[key](x, target), (z,), eps=1e-6, atol=1e-7, rtol=1e-5)


# ---------------------------------------------------------------- multi-class
def random_labels(b, shape, c, rng):
    """Label maps in which every class occurs in every sample."""
    while True:
        lab = rng.integers(0, c, size=(b,) + shape)
        if all(len(np.unique(x)) == c for x in lab):
            return lab


@pytest.mark.parametrize("ndim", SHAPES, ids=list(SHAPES))
@pytest.mark.parametrize("key", MULTICLASS)
def test_multiclass_works(key, ndim):
    shape = SHAPES[ndim]
    rng = np.random.default_rng(5)
    labels = random_labels(3, shape, 3, rng)
    labels[2] = np.where(labels[2] == 1, 0, labels[2])  # sample 2: class 1 absent
    target = onehot(labels, 3)
    random_z = torch.tensor(rng.normal(0, 2, size=(3, 3) + shape))
    out, grad = value_and_grad(key, random_z, target)
    assert out.shape == (3,) and out.dtype == torch.float64
    assert torch.isfinite(out).all() and torch.isfinite(grad).all()
    # the class channels are aligned with the target channels: a confident correct prediction beats
    # a random one and a confident prediction with the classes rotated (c -> c+1)
    perfect = 8.0 * (2 * target - 1)
    rotated = torch.roll(perfect, 1, dims=1)
    lp, lr, lw = call(key, perfect, target), call(key, random_z, target), call(key, rotated, target)
    assert (lp < lr).all() and (lp < lw).all(), (lp, lr, lw)


@pytest.mark.parametrize("key", BINARY_ONLY)
def test_binary_only_rejects_multiclass(key):
    labels = random_labels(2, (6, 6), 3, np.random.default_rng(6))
    target = onehot(labels, 3)
    z = torch.zeros(2, 3, 6, 6, dtype=torch.float64)
    with pytest.raises(ValueError, match="binary"):
        REGISTRY[key](z, target)
    # the raw function refuses too (it must not silently score channel 0 only)
    with pytest.raises(ValueError, match="binary"):
        REGISTRY[key].fn(z, target)


@pytest.mark.parametrize("key", ALL, ids=ALL)
def test_calling_convention_errors(key):
    spec = REGISTRY[key]
    z = torch.zeros(2, 1, 6, 6)
    g = torch.zeros(2, 1, 6, 6)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        spec(torch.zeros(2, 6, 6), g[:, 0])
    with pytest.raises(ValueError, match="does not match"):
        spec(z, torch.zeros(2, 1, 6, 5))
    with pytest.raises(ValueError, match="target batch must be 1 or equal"):
        spec(z, torch.zeros(3, 1, 6, 6))
    with pytest.raises(ValueError, match="floating point"):
        spec(torch.zeros(2, 1, 6, 6, dtype=torch.long), g)


# ---------------------------------------------------------------- binary == 2-class softmax [0, z]
IDENTITY_CASES = [
    ("bce", {}), ("wce", {"beta": 3.0}), ("wce", {"beta": 0.2}), ("wce", {"beta": None}),
    ("balanced_ce", {"beta": 0.3}), ("balanced_ce", {"beta": None}),
    ("focal", {}), ("focal", {"alpha": 0.8, "gamma": 0.5}),
    # documented in the code: binary input is scored as the two labels {bg, fg}
    ("lovasz_softmax", {}), ("generalized_dice", {}),
]


@pytest.mark.parametrize("key,params", IDENTITY_CASES,
                         ids=[f"{k}-{'-'.join(f'{a}={b}' for a, b in p.items()) or 'default'}" for k, p in IDENTITY_CASES])
def test_binary_equals_two_class_softmax(key, params):
    """softmax([0, z]) = [1 - sigmoid(z), sigmoid(z)], so the binary loss of logit z with target g
    must equal the 2-class loss of logits [0, z] with one-hot target [1-g, g]."""
    shape = (10, 10)
    target = stack(varied_targets(shape, np.random.default_rng(8)))
    z = related_logits(target, torch.Generator().manual_seed(8))
    z2 = torch.cat([torch.zeros_like(z), z], dim=1)
    t2 = torch.cat([1 - target, target], dim=1)
    torch.testing.assert_close(REGISTRY[key](z2, t2, **params), REGISTRY[key](z, target, **params),
                               rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- Hypothesis
def param_strategy(p):
    if not p.numeric:
        return st.sampled_from(p.choices)
    if p.log:
        s = st.floats(math.log(p.low), math.log(p.high)).map(lambda v: min(max(math.exp(v), p.low), p.high))
    else:
        s = st.floats(p.low, p.high)
    s = st.one_of(st.sampled_from([p.low, p.high]), s)
    return st.one_of(st.none(), s) if p.auto else s


@pytest.mark.parametrize("key", ALL, ids=ALL)
@settings(max_examples=25, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hypothesis_finite(key, data):
    spec = REGISTRY[key]
    if data.draw(st.booleans(), label="3d"):
        shape = tuple(data.draw(st.integers(2, 6), label="side") for _ in range(3))
    else:
        shape = (data.draw(st.integers(4, 16), label="h"), data.draw(st.integers(4, 16), label="w"))
    b = data.draw(st.integers(1, 3), label="batch")
    tb = 1 if data.draw(st.booleans(), label="broadcast target") else b
    density = data.draw(st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0)), label="density")
    scale = data.draw(st.floats(0.01, 30.0), label="logit scale")
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    dtype = data.draw(st.sampled_from([torch.float32, torch.float64]), label="dtype")
    params = {p.name: data.draw(param_strategy(p), label=p.name) for p in spec.params}

    gen = torch.Generator().manual_seed(seed)
    target = (torch.rand((tb, 1) + shape, generator=gen, dtype=torch.float64) < density).to(dtype)
    logits = (scale * torch.randn((b, 1) + shape, generator=gen, dtype=torch.float64)).to(dtype)
    out, grad = value_and_grad(key, logits, target, with_maps=data.draw(st.booleans(), label="maps"), **params)
    assert out.shape == (b,) and out.dtype == dtype
    assert torch.isfinite(out).all(), out
    assert torch.isfinite(grad).all()


# ---------------------------------------------------------------- per-sample parameters (raw functions)
def _numeric_params():
    return [pytest.param(k, p.name, id=f"{k}.{p.name}") for k in KEYS for p in REGISTRY[k].params if p.numeric]


@pytest.mark.parametrize("key,name", _numeric_params())
def test_per_sample_parameter_tensor(key, name):
    """The raw functions take a (B,) tensor for any numeric parameter (one value per sample, as in
    a parameter sweep): it must equal calling each sample alone with its scalar value."""
    spec = REGISTRY[key]
    p = spec.param(name)
    if p.log:
        vals = [p.low, math.sqrt(p.low * p.high), p.high]
    else:
        vals = [p.low, 0.37 * p.low + 0.63 * p.high, p.high]
    shape = SHAPES["2d"]
    rng = np.random.default_rng(9)
    target = stack([random_blob(shape, rng), two_blobs(shape), random_blob(shape, rng)])
    logits = related_logits(target, torch.Generator().manual_seed(9))
    extra = (lambda t: {"maps": TargetMaps(t)}) if spec.needs_maps else (lambda t: {})
    got = spec.fn(logits, target, **extra(target), **{name: torch.tensor(vals, dtype=torch.float64)})
    expected = torch.cat([spec.fn(logits[i:i + 1], target[i:i + 1], **extra(target[i:i + 1]), **{name: v})
                          for i, v in enumerate(vals)])
    assert got.shape == (3,)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([(1, 9), (13, 7), (16, 16), (5, 6, 7)]), st.floats(0.05, 1.0))
def test_cropped_edt_equals_scipy_on_the_whole_image(seed, shape, density):
    # the EDT runs on the True pixels' bounding box grown by one: it must equal scipy's on the full image
    from scipy import ndimage as ndi

    from segloss_core.distance import _edt
    rng = np.random.default_rng(seed)
    m = np.zeros(shape, bool)
    box = tuple(slice(int(a), int(a) + int(rng.integers(1, s - a + 1))) for a, s in zip(rng.integers(0, shape), shape))
    m[box] = rng.random(m[box].shape) < density
    expected = np.zeros(shape) if m.all() or not m.any() else ndi.distance_transform_edt(m)
    np.testing.assert_array_equal(_edt(m), expected)
