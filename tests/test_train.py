"""segloss_core.train: batched = one loss at a time, the BCE closed form, isolated divergence,
counts recomputed from the snapshots, determinism, bounded snapshots, exports, the CLI.

Tiny images and few steps: the whole file runs in seconds.
"""
from __future__ import annotations

import dataclasses
import io

import numpy as np
import pandas as pd
import pytest
import torch

from segloss_core import registry
from segloss_core.train import CLASSES, Run, TrainConfig, class_masks, gif_bytes, object_labels, runs_from, train
from segloss_core.train_lessons import lessons

FREE_RUNS = (Run.make("bce"), Run.make("dice"), Run.make("focal", {"gamma": 0.0}, "focal (γ=0)"),
             Run.make("focal", {"gamma": 3.0}, "focal (γ=3)"), Run.make("lovasz_hinge"), Run.make("boundary"))


def _free(**kw) -> TrainConfig:
    base = dict(runs=FREE_RUNS, mode="free", object="both", size=32, small_area=0.01, large_area=0.15,
                start="perturbed", optimizer="adam", lr=0.2, steps=12, frames=5, dtype="float64")
    return TrainConfig(**{**base, **kw})


def _net(**kw) -> TrainConfig:
    base = dict(runs=runs_from(["bce", "dice", "tversky"]), mode="net", size=32, small_area=0.01, large_area=0.15,
                batch=3, n_eval=2, n_small=1, optimizer="adam", lr=0.01, steps=4, frames=3, dtype="float64")
    return TrainConfig(**{**base, **kw})


def _alone(cfg: TrainConfig, run: Run) -> TrainConfig:
    return dataclasses.replace(cfg, runs=(run,))


@pytest.fixture(scope="module")
def free_res():
    return train(_free())


@pytest.fixture(scope="module")
def net_res():
    return train(_net())


# ------------------------------------------------------------------------------ batched = sequential
def test_free_batched_equals_one_loss_at_a_time(free_res):
    cfg = free_res.config
    for i, run in enumerate(cfg.runs):
        alone = train(_alone(cfg, run))
        a = free_res.curves[free_res.curves.loss == run.label].reset_index(drop=True)
        b = alone.curves.reset_index(drop=True)
        for col in ("value", "grad_l2", "dice", "fp", "fn"):
            np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), rtol=1e-9, atol=1e-12,
                                       err_msg=f"{run.label}: {col}")
        np.testing.assert_array_equal(free_res.hard[:, i], alone.hard[:, 0])


def test_net_batched_equals_one_loss_at_a_time(net_res):
    cfg = net_res.config
    for i, run in enumerate(cfg.runs):
        alone = train(_alone(cfg, run))
        a = net_res.curves[net_res.curves.loss == run.label].reset_index(drop=True)
        b = alone.curves.reset_index(drop=True)
        for col in ("value", "grad_l2", "fp", "fn"):
            np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), rtol=1e-7, atol=1e-9,
                                       err_msg=f"{run.label}: {col}")
        np.testing.assert_array_equal(net_res.frames[:, i], alone.frames[:, 0])


def test_grouped_parameters_equal_separate_calls(free_res):
    """focal γ=0 and γ=3 share one call (per-sample γ); each equals the focal loss evaluated alone."""
    d = free_res.curves[(free_res.curves.object == "all") & (free_res.curves.step == 0)].set_index("loss")
    lab = object_labels(32, "both", 0.01, 0.15)
    from segloss_core.train import _free_start
    z = _free_start(free_res.config, lab > 0, torch.float64)[None, None]
    g = torch.as_tensor(lab > 0, dtype=torch.float64)[None, None]
    for gamma in (0.0, 3.0):
        want = registry.get("focal")(z, g, gamma=gamma).item()
        assert d.loc[f"focal (γ={gamma:g})", "value"] == pytest.approx(want, rel=1e-12)


# ------------------------------------------------------------------------------ closed form
def test_one_sgd_step_of_bce_is_the_closed_form():
    cfg = _free(runs=(Run.make("bce"),), optimizer="sgd", lr=500.0, steps=1, frames=2, start="noise")
    res = train(cfg)
    lab = object_labels(32, "both", 0.01, 0.15)
    from segloss_core.train import _free_start
    z0 = _free_start(cfg, lab > 0, torch.float64).numpy()
    g = (lab > 0).astype(float)
    p0 = 1 / (1 + np.exp(-z0))
    z1 = z0 - cfg.lr * (p0 - g) / g.size  # ∂BCE/∂z = (p − g)/N
    p1 = 1 / (1 + np.exp(-z1))
    np.testing.assert_array_equal(res.hard[1, 0, 0], z1 > 0)
    np.testing.assert_allclose(res.frames[1, 0, 0], np.floor(p1 * 255 + 0.5), atol=1)  # quantized
    g_l2 = np.sqrt((((p0 - g) / g.size) ** 2).sum())
    row0 = res.curves[(res.curves.step == 0) & (res.curves.object == "all")].iloc[0]
    assert row0.grad_l2 == pytest.approx(g_l2, rel=1e-10)
    bce1 = -np.mean(g * np.log(p1) + (1 - g) * np.log(1 - p1))
    row1 = res.curves[(res.curves.step == 1) & (res.curves.object == "all")].iloc[0]
    assert row1.value == pytest.approx(bce1, rel=1e-9)


# ------------------------------------------------------------------------------ divergence
@pytest.fixture()
def exploding_loss(monkeypatch):
    """A registry entry whose value turns NaN at its 6th call (step 5), for the divergence tests."""
    calls = [0]

    def fn(logits, target):
        calls[0] += 1
        v = registry.REGISTRY["bce"].fn(logits, target)
        return v * float("nan") if calls[0] >= 6 else v

    spec = dataclasses.replace(registry.REGISTRY["bce"], key="explode", name="Exploding", fn=fn)
    monkeypatch.setitem(registry.REGISTRY, "explode", spec)
    return calls


def test_divergence_is_stopped_reported_and_isolated(exploding_loss):
    runs = (Run.make("dice"), Run.make("explode"), Run.make("bce"))
    cfg = _free(runs=runs, steps=10, frames=11)
    res = train(cfg)
    assert res.diverged == {"explode": (5, "loss is NaN")}
    c = res.curves
    assert c[c.loss == "explode"].step.max() == 4  # curves end at the last finite step
    assert np.isfinite(c[["value", "dice", "iou", "grad_l2"]].to_numpy(float)).all()  # no NaN recorded
    # the stopped run keeps its last finite prediction in the later snapshots
    np.testing.assert_array_equal(res.frames[5:, 1], np.broadcast_to(res.frames[5, 1], res.frames[5:, 1].shape))
    exploding_loss[0] = -10**9  # never NaN again: the other runs are the same without the exploding one
    clean = train(dataclasses.replace(cfg, runs=(runs[0], runs[2])))
    for lab in ("dice", "bce"):
        np.testing.assert_allclose(c[c.loss == lab].value.to_numpy(), clean.curves[clean.curves.loss == lab].value.to_numpy(),
                                   rtol=1e-12)
    s = res.summary().set_index("loss")
    assert s.loc["explode", "diverged_at"] == 5 and pd.isna(s.loc["dice", "diverged_at"])


def test_non_finite_parameters_stop_a_run():
    """SGD with an absurd rate on the conservative loss (unbounded below) overflows the logits."""
    cfg = _free(runs=(Run.make("conservative"), Run.make("dice")), optimizer="sgd", lr=1e6, steps=40, dtype="float32")
    res = train(cfg)
    c = res.curves
    assert np.isfinite(c[["value", "dice", "grad_l2"]].to_numpy(float)).all()
    assert "dice" not in res.diverged
    if "conservative" in res.diverged:
        step, why = res.diverged["conservative"]
        assert c[c.loss == "conservative"].step.max() < step


# ------------------------------------------------------------------------------ records
def _recount(res, k_frame: int):
    fg, near = class_masks(res.labels)
    out = {}
    for r, lab in enumerate(res.run_labels):
        h = res.hard[k_frame, r]
        for k, obj in enumerate(CLASSES):
            out[(lab, obj)] = (int((h & near[k]).sum()), int((fg[k] & ~h).sum()))
    return out


@pytest.mark.parametrize("which", ["free_res", "net_res"])
def test_recorded_fp_fn_are_recomputed_from_the_snapshots(which, request):
    res = request.getfixturevalue(which)
    for f, step in enumerate(res.frame_steps):
        want = _recount(res, f)
        rows = res.curves[res.curves.step == step]
        assert len(rows)
        for row in rows.itertuples():
            assert (row.fp, row.fn) == want[(row.loss, row.object)], (step, row.loss, row.object)
        # and the hard snapshot is the uint8 probability map thresholded at 0.5 (up to quantization)
        p = res.frames[f].astype(int)
        assert ((p > 128) <= res.hard[f]).all() and ((p < 127) <= ~res.hard[f]).all()


def test_net_mode_separates_small_and_large_objects(net_res):
    c = net_res.curves
    assert set(c.object) == {"all", "small", "large"}
    for (lab, step), d in c.groupby(["loss", "step"]):
        d = d.set_index("object")
        assert d.loc["all", "fn"] == d.loc["small", "fn"] + d.loc["large", "fn"]
        assert d.loc["all", "fp"] == d.loc["small", "fp"] + d.loc["large", "fp"]
    csv = net_res.curves_csv()
    assert list(csv.columns) == ["loss", "object", "step", "value", "dice", "iou", "fp", "fn", "grad_l2"]
    assert net_res.n_params == 7488


def test_free_csv_columns_and_summary(free_res):
    csv = free_res.curves_csv()
    assert list(csv.columns) == ["loss", "step", "value", "dice", "iou", "fp", "fn", "grad_l2"]
    assert len(csv) == len(FREE_RUNS) * 13
    s = free_res.summary()
    assert list(s.loss) == [r.label for r in FREE_RUNS]
    assert {"steps_to_dice_0.9", "final_dice", "final_fp", "final_fn", "small_recall", "diverged_at"} <= set(s.columns)
    assert s.small_recall.notna().all() and s.large_recall.notna().all()  # object "both": both exist


def test_determinism_under_a_seed():
    a, b = train(_net(steps=3)), train(_net(steps=3))
    pd.testing.assert_frame_equal(a.curves, b.curves)
    np.testing.assert_array_equal(a.frames, b.frames)
    c = train(_net(steps=3, seed=1))
    assert not np.array_equal(a.curves.value.to_numpy(), c.curves.value.to_numpy())


def test_snapshot_memory_is_bounded():
    cfg = _free(runs=(Run.make("bce"),), steps=90, frames=7, dtype="float32", size=16)
    res = train(cfg)
    assert len(res.frame_steps) <= 7 and res.frame_steps[0] == 0 and res.frame_steps[-1] == 90
    assert res.frames.shape[0] == len(res.frame_steps) and res.frames.dtype == np.uint8


def test_gif_export_has_one_frame_per_snapshot(free_res):
    from PIL import Image

    data = gif_bytes(free_res)
    im = Image.open(io.BytesIO(data))
    assert im.format == "GIF" and im.n_frames == len(free_res.frame_steps)


def test_bad_configs_say_what_is_wrong():
    with pytest.raises(ValueError, match="at least one loss"):
        TrainConfig().validate()
    with pytest.raises(ValueError, match="multiple of 4"):
        _net(size=30).validate()
    with pytest.raises(ValueError, match="smooth"):
        Run.make("dice", {"smooth": -1})
    with pytest.raises(ValueError, match="unknown loss"):
        Run.make("nope")


def test_lessons_are_valid_configs():
    ls = lessons()
    assert set(ls) == {"ce_small", "dice_nosmooth", "boundary_alone", "focal_gamma", "tversky_beta", "lovasz_empty"}
    for lesson in ls.values():
        lesson.config.validate()
        assert lesson.text.count(". ") >= 1


@pytest.mark.parametrize("key", ["dice_nosmooth", "boundary_alone"])
def test_cheap_lessons_are_confirmed_by_their_run(key):
    lesson = lessons()[key]
    cfg = lesson.config if key == "dice_nosmooth" else dataclasses.replace(lesson.config, size=32, steps=40)
    ok, detail = lesson.check(train(cfg))
    assert ok, detail


# ------------------------------------------------------------------------------ CLI
def test_cli_train_writes_the_csvs_and_the_gif(tmp_path):
    from segloss_core.cli import main

    rc = main(["train", "--out", str(tmp_path), "--losses", "bce,dice", "--mode", "free", "--steps", "5",
               "--size", "32"])
    assert rc == 0
    curves = pd.read_csv(tmp_path / "curves.csv")
    assert list(curves.columns) == ["loss", "step", "value", "dice", "iou", "fp", "fn", "grad_l2"]
    assert set(curves.loss) == {"bce", "dice"} and curves.step.max() == 5
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert list(summary.loss) == ["bce", "dice"]
    assert (tmp_path / "train.gif").read_bytes()[:6] in (b"GIF89a", b"GIF87a")


def test_cli_train_net_mode_has_the_object_column(tmp_path):
    from segloss_core.cli import main

    rc = main(["train", "--out", str(tmp_path), "--losses", "bce", "--mode", "net", "--steps", "2", "--size", "32",
               "--batch", "2"])
    assert rc == 0
    curves = pd.read_csv(tmp_path / "curves.csv")
    assert "object" in curves.columns and set(curves.object) == {"all", "small", "large"}


@pytest.mark.parametrize("argv,msg", [
    (["--losses", "nope"], "unknown loss"),
    (["--steps", "0"], "steps"),
    (["--mode", "net", "--size", "30"], "multiple of 4"),
    (["--set", "dice.smooth=-1", "--losses", "dice"], "smooth"),
])
def test_cli_train_errors_are_one_line(tmp_path, capsys, argv, msg):
    from segloss_core.cli import main

    rc = main(["train", "--out", str(tmp_path)] + argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error:") and msg in err[0], err


def test_batch_reduction_runs_do_not_pool_with_other_runs():
    """reduction="batch" couples the samples of a call: such a run is called on its own images only,
    so it trains exactly as it does alone (network mode: pooled over its own batch)."""
    runs = (Run.make("dice", {"reduction": "batch"}, "dice (batch)"), Run.make("dice"), Run.make("bce"))
    cfg = _net(runs=runs, steps=3)
    res = train(cfg)
    alone = train(_alone(cfg, runs[0]))
    a = res.curves[res.curves.loss == "dice (batch)"].value.to_numpy()
    np.testing.assert_allclose(a, alone.curves.value.to_numpy(), rtol=1e-9)
