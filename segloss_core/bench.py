"""Benchmark: the sweep engine against the way a typical loss library is used.

``python -m segloss_core bench [--quick] [--device ...] --json`` prints wall times (seconds) and
peak memory. The survey figures time the survey's 26 losses (:data:`segloss_core.claim.SURVEY_LOSSES`),
whatever else the registry holds. The naive path computes the same numbers (one loss and one level
per call, distance maps recomputed per call, one backward per call) and the benchmark checks that
both agree.
``sweep_one_loss_s`` (:mod:`segloss_core.bench_sweeps`): the one-loss sweeps of the survey
protocol per loss and object, with MONAI's batched evaluation of the same work timed in the same
run (``monai_sweep_s``, ``vs_monai``) when MONAI is installed.
"""
from __future__ import annotations

import resource
import time

import numpy as np
import torch

from .bench_sweeps import sweep_one_loss
from .gradients import loss_gradients
from .claim import SURVEY_LOSSES
from .registry import get
from .survey import SurveyConfig, level_stack, object_masks, run_survey
from .sweep import device_label, param_grid, pick_device
from .tensors import logits_from_probs


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _timed(fn, dev, repeat: int = 1):
    best, out = float("inf"), None
    for _ in range(repeat):
        _sync(dev)
        t = time.perf_counter()
        out = fn()
        _sync(dev)
        best = min(best, time.perf_counter() - t)
    return best, out


def naive_survey(cfg: SurveyConfig, keys, device: torch.device) -> dict[tuple[str, str], np.ndarray]:
    """Values and gradient norms, one loss and one level per call, maps recomputed every call."""
    out = {}
    for obj, gt in object_masks(cfg).items():
        preds, _ = level_stack(gt, cfg)
        target = torch.as_tensor(gt, dtype=torch.float32, device=device)[None, None]
        for k in keys:
            spec = get(k)
            vals, norms = [], []
            for level in preds:
                z = logits_from_probs(torch.as_tensor(level, device=device)[None, None]).requires_grad_(True)
                v = spec(z, target)  # maps=None: recomputed per call
                (g,) = torch.autograd.grad(v.sum(), z)
                vals.append(v.item())
                norms.append(g.norm().item())
            out[(obj, k)] = np.array([vals, norms])
    return out


def run_bench(*, quick: bool = False, device: str = "auto") -> dict:
    dev = pick_device(device)
    cfg = SurveyConfig(levels=11) if quick else SurveyConfig()
    keys = list(SURVEY_LOSSES)  # the survey's 26 losses: losses added later are not in this figure
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    run_survey(cfg, keys, device=dev)  # warm-up: imports, kernels, allocator
    survey_s, res = _timed(lambda: run_survey(cfg, keys, device=dev), dev, repeat=1 if quick else 3)
    naive_s, naive = _timed(lambda: naive_survey(cfg, keys, dev), dev)
    worst = 0.0
    for (obj, k), (vals, norms) in naive.items():
        d = res.curves[(res.curves.object == obj) & (res.curves.loss == k)]
        for a, b in ((d["value"].to_numpy(), vals), (d["grad_l2"].to_numpy(), norms)):
            worst = max(worst, float(np.max(np.abs(a - b) / (np.abs(b) + 1e-6))))
    if worst > 1e-3:
        raise AssertionError(f"engine and naive path disagree (max relative difference {worst:.2e})")
    gt = object_masks(cfg)["large"]
    preds, _ = level_stack(gt, cfg)
    target = torch.as_tensor(gt, dtype=torch.float32, device=dev)[None, None]
    one = logits_from_probs(torch.as_tensor(preds[len(preds) // 2], device=dev)[None, None])
    single_s, _ = _timed(lambda: loss_gradients(one, target, keys), dev, repeat=3)
    small = object_masks(cfg)["small"]
    spreds, _ = level_stack(small, cfg)
    grid_s, _ = _timed(lambda: param_grid(small, spreds, "focal", {"alpha": np.linspace(0.01, 0.99, 25),
                                                                   "gamma": np.linspace(0, 5, 25)}, device=dev), dev, 3)
    peak = (torch.cuda.max_memory_allocated(dev) / 2**20) if dev.type == "cuda" else \
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before MONAI's batched sweeps
    sweeps = sweep_one_loss(cfg, dev, repeat=3 if quick else 5)
    from .tuning import bench_soft_grid
    tune = bench_soft_grid(repeat=1 if quick else 3)  # Tune: 25×25 focal grid, spread of confidences
    from .train import bench_train
    training = bench_train(device=device)  # Train: train_free_s, train_net_s (6 losses, 300 steps each)
    return {
        "device": device_label(dev),
        "quick": quick,
        "levels": cfg.levels,
        "size": cfg.size,
        "losses": len(keys),
        "survey_engine_s": round(survey_s, 4),
        "survey_naive_s": round(naive_s, 4),
        "speedup": round(naive_s / survey_s, 2),
        "single_pair_s": round(single_s, 4),
        "grid_s": round(grid_s, 4),
        "grid_points": 25 * 25 * len(spreds),
        "peak_mem_mb": round(peak, 1),
        "peak_mem_kind": "CUDA max allocated" if dev.type == "cuda" else "process peak RSS",
        "max_rel_diff_vs_naive": worst,
        **tune,
        **sweeps,
        **training,
    }
