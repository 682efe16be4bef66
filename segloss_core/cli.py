"""Command line: ``python -m segloss_core {eval,reproduce,bench} ...``.

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
    if not (0.5 < c < 1.0):
        raise argparse.ArgumentTypeError(f"confidence must be in (0.5, 1); got {text}")
    return c


def _read_gt(path: str) -> np.ndarray:
    from .masks import load_mask
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"ground truth file not found: {path}")
    return load_mask(p)


def _read_pred(path: str, confidence: float) -> np.ndarray:
    from .masks import load_mask, load_probabilities
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"prediction file not found: {path}")
    if p.suffix.lower() == ".npy":
        arr = np.load(p, allow_pickle=False) if p.stat().st_size else None
        if arr is not None and arr.dtype.kind == "f":
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
    rep = loss_gradients(logits, target, keys, params, summaries=True)
    return {
        "losses": {k: {"value": _json_float(r.value.item()), "grad_l2": _json_float(r.l2.item())}
                   for k, r in rep.losses.items()},
        "metrics": {k: _json_float(v) for k, v in hard_metrics(gt, prob > 0.5).items()},
        "counts": counts(gt, prob > 0.5),
    }


def cmd_eval(args: argparse.Namespace) -> int:
    from .registry import parse_keys, parse_setting

    keys = parse_keys(args.losses)
    params: dict[str, dict[str, Any]] = {}
    for s in args.set or []:
        key, name, value = parse_setting(s)
        params.setdefault(key, {})[name] = value
    gt = _read_gt(args.gt)
    prob = _read_pred(args.pred, args.confidence)
    result = evaluate_pair(gt, prob, keys, params)
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
    ev.add_argument("--confidence", type=_confidence, default=0.99, help="C for hard-mask predictions (default 0.99)")
    ev.add_argument("--json", action="store_true", help="print JSON")
    ev.set_defaults(func=cmd_eval)

    _add_sweep_commands(sub)
    return parser


def _add_sweep_commands(sub) -> None:
    """``reproduce`` and ``bench`` (the sweep engine) register themselves here."""
    try:
        from .survey import add_commands
    except ImportError:
        return
    add_commands(sub)


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
