"""Topology read-outs, thin-structure ground truths and perturbations, the vessel sweep and its CLI.

Betti numbers are checked on hand-drawn masks and on every generator (as designed); perturbations
report exact pixel counts recomputed from the masks and the connectivity they promise.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from skimage.draw import disk

from segloss_core import thin_masks as M
from segloss_core import thin_perturb as P
from segloss_core.topology import TOPOLOGY, betti_numbers, skeleton_scores, topology_metrics


# ---------------------------------------------------------------- Betti numbers
def test_betti_numbers_by_hand_2d():
    m = np.zeros((20, 20), bool)
    assert betti_numbers(m) == (0, 0)
    m[2:6, 2:6] = True                      # a square
    assert betti_numbers(m) == (1, 0)
    m[10:17, 10:17] = True
    m[12:15, 12:15] = False                 # a square ring
    assert betti_numbers(m) == (2, 1)
    m[0, 19] = True                         # a pixel in the corner
    assert betti_numbers(m) == (3, 1)
    d = np.zeros((5, 5), bool)
    d[1, 1] = d[2, 2] = True                # diagonal neighbours: one component (8-connectivity)
    assert betti_numbers(d) == (1, 0)
    assert betti_numbers(np.ones((6, 6), bool)) == (1, 0)


def test_betti_numbers_by_hand_3d():
    m = np.zeros((9, 9, 9), bool)
    m[2:7, 2:7, 2:7] = True
    assert betti_numbers(m) == (1, 0)
    hollow = m.copy()
    hollow[4, 4, 4] = False                 # a cavity is β2, not a tunnel
    assert betti_numbers(hollow) == (1, 0)
    torus = m.copy()
    torus[:, 4, 4] = False                  # a tunnel through the cube
    assert betti_numbers(torus) == (1, 1)


def test_skeleton_scores_and_empty_conventions():
    gt = np.zeros((9, 21), bool)
    gt[4, 1:20] = True
    assert skeleton_scores(gt, gt) == {"cldice": 1.0, "skeleton_recall": 1.0, "skeleton_precision": 1.0}
    half = gt.copy()
    half[:, 11:] = False
    s = skeleton_scores(gt, half)
    assert s["skeleton_precision"] == 1.0
    assert s["skeleton_recall"] == pytest.approx(half.sum() / gt.sum())
    empty = np.zeros_like(gt)
    assert skeleton_scores(empty, empty)["cldice"] == 1.0
    assert skeleton_scores(gt, empty)["cldice"] == 0.0 and skeleton_scores(empty, gt)["cldice"] == 0.0
    t = topology_metrics(gt, half)
    assert set(t) == set(TOPOLOGY) and t["d_betti0"] == 0
    with pytest.raises(ValueError, match="differ in shape"):
        skeleton_scores(gt, gt[:, :5])


# ---------------------------------------------------------------- generators: Betti numbers as designed
@pytest.mark.parametrize("size", [64, 128, 256])
@pytest.mark.parametrize("kind,betti", [("vessel_tree", (1, 0)), ("lines", (3, 0)), ("rings", (2, 2)),
                                        ("touching_cells", (9, 0))])
def test_generators_have_the_designed_betti_numbers(kind, betti, size):
    for seed in range(3):
        m = M.thin_mask(kind, size, seed)
        assert m.dtype == bool and m.shape == (size, size)
        assert betti_numbers(m) == betti, (kind, size, seed)


def test_vessel_tree_widths_vary_down_to_one_pixel():
    from scipy import ndimage as ndi
    m = M.vessel_tree(128, depth=4, width=7)
    d = ndi.distance_transform_edt(m)
    assert d.max() >= 3.5                      # the 7-px trunk
    from skimage.morphology import skeletonize
    sk = skeletonize(m)
    assert (d[sk] <= 1.0).sum() > 20           # long one-pixel branches
    with pytest.raises(ValueError, match="depth"):
        M.vessel_tree(128, depth=9)
    with pytest.raises(ValueError, match="size"):
        M.vessel_tree(10)
    with pytest.raises(ValueError, match="kind"):
        M.thin_mask("tree")


def test_touching_cells_are_one_pixel_apart():
    m = M.touching_cells(64, 1, 2, 8)
    row = m[m.any(1)][np.argmax(m.sum(1)[m.any(1)])]
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, row.astype(int), 0])))
    assert list(runs)[1] == 1                  # object, 1-px gap, object


# ---------------------------------------------------------------- perturbations: exact counts, connectivity
@pytest.fixture(scope="module")
def tree():
    return M.vessel_tree(128)


def _check_counts(p, gt):
    pred = p.mask
    assert p.counts == {"tp": int((pred & gt).sum()), "fp": int((pred & ~gt).sum()), "fn": int((~pred & gt).sum()),
                        "tn": int((~pred & ~gt).sum())}
    assert p.applied["removed"] == p.counts["fn"] and p.applied["added"] == p.counts["fp"]


@pytest.mark.parametrize("width", [1, 2, 3])
def test_gaps_each_add_one_component_and_nest(tree, width):
    prev = None
    for k in (0, 1, 3, 6, 10):
        p = P.thin_gaps(tree, k, width=width)
        _check_counts(p, tree)
        assert betti_numbers(p.mask) == (1 + k, 0) and p.applied["components_pred"] == 1 + k
        assert p.counts["fp"] == 0 and p.applied["gaps"] == k
        if prev is not None:
            assert not (p.mask & ~prev).any()   # more gaps: a subset (prefix of the same order)
        prev = p.mask
    one = P.thin_gaps(tree, 1, width=width)
    assert one.counts["fn"] >= width            # a gap is at least `width` pixels


def test_gaps_clamp_with_a_message(tree):
    p = P.thin_gaps(tree, 500)
    assert p.applied["gaps"] < 500 and "only" in p.messages[0]
    assert betti_numbers(p.mask)[0] == 1 + p.applied["gaps"]
    with pytest.raises(ValueError, match="n_gaps"):
        P.thin_gaps(tree, -1)
    with pytest.raises(ValueError, match="width"):
        P.thin_gaps(tree, 1, width=0)


def test_thin_thicken_shift_and_branches(tree):
    from scipy import ndimage as ndi
    t = P.thin_by_one(tree)
    _check_counts(t, tree)
    assert betti_numbers(t.mask) == (1, 0) and t.counts["fp"] == 0 and t.counts["fn"] > 0
    th = P.thicken_by_one(tree)
    _check_counts(th, tree)
    cross = ndi.generate_binary_structure(2, 1)
    assert th.counts["fp"] == int((ndi.binary_dilation(tree, cross) & ~tree).sum()) and th.counts["fn"] == 0
    s = P.shift_by(tree, 1, 0)
    _check_counts(s, tree)
    assert s.counts["fn"] == int((tree & ~np.roll(tree, 1, 0)).sum())  # nothing at the border
    line = np.zeros((9, 30), bool)
    line[4, 2:28] = True
    assert P.shift_by(line, 1, 0).counts["tp"] == 0   # a 1-px vessel shifted by one pixel: all missed
    b = P.spurious_branches(tree, 4, length=6, seed=1)
    _check_counts(b, tree)
    assert b.applied["branches"] == 4 and b.counts["fn"] == 0 and b.counts["fp"] >= 4 * 6
    assert betti_numbers(b.mask) == (1, 0)
    assert skeleton_scores(tree, b.mask)["skeleton_precision"] < 1.0


# ---------------------------------------------------------------- the vessel sweep and its CSVs
@pytest.fixture(scope="module")
def sweep():
    from segloss_core.vessel_study import vessel_sweep
    return vessel_sweep(size=96, levels=6, keys=["dice", "bce", "cldice", "skeleton_recall", "hausdorff_dt"])


def test_vessel_sweep_levels_and_verdicts(sweep):
    lv = sweep.levels
    assert list(lv.gaps) == list(range(6))
    assert list(lv.betti0_pred) == [1 + k for k in range(6)]
    assert (lv.fn_px == lv.control_fn_px).all() and (lv.control_betti0 == 1).all()
    v = sweep.verdicts.set_index("loss")
    # Dice and CE see only pixel counts: the same curve whether the vessel is cut or thinned
    assert v.loc["dice", "verdict"] == "blind" and v.loc["bce", "verdict"] == "blind"
    assert v.loc["cldice", "verdict"] == "notices" and v.loc["skeleton_recall", "verdict"] == "notices"
    c = sweep.curves
    d = c[c.loss == "dice"].pivot(index="level", columns="protocol", values="value")
    np.testing.assert_allclose(d["gaps"], d["control"], rtol=1e-12)
    assert "blind" not in sweep.summary() and "dice" in sweep.summary()


def test_vessels_cli_writes_csvs(tmp_path):
    from segloss_core.cli import main
    out = tmp_path / "v"
    assert main(["vessels", "--out", str(out), "--size", "96", "--levels", "4", "--losses", "dice,cldice"]) == 0
    lv = pd.read_csv(out / "vessel_levels.csv")
    assert list(lv.betti0_pred) == [1, 2, 3, 4]
    ver = pd.read_csv(out / "vessel_verdicts.csv")
    assert set(ver.loss) == {"dice", "cldice"} and set(ver.columns) >= {"ratio", "verdict"}
    assert len(pd.read_csv(out / "vessel_curves.csv")) == 2 * 4 * 2
    assert (out / "vessel_summary.txt").read_text().strip()


@pytest.mark.parametrize("argv,msg", [
    (["--size", "10"], "--size"), (["--levels", "1"], "--levels"), (["--width", "9"], "--width"),
    (["--losses", "nope"], "unknown loss"), (["--set", "cldice.alpha=3"], "alpha must be in"),
    (["--confidence", "0.2"], "confidence"),
])
def test_vessels_cli_errors(tmp_path, capsys, argv, msg):
    from segloss_core.cli import main
    assert main(["vessels", "--out", str(tmp_path / "x")] + argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and msg in err[0]
