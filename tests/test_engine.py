"""The sweep engine: batched values equal per-sample values; compression is exact; grids agree
with direct evaluation; memory is chunked; bad input is refused clearly."""
import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

from segloss_core import KEYS, REGISTRY
from segloss_core.compression import compress, compress_with_maps
from segloss_core.distance import TargetMaps
from segloss_core.gradients import loss_gradients
from segloss_core.masks import make_shape
from segloss_core.perturb import survey_stack
from segloss_core.sweep import param_grid, pick_device, run_sweep
from segloss_core.tensors import logits_from_probs, weighted_pixels


@pytest.fixture(scope="module")
def stack():
    gt = make_shape("disk", size=48, radius=8)
    preds, _ = survey_stack(gt, levels=6, delta=15, confidence=0.95)
    preds = preds.astype(np.float64)
    preds[2] = ndi.gaussian_filter(preds[2], 1.5)  # one level with many distinct values
    return gt, preds


def _full(gt, p):
    return (logits_from_probs(torch.as_tensor(p, dtype=torch.float64)[None, None]),
            torch.as_tensor(gt, dtype=torch.float64)[None, None])


def test_batched_sweep_equals_per_sample_calls(stack):
    gt, preds = stack
    res = run_sweep(gt, preds, KEYS, dtype=torch.float64, keep_grads=True, chunk=4)
    for k in KEYS:
        for i, p in enumerate(preds):
            z, t = _full(gt, p)
            z.requires_grad_(True)
            v = REGISTRY[k](z, t)  # maps recomputed, no compression, one sample
            (g,) = torch.autograd.grad(v.sum(), z)
            assert res.values[k][i] == pytest.approx(v.item(), rel=1e-9, abs=1e-12), k
            assert res.grad_l2[k][i] == pytest.approx(g.norm().item(), rel=1e-8, abs=1e-14), k
            np.testing.assert_allclose(res.grads[k][i], g[0, 0].numpy(), rtol=1e-4, atol=1e-9, err_msg=k)


def _assert_same_reports(a, b, keys):
    """Two GradientReports agree on values, per-pixel gradients (z and p), L2 norms and region means."""
    for k in keys:
        ra, rb = a.losses[k], b.losses[k]
        torch.testing.assert_close(ra.value, rb.value, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(ra.grad, rb.grad, rtol=1e-8, atol=1e-14)
        torch.testing.assert_close(ra.grad_p, rb.grad_p, rtol=1e-8, atol=1e-12)
        torch.testing.assert_close(ra.l2, rb.l2, rtol=1e-10, atol=1e-14)
        for r in ra.region_mean:
            torch.testing.assert_close(ra.region_mean[r], rb.region_mean[r], rtol=1e-9, atol=1e-14)


def test_compression_is_exact_for_reducible_losses(stack):
    gt, preds = stack
    preds = np.delete(preds, 2, axis=0)  # the blurred level has too many distinct values to compress
    z = logits_from_probs(torch.as_tensor(preds)[:, None])
    t = torch.as_tensor(gt, dtype=torch.float64)[None, None]
    assert compress(z, t) is not None  # the compressed path is the one under test
    keys = [k for k in KEYS if REGISTRY[k].reducible]
    assert len(keys) >= 19
    a = loss_gradients(z, t, keys, wrt_probs=True)
    b = loss_gradients(z, t, keys, compress_pixels=False, wrt_probs=True)
    _assert_same_reports(a, b, keys)


@pytest.fixture(scope="module")
def two_objects():
    """Two discs (so the U-Net border term is active) and a two-valued prediction ladder."""
    gt = make_shape("disk", size=40, radius=6, n_objects=2, seed=3)
    preds, _ = survey_stack(gt, levels=5, delta=12, confidence=0.9)
    return gt, preds.astype(np.float64)


def test_compression_with_maps_is_exact():
    gt = make_shape("disk", size=64, radius=12)
    preds, _ = survey_stack(gt, levels=5, delta=25, confidence=0.9)
    z = logits_from_probs(torch.as_tensor(preds, dtype=torch.float64)[:, None])
    t = torch.as_tensor(gt, dtype=torch.float64)[None, None]
    keys = [k for k in KEYS if REGISTRY[k].pixel_maps]
    assert set(keys) >= {"boundary", "gdl_boundary", "distance_penalized_ce", "unet_weighted_ce", "shape_aware"}
    names = tuple(dict.fromkeys(m for k in keys for m in REGISTRY[k].pixel_maps))
    c = compress_with_maps(z, t, TargetMaps(t), names)
    assert c is not None and c.z.shape[2] < gt.size / 4  # the compressed path is the one under test
    for params in ({}, {"unet_weighted_ce": {"class_weight": "inverse_frequency", "w0": 20.0}}):
        a = loss_gradients(z, t, keys, params, wrt_probs=True)
        b = loss_gradients(z, t, keys, params, compress_pixels=False, wrt_probs=True)
        _assert_same_reports(a, b, keys)


def test_compressed_entries_carry_the_map_values_of_their_pixels(two_objects):
    gt, preds = two_objects
    z = logits_from_probs(torch.as_tensor(preds)[:, None])
    t = torch.as_tensor(gt, dtype=torch.float64)[None, None]
    maps = TargetMaps(t)
    # two objects make (d1, d2) nearly unique per pixel: force the compression to test it anyway
    c = compress_with_maps(z, t, maps, ("signed", "objects", "to_contour", "prediction_contour"), max_fraction=1.0)
    assert c is not None
    assert torch.equal(c.w.sum((1, 2, 3)), torch.full((len(preds),), float(gt.size), dtype=c.w.dtype))
    inv = c.inverse
    full = {"z": z, "g": t.expand_as(z), "signed": maps.signed.expand_as(z), "d1": maps.objects[0].expand_as(z),
            "to_contour": maps.to_contour.expand_as(z), "contour": maps.prediction_contour(z)}
    entry = {"z": c.z, "g": c.g, "signed": c.maps.signed, "d1": c.maps.objects[0], "to_contour": c.maps.to_contour,
             "contour": c.maps.prediction_contour(c.z)}
    for name, f in full.items():  # every pixel's own value is its entry's value
        back = torch.gather(entry[name].reshape(len(preds), -1), 1, inv)
        torch.testing.assert_close(back, f.reshape(len(preds), -1), rtol=0, atol=0, msg=name)
    # and the U-Net loss with its border term, evaluated on the entries, is the full-image value
    kw = {"w0": 20.0, "class_weight": "inverse_frequency"}
    with weighted_pixels(c.w, c.n_pixels):
        got = REGISTRY["unet_weighted_ce"].fn(c.z, c.g, maps=c.maps, sigma=5.0, **kw)
    want = REGISTRY["unet_weighted_ce"](z, t, **kw)
    assert maps.objects[2].item() == 2 and want.min() > 0
    torch.testing.assert_close(got, want, rtol=1e-12, atol=0)


def test_compress_with_maps_declines_distinct_pixels():
    z = torch.randn(2, 1, 16, 16, dtype=torch.float64)
    t = (torch.rand(1, 1, 16, 16) > 0.5).double()
    assert compress_with_maps(z, t, TargetMaps(t), ("signed",)) is None


def test_compress_declines_when_pixels_are_all_distinct():
    z = torch.randn(2, 1, 16, 16, dtype=torch.float64)
    t = (torch.rand(1, 1, 16, 16) > 0.5).double()
    assert compress(z, t) is None
    c = compress(torch.zeros(2, 1, 16, 16), t)
    assert c is not None and c.w.sum().item() == 2 * 256


def test_region_summaries_match_hand_computation(stack):
    gt, preds = stack
    res = run_sweep(gt, preds[3:4], ["bce"], dtype=torch.float64, keep_grads=True)
    g = res.grads["bce"][0]
    pred = preds[3] > 0.5
    for name, m in {"tp": gt & pred, "fp": ~gt & pred, "fn": gt & ~pred, "tn": ~gt & ~pred}.items():
        assert res.region_count[name][0] == m.sum()
        expect = np.abs(g[m]).mean() if m.any() else 0.0
        assert res.region_grad["bce"][name][0] == pytest.approx(expect, rel=1e-5, abs=1e-15)


@pytest.mark.parametrize("key,names", [("focal", ("alpha", "gamma")), ("tversky", ("alpha", "beta")),
                                       ("combo", ("alpha", "beta")), ("hausdorff_dt", ("alpha",))])
def test_param_grid_matches_direct_evaluation(stack, key, names):
    gt, preds = stack
    spec = REGISTRY[key]
    axes = {n: np.linspace(spec.param(n).low, spec.param(n).high, 4) for n in names}
    grid = param_grid(gt, preds, key, axes, dtype=torch.float64)
    assert grid.shape == tuple(len(v) for v in axes.values()) + (len(preds),)
    idx = (2,) * len(names)
    kw = {n: axes[n][i] for n, i in zip(names, idx)}
    z = logits_from_probs(torch.as_tensor(preds)[:, None])
    direct = spec(z, torch.as_tensor(gt, dtype=torch.float64)[None, None], **kw).numpy()
    np.testing.assert_allclose(grid[idx], direct, rtol=1e-9, atol=1e-12)


def test_param_grid_rejects_bad_grids(stack):
    gt, preds = stack
    with pytest.raises(ValueError, match="gamma must be in"):
        param_grid(gt, preds, "focal", {"gamma": [0, 9]})
    with pytest.raises(ValueError, match="one or two"):
        param_grid(gt, preds, "focal", {})
    with pytest.raises(ValueError, match="numeric"):
        param_grid(gt, preds, "lovasz_softmax", {"classes": ["all"]})


def test_sweep_input_errors(stack):
    gt, preds = stack
    with pytest.raises(ValueError, match="zero levels"):
        run_sweep(gt, preds[:0], ["dice"])
    with pytest.raises(ValueError, match="must be"):
        run_sweep(gt, preds[:, :10], ["dice"])
    bad = preds.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        run_sweep(gt, bad, ["dice"])
    with pytest.raises(ValueError, match="unknown loss"):
        run_sweep(gt, preds, ["nope"])


def test_device_choice():
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            pick_device("cuda")
    with pytest.raises(ValueError):
        pick_device("tpu")


def test_empty_ground_truth_sweep_is_finite():
    gt = np.zeros((32, 32), bool)
    preds = np.stack([np.full((32, 32), 0.01), np.where(np.eye(32, dtype=bool), 0.99, 0.01)])
    res = run_sweep(gt, preds, KEYS, dtype=torch.float64)
    for k in KEYS:
        assert np.isfinite(res.values[k]).all() and np.isfinite(res.grad_l2[k]).all(), k


@pytest.mark.parametrize("key", [k for k in KEYS if any(p.numeric for p in REGISTRY[k].params)])
def test_every_numeric_parameter_accepts_per_sample_values(key):
    """The grid engine passes one parameter value per sample; it must equal separate calls."""
    spec = REGISTRY[key]
    gt = make_shape("disk", size=24, radius=5)
    preds, _ = survey_stack(gt, levels=2, delta=6, confidence=0.9)
    z = logits_from_probs(torch.as_tensor(preds, dtype=torch.float64)[:, None])
    t = torch.as_tensor(gt, dtype=torch.float64)[None, None]
    num = [p for p in spec.params if p.numeric]
    lo = {p.name: (p.low if not p.log else p.low * 10) for p in num}
    hi = {p.name: p.high for p in num}
    zz = torch.cat([z, z])
    per = {n: torch.tensor([lo[n], lo[n], hi[n], hi[n]], dtype=torch.float64) for n in lo}
    fixed = {p.name: p.default for p in spec.params if not p.numeric}
    batched = spec.fn(zz, t, **per, **fixed)
    separate = torch.cat([spec.fn(z, t, **lo, **fixed), spec.fn(z, t, **hi, **fixed)])
    torch.testing.assert_close(batched, separate, rtol=1e-10, atol=1e-12)


def test_probability_gradient_summaries_are_of_the_probability_gradient(stack):
    gt, preds = stack
    res = run_sweep(gt, preds[3:5], ["dice", "bce"], dtype=torch.float64, keep_grads=True, wrt_probs=True)
    for k in ("dice", "bce"):
        for i in range(2):
            g = res.grads[k][i].astype(np.float64)  # ∂L/∂p maps
            assert res.grad_l2[k][i] == pytest.approx(np.sqrt((g**2).sum()), rel=1e-5)
            fn = gt & ~(preds[3 + i] > 0.5)
            assert res.region_grad[k]["fn"][i] == pytest.approx(np.abs(g[fn]).mean(), rel=1e-5)


def test_prepared_maps_give_the_same_sweep(stack):
    from concurrent.futures import Future

    from segloss_core.sweep import prepare_maps
    gt, preds = stack
    keys = ["hausdorff_dt", "shape_aware", "boundary", "cmss", "dice"]
    assert prepare_maps(gt, preds, ["dice", "focal"], dtype=torch.float64) is None  # nothing needs maps
    maps = prepare_maps(gt, preds, keys, dtype=torch.float64)
    assert isinstance(maps._pred["distance"][1], Future)  # the prediction fields were started ahead
    a = run_sweep(gt, preds, keys, dtype=torch.float64, maps=maps, keep_grads=True)
    b = run_sweep(gt, preds, keys, dtype=torch.float64, keep_grads=True)
    for k in keys:
        np.testing.assert_array_equal(a.values[k], b.values[k])
        np.testing.assert_array_equal(a.grads[k], b.grads[k])


# ---------------------------------------------------------------- the engine's fast paths
def _hand_regions(grad, pred, gt):
    """Reference region means and counts from per-pixel |grad| (NumPy, float64)."""
    a = np.abs(grad.astype(np.float64))
    out, cnt = {}, {}
    for name, m in {"tp": gt & pred, "fp": ~gt & pred, "fn": gt & ~pred, "tn": ~gt & ~pred}.items():
        cnt[name] = m.sum()
        out[name] = a[m].mean() if m.any() else 0.0
    return out, cnt


def _edge_stack():
    """Two-valued levels with the edge cases of the profile: a one-valued level, a level at exactly
    p = 0.5 (logit 0: predicted background), levels entirely above 0.5, and 0 / 1e-13 (both clamp to
    the same logit although the probabilities differ)."""
    gt = make_shape("disk", size=32, radius=7)
    hard, _ = survey_stack(gt, levels=4, delta=9, confidence=0.9)
    m = hard > 0.5
    levels = [hard[0], hard[3], np.full(gt.shape, 0.3), np.where(m[1], 0.5, 0.2),
              np.where(m[2], 0.95, 0.6), np.where(m[1], 1.0, 0.0), np.where(m[2], 1e-13, 0.0)]
    return gt, np.stack(levels).astype(np.float64)


@pytest.mark.parametrize("empty", [False, True])
def test_two_valued_sweep_equals_plain_evaluation(empty):
    """run_sweep's two-valued profile path (every loss) against the uncompressed per-pixel engine."""
    gt, preds = _edge_stack()
    if empty:
        gt = np.zeros_like(gt)
    from segloss_core.engine.profile import two_valued
    assert two_valued(preds.reshape(len(preds), -1), gt.reshape(1, -1)) is not None  # the path under test
    res = run_sweep(gt, preds, KEYS, dtype=torch.float64, keep_grads=True)
    z = logits_from_probs(torch.as_tensor(preds)[:, None])
    t = torch.as_tensor(gt, dtype=torch.float64)[None, None]
    plain = loss_gradients(z, t, KEYS, compress_pixels=False)
    pred = (z[:, 0] > 0).numpy()
    for k in KEYS:
        r = plain.losses[k]
        np.testing.assert_allclose(res.values[k], r.value.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)
        np.testing.assert_allclose(res.grad_l2[k], r.l2.numpy(), rtol=1e-9, atol=1e-14, err_msg=k)
        np.testing.assert_allclose(res.grads[k], r.grad[:, 0].numpy(), rtol=1e-4, atol=1e-12, err_msg=k)
        for i in range(len(preds)):
            want, cnt = _hand_regions(r.grad[i, 0].numpy(), pred[i], gt)
            for name in want:
                assert res.region_grad[k][name][i] == pytest.approx(want[name], rel=1e-9, abs=1e-15), (k, name, i)
                assert res.region_count[name][i] == cnt[name]


def test_two_valued_profile_counts_and_declines():
    from segloss_core.engine.profile import two_valued
    gt, preds = _edge_stack()
    v, g = preds.reshape(len(preds), -1), gt.reshape(1, -1)
    prof = two_valued(v, g)
    for i, row in enumerate(v):
        lo, hi = row.min(), row.max()
        is_hi = row == hi
        want = [(~is_hi & ~g[0]).sum(), (~is_hi & g[0]).sum(), (is_hi & ~g[0]).sum(), (is_hi & g[0]).sum()]
        assert prof.counts[i].tolist() == [int(x) for x in want], i
        assert prof.counts[i].sum() == row.size
    three = preds.copy()
    three[1, 0, 0] = 0.42  # a third value in one level: the general path takes over
    assert two_valued(three.reshape(len(three), -1), g) is None
    nan = preds.copy()
    nan[2, 3, 3] = np.nan
    assert two_valued(nan.reshape(len(nan), -1), g) is None


@pytest.mark.parametrize("n", [64, 61, 1])
def test_scan_equals_min_max_and_masks(n):
    """The two-pass scan (first pixel, first pixel that differs) against the row minimum, maximum
    and ``== max`` mask: rows whose first pixel is the low or the high value, one-valued rows, a
    difference only in the last pixel, N not a multiple of 8; a third value or NaN falls back."""
    from segloss_core.engine.profile import scan, two_valued
    rng = np.random.default_rng(3)
    rows = [np.where(rng.random(n) < 0.3, 0.9, 0.1), np.where(rng.random(n) < 0.7, 0.9, 0.1),
            np.full(n, 0.25), np.full(n, 0.0), np.full(n, 1.0)]
    last = np.full(n, 0.4)
    last[-1] = 0.6
    rows.append(last)
    first_hi = np.full(n, 0.2)
    first_hi[0] = 0.8
    rows.append(first_hi)
    v = np.stack(rows).astype(np.float32)
    g = (rng.random((1, n)) < 0.5)
    sc = scan(v)
    np.testing.assert_array_equal(sc.lo, v.min(1))
    np.testing.assert_array_equal(sc.hi, v.max(1))
    np.testing.assert_array_equal(sc.is_hi, v == v.max(1)[:, None])
    np.testing.assert_array_equal(sc.packed_hi, np.packbits(v == v.max(1)[:, None], axis=1))
    np.testing.assert_array_equal(sc.n_hi, (v == v.max(1)[:, None]).sum(1))
    a, b = two_valued(v, g, scanned=sc), two_valued(v, g)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.is_hi, b.is_hi)
    part = sc.rows(slice(2, 5))
    np.testing.assert_array_equal(part.is_hi, sc.is_hi[2:5])
    if n > 2:
        three = v.copy()
        three[1, n // 2] = 0.5
        s3 = scan(three)
        assert s3.is_hi is None and two_valued(three, g, scanned=s3) is None
        np.testing.assert_array_equal(s3.lo, three.min(1))
        np.testing.assert_array_equal(s3.hi, three.max(1))
    for pos in (0, n - 1):
        nan = v.copy()
        nan[0, pos] = np.nan
        s = scan(nan)
        assert s.is_hi is None and np.isnan(s.lo[0]) and np.isnan(s.hi[0])


def test_sweep_refuses_nan_and_out_of_range_two_valued_levels():
    gt = make_shape("disk", size=16, radius=4)
    bad = np.where(gt, 1.5, 0.1)[None].astype(np.float32)
    with pytest.raises(ValueError, match="probabilities"):
        run_sweep(gt, bad, ["dice"])
    nan = np.where(gt, np.nan, 0.1)[None].astype(np.float32)
    with pytest.raises(ValueError, match="probabilities"):
        run_sweep(gt, nan, ["dice"])


def test_multi_valued_compression_path_is_exact():
    """Three-valued levels: the sort-based ranks and per-level bincount (not the two-valued profile)."""
    gt = make_shape("disk", size=40, radius=9)
    hard, _ = survey_stack(gt, levels=4, delta=10, confidence=0.9)
    rng = np.random.default_rng(1)
    preds = np.where(rng.random(hard.shape) < 0.1, 0.55, hard).astype(np.float64)  # a third value on ~10%
    z = logits_from_probs(torch.as_tensor(preds)[:, None])
    t = torch.as_tensor(gt, dtype=torch.float64)[None, None]
    assert compress(z, t) is not None
    keys = [k for k in KEYS if REGISTRY[k].reducible or REGISTRY[k].pixel_maps]
    a = loss_gradients(z, t, keys, wrt_probs=True)
    b = loss_gradients(z, t, keys, compress_pixels=False, wrt_probs=True)
    _assert_same_reports(a, b, keys)
    res = run_sweep(gt, preds, keys, dtype=torch.float64)
    for k in keys:
        np.testing.assert_allclose(res.values[k], b.losses[k].value.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)


def test_full_image_region_summaries_match_hand_computation(stack):
    """Losses evaluated on the whole image (matrix-vector region sums) and the ∂L/∂p summaries."""
    gt, preds = stack
    for wrt in (False, True):
        res = run_sweep(gt, preds, ["cmss", "hausdorff_dt"], dtype=torch.float64, keep_grads=True, wrt_probs=wrt)
        for k in ("cmss", "hausdorff_dt"):
            for i, p in enumerate(preds):
                want, cnt = _hand_regions(res.grads[k][i], p > 0.5, gt)
                assert res.grad_l2[k][i] == pytest.approx(np.sqrt((res.grads[k][i].astype(np.float64) ** 2).sum()),
                                                          rel=1e-5)
                for name in want:
                    assert res.region_grad[k][name][i] == pytest.approx(want[name], rel=1e-5, abs=1e-15), (k, name)
                    assert res.region_count[name][i] == cnt[name]


def test_region_index_summaries_batched_targets_and_multiclass():
    """The public summarize(abs_grad, region_index(...)) with a per-sample target and with softmax input."""
    from segloss_core.gradients import region_index, summarize
    rng = np.random.default_rng(4)
    z = torch.tensor(rng.standard_normal((3, 1, 12, 12)))
    t = torch.tensor(rng.random((3, 1, 12, 12)) > 0.6).double()
    a = torch.tensor(rng.random((3, 144)))
    l2, reg = summarize(a, region_index(z, t))
    for i in range(3):
        want, _ = _hand_regions(a[i].numpy(), (z[i, 0] > 0).numpy().ravel(), (t[i, 0] > 0.5).numpy().ravel())
        for name in want:
            assert reg[name][i].item() == pytest.approx(want[name], rel=1e-12)
        assert l2[i].item() == pytest.approx(np.linalg.norm(a[i].numpy()), rel=1e-12)
    zc = torch.tensor(rng.standard_normal((2, 3, 8, 8)))
    lab = torch.tensor(rng.integers(0, 3, (2, 8, 8)))
    tc = torch.nn.functional.one_hot(lab, 3).movedim(-1, 1).double()
    rep = loss_gradients(zc, tc, ["dice"])
    g = rep.losses["dice"].grad[:, 1:].abs().reshape(2, -1).numpy()
    pred = torch.nn.functional.one_hot(zc.argmax(1), 3).movedim(-1, 1)[:, 1:].bool().reshape(2, -1).numpy()
    gtm = tc[:, 1:].bool().reshape(2, -1).numpy()
    for i in range(2):
        want, cnt = _hand_regions(g[i], pred[i], gtm[i])
        for name in want:
            assert rep.losses["dice"].region_mean[name][i].item() == pytest.approx(want[name], rel=1e-12)
            assert rep.region_count[name][i].item() == cnt[name]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_logits_from_probs_is_torch_logit_bit_for_bit(dtype):
    """The three-operation logit gives torch.logit's numbers exactly (vectorized body and scalar tail)."""
    g = torch.Generator().manual_seed(0)
    for n in (1, 7, 82, 4099):
        p = torch.rand(n, generator=g, dtype=dtype)
        p[:3] = torch.tensor([0.0, 1.0, 0.5], dtype=dtype)[: min(3, n)]
        eps = 1e-7 if dtype == torch.float32 else 1e-12
        assert torch.equal(logits_from_probs(p.reshape(1, 1, -1)), torch.logit(p, eps).reshape(1, 1, -1))


def test_inner_contour_equals_the_erosion():
    from segloss_core.distance import inner_contour
    rng = np.random.default_rng(7)
    for shape in [(3, 1, 17, 23), (2, 1, 1, 9), (2, 1, 5, 1), (2, 1, 4, 5, 6)]:
        hard = rng.random(shape) > 0.4
        cross = ndi.generate_binary_structure(hard.ndim - 2, 1).reshape((1, 1) + (3,) * (hard.ndim - 2))
        np.testing.assert_array_equal(inner_contour(hard), hard & ~ndi.binary_erosion(hard, cross, border_value=1))


def test_engine_restores_the_thread_count(stack):
    gt, preds = stack
    n = torch.get_num_threads()
    run_sweep(gt, preds, ["dice", "cmss", "boundary"], dtype=torch.float64)
    assert torch.get_num_threads() == n


def test_bench_sweeps_agree_with_monai():
    """The benchmark's MONAI side computes the same numbers (values and gradient norms, checked in
    sweep_one_loss itself) on a small protocol; no timing is asserted."""
    pytest.importorskip("monai")
    from segloss_core.bench_sweeps import SEVEN, SWEEP_LOSSES, sweep_one_loss
    from segloss_core.survey import SurveyConfig
    cfg = SurveyConfig(size=48, large_radius=12, small_radius=3, levels=3, delta=5)
    out = sweep_one_loss(cfg, torch.device("cpu"), repeat=1)
    assert set(out["sweep_one_loss_s"]) == set(SWEEP_LOSSES) | {SEVEN}
    assert out["max_rel_diff_vs_monai"] <= 1e-3
    assert all(v > 0 for d in out["vs_monai"].values() for v in d.values())


def test_sweep_levels_are_separate_images_for_batch_reduction():
    """A sweep's levels are not one training batch: reduction=batch there is a batch of one image."""
    from segloss_core.sweep import param_grid, run_sweep
    from segloss_core.perturb import survey_stack
    from segloss_core.masks import make_shape
    gt = make_shape("disk", size=64, radius=8)
    preds, _ = survey_stack(gt, levels=6, delta=10)
    a = run_sweep(gt, preds, ["dice"], {"dice": {"reduction": "batch"}})
    b = run_sweep(gt, preds, ["dice"], {"dice": {"reduction": "sample"}})
    np.testing.assert_array_equal(a.values["dice"], b.values["dice"])
    assert np.ptp(a.values["dice"]) > 0.1  # not one pooled, flat value
    g1 = param_grid(gt, preds, "tversky", {"alpha": [0.3, 0.6]}, {"reduction": "batch"})
    g2 = param_grid(gt, preds, "tversky", {"alpha": [0.3, 0.6]}, {"reduction": "sample"})
    np.testing.assert_array_equal(g1, g2)
