"""Distance fields: the two-sided transform (the `edt` package, when installed) equals
scipy.ndimage.distance_transform_edt on every level of the survey's ladders and on hostile masks."""
import numpy as np
import pytest
from scipy import ndimage as ndi

from segloss_core import distance as D
from segloss_core.masks import make_shape
from segloss_core.perturb import survey_stack


def _scipy_contour(m):
    if not m.any() or m.all():
        return np.zeros(m.shape)
    return ndi.distance_transform_edt(m) + ndi.distance_transform_edt(~m)


def _scipy_signed(m):
    if not m.any() or m.all():
        return np.zeros(m.shape)
    return np.where(m, -(ndi.distance_transform_edt(m) - 1.0), ndi.distance_transform_edt(~m))


def _masks():
    rng = np.random.default_rng(5)
    out = []
    for shape, radius in (("disk", 30), ("disk", 3)):  # the survey's two objects, scaled down
        gt = make_shape(shape, size=96, radius=radius)
        for fp_mode in ("boundary", "blobs"):
            preds, _ = survey_stack(gt, levels=41, delta=20 if radius > 10 else 2, fp_mode=fp_mode)
            out += list(preds > 0.5)
    single = np.zeros((17, 23), bool)
    single[0, 0] = True  # one pixel in a corner
    border = np.zeros((20, 20), bool)
    border[:, :3] = True  # touching the image border
    out += [single, ~single, border, rng.random((33, 47)) < 0.5, rng.random((64, 64)) < 0.02,
            np.zeros((8, 8), bool), np.ones((8, 8), bool), np.eye(12, dtype=bool),
            rng.random((9, 10, 11)) < 0.3]  # 3-D
    return out


def test_contour_and_signed_distance_equal_scipy():
    for i, m in enumerate(_masks()):
        np.testing.assert_array_equal(D.contour_distance(m), _scipy_contour(m), err_msg=str(i))
        np.testing.assert_array_equal(D.signed_distance(m), _scipy_signed(m), err_msg=str(i))


def test_the_fast_path_is_the_one_tested():
    pytest.importorskip("edt")
    assert D.two_sided_distance is not D._two_sided_scipy
    m = make_shape("disk", size=64, radius=9)
    np.testing.assert_array_equal(D.two_sided_distance(m), D._two_sided_scipy(m))


def test_scipy_fallback_equals_scipy(monkeypatch):
    monkeypatch.setattr(D, "two_sided_distance", D._two_sided_scipy)
    for m in _masks()[::7]:
        np.testing.assert_array_equal(D.contour_distance(m), _scipy_contour(m))


def test_above_equals_the_torch_comparison():
    """distance.above / above_tensor (NumPy on the CPU) against torch's own comparison."""
    import torch
    rng = np.random.default_rng(0)
    base = np.concatenate([rng.normal(size=200), [0.0, -0.0, 0.5, np.nextafter(0.5, 1), np.nextafter(0, -1),
                                                 np.inf, -np.inf, np.nan]])
    for dtype in (torch.float32, torch.float64, torch.float16):
        t = torch.as_tensor(base, dtype=dtype).reshape(1, 1, 13, 16)
        views = [t, t.expand(3, 1, 13, 16), t.transpose(2, 3), t.clone().requires_grad_(True)]
        for v in views:
            for thr in (0, 0.5):
                want = (v.detach() > thr)
                np.testing.assert_array_equal(D.above(v, thr), want.numpy())
                assert torch.equal(D.above_tensor(v, thr), want)
