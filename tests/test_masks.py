"""Ground-truth masks: synthetic shapes sized by area, real masks, file loading and its errors.

Every expected number is computed from the masks themselves (pixel counts, components), never
typed in from a previous run.
"""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from scipy import ndimage as ndi

from segloss_core.mask_files import MaskLoadError, NonBinaryMaskError, load_mask, load_probabilities, save_mask_png
from segloss_core.masks import MAX_SIDE, MIN_SIDE, REAL_MASKS, SHAPES, MaskInfo, make_shape, make_shape_info, mask_stats, real_mask

EIGHT = np.ones((3, 3), dtype=bool)


def n_components(mask: np.ndarray) -> int:
    return int(ndi.label(mask, structure=EIGHT)[1])


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


# ---------------------------------------------------------------------------- synthetic shapes
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("size", [64, 256, 1024])
@pytest.mark.parametrize("frac", [0.003, 0.05, 0.2])
def test_area_close_to_request(shape, size, frac):
    target = frac * size * size
    info = make_shape_info(shape, size=size, fraction=frac)
    assert isinstance(info, MaskInfo)
    assert info.mask.shape == (size, size) and info.mask.dtype == bool
    assert info.pixels == int(info.mask.sum())
    assert abs(info.pixels - target) <= max(0.02 * target, 4), info.message
    assert n_components(info.mask) == 1


@settings(max_examples=40, deadline=None)
@given(
    shape=st.sampled_from(["disk", "ellipse", "star", "polygon"]),
    size=st.integers(32, 160),
    frac=st.floats(0.01, 0.3),
    seed=st.integers(0, 50),
)
def test_area_close_hypothesis(shape, size, frac, seed):
    target = frac * size * size
    try:
        info = make_shape_info(shape, size=size, fraction=frac, seed=seed)
    except ValueError as exc:  # only allowed when the object cannot fit
        assert "does not fit" in str(exc)
        return
    assert abs(info.pixels - target) <= max(0.03 * target, 4), info.message


def test_fraction_one_in_ten_thousand_on_1024():
    target = 1e-4 * 1024 * 1024  # 104.86 px
    m = make_shape(size=1024, fraction=1e-4)
    assert abs(int(m.sum()) - target) <= 0.05 * target
    assert n_components(m) == 1


def test_radius_six_disk_is_about_113_pixels():
    m = make_shape(radius=6)
    assert abs(int(m.sum()) - math.pi * 36) <= 0.05 * math.pi * 36


def test_survey_disks_areas_match_pi_r_squared():
    for r in (6, 60):
        n = int(make_shape(size=256, radius=r).sum())
        assert abs(n - math.pi * r * r) <= 0.05 * math.pi * r * r


@pytest.mark.parametrize("size,frac", [(64, 1e-4), (32, 5e-4), (8, 1e-2)])
def test_request_below_one_pixel_raises(size, frac):
    assert frac * size * size < 1
    with pytest.raises(ValueError, match="less than one pixel"):
        make_shape(size=size, fraction=frac)


def test_below_one_pixel_per_object_raises():
    with pytest.raises(ValueError, match="per object"):
        make_shape(area=3, n_objects=4)


def test_too_large_raises_and_says_what_fits():
    # A disk cannot cover 0.9 of a square image (pi/4 ~ 0.785 at most).
    with pytest.raises(ValueError, match=r"does not fit.*at most \d+ px") as exc:
        make_shape("disk", size=128, fraction=0.9)
    assert "\n" not in str(exc.value)
    most = int(str(exc.value).split("at most ")[1].split(" px")[0])
    assert most <= 0.9 * 128 * 128
    # ...and what it says fits does fit.
    assert int(make_shape("disk", size=128, area=most).sum()) == pytest.approx(most, rel=0.01)


def test_radius_that_does_not_fit_raises():
    with pytest.raises(ValueError, match="does not fit"):
        make_shape(radius=200, size=256)
    with pytest.raises(ValueError, match="does not fit"):
        make_shape(radius=60, center=(0.05, 0.05))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"size": MIN_SIDE - 1},
        {"size": MAX_SIDE + 1},
        {"size": (64, 2000)},
        {"fraction": 0.95},
        {"fraction": 5e-5},
        {"area": 10, "radius": 3},
        {"center": (1.2, 0.5)},
        {"n_objects": 0},
        {"aspect": 0},
        {"n_points": 2},
        {"radius": -1},
        {"fraction": float("nan")},
    ],
)
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError) as exc:
        make_shape(**kwargs)
    assert "\n" not in str(exc.value)


def test_unknown_shape():
    with pytest.raises(ValueError, match="shape must be one of"):
        make_shape("hexagon")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("n", [2, 5, 9])
def test_several_objects_separate_and_total_area(shape, n):
    frac = 0.08
    info = make_shape_info(shape, size=256, fraction=frac, n_objects=n)
    assert n_components(info.mask) == n
    assert mask_stats(info.mask)["n_objects"] == n
    assert abs(info.pixels - frac * 256 * 256) <= 0.02 * frac * 256 * 256
    assert len(info.centers) == n


def test_rectangular_image_and_center():
    info = make_shape_info("ellipse", size=(96, 200), area=500, center=(0.25, 0.75), rotation=30)
    assert info.mask.shape == (96, 200)
    cy, cx = ndi.center_of_mass(info.mask)
    assert abs(cy - (0.25 * 96 - 0.5)) < 1.0 and abs(cx - (0.75 * 200 - 0.5)) < 1.0


def test_polygon_seed_changes_shape_and_is_reproducible():
    a = make_shape("polygon", area=2000, seed=1)
    b = make_shape("polygon", area=2000, seed=1)
    c = make_shape("polygon", area=2000, seed=2)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_rotation_keeps_area():
    base = int(make_shape("rectangle", radius=20, aspect=2.0).sum())
    rot = int(make_shape("rectangle", radius=20, aspect=2.0, rotation=90).sum())
    assert abs(base - rot) <= 0.05 * base


# ---------------------------------------------------------------------------- stats
def test_mask_stats_on_handmade_mask():
    m = np.zeros((20, 30), dtype=bool)
    m[2:5, 3:7] = True  # 12 px
    m[10, 20] = True
    m[11, 21] = True  # diagonal neighbour: same 8-connected object
    s = mask_stats(m)
    assert s["pixels"] == 14
    assert s["fraction"] == pytest.approx(14 / 600)
    assert s["n_objects"] == 2
    assert s["bbox"] == (2, 3, 12, 22)
    assert mask_stats(np.zeros((5, 5), bool))["bbox"] is None


# ---------------------------------------------------------------------------- real masks
@pytest.mark.parametrize("name", REAL_MASKS)
def test_real_masks_nonempty(name):
    m = real_mask(name, size=256)
    assert m.shape == (256, 256) and m.dtype == bool
    s = mask_stats(m)
    assert 0.02 < s["fraction"] < 0.6


def test_horse_is_the_object():
    m = real_mask("horse", size=256)
    # Background is the frame: the border is all background, and the largest component is the
    # horse, a minority of the image.
    border = np.concatenate([m[0], m[-1], m[:, 0], m[:, -1]])
    assert not border.any()
    labels, n = ndi.label(m, structure=EIGHT)
    largest = np.bincount(labels.ravel())[1:].max()
    assert largest >= 0.9 * m.sum()
    assert m.mean() < 0.5


def test_coins_are_many_objects():
    m = real_mask("coins", size=384)
    assert mask_stats(m)["n_objects"] >= 15


def test_real_mask_keeps_aspect_by_padding():
    wide = real_mask("horse", size=(128, 512))
    assert wide.shape == (128, 512)
    cols = np.flatnonzero(wide.any(axis=0))
    # Padded left and right, so the horse sits in the middle columns with empty margins.
    assert cols[0] > 64 and cols[-1] < 512 - 64


def test_real_mask_unknown():
    with pytest.raises(ValueError, match="one of"):
        real_mask("zebra")


# ---------------------------------------------------------------------------- files
def test_png_round_trip_bytes_path_filelike(tmp_path):
    m = make_shape("star", size=64, area=600)
    data = save_mask_png(m)
    assert np.array_equal(load_mask(data), m)
    p = tmp_path / "m.png"
    p.write_bytes(data)
    assert np.array_equal(load_mask(p), m)
    assert np.array_equal(load_mask(str(p)), m)
    with open(p, "rb") as fh:
        assert np.array_equal(load_mask(fh), m)


@pytest.mark.parametrize("fmt", ["BMP", "TIFF"])
def test_other_lossless_formats(fmt, tmp_path):
    m = make_shape("disk", size=40, radius=10)
    p = tmp_path / f"m.{fmt.lower()}"
    Image.fromarray((m * 255).astype(np.uint8)).save(p, format=fmt)
    assert np.array_equal(load_mask(p), m)


def test_npy_bool_and_int_and_float(tmp_path):
    m = make_shape("disk", size=32, radius=8)
    for arr in (m, m.astype(np.uint8), m.astype(np.int64), m.astype(np.float32)):
        p = tmp_path / "m.npy"
        np.save(p, arr)
        assert np.array_equal(load_mask(p), m)


def test_two_levels_without_zero_larger_is_foreground():
    arr = np.full((10, 10), 100, np.uint8)
    arr[2:5, 2:5] = 200
    assert load_mask(png_bytes(arr)).sum() == 9


def test_text_file_renamed_png(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("this is not an image\n")
    with pytest.raises(MaskLoadError, match="not a readable image") as exc:
        load_mask(p)
    assert isinstance(exc.value, ValueError) and "\n" not in str(exc.value)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.png"
    p.write_bytes(b"")
    with pytest.raises(MaskLoadError, match="empty"):
        load_mask(p)


def test_3d_npy(tmp_path):
    p = tmp_path / "vol.npy"
    np.save(p, np.zeros((4, 8, 8), dtype=bool))
    with pytest.raises(MaskLoadError, match="3-D"):
        load_mask(p)


def test_nan_npy(tmp_path):
    a = np.zeros((8, 8), np.float32)
    a[0, 0] = np.nan
    p = tmp_path / "nan.npy"
    np.save(p, a)
    with pytest.raises(MaskLoadError, match="NaN"):
        load_mask(p)
    with pytest.raises(MaskLoadError, match="NaN"):
        load_probabilities(p)


def test_object_npy_rejected(tmp_path):
    p = tmp_path / "obj.npy"
    np.save(p, np.array([[{"a": 1}, None]], dtype=object), allow_pickle=True)
    with pytest.raises(MaskLoadError, match="pickle"):
        load_mask(p)


def test_huge_dimension_png():
    data = png_bytes(np.zeros((2, 3000), np.uint8))  # tiny file, too many pixels per side
    with pytest.raises(MaskLoadError, match="limit is 2048") as exc:
        load_mask(data, name_hint="wide.png")
    assert "wide.png" in str(exc.value)
    assert load_mask(data, max_side=4096).shape == (2, 3000)


def test_too_many_bytes(tmp_path):
    data = save_mask_png(make_shape(size=64, radius=10))
    with pytest.raises(MaskLoadError, match="limit"):
        load_mask(data, max_bytes=len(data) - 1)
    p = tmp_path / "m.png"
    p.write_bytes(data)
    with pytest.raises(MaskLoadError, match="limit"):
        load_mask(p, max_bytes=len(data) - 1)


def test_multilevel_png_suggests_otsu_threshold():
    yy, xx = np.mgrid[0:64, 0:64]
    arr = np.where((yy - 32) ** 2 + (xx - 32) ** 2 < 15 ** 2, 200, 30).astype(np.uint8)
    arr[::7, ::5] += 10  # a third and fourth grey level
    with pytest.raises(NonBinaryMaskError) as exc:
        load_mask(png_bytes(arr))
    err = exc.value
    assert isinstance(err, ValueError) and "\n" not in str(err)
    assert err.n_values == len(np.unique(arr))
    assert 40 <= err.threshold < 200
    m = load_mask(png_bytes(arr), threshold=err.threshold)
    assert np.array_equal(m, arr > err.threshold)
    assert int(m.sum()) == int(((yy - 32) ** 2 + (xx - 32) ** 2 < 15 ** 2).sum())


def test_npy_non_binary_values(tmp_path):
    p = tmp_path / "p.npy"
    np.save(p, np.linspace(0, 1, 64).reshape(8, 8))
    with pytest.raises(NonBinaryMaskError):
        load_mask(p)
    assert load_mask(p, threshold=0.5).sum() == 32


def test_jpeg_needs_threshold():
    m = make_shape(size=64, radius=16)
    buf = io.BytesIO()
    Image.fromarray((m * 255).astype(np.uint8)).save(buf, format="JPEG", quality=70)
    with pytest.raises(NonBinaryMaskError) as exc:
        load_mask(buf.getvalue())
    got = load_mask(buf.getvalue(), threshold=exc.value.threshold)
    assert abs(int(got.sum()) - int(m.sum())) <= 0.05 * m.sum()


def test_unsupported_image_format():
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(buf, format="GIF")
    with pytest.raises(MaskLoadError, match="GIF"):
        load_mask(buf.getvalue())


def test_truncated_npy():
    buf = io.BytesIO()
    np.save(buf, np.zeros((32, 32), bool))
    with pytest.raises(MaskLoadError, match="npy"):
        load_mask(buf.getvalue()[:60])


def test_load_probabilities(tmp_path):
    p = tmp_path / "prob.npy"
    a = np.linspace(0, 1, 100, dtype=np.float64).reshape(10, 10)
    np.save(p, a)
    out = load_probabilities(p)
    assert out.dtype == np.float64 and np.array_equal(out, a)  # float64 input keeps its precision
    np.save(p, a * 1.5)
    with pytest.raises(MaskLoadError, match=r"\[0, 1\]"):
        load_probabilities(p)
    np.save(p, a - 0.2)
    with pytest.raises(MaskLoadError, match=r"\[0, 1\]"):
        load_probabilities(p)
    m = make_shape(size=32, radius=8)
    hard = load_probabilities(save_mask_png(m))
    assert hard.dtype == np.float32 and np.array_equal(hard, m.astype(np.float32))


def test_save_mask_png_validates():
    with pytest.raises(ValueError):
        save_mask_png(np.zeros((2, 2, 2), bool))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=1, max_size=200))
def test_garbage_bytes_fail_cleanly(data):
    try:
        m = load_mask(data)
    except ValueError as exc:
        assert "\n" not in str(exc)
    else:  # random bytes that happen to decode must still give a 2-D bool mask
        assert m.ndim == 2 and m.dtype == bool
