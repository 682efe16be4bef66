"""The command line, run as a user would: JSON output checked by hand, every bad input exits
non-zero with one clear line and never a traceback."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from segloss_core.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def files(tmp_path):
    gt = np.zeros((12, 12), bool)
    gt[3:8, 3:8] = True
    pred = np.zeros_like(gt)
    pred[4:9, 4:10] = True
    Image.fromarray((gt * 255).astype(np.uint8)).save(tmp_path / "gt.png")
    Image.fromarray((pred * 255).astype(np.uint8)).save(tmp_path / "pred.png")
    probs = np.where(pred, 0.8, 0.1)
    np.save(tmp_path / "probs.npy", probs)
    np.save(tmp_path / "gt.npy", gt)
    return tmp_path, gt, pred, probs


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_json_matches_hand_computation(files, capsys):
    d, gt, pred, probs = files
    code, out, err = run(["eval", "--gt", str(d / "gt.npy"), "--pred", str(d / "probs.npy"),
                          "--losses", "bce,dice,focal", "--set", "focal.gamma=0", "--json"], capsys)
    assert code == 0, err
    res = json.loads(out)
    assert set(res["losses"]) == {"bce", "dice", "focal"}
    g = gt.astype(float)
    bce = -np.mean(g * np.log(probs) + (1 - g) * np.log(1 - probs))
    dice = 1 - (2 * (probs * g).sum() + 1) / (probs.sum() + g.sum() + 1)
    focal0 = -np.mean(0.25 * g * np.log(probs) + 0.75 * (1 - g) * np.log(1 - probs))  # γ=0: balanced CE, β=α
    assert res["losses"]["bce"]["value"] == pytest.approx(bce, rel=1e-9)
    assert res["losses"]["dice"]["value"] == pytest.approx(dice, rel=1e-9)
    assert res["losses"]["focal"]["value"] == pytest.approx(focal0, rel=1e-9)
    # BCE's gradient w.r.t. the logits is (p - g)/N per pixel
    assert res["losses"]["bce"]["grad_l2"] == pytest.approx(np.linalg.norm((probs - g) / g.size), rel=1e-6)
    tp, fp, fn = (gt & pred).sum(), (~gt & pred).sum(), (gt & ~pred).sum()
    assert res["metrics"]["dice"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert res["metrics"]["iou"] == pytest.approx(tp / (tp + fp + fn))
    assert set(res["metrics"]) == {"dice", "iou", "precision", "sensitivity", "specificity", "hd", "hd95"}


def test_eval_png_prediction_uses_confidence_and_all_losses(files, capsys):
    d, gt, pred, _ = files
    code, out, _ = run(["eval", "--gt", str(d / "gt.png"), "--pred", str(d / "pred.png"), "--confidence", "0.9", "--json"], capsys)
    res = json.loads(out)
    from segloss_core import KEYS
    assert code == 0 and list(res["losses"]) == list(KEYS)
    p = np.where(pred, 0.9, 0.1)
    g = gt.astype(float)
    assert res["losses"]["bce"]["value"] == pytest.approx(-np.mean(g * np.log(p) + (1 - g) * np.log(1 - p)), rel=1e-9)
    assert all(np.isfinite(v["value"]) and np.isfinite(v["grad_l2"]) for v in res["losses"].values())


def test_eval_text_output(files, capsys):
    d, *_ = files
    code, out, _ = run(["eval", "--gt", str(d / "gt.png"), "--pred", str(d / "pred.png"), "--losses", "dice"], capsys)
    assert code == 0 and "dice" in out and "hd95" in out


@pytest.mark.parametrize("case,expect", [
    (["--gt", "MISSING.png", "--pred", "pred.png"], "not found"),
    (["--gt", "gt.png", "--pred", "small.npy"], "prediction"),
    (["--gt", "gt.png", "--pred", "outside.npy"], "[0, 1]"),
    (["--gt", "gt.png", "--pred", "nan.npy"], "NaN"),
    (["--gt", "gt.png", "--pred", "pred.png", "--losses", "dice,nope"], "unknown loss"),
    (["--gt", "gt.png", "--pred", "pred.png", "--set", "focal.delta=1"], "no parameter"),
    (["--gt", "gt.png", "--pred", "pred.png", "--set", "focal.gamma=99"], "gamma must be in"),
    (["--gt", "gt.png", "--pred", "pred.png", "--set", "focal.gamma=abc"], "must be a number"),
    (["--gt", "gt.png", "--pred", "pred.png", "--set", "gamma"], "KEY.PARAM=VALUE"),
    (["--gt", "gt.png", "--pred", "pred.png", "--confidence", "1.5"], "confidence"),
    (["--gt", "text.png", "--pred", "pred.png"], ""),
])
def test_eval_bad_input(files, capsys, case, expect):
    d, *_ = files
    np.save(d / "small.npy", np.full((5, 5), 0.5))
    np.save(d / "outside.npy", np.full((12, 12), 1.5))
    nan = np.full((12, 12), 0.5)
    nan[0, 0] = np.nan
    np.save(d / "nan.npy", nan)
    (d / "text.png").write_text("this is not an image")
    argv = ["eval"] + [str(d / a) if a.endswith((".png", ".npy")) else a for a in case]
    code, out, err = run(argv, capsys)
    assert code == 2
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and expect in err
