"""Hard-threshold read-outs: seed 001's hand example, empty-set conventions, MONAI's Hausdorff."""
import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

from segloss_core.metrics import counts, hard_metrics


def test_seed_001_example():
    t = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1]])
    o = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0]])
    m = hard_metrics(t, o)
    assert m["dice"] == pytest.approx(0.5714, abs=1e-4)  # 2·2/(3+4), seed 001 prints 0.5714
    assert m["iou"] == pytest.approx(0.4)  # 2/5
    assert m["precision"] == pytest.approx(2 / 3) and m["sensitivity"] == pytest.approx(0.5)
    assert m["specificity"] == pytest.approx(4 / 5)
    assert counts(t, o) == {"tp": 2, "fp": 1, "fn": 2, "tn": 4}


def test_empty_conventions():
    z = np.zeros((5, 5), bool)
    one = z.copy()
    one[2, 2] = True
    both = hard_metrics(z, z)
    assert both["dice"] == 1 and both["iou"] == 1 and both["hd"] == 0 and both["hd95"] == 0
    assert both["precision"] == 1 and both["sensitivity"] == 1 and both["specificity"] == 1
    miss = hard_metrics(one, z)
    assert miss["dice"] == 0 and miss["sensitivity"] == 0 and miss["hd"] is None and miss["hd95"] is None
    fa = hard_metrics(z, one)
    assert fa["precision"] == 0 and fa["specificity"] == pytest.approx(24 / 25) and fa["hd"] is None
    with pytest.raises(ValueError, match="differ in shape"):
        hard_metrics(z, np.zeros((4, 5)))


def test_hausdorff_matches_monai():
    from monai.metrics import compute_hausdorff_distance

    rng = np.random.default_rng(3)
    for _ in range(4):
        g = ndi.gaussian_filter(rng.random((40, 36)), 3) > 0.5
        p = ndi.gaussian_filter(rng.random((40, 36)), 3) > 0.5
        m = hard_metrics(g, p)
        G, P = (torch.tensor(a)[None, None].float() for a in (g, p))
        assert m["hd"] == pytest.approx(compute_hausdorff_distance(P, G).item(), rel=1e-6)
        assert m["hd95"] == pytest.approx(compute_hausdorff_distance(P, G, percentile=95).item(), rel=1e-5)
