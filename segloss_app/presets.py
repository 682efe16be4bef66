"""Teaching presets: a named link into one page with its settings.

Plain data. The explanations are static prose written before any computation: they say what to
look at and why, never a number the app is supposed to compute (those appear on the page).
URL parameter names follow each page's own names: ``pg_*`` (Playground), ``lvs_*`` (Large vs
small), ``tune_*`` (Tune; per-parameter sliders are ``tune_{loss}.{param}``).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    name: str
    page: str  # a key of segloss_app.common.PAGES
    params: dict[str, str] = field(default_factory=dict)
    explanation: str = ""


PRESETS: tuple[Preset, ...] = (
    Preset(
        "Small object: overlap losses saturate", "large_vs_small",
        {"lvs_small_r": "6", "lvs_large_r": "60", "lvs_delta": "20", "lvs_levels": "41", "lvs_conf": "0.99",
         "lvs_fpmode": "boundary", "lvs_protocol": "boundary", "lvs_hard": "0"},
        "The survey's experiment: the same absolute number of wrong pixels is added to a large and to a "
        "small disk, step by step. Once the small object has no true positive left, Dice-like losses barely "
        "move (they still rise, by a tiny fraction of their range per step) while distribution-based losses "
        "keep growing with every extra false positive; the page shows the tolerance at which that flips.",
    ),
    Preset(
        "Extreme imbalance 1:1000", "playground",
        {"pg_src": "shape", "pg_shape": "disk", "pg_sizeby": "fraction", "pg_frac": "0.001",
         "pg_units": "fraction", "pg_fn": "0.5", "pg_fp": "0.5",
         "pg_gkeys": "bce,dice,focal,wce"},
        "One foreground pixel for every thousand background pixels, with half the object missed and as many "
        "false alarms. Compare how little the pixel-averaged cross-entropy notices with how strongly the "
        "overlap losses and the weighted cross-entropy react, and where their gradients concentrate.",
    ),
    Preset(
        "Focal γ from 0 to 5", "tune",
        {"tune_loss": "focal", "tune_x": "gamma", "tune_y": "alpha"},
        "The focusing exponent γ down-weights pixels that are already well classified; at γ = 0 focal loss "
        "is a class-balanced cross-entropy. Sweep γ across its range to see the loss of easy pixels shrink "
        "while the hard ones keep their weight.",
    ),
    Preset(
        "Tversky trades FP for FN", "tune",
        {"tune_loss": "tversky", "tune_x": "alpha", "tune_y": "beta"},
        "Tversky weights false positives by α and false negatives by β; α = β = 0.5 is the Dice loss. "
        "Move along either axis to see which kind of error the loss forgives and which it punishes.",
    ),
    Preset(
        "Soft predictions and the smoothing term", "playground",
        {"pg_src": "shape", "pg_shape": "disk", "pg_sizeby": "fraction", "pg_frac": "0.002",
         "pg_units": "fraction", "pg_fn": "0", "pg_fp": "0", "pg_conf": "0.7", "pg_ploss": "dice",
         "pg_losses": "dice,squared_dice,jaccard,tversky,log_cosh_dice,bce",
         "pg_gkeys": "dice,jaccard,bce"},
        "A perfect but unconfident prediction of a small object: every background pixel still carries the "
        "probability 1 − c, and together that mass looks like false positives to a soft overlap loss. Move "
        "the confidence and the Dice smoothing term s in 'Loss parameters' to see which one dominates.",
    ),
    Preset(
        "Touching objects: U-Net border weights", "playground",
        {"pg_src": "shape", "pg_shape": "disk", "pg_sizeby": "fraction", "pg_frac": "0.3", "pg_nobj": "4",
         "pg_units": "fraction", "pg_fn": "0", "pg_fp": "0.05", "pg_fpmode": "boundary",
         "pg_gkeys": "bce,unet_weighted_ce,distance_penalized_ce,boundary"},
        "Four objects close together, each grown slightly at its border. The U-Net weight map puts extra "
        "weight in the narrow gaps between objects, so its gradient map lights up exactly where a network "
        "must learn to separate them.",
    ),
)

BY_NAME = {p.name: p for p in PRESETS}


def params_from_config(data: bytes, prefix: str, known=None) -> tuple[dict[str, str], list[str]]:
    """URL parameters from an exported JSON configuration (``{"page": ..., "params": {...}}`` or a
    flat ``{name: value}``): ``(params to apply, names ignored)``. Kept: the names in ``known`` (a
    page's settings), or without it every name starting with ``prefix``. The file is read and
    checked by :func:`segloss_app.validate.read_config`; a file that is not such a JSON object
    raises ``ValueError`` with one line saying why."""
    from segloss_app.validate import read_config

    cfg = read_config(data, known if known is not None else (lambda k: str(k).startswith(prefix)))
    return cfg.params, cfg.ignored
