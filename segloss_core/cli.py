"""Command line: ``python -m segloss_core {eval,reproduce,bench,train,vessels} ...``.

Every failure the user can cause (missing or unreadable file, mismatched shapes, values outside
[0, 1], NaN, unknown loss or parameter, value outside a parameter's range) ends with exit status 2
and one line on stderr starting with ``error:``; never a traceback.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np


class UsageError(ValueError):
    """An input problem to report in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like every other input error
        raise UsageError(message)


def _confidence(text: str) -> float:
    try:
        c = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"confidence must be a number; got {text!r}") from None
    if not (0.5 < c <= 1.0):
        raise argparse.ArgumentTypeError(f"confidence must be in (0.5, 1] (1 = hard 0/1 predictions); got {text}")
    return c


def _read_gt(path: str) -> np.ndarray:
    from .mask_files import load_mask
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"ground truth file not found: {path}")
    return load_mask(p)


def _read_pred(path: str, confidence: float) -> np.ndarray:
    """A float ``.npy`` is a probability map used as is; anything else is a hard mask softened
    with ``confidence``. The file goes through the same checked loaders as the ground truth: its
    size is checked before it is read, and a ``.npy`` header's shape and dtype before any array is
    allocated (the dtype decides between the two readings)."""
    from .mask_files import MaskLoadError, load_mask, load_probabilities, npy_header
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"prediction file not found: {path}")
    limit = 20 * 1024 * 1024
    size = p.stat().st_size
    if size > limit:
        raise UsageError(f"{p.name} is {size / 2**20:.1f} MiB; the limit is {limit / 2**20:.1f} MiB")
    with open(p, "rb") as fh:
        head = fh.read(65536)
    if head.startswith(b"\x93NUMPY"):
        try:
            _, dtype, _ = npy_header(head, p.name)
        except MaskLoadError:
            dtype = None  # the full loader below gives the one-line reason
        if dtype is not None and dtype.kind == "f":
            return load_probabilities(p)
    hard = load_mask(p)
    return np.where(hard, confidence, 1.0 - confidence)


def _json_float(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def evaluate_pair(gt: np.ndarray, prob: np.ndarray, keys: list[str],
                  params: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Values, gradient L2 norms (w.r.t. logits) and hard metrics for one pair, in float64."""
    import torch

    from .gradients import loss_gradients
    from .metrics import counts, hard_metrics
    from .tensors import logits_from_probs

    if gt.shape != prob.shape:
        raise UsageError(f"ground truth is {gt.shape[0]}x{gt.shape[1]} but prediction is {prob.shape[0]}x{prob.shape[1]}")
    target = torch.as_tensor(gt, dtype=torch.float64)[None, None]
    logits = logits_from_probs(torch.as_tensor(prob, dtype=torch.float64)[None, None])
    rep = loss_gradients(logits, target, keys, params)
    return {
        "losses": {k: {"value": _json_float(r.value.item()), "grad_l2": _json_float(r.l2.item())}
                   for k, r in rep.losses.items()},
        "metrics": {k: _json_float(v) for k, v in hard_metrics(gt, prob > 0.5).items()},
        "counts": counts(gt, prob > 0.5),
    }


def _loss_settings(args: argparse.Namespace, keys: list[str]):
    """``(keys, params, preset)`` from ``--preset`` and ``--set KEY.PARAM=VALUE`` (the preset's loss
    joins the keys, or replaces the defaults when ``--losses`` is not given; ``--set`` wins)."""
    from .registry import parse_setting
    params: dict[str, dict[str, Any]] = {}
    preset = None
    if getattr(args, "preset", None) is not None:
        from .conventions import get_preset
        preset = get_preset(args.preset)
        if args.losses is None:
            keys = [preset.key]
        elif preset.key not in keys:
            keys = keys + [preset.key]
        params[preset.key] = dict(preset.params)
    for s in args.set or []:
        key, name, value = parse_setting(s)
        params.setdefault(key, {})[name] = value
    return keys, params, preset


def cmd_eval(args: argparse.Namespace) -> int:
    from .registry import parse_keys

    keys = parse_keys(args.losses)
    keys = list(dict.fromkeys(keys))
    if args.losses is not None and not keys:
        raise UsageError(f"--losses names no loss ({args.losses!r}); give comma-separated keys, e.g. dice,focal")
    keys, params, preset = _loss_settings(args, keys)
    gt = _read_gt(args.gt)
    prob = _read_pred(args.pred, args.confidence)
    result = evaluate_pair(gt, prob, keys, params)
    if preset is not None:
        result["preset"] = {"name": preset.name, "key": preset.key, "params": params[preset.key],
                            "library": preset.library, "call": preset.call}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{'loss':<26}{'value':>14}{'grad L2':>14}")
        for k, r in result["losses"].items():
            print(f"{k:<26}{r['value']:>14.6g}{r['grad_l2']:>14.6g}")
        print()
        for k, v in result["metrics"].items():
            print(f"{k:<26}{'n/a' if v is None else format(v, '.6g'):>14}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m segloss_core", description="Segmentation losses, their gradients and sweeps.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ev = sub.add_parser("eval", help="every loss and metric for one ground truth / prediction pair")
    ev.add_argument("--gt", required=True, help="PNG (non-zero = foreground) or .npy (bool or 0/1)")
    ev.add_argument("--pred", required=True,
                    help="PNG hard mask (-> C inside, 1-C outside) or .npy probabilities in [0, 1]")
    ev.add_argument("--losses", help="comma-separated registry keys (default: all)")
    ev.add_argument("--set", action="append", metavar="KEY.PARAM=VALUE", help="override a loss parameter")
    ev.add_argument("--preset", metavar="NAME",
                    help="a library's convention (segloss_core.conventions.PRESETS, e.g. monai.DiceLoss): its loss "
                         "with its parameters; --set overrides them")
    ev.add_argument("--confidence", type=_confidence, default=0.99, help="C for hard-mask predictions (default 0.99)")
    ev.add_argument("--json", action="store_true", help="print JSON")
    ev.set_defaults(func=cmd_eval)

    rp = sub.add_parser("reproduce", help="the survey's large vs small object comparison")
    rp.add_argument("--out", required=True, help="output folder (created)")
    rp.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    rp.add_argument("--levels", type=int, default=41, help="number of error levels k = 0..K (default 41)")
    rp.add_argument("--size", type=int, default=256, help="image side in pixels (default 256)")
    rp.add_argument("--confidence", type=_confidence, default=0.99, help="soft prediction confidence c")
    rp.add_argument("--delta", type=int, default=20, help="FP and FN pixels added per level (default 20)")
    rp.add_argument("--large-radius", type=float, help="large disk radius in px (default 60, at most 0.3 x size)")
    rp.add_argument("--small-radius", type=float, default=6.0, help="small disk radius in px (default 6)")
    rp.add_argument("--protocol", choices=("boundary", "blobs", "translation"), default="boundary",
                    help="boundary: peel FN / grow FP (default); blobs: FN holes and FP blobs; translation: move the GT")
    rp.add_argument("--fp-mode", choices=("boundary", "blobs", "noise"), default="boundary",
                    help="FP pattern of the boundary protocol")
    rp.add_argument("--shift-step", type=int, default=1, help="translation: pixels moved per level (default 1)")
    rp.add_argument("--translation-grow", action="store_true", help="translation: also grow by delta FP pixels per level")
    rp.add_argument("--tolerance", type=float, default=1e-3,
                    help="monotonicity tolerance, relative to each curve's range (default 1e-3)")
    rp.add_argument("--no-robustness", action="store_true",
                    help="skip robustness.csv (3 protocols x 4 confidences x delta x 11 tolerances; ~20 s)")
    rp.set_defaults(func=cmd_reproduce)

    tr = sub.add_parser("train", help="train the losses side by side (free logits or a tiny network)")
    tr.add_argument("--out", required=True, help="output folder (created): curves.csv, summary.csv, train.gif")
    tr.add_argument("--losses", help="comma-separated registry keys (default: bce,focal,dice,tversky,boundary,dice_bce)")
    tr.add_argument("--set", action="append", metavar="KEY.PARAM=VALUE", help="override a loss parameter")
    tr.add_argument("--preset", metavar="NAME",
                    help="also train a library's convention (segloss_core.conventions.PRESETS, e.g. monai.DiceLoss)")
    tr.add_argument("--mode", choices=("free", "net"), default="free", help="free logits (default) or tiny network")
    tr.add_argument("--steps", type=int, default=300, help="optimizer steps (default 300)")
    tr.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    tr.add_argument("--size", type=int, help="image side (default 128 free, 64 net; net: a multiple of 4)")
    tr.add_argument("--object", choices=("small", "large", "both", "empty"), default="both", help="free mode's ground truth")
    tr.add_argument("--start", choices=("half", "perturbed", "noise"), default="perturbed", help="free mode's start")
    tr.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    tr.add_argument("--lr", type=float, help="learning rate (default 0.1 free, 0.01 net)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--batch", type=int, default=16, help="network mode: images per step (default 16)")
    tr.add_argument("--small-area", type=float, default=0.002, help="small object area, fraction of the image")
    tr.add_argument("--large-area", type=float, default=0.15, help="large object area, fraction of the image")
    tr.add_argument("--frames", type=int, default=40, help="snapshots kept for the GIF (default 40)")
    tr.set_defaults(func=cmd_train)

    tp = sub.add_parser("table", help="print the README's table of losses (from the registry)")
    tp.set_defaults(func=cmd_table)

    bp = sub.add_parser("bench", help="time the sweep engine against the naive path")
    bp.add_argument("--quick", action="store_true", help="11 levels instead of 41")
    bp.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    bp.add_argument("--json", action="store_true", help="print JSON")
    bp.set_defaults(func=cmd_bench)
    _add_vessels_parser(sub)
    return parser


def _progress(label: str, width: int):
    """A ``progress(fraction, what)`` callback printing one updating stderr line every 5 %."""
    last = [-1]

    def progress(frac: float, what: str) -> None:
        pct = int(frac * 100)
        if pct // 5 != last[0] // 5:
            print(f"\r  {label}: {what:<{width}} {pct:3d}%", end="", file=sys.stderr, flush=True)
            last[0] = pct
    return progress


def cmd_reproduce(args: argparse.Namespace) -> int:
    from .figures import robustness_heatmap, survey_figure
    from .robustness import Grid, run_robustness, setting_label, statements
    from .survey import SurveyConfig, agreement_text, run_survey, summary_table

    large = args.large_radius if args.large_radius is not None else min(60.0, 0.3 * args.size)
    cfg = SurveyConfig(size=args.size, levels=args.levels, confidence=args.confidence, delta=args.delta,
                       fp_mode=args.fp_mode, tolerance=args.tolerance, large_radius=large,
                       small_radius=args.small_radius, protocol=args.protocol, shift_step=args.shift_step,
                       translation_grow=args.translation_grow).validate()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = run_survey(cfg, device=args.device, progress=_progress("computing", 40))
    print(file=sys.stderr)
    res.curves[["object", "level", "fp", "fn", "loss", "value", "value_norm", "grad_l2"]].to_csv(out / "curves.csv", index=False)
    v = res.verdicts[["object", "loss", "monotone", "violations", "kendall_tau", "survey_says", "verdict",
                      "min_step_rel", "flip_tolerance"]].copy()
    v["monotone"] = v["monotone"].map({True: "true", False: "false"})
    v.to_csv(out / "verdicts.csv", index=False)
    res.verdicts.to_csv(out / "verdicts_explained.csv", index=False)
    rob = None
    if not args.no_robustness:
        rob = run_robustness(Grid(base=cfg), device=args.device, progress=_progress("computing", 40))
        print(file=sys.stderr)
        rob.table[["protocol", "confidence", "delta", "tolerance", "object", "loss", "verdict", "survey_says",
                   "agrees"]].to_csv(out / "robustness.csv", index=False)
        rob.intervals.to_csv(out / "robustness_intervals.csv", index=False)
    fig = survey_figure(res.curves, res.verdicts, res.masks)
    words = [agreement_text(res)] + (statements(rob) if rob is not None else [])
    rfig = None
    if rob is not None:
        labels = {(r.protocol, r.delta, r.confidence): setting_label(r.protocol, r.confidence, r.delta)
                  for r in rob.intervals.itertuples()}
        rfig = robustness_heatmap(rob.table, labels)
    _write_html(out / "survey.html", fig, rfig, cfg, words)
    png_note = _write_png(fig, out / "survey.png")
    print(f"Survey reproduction on {res.device}: image {cfg.size}x{cfg.size}, protocol {cfg.protocol}: {cfg.describe()}")
    print(summary_table(res))
    print()
    print(agreement_text(res))
    if rob is not None:
        print()
        print("Robustness (which conclusions hold, and where they depend on a threshold):")
        for line in statements(rob):
            print(f"- {line}")
    print()
    print(f"wrote {out / 'curves.csv'}, {out / 'verdicts.csv'}"
          + (f", {out / 'robustness.csv'}" if rob is not None else "") + f", {out / 'survey.html'}" + png_note)
    return 0


def _write_html(path: Path, fig, rfig, cfg, words: list[str]) -> None:
    """survey.html: the figures (plotly.js embedded, opens offline) and the conclusions in plain words."""
    import html

    paras = "".join(f"<li>{html.escape(w)}</li>" for block in words for w in block.split("\n") if w.strip())
    body = (f"<h1>Survey reproduction: loss vs error, large vs small object</h1>"
            f"<p>{html.escape('Protocol ' + cfg.protocol + ': ' + cfg.describe())}; tolerance {cfg.tolerance:g}.</p>"
            f"<h2>What is measured, and which conclusions depend on a threshold</h2><ul>{paras}</ul>"
            + fig.to_html(full_html=False, include_plotlyjs=True)
            + (rfig.to_html(full_html=False, include_plotlyjs=False) if rfig is not None else ""))
    path.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>SegLoss Lab survey</title>"
                    f"<style>body{{font-family:sans-serif;max-width:1440px;margin:auto}} li{{margin:4px 0}}</style>"
                    f"</head><body>{body}</body></html>", encoding="utf-8")


def _write_png(fig, path: Path) -> str:
    try:
        fig.write_image(path, width=fig.layout.width or 1400, height=fig.layout.height or 1500)
        return f", {path}"
    except Exception as e:  # kaleido needs a Chromium; say so instead of failing the run
        print(f"warning: could not write {path.name} ({type(e).__name__}: {str(e).splitlines()[0][:120]}); "
              "install Debian's chromium for PNG export", file=sys.stderr)
        return ""


def cmd_train(args: argparse.Namespace) -> int:
    from .registry import parse_keys
    from .train import BENCH_LOSSES, TrainConfig, gif_bytes, runs_from, train

    keys = list(dict.fromkeys(parse_keys(args.losses))) if args.losses is not None else list(BENCH_LOSSES)
    if not keys:
        raise UsageError(f"--losses names no loss ({args.losses!r}); give comma-separated keys, e.g. dice,focal")
    keys, params, preset = _loss_settings(args, keys)
    net = args.mode == "net"
    cfg = TrainConfig(runs=runs_from(keys, params), mode=args.mode, object=args.object,
                      size=args.size if args.size is not None else (64 if net else 128), start=args.start,
                      optimizer=args.optimizer, lr=args.lr if args.lr is not None else (0.01 if net else 0.1),
                      steps=args.steps, seed=args.seed, batch=args.batch, small_area=args.small_area,
                      large_area=args.large_area, frames=args.frames, device=args.device).validate()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = train(cfg, progress=_progress("training", 30))
    print(file=sys.stderr)
    res.curves_csv().to_csv(out / "curves.csv", index=False)
    summary = res.summary()
    summary.to_csv(out / "summary.csv", index=False)
    (out / "train.gif").write_bytes(gif_bytes(res))
    print(f"Trained {len(keys)} losses ({cfg.mode} mode, {cfg.size}x{cfg.size}, {cfg.steps} steps) on {res.device} "
          f"in {res.seconds:.2f} s")
    print(summary[["loss", "steps_to_dice_0.9", "final_dice", "final_fp", "final_fn", "small_recall",
                   "diverged_at"]].to_string(index=False))
    print(f"wrote {out / 'curves.csv'}, {out / 'summary.csv'}, {out / 'train.gif'}")
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    from .registry import markdown_table

    print(markdown_table())
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    res = run_bench(quick=args.quick, device=args.device)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        for k, v in res.items():
            print(f"{k:<24}{v}")
    return 0


def _add_vessels_parser(sub) -> None:
    vp = sub.add_parser("vessels", help="thin structures: which losses notice one-pixel gaps in a vessel tree")
    vp.add_argument("--out", required=True, help="output folder (created): vessel_levels.csv, vessel_curves.csv, "
                                                 "vessel_verdicts.csv, vessel_summary.txt")
    vp.add_argument("--size", type=int, default=128, help="image side in pixels, 64..512 (default 128)")
    vp.add_argument("--levels", type=int, default=13, help="gap levels k = 0..K-1 (default 13, at most 41)")
    vp.add_argument("--width", type=int, default=1, help="gap width in pixels, 1..5 (default 1)")
    vp.add_argument("--seed", type=int, default=0, help="tree jitter and gap order (default 0)")
    vp.add_argument("--confidence", type=_confidence, default=0.99, help="soft prediction confidence c (default 0.99)")
    vp.add_argument("--losses", help="comma-separated registry keys (default: all)")
    vp.add_argument("--set", action="append", metavar="KEY.PARAM=VALUE", help="override a loss parameter")
    vp.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    vp.set_defaults(func=cmd_vessels)


def cmd_vessels(args: argparse.Namespace) -> int:
    from .registry import parse_keys, parse_setting
    from .vessel_study import vessel_sweep

    if not 64 <= args.size <= 512:
        raise UsageError(f"--size must be in [64, 512]; got {args.size}")
    if not 2 <= args.levels <= 41:
        raise UsageError(f"--levels must be in [2, 41]; got {args.levels}")
    if not 1 <= args.width <= 5:
        raise UsageError(f"--width must be in [1, 5]; got {args.width}")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0; got {args.seed}")
    keys = list(dict.fromkeys(parse_keys(args.losses)))
    if not keys:
        raise UsageError(f"--losses names no loss ({args.losses!r}); give comma-separated keys, e.g. dice,cldice")
    params: dict[str, dict[str, Any]] = {}
    for s in args.set or []:
        key, name, value = parse_setting(s)
        params.setdefault(key, {})[name] = value
    res = vessel_sweep(size=args.size, levels=args.levels, width=args.width, seed=args.seed,
                       confidence=args.confidence, keys=keys, params=params, device=args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res.levels.to_csv(out / "vessel_levels.csv", index=False)
    res.curves.to_csv(out / "vessel_curves.csv", index=False)
    res.verdicts.to_csv(out / "vessel_verdicts.csv", index=False)
    text = res.summary()
    (out / "vessel_summary.txt").write_text(text + "\n" + "".join(m + "\n" for m in res.messages))
    for m in res.messages:
        print(f"note: {m}", file=sys.stderr)
    print(text)
    print(f"wrote vessel_levels.csv, vessel_curves.csv, vessel_verdicts.csv, vessel_summary.txt to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except SystemExit as e:  # --help
        return int(e.code or 0)
    except (UsageError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # pragma: no cover - last resort: still one line
        print(f"error: unexpected {type(e).__name__}: {e}", file=sys.stderr)
        return 1
