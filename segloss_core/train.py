r"""Watch each loss train: every selected loss optimizes the same start, side by side, in one batch.

Two modes (:class:`TrainConfig` ``mode``):

* ``"free"`` — **free logits**. The prediction's logits :math:`z \in \mathbb{R}^{H\times W}` are the
  parameters; the ground truth is a synthetic mask (a small object, a large one, both, or none).
  Start: :math:`p = 0.5` everywhere (``start="half"``, :math:`z = 0`), a perturbed prediction made
  exactly as the Playground makes it (:func:`segloss_core.perturb.perturb` with FN/FP pixel counts,
  softened with confidence :math:`c`: ``start="perturbed"``), or Gaussian noise
  :math:`z \sim \mathcal N(0, \sigma^2)` (``start="noise"``). Optimizer: SGD,
  :math:`z_{t+1} = z_t - \eta\,\nabla_z L(z_t)`, or Adam (Kingma & Ba, ICLR 2015) with
  :math:`\beta = (0.9, 0.999)`, :math:`\epsilon = 10^{-8}`. One SGD step of BCE is the closed form
  :math:`z_1 = z_0 - \eta\,(p_0 - g)/N` (:math:`N` pixels; tested).
* ``"net"`` — **tiny network** (:class:`TinyNet`, 7 488 parameters, no pretrained weights, He
  initialisation from the seed, the same initial weights for every loss) trained on synthetic
  images rendered from random masks (:func:`render_batch`: one large ellipse and ``n_small`` small
  disks per image, foreground intensity ``contrast``, Gaussian blur ``blur``, additive Gaussian
  noise ``noise``; object areas ``large_area`` and ``small_area`` as fractions of the image set the
  imbalance) and evaluated on ``n_eval`` held-out images made the same way from another seed.
  Every loss sees the same batches in the same order.

**One batched computation per step, not a Python loop over losses.**

* The parameters of all runs are stacked along a leading run axis: free logits as one
  ``(R, 1, H, W)`` leaf tensor; network weights with :func:`torch.func.stack_module_state`, and the
  R networks run as one :func:`torch.func.vmap` of :func:`torch.func.functional_call` over the
  stacked weights (PyTorch lowers the vmapped convolutions to grouped convolutions).
* One backward of :math:`\sum_r L_r` gives every run its own gradient (a run's loss reads only its
  own slice), and one optimizer step updates the stacked tensors. SGD and Adam act elementwise, so
  this is exactly R separate optimizers (tested: batched = one loss at a time, same seed).
* The loss *values* need one call per distinct loss function: different losses are different
  programs, which ``vmap`` cannot fuse. So runs are grouped by loss key (and choice parameters) and
  each group is **one** call over all its runs and images: runs of the same loss with different
  numeric parameters (focal γ = 0, 2, 5) share the call through per-sample parameter tensors
  (:func:`segloss_core.tensors.per_sample`). The Python loop therefore runs over distinct loss
  functions (a handful), never over steps × runs × images. Losses that read NumPy/SciPy distance
  transforms (boundary, GDL + boundary, Hausdorff DT, shape-aware, U-Net and distance-penalized CE)
  get their ground-truth maps from :class:`~segloss_core.distance.TargetMaps` once per batch (once
  per run in free mode); the Hausdorff DT and shape-aware losses also run SciPy on the thresholded
  prediction every step inside the loss, which cannot be vmapped or run on the GPU and costs a
  device-to-host copy on CUDA. The Lovász losses sort (``torch.sort``) inside their one call.
* Metrics (hard Dice, IoU, FP, FN per object size) and the divergence checks are batched over runs.

**Records** (:class:`TrainResult`) per step and run: loss value, hard Dice
:math:`2TP/(2TP+FP+FN)` (1 when both masks are empty), IoU :math:`TP/(TP+FP+FN)`, FP and FN pixel
counts (network mode: on the held-out set, for the small and the large objects separately — a
false positive is charged to the object class nearest to it), and the L2 norm of the gradient
(w.r.t. the logits in free mode, the weights in network mode). Snapshots of the probability map
(``uint8``, :math:`\lfloor 255p + 0.5\rfloor`) and of the hard prediction :math:`p > 0.5` are taken
at most ``frames`` times whatever the number of steps (every ``ceil(steps / (frames - 1))`` steps,
plus the last one), so the memory of the animation is bounded.

**Divergence.** A run whose loss or gradient is NaN/±Inf, or whose parameters would become
non-finite, is stopped at that step: its parameters stay at their last finite values (restored
after the shared optimizer step), it is reported as diverged at that step with the reason, its
curves end there, and the other runs go on unchanged (tested). No NaN is recorded.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy import ndimage

from .distance import TargetMaps
from .registry import get

MODES = ("free", "net")
OBJECTS = ("small", "large", "both", "empty")
STARTS = ("half", "perturbed", "noise")
OPTIMIZERS = ("adam", "sgd")
#: object classes of the per-size metrics ("all" = every pixel)
CLASSES = ("all", "small", "large")
BENCH_LOSSES = ("bce", "focal", "dice", "tversky", "boundary", "dice_bce")  # one or two of each family


# ------------------------------------------------------------------------------------------ config
@dataclass(frozen=True)
class Run:
    """One trained curve: a loss key, its parameter overrides and a display label."""

    key: str
    params: tuple[tuple[str, Any], ...] = ()
    label: str = ""

    @staticmethod
    def make(key: str, params: dict[str, Any] | None = None, label: str | None = None) -> "Run":
        spec = get(key)
        resolved = spec.resolve(params or {})
        changed = {k: v for k, v in resolved.items() if v != spec.defaults.get(k)}
        if label is None:
            label = key + ("" if not changed else
                           " (" + ", ".join(f"{k}={'auto' if v is None else (f'{v:g}' if isinstance(v, float) else v)}"
                                            for k, v in changed.items()) + ")")
        return Run(key, tuple(sorted((params or {}).items())), label)

    @property
    def kwargs(self) -> dict[str, Any]:
        return get(self.key).resolve(dict(self.params))


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on (hashable: the app caches on it).

    ``runs``: the losses (:class:`Run`; labels must be distinct). ``size``: image side (network
    mode: a multiple of 4). ``small_area``/``large_area``: object areas as fractions of the image
    (1:1000 = 0.001). ``start``/``start_fn``/``start_fp``/``confidence``/``noise_std``: the free
    logits' start (FN and FP as fractions of the object's pixel count, or of 1 % of the image when
    there is no object). ``batch``, ``n_small``, ``n_eval``, ``contrast``, ``blur``, ``noise``:
    network mode. ``frames``: the most snapshots kept.
    """

    runs: tuple[Run, ...] = ()
    mode: str = "free"
    object: str = "small"
    size: int = 64
    small_area: float = 0.002
    large_area: float = 0.15
    start: str = "perturbed"
    start_fn: float = 0.5
    start_fp: float = 0.5
    confidence: float = 0.9
    noise_std: float = 1.0
    optimizer: str = "adam"
    lr: float = 0.1
    steps: int = 100
    seed: int = 0
    frames: int = 40
    batch: int = 16
    n_small: int = 2
    n_large: int = 1
    n_eval: int = 8
    contrast: float = 1.0
    blur: float = 1.0
    noise: float = 0.3
    device: str = "auto"  # CUDA when present (segloss_core.sweep.pick_device)
    dtype: str = "float32"

    def validate(self) -> "TrainConfig":
        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise ValueError(msg)
        need(len(self.runs) >= 1, "select at least one loss")
        need(len({r.label for r in self.runs}) == len(self.runs), "two runs have the same label")
        for r in self.runs:
            spec = get(r.key)
            spec.resolve(dict(r.params))
            need(not spec.multiclass or True, "")
        need(self.mode in MODES, f"mode must be one of {', '.join(MODES)}; got {self.mode!r}")
        need(self.object in OBJECTS, f"object must be one of {', '.join(OBJECTS)}; got {self.object!r}")
        need(self.start in STARTS, f"start must be one of {', '.join(STARTS)}; got {self.start!r}")
        need(self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {self.optimizer!r}")
        need(16 <= self.size <= 512, f"size must be in [16, 512]; got {self.size}")
        need(self.mode != "net" or self.size % 4 == 0, f"network mode needs a size that is a multiple of 4; got {self.size}")
        need(0 < self.small_area < 0.2, f"small_area must be in (0, 0.2); got {self.small_area}")
        need(0 < self.large_area <= 0.5, f"large_area must be in (0, 0.5]; got {self.large_area}")
        need(math.isfinite(self.lr) and 0 < self.lr <= 1e6, f"learning rate must be in (0, 1e6]; got {self.lr}")
        need(1 <= self.steps <= 100_000, f"steps must be in [1, 100000]; got {self.steps}")
        need(2 <= self.frames <= 400, f"frames must be in [2, 400]; got {self.frames}")
        need(0 <= self.start_fn <= 1 and 0 <= self.start_fp <= 10, "start_fn must be in [0, 1] and start_fp in [0, 10]")
        need(0.5 < self.confidence < 1, f"confidence must be in (0.5, 1); got {self.confidence}")
        need(1 <= self.batch <= 256 and 1 <= self.n_eval <= 64 and 0 <= self.n_small <= 8 and self.n_large in (0, 1)
             and self.n_small + self.n_large >= 1, "batch/n_eval/n_small/n_large out of range")
        need(self.dtype in ("float32", "float64"), f"dtype must be float32 or float64; got {self.dtype!r}")
        return self

    def to_json(self) -> dict:
        d = asdict(self)
        d["runs"] = [{"key": r.key, "params": dict(r.params), "label": r.label} for r in self.runs]
        return d

    @property
    def stride(self) -> int:
        """Steps between two snapshots (the last step is always kept too)."""
        return max(1, math.ceil(self.steps / (self.frames - 1)))

    def snapshot_steps(self) -> list[int]:
        return sorted(set(range(0, self.steps + 1, self.stride)) | {self.steps})


def runs_from(keys: Sequence[str], params: dict[str, dict[str, Any]] | None = None) -> tuple[Run, ...]:
    """``["dice", "focal"]`` (+ ``{"focal": {"gamma": 3}}``) -> runs with the registry's labels."""
    return tuple(Run.make(k, (params or {}).get(k)) for k in dict.fromkeys(keys))


# ------------------------------------------------------------------------------------------ data
def _ellipse(h: int, w: int, cy: float, cx: float, area: float, aspect: float, angle: float) -> np.ndarray:
    """Pixels of the ellipse of ``area`` pixels (semi-axes a ≥ b, a/b = aspect) centred at (cy, cx)."""
    b = math.sqrt(max(area, 1.0) / (math.pi * aspect))
    a = aspect * b
    yy, xx = np.mgrid[:h, :w]
    dy, dx = yy - cy, xx - cx
    c, s = math.cos(angle), math.sin(angle)
    u, v = c * dx + s * dy, -s * dx + c * dy
    m = (u / max(a, 0.5)) ** 2 + (v / max(b, 0.5)) ** 2 <= 1.0
    if not m.any():  # a sub-pixel object: its centre pixel
        m[int(round(min(max(cy, 0), h - 1))), int(round(min(max(cx, 0), w - 1)))] = True
    return m


def object_labels(size: int, obj: str, small_area: float, large_area: float) -> np.ndarray:
    """Free-mode ground truth as a label map: 0 background, 1 small object, 2 large object.

    ``small``: one disk of ``small_area·N`` pixels; ``large``: one disk of ``large_area·N``;
    ``both``: the large disk left of centre and the small one in the lower right; ``empty``: none.
    """
    lab = np.zeros((size, size), np.uint8)
    n = size * size
    if obj in ("large", "both"):
        cx = 0.38 * size if obj == "both" else (size - 1) / 2
        lab[_ellipse(size, size, (size - 1) / 2, cx, large_area * n, 1.0, 0.0)] = 2
    if obj in ("small", "both"):
        cy, cx = ((0.78 * size, 0.8 * size) if obj == "both" else ((size - 1) / 2, (size - 1) / 2))
        lab[_ellipse(size, size, cy, cx, small_area * n, 1.0, 0.0) & (lab == 0)] = 1
    return lab


def random_labels(rng: np.random.Generator, size: int, small_area: float, large_area: float,
                  n_small: int, n_large: int = 1) -> np.ndarray:
    """One random label map: ``n_large`` (0 or 1) large ellipse (aspect 1–2, any angle) and
    ``n_small`` small disks placed without overlapping it or each other (a few tries, then anywhere
    free)."""
    lab = np.zeros((size, size), np.uint8)
    n = size * size
    if n_large:
        a = large_area * n
        r_l = math.sqrt(a / math.pi)
        cy, cx = rng.uniform(r_l * 0.7, size - r_l * 0.7, 2) if r_l * 1.4 < size else ((size - 1) / 2,) * 2
        lab[_ellipse(size, size, cy, cx, a, rng.uniform(1.0, 2.0), rng.uniform(0, math.pi))] = 2
    r_s = math.sqrt(small_area * n / math.pi)
    grown = ndimage.binary_dilation(lab > 0, iterations=max(1, int(r_s) + 2))
    for _ in range(n_small):
        for _try in range(20):
            sy, sx = rng.uniform(r_s + 1, size - r_s - 1, 2)
            m = _ellipse(size, size, sy, sx, small_area * n, 1.0, 0.0)
            if not (m & grown).any():
                break
        m &= lab == 0
        lab[m] = 1
        grown |= ndimage.binary_dilation(m, iterations=max(1, int(r_s) + 2))
    return lab


def render(labels: np.ndarray, rng: np.random.Generator, contrast: float, blur: float, noise: float) -> np.ndarray:
    r"""Image from label maps ``(B, H, W)``: :math:`x = G_\sigma * (c\,\mathbb 1[\ell > 0]) + \nu\,\epsilon`,
    :math:`\epsilon \sim \mathcal N(0, 1)` per pixel (blur only over the image axes)."""
    img = contrast * (labels > 0).astype(np.float32)
    if blur > 0:
        img = ndimage.gaussian_filter(img, sigma=(0, blur, blur))
    return (img + noise * rng.standard_normal(img.shape).astype(np.float32)).astype(np.float32)


def render_batch(rng: np.random.Generator, cfg: TrainConfig, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` synthetic (image, label map) pairs of the network mode, from ``rng``."""
    labs = np.stack([random_labels(rng, cfg.size, cfg.small_area, cfg.large_area, cfg.n_small, cfg.n_large)
                     for _ in range(n)])
    return render(labs, rng, cfg.contrast, cfg.blur, cfg.noise), labs


def class_masks(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class foreground masks and the background pixels charged to each class.

    Returns ``fg`` and ``near``, both ``(3, B, H, W)`` bool in the order of :data:`CLASSES`: ``fg[0]``
    is every object pixel, ``fg[1]``/``fg[2]`` the small/large ones; ``near[k]`` the background pixels
    whose nearest object pixel (Euclidean, SciPy EDT) belongs to class k (``near[0]``: all
    background). With no object of a class its ``near`` is empty.
    """
    labels = np.asarray(labels)
    fg = np.stack([labels > 0, labels == 1, labels == 2])
    bg = labels == 0
    near = np.zeros_like(fg)
    near[0] = bg
    for b in range(labels.shape[0]):
        if not (labels[b] > 0).any():
            continue
        _, idx = ndimage.distance_transform_edt(bg[b], return_indices=True)
        nearest = labels[b][idx[0], idx[1]]
        near[1, b] = bg[b] & (nearest == 1)
        near[2, b] = bg[b] & (nearest == 2)
    return fg, near


# ------------------------------------------------------------------------------------------ network
class TinyNet(nn.Module):
    r"""A small fully convolutional network (7 488 parameters at ``width=16``).

    Space-to-depth by 4 (``pixel_unshuffle``: an exact, parameter-free 4×4 stride-4 reshaping), three
    3×3 convolutions with dilations 1, 2, 4 and ReLU at 1/4 resolution (receptive field 60 px), a
    1×1 head over the features and the unshuffled input (a skip that keeps full-resolution detail),
    and depth-to-space back (``pixel_shuffle``). Cheap on a CPU: all convolutions run on 1/16 of the
    pixels with 16 channels, which is what lets 6 networks × 16 images of 64×64 train 300 steps
    in seconds. Output: logits ``(B, 1, H, W)``; H and W multiples of 4.
    """

    def __init__(self, width: int = 16, r: int = 4):
        super().__init__()
        self.r = r
        c = r * r
        self.c1 = nn.Conv2d(c, width, 3, padding=1)
        self.c2 = nn.Conv2d(width, width, 3, padding=2, dilation=2)
        self.c3 = nn.Conv2d(width, width, 3, padding=4, dilation=4)
        self.head = nn.Conv2d(width + c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = F.pixel_unshuffle(x, self.r)
        a = F.relu(self.c1(u))
        a = F.relu(self.c2(a))
        a = F.relu(self.c3(a))
        return F.pixel_shuffle(self.head(torch.cat([a, u], 1)), self.r)


def init_net(seed: int, dtype: torch.dtype, device: torch.device) -> TinyNet:
    """The seeded start shared by every run: He (Kaiming) normal weights, zero biases."""
    g = torch.Generator().manual_seed(int(seed))
    net = TinyNet()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * math.sqrt(2.0 / fan_in))
                m.bias.zero_()
    return net.to(device=device, dtype=dtype)


# ------------------------------------------------------------------------------------------ result
@dataclass
class TrainResult:
    """What a training run recorded.

    ``curves``: one row per run, step (0 = the start) and object class (``all``; plus ``small`` and
    ``large`` where such objects exist) with ``value, dice, iou, fp, fn, grad_l2`` — rows stop at a
    diverged run's last finite step. ``frames``: ``(F, R, V, H, W)`` uint8 probabilities and ``hard``
    the same shape bool (V = 1 image in free mode, the held-out images in network mode) at
    ``frame_steps``. ``labels``: ``(V, H, W)`` label maps of the shown images, ``images`` their
    input images (network mode). ``diverged``: label -> (step, reason).
    """

    config: TrainConfig
    curves: pd.DataFrame
    frame_steps: list[int]
    frames: np.ndarray
    hard: np.ndarray
    labels: np.ndarray
    images: np.ndarray | None
    diverged: dict[str, tuple[int, str]]
    device: str
    seconds: float
    n_params: int

    @property
    def run_labels(self) -> list[str]:
        return [r.label for r in self.config.runs]

    def summary(self) -> pd.DataFrame:
        """Per run: steps to hard Dice ≥ 0.9, final Dice/IoU/FP/FN/loss, small- and large-object
        recall TP/(TP+FN) (NaN where there is no such object) and the step it diverged at."""
        rows = []
        for r in self.config.runs:
            d = self.curves[self.curves.loss == r.label]
            a = d[d.object == "all"].sort_values("step")
            hit = a[a.dice >= 0.9]
            last = a.iloc[-1]
            row = {"loss": r.label, "key": r.key,
                   "steps_to_dice_0.9": int(hit.step.iloc[0]) if len(hit) else None,
                   "final_step": int(last.step), "final_dice": float(last.dice), "final_iou": float(last.iou),
                   "final_fp": int(last.fp), "final_fn": int(last.fn), "final_value": float(last.value)}
            for obj in ("small", "large"):
                o = d[(d.object == obj) & (d.step == last.step)]
                if len(o) and o.n_fg.iloc[0] > 0:
                    row[f"{obj}_recall"] = float(1 - o.fn.iloc[0] / o.n_fg.iloc[0])
                else:
                    row[f"{obj}_recall"] = None
            dv = self.diverged.get(r.label)
            row["diverged_at"] = dv[0] if dv else None
            row["diverged_reason"] = dv[1] if dv else ""
            rows.append(row)
        return pd.DataFrame(rows)

    def curves_csv(self) -> pd.DataFrame:
        """The CSV of the curves: ``loss, step, value, dice, iou, fp, fn, grad_l2`` (+ ``object`` in
        network mode, where rows for the small and large objects come beside ``all``)."""
        cols = ["loss", "step", "value", "dice", "iou", "fp", "fn", "grad_l2"]
        if self.config.mode == "net":
            return self.curves[["loss", "object"] + cols[1:]].reset_index(drop=True)
        return self.curves[self.curves.object == "all"][cols].reset_index(drop=True)


# ------------------------------------------------------------------------------------------ metrics
def _counts(hard: torch.Tensor, fg: torch.Tensor, near: torch.Tensor) -> torch.Tensor:
    """``(R, V, H, W)`` bool predictions against ``(K, V, H, W)`` class masks -> ``(R, K, 3)`` counts
    (TP, FP, FN) summed over the V images."""
    h = hard.to(torch.float32).flatten(1)  # (R, VHW); float32 sums of 0/1 are exact below 2**24 pixels
    f = fg.to(torch.float32).flatten(1)  # (K, VHW)
    n = near.to(torch.float32).flatten(1)
    tp = h @ f.T
    fp = h @ n.T
    fn = f.sum(1)[None] - tp
    return torch.stack([tp, fp, fn], -1).round().to(torch.int64)


def _scores(c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    tp, fp, fn = c.unbind(-1)
    den_d = 2 * tp + fp + fn
    den_i = tp + fp + fn
    dice = torch.where(den_d > 0, 2 * tp / den_d.clamp_min(1), torch.ones_like(tp))
    iou = torch.where(den_i > 0, tp / den_i.clamp_min(1), torch.ones_like(tp))
    return dice, iou


# ------------------------------------------------------------------------------------------ loss groups
def _groups(runs: Sequence[Run]) -> list[tuple[str, list[int], dict[str, Any]]]:
    """Runs grouped by loss key and non-numeric parameters; numeric parameters that differ inside a
    group become per-run lists (turned into per-sample tensors at call time)."""
    out: dict[tuple, tuple[str, list[int], list[dict]]] = {}
    for i, r in enumerate(runs):
        spec = get(r.key)
        kw = r.kwargs
        fixed = tuple(sorted((p.name, kw[p.name]) for p in spec.params
                             if not p.numeric or kw[p.name] is None))
        if kw.get("reduction") not in (None, "sample", "classes"):
            # reduction="batch" pools the counts over the samples of a call: such a run gets its own
            # call, over its own images only (network mode: pooled over its batch, as intended)
            fixed += (("__run__", i),)
        out.setdefault((r.key, fixed), (r.key, [], []))
        out[(r.key, fixed)][1].append(i)
        out[(r.key, fixed)][2].append(kw)
    groups = []
    for key, idx, kws in out.values():
        merged: dict[str, Any] = {}
        for name in kws[0]:
            vals = [k[name] for k in kws]
            merged[name] = vals[0] if all(v == vals[0] for v in vals) else vals
        groups.append((key, idx, merged))
    return groups


def _call_group(key: str, kw: dict[str, Any], logits: torch.Tensor, target: torch.Tensor,
                maps: TargetMaps | None, per_run: int) -> torch.Tensor:
    """One loss call over the stacked runs of a group: ``logits`` ``(G·per_run, 1, H, W)``;
    per-run parameter lists become ``(G·per_run,)`` tensors."""
    spec = get(key)
    args = {}
    for name, v in kw.items():
        if isinstance(v, list):
            args[name] = torch.as_tensor(v, dtype=logits.dtype, device=logits.device).repeat_interleave(per_run)
        else:
            args[name] = v
    if spec.needs_maps:
        args["maps"] = maps
    return spec.fn(logits, target, **args)


# ------------------------------------------------------------------------------------------ training
def _optimizer(cfg: TrainConfig, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr)
    return torch.optim.Adam(params, lr=cfg.lr)


def _free_start(cfg: TrainConfig, gt: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """Start logits ``(H, W)`` of the free mode."""
    from .perturb import perturb, soften

    if cfg.start == "half":
        return torch.zeros(gt.shape, dtype=dtype)
    if cfg.start == "noise":
        g = torch.Generator().manual_seed(int(cfg.seed))
        return (torch.randn(gt.shape, generator=g, dtype=torch.float64) * cfg.noise_std).to(dtype)
    n_obj = int(gt.sum())
    base = n_obj if n_obj else max(1, int(0.01 * gt.size))
    pert = perturb(gt, fn=int(round(cfg.start_fn * n_obj)), fp=int(round(cfg.start_fp * base)),
                   fn_mode="boundary", fp_mode="blobs", seed=cfg.seed)
    p = soften(pert.mask, confidence=cfg.confidence)
    return torch.logit(torch.as_tensor(p, dtype=torch.float64)).to(dtype)


def train(cfg: TrainConfig, progress: Callable[[float, str], None] | None = None) -> TrainResult:
    """Train every run of ``cfg`` from the same start, all at once; see the module docstring."""
    from .sweep import device_label, pick_device

    cfg.validate()
    dev = pick_device(cfg.device)
    dtype = torch.float64 if cfg.dtype == "float64" else torch.float32
    t0 = time.perf_counter()
    runs = cfg.runs
    R = len(runs)
    groups = _groups(runs)
    any_maps = any(get(r.key).needs_maps for r in runs)
    snap_steps = cfg.snapshot_steps()
    snap_index = {s: i for i, s in enumerate(snap_steps)}

    # ---- data, start, parameters
    if cfg.mode == "free":
        lab = object_labels(cfg.size, cfg.object, cfg.small_area, cfg.large_area)[None]
        eval_labels = lab
        images = None
        target = torch.as_tensor(lab > 0, dtype=dtype, device=dev)[:, None]  # (1, 1, H, W)
        maps = TargetMaps(target) if any_maps else None
        z = _free_start(cfg, lab[0] > 0, dtype).to(dev)
        Z = z.expand(R, 1, *z.shape).clone().requires_grad_(True)  # (R, 1, H, W): one leaf, all runs
        params = {"logits": Z}
        n_params = z.numel()
    else:
        from torch.func import functional_call, stack_module_state, vmap

        ev_rng = np.random.default_rng([cfg.seed, 1])
        images, eval_labels = render_batch(ev_rng, cfg, cfg.n_eval)
        x_eval = torch.as_tensor(images, dtype=dtype, device=dev)[:, None]
        net = init_net(cfg.seed, dtype, dev)
        n_params = sum(p.numel() for p in net.parameters())
        params, buffers = stack_module_state([net] * R)
        params = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
        base = init_net(cfg.seed, dtype, torch.device("meta"))

        def one(p, b, x):
            return functional_call(base, (p, b), (x,))

        forward = vmap(one, in_dims=(0, 0, None))  # (R, B, 1, H, W): every network on the same batch
        tr_rng = np.random.default_rng([cfg.seed, 0])

    fg_np, near_np = class_masks(eval_labels)
    present = [k for k, c in enumerate(CLASSES) if k == 0 or fg_np[k].any()]
    fg = torch.as_tensor(fg_np, device=dev)
    near = torch.as_tensor(near_np, device=dev)
    n_fg = fg_np.reshape(3, -1).sum(1)

    plist = list(params.values())
    opt = _optimizer(cfg, plist)
    alive = np.ones(R, bool)
    diverged: dict[str, tuple[int, str]] = {}
    V = eval_labels.shape[0]
    H = W = cfg.size
    frames = np.zeros((len(snap_steps), R, V, H, W), np.uint8)
    hard_frames = np.zeros((len(snap_steps), R, V, H, W), bool)
    rec_step, rec_run, rec_val, rec_gn, rec_counts = [], [], [], [], []

    for step in range(cfg.steps + 1):
        # ---- forward: every run, one call per loss group
        if cfg.mode == "free":
            logits_all = Z
            per = 1
            tgt = target
            batch_maps = maps
        else:
            xb, lb = render_batch(tr_rng, cfg, cfg.batch)
            x = torch.as_tensor(xb, dtype=dtype, device=dev)[:, None]
            tb = torch.as_tensor(lb > 0, dtype=dtype, device=dev)[:, None]
            out = forward(params, buffers, x)  # (R, B, 1, H, W)
            logits_all = out.reshape(R * cfg.batch, 1, H, W)
            per = cfg.batch
        values = torch.zeros(R, dtype=dtype, device=dev)
        pieces = []
        for key, idx, kw in groups:
            rows = torch.as_tensor(idx, device=dev)
            if cfg.mode == "free":
                zl = logits_all[rows]
                gt_g, maps_g = tgt, batch_maps
            else:
                zl = logits_all.reshape(R, cfg.batch, 1, H, W)[rows].reshape(len(idx) * per, 1, H, W)
                gt_g = tb.repeat(len(idx), 1, 1, 1)
                maps_g = TargetMaps(gt_g) if get(key).needs_maps else None
            v = _call_group(key, kw, zl, gt_g, maps_g, per).reshape(len(idx), per).mean(1)
            pieces.append((rows, v))
        for rows, v in pieces:
            values = values.index_put((rows,), v)
        finite_v = torch.isfinite(values)
        total = torch.where(finite_v & torch.as_tensor(alive, device=dev), values, torch.zeros_like(values)).sum()
        grads = torch.autograd.grad(total, plist, allow_unused=True) if total.requires_grad else [None] * len(plist)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(plist, grads)]
        gsq = sum(g.reshape(R, -1).pow(2).sum(1) for g in grads)
        gnorm = gsq.sqrt()

        # ---- divergence: a NaN/Inf loss or gradient stops that run here
        vals_np = values.detach().double().cpu().numpy()
        gn_np = gnorm.detach().double().cpu().numpy()
        for i in np.flatnonzero(alive & ~(np.isfinite(vals_np) & np.isfinite(gn_np))):
            alive[i] = False
            diverged[runs[i].label] = (step, "loss is " + ("NaN" if math.isnan(vals_np[i]) else "Inf") if
                                       not math.isfinite(vals_np[i]) else "gradient is not finite")

        # ---- metrics on the current parameters (free: the logits; net: the held-out images)
        with torch.no_grad():
            if cfg.mode == "free":
                ev_logits = Z.detach().reshape(R, 1, H, W)
            else:
                ev_logits = forward({k: v.detach() for k, v in params.items()}, buffers, x_eval).reshape(R, V, H, W)
            hard = ev_logits > 0  # p > 0.5
            counts = _counts(hard, fg, near)  # (R, K, 3)
        live = np.flatnonzero(alive)
        rec_step.append(np.full(len(live), step))
        rec_run.append(live)
        rec_val.append(vals_np[live])
        rec_gn.append(gn_np[live])
        rec_counts.append(counts.cpu().numpy()[live])
        if step in snap_index:
            s = snap_index[step]
            prob = torch.sigmoid(ev_logits.detach().double())
            frames[s] = torch.floor(prob * 255 + 0.5).to(torch.uint8).cpu().numpy()
            hard_frames[s] = hard.cpu().numpy()
        if step == cfg.steps:
            break

        # ---- one optimizer step for every run; stopped runs are put back
        before = [p.detach().clone() for p in plist]  # to put back a run that stops at this step
        dead = torch.as_tensor(~alive, device=dev)
        for p, g in zip(plist, grads):
            p.grad = torch.where(dead.reshape((R,) + (1,) * (g.ndim - 1)), torch.zeros_like(g), g)
        opt.step()
        opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            bad = torch.zeros(R, dtype=torch.bool, device=dev)
            for p in plist:
                bad |= ~torch.isfinite(p.reshape(R, -1)).all(1)
            for i in np.flatnonzero(bad.cpu().numpy() & alive):
                alive[i] = False
                diverged[runs[i].label] = (step + 1, "parameters became non-finite")
            dead = torch.as_tensor(~alive, device=dev)
            if dead.any():
                for p, b in zip(plist, before):
                    p.copy_(torch.where(dead.reshape((R,) + (1,) * (p.ndim - 1)), b, p))
        if progress is not None and (step % max(1, cfg.steps // 50) == 0):
            progress((step + 1) / cfg.steps, f"step {step + 1} of {cfg.steps}")

    # ---- tables
    step_a = np.concatenate(rec_step)
    run_a = np.concatenate(rec_run)
    val_a = np.concatenate(rec_val)
    gn_a = np.concatenate(rec_gn)
    cnt = np.concatenate(rec_counts)  # (rows, K, 3)
    dice, iou = (t.numpy() for t in _scores(torch.as_tensor(cnt, dtype=torch.float64)))
    labels = np.array([r.label for r in runs])
    parts = []
    for k in present:
        parts.append(pd.DataFrame({
            "loss": labels[run_a], "object": CLASSES[k], "step": step_a, "value": val_a,
            "dice": dice[:, k], "iou": iou[:, k], "tp": cnt[:, k, 0].astype(np.int64),
            "fp": cnt[:, k, 1].astype(np.int64), "fn": cnt[:, k, 2].astype(np.int64), "grad_l2": gn_a,
            "n_fg": int(n_fg[k])}))
    curves = pd.DataFrame(pd.concat(parts, ignore_index=True))
    curves["run"] = curves["loss"].map({r.label: i for i, r in enumerate(runs)})
    curves = curves.sort_values(["run", "object", "step"], key=lambda s: s.map(
        {c: i for i, c in enumerate(CLASSES)}) if s.name == "object" else s).drop(columns="run").reset_index(drop=True)
    if progress is not None:
        progress(1.0, "done")
    return TrainResult(config=cfg, curves=curves, frame_steps=snap_steps, frames=frames, hard=hard_frames,
                       labels=eval_labels, images=images, diverged=diverged, device=device_label(dev),
                       seconds=time.perf_counter() - t0, n_params=int(n_params))


# ------------------------------------------------------------------------------------------ exports
OVERLAY_RGB = np.array([(0xEE, 0xEE, 0xEE), (0x00, 0x9E, 0x73), (0xD5, 0x5E, 0x00), (0x00, 0x72, 0xB2)], np.uint8)


def overlay_rgb(gt: np.ndarray, hard: np.ndarray) -> np.ndarray:
    """TN/TP/FP/FN colours of the app (Okabe-Ito: light grey, bluish green, vermillion, blue)."""
    gt = np.asarray(gt, bool)
    hard = np.asarray(hard, bool)
    cls = np.zeros(gt.shape, np.uint8)
    cls[gt & hard], cls[~gt & hard], cls[gt & ~hard] = 1, 2, 3
    return OVERLAY_RGB[cls]


def panel_strip(res: TrainResult, frame: int, image: int = 0, scale: int | None = None) -> np.ndarray:
    """RGB strip of one frame: one overlay panel per run side by side, 4 px white gaps."""
    gt = res.labels[image] > 0
    panels = [overlay_rgb(gt, res.hard[frame, r, image]) for r in range(len(res.config.runs))]
    h = panels[0].shape[0]
    scale = scale or max(1, 128 // h)
    gap = np.full((h, 4, 3), 255, np.uint8)
    strip = np.concatenate([x for p in panels for x in (p, gap)][:-1], 1)
    return np.kron(strip, np.ones((scale, scale, 1), np.uint8)) if scale > 1 else strip


def gif_bytes(res: TrainResult, image: int = 0, duration_ms: int = 120) -> bytes:
    """Animated GIF (Pillow) of the overlay panels over the snapshots, with the step written in."""
    import io

    from PIL import Image, ImageDraw

    ims = []
    side = res.labels.shape[-1] * max(1, 128 // res.labels.shape[-1])  # panel width, as panel_strip scales
    for f, step in enumerate(res.frame_steps):
        strip = panel_strip(res, f, image)
        canvas = np.full((strip.shape[0] + 32, strip.shape[1], 3), 255, np.uint8)
        canvas[32:] = strip
        im = Image.fromarray(canvas)
        draw = ImageDraw.Draw(im)
        draw.text((4, 2), f"step {step}", fill=(0, 0, 0))
        for r, lab in enumerate(res.run_labels):  # each loss's name above its panel
            dv = res.diverged.get(lab)
            txt = lab if not (dv and dv[0] <= step) else f"{lab}: diverged"
            draw.text((r * (side + 4) + 2, 17), txt[: max(4, side // 6)], fill=(0, 0, 0))
        ims.append(im.convert("P", palette=Image.Palette.ADAPTIVE, colors=16))
    buf = io.BytesIO()
    ims[0].save(buf, format="GIF", save_all=True, append_images=ims[1:], duration=duration_ms, loop=0)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------ bench
def bench_train(device: str = "auto", steps: int = 300, repeat: int = 1) -> dict[str, Any]:
    """``train_free_s``: 6 losses (:data:`BENCH_LOSSES`: BCE, focal, Dice, Tversky, boundary, Dice + BCE),
    free logits, 256×256 (both objects, perturbed start), 300 Adam steps. The Lovász hinge is left
    out of this set on purpose and said so: its tie-averaged sort costs ~75 ms per 256×256
    forward/backward on the 2-core machine, more than the other six together.
    ``train_net_s``: the same 6 losses, tiny network, 64×64, batch 16, 300 steps (held-out metrics
    every step included). Best of ``repeat``; a 3-step warm-up first."""
    runs = runs_from(BENCH_LOSSES)
    free = TrainConfig(runs=runs, mode="free", object="both", size=256, start="perturbed", steps=steps, device=device)
    net = TrainConfig(runs=runs, mode="net", size=64, batch=16, steps=steps, lr=0.01, device=device)
    import os

    out: dict[str, Any] = {"train_losses": ",".join(BENCH_LOSSES), "train_load_before": round(os.getloadavg()[0], 2)}
    for name, cfg in (("train_free_s", free), ("train_net_s", net)):
        train(TrainConfig(**{**asdict(cfg), "runs": cfg.runs, "steps": 3}))
        best, best_cpu = float("inf"), float("inf")
        for _ in range(repeat):
            c0 = time.process_time()
            res = train(cfg)
            best = min(best, res.seconds)
            best_cpu = min(best_cpu, time.process_time() - c0)
        out[name] = round(best, 3)
        # CPU seconds of this process (all its threads): less sensitive than the wall time to other
        # processes sharing the cores, which the 1-minute load average beside it tells
        out[name.replace("_s", "_cpu_s")] = round(best_cpu, 3)
        out["train_device"] = res.device
    out["train_load_after"] = round(os.getloadavg()[0], 2)
    return out


def config_json(cfg: TrainConfig) -> str:
    return json.dumps(cfg.to_json(), indent=2, default=str)
