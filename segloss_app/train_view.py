"""The Train page's helpers: the cached training call and the figure builders (pure functions of a
:class:`~segloss_core.train.TrainResult`, tested without Streamlit).

The animation is a Plotly figure with frames: one small image panel per loss (the app's
TP/FP/FN/TN overlay colours), Play/Pause buttons (``updatemenus``) and a scrubber (``sliders``)
whose label is the step counter. Playback runs in plotly.js in the browser; it never reruns the
script. Each panel is a PNG data URL (a few hundred bytes for a 4-colour overlay), so 40 frames of
six 256×256 panels stay well under a megabyte.
"""
from __future__ import annotations

import base64
import io
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from segloss_core.figure_style import TEMPLATE
from segloss_core.figures import line_style
from segloss_core.train import TrainConfig, TrainResult, overlay_rgb, train

CURVE_PANELS = (("dice", "hard Dice"), ("fp", "false positives"), ("fn", "false negatives"),
                ("value", "loss value"), ("grad_l2", "gradient L2 norm"))


def _png_url(rgb: np.ndarray, scale: int) -> str:
    from PIL import Image

    im = Image.fromarray(rgb)
    if scale > 1:
        im = im.resize((rgb.shape[1] * scale, rgb.shape[0] * scale), Image.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def panel_urls(res: TrainResult, frame: int, image: int = 0) -> list[str]:
    """One PNG data URL per run: the overlay of that run's hard prediction at snapshot ``frame``."""
    gt = res.labels[image] > 0
    h = gt.shape[0]
    scale = max(1, 128 // h)
    return [_png_url(overlay_rgb(gt, res.hard[frame, r, image]), scale) for r in range(len(res.config.runs))]


def frame_dice(res: TrainResult, frame: int) -> dict[str, float | None]:
    """Hard Dice of each run at a snapshot step (None once the run has stopped)."""
    step = res.frame_steps[frame]
    c = res.curves[(res.curves.object == "all") & (res.curves.step == step)]
    d = dict(zip(c.loss, c.dice))
    return {lab: d.get(lab) for lab in res.run_labels}


def animation_figure(res: TrainResult, active: int = 0, image: int = 0, cols: int | None = None) -> go.Figure:
    """Panels of every run animated over the snapshots (Plotly frames + Play/Pause + scrubber)."""
    labels = res.run_labels
    R = len(labels)
    cols = cols or min(R, 4)
    rows = math.ceil(R / cols)
    active = int(min(max(active, 0), len(res.frame_steps) - 1))

    def titles(frame):
        fd = frame_dice(res, frame)
        out = []
        for lab in labels:
            dv = res.diverged.get(lab)
            if dv and dv[0] <= res.frame_steps[frame]:
                out.append(f"{lab}<br>diverged at step {dv[0]}")
            else:
                out.append(f"{lab}<br>Dice {fd[lab]:.3f}" if fd[lab] is not None else lab)
        return out

    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles(active), horizontal_spacing=0.02,
                        vertical_spacing=0.12 if rows > 1 else 0.05)
    urls = panel_urls(res, active, image)
    for r in range(R):
        fig.add_trace(go.Image(source=urls[r], name=labels[r], hoverinfo="skip"), row=r // cols + 1, col=r % cols + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    frames = []
    for f, step in enumerate(res.frame_steps):
        ann = [dict(text=t) for t in titles(f)]
        frames.append(go.Frame(name=str(step), data=[go.Image(source=u) for u in panel_urls(res, f, image)],
                               traces=list(range(R)), layout=dict(annotations=ann)))
    fig.frames = frames
    play = dict(label="▶ Play", method="animate",
                args=[None, dict(frame=dict(duration=150, redraw=True), transition=dict(duration=0),
                                 fromcurrent=True, mode="immediate")])
    pause = dict(label="❚❚ Pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), transition=dict(duration=0), mode="next")])
    fig.update_layout(
        template=TEMPLATE, height=230 * rows + 150, margin=dict(l=10, r=10, t=60, b=10),
        updatemenus=[dict(type="buttons", direction="left", showactive=False, x=0, y=-0.02, xanchor="left",
                          yanchor="top", pad=dict(r=10, t=10), buttons=[play, pause])],
        sliders=[dict(active=active, x=0.16, y=-0.02, len=0.84, xanchor="left", yanchor="top", pad=dict(t=10),
                      currentvalue=dict(prefix="step ", visible=True, xanchor="left"),
                      steps=[dict(label=str(s), method="animate",
                                  args=[[str(s)], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                                        transition=dict(duration=0))])
                             for s in res.frame_steps])],
    )
    return fig


def curves_figure(res: TrainResult) -> go.Figure:
    """Dice, FP, FN (network mode: the small (dashed) and large (dotted) objects beside all pixels),
    loss value and gradient norm (log scale) over the steps, one colour per loss."""
    fig = make_subplots(rows=2, cols=3, subplot_titles=[t for _, t in CURVE_PANELS], horizontal_spacing=0.07,
                        vertical_spacing=0.14)
    net = res.config.mode == "net"
    for i, lab in enumerate(res.run_labels):
        st_ = line_style(i)
        d = res.curves[res.curves.loss == lab]
        for j, (col, _) in enumerate(CURVE_PANELS):
            objs = ("all", "small", "large") if (net and col in ("dice", "fp", "fn")) else ("all",)
            for obj in objs:
                o = d[d.object == obj]
                if not len(o):
                    continue
                fig.add_trace(go.Scatter(
                    x=o.step, y=o[col], mode="lines", name=lab if obj == "all" else f"{lab} · {obj}",
                    legendgroup=lab, showlegend=(j == 0 and obj == "all"),
                    line=dict(color=st_["color"], dash={"all": "solid", "small": "dash", "large": "dot"}[obj]),
                    hovertemplate=f"{lab} ({obj})<br>step %{{x}}<br>{col} %{{y:.4g}}<extra></extra>"),
                    row=j // 3 + 1, col=j % 3 + 1)
    fig.update_yaxes(type="log", dtick=1, row=2, col=2)  # decades only: 10⁻³, 10⁻² (no "2, 5" between them)
    fig.update_xaxes(title_text="step", row=2)
    fig.update_layout(template=TEMPLATE, height=620, margin=dict(l=20, r=20, t=60, b=20),
                      legend=dict(orientation="h", y=-0.12))
    return fig


def summary_table(res: TrainResult) -> pd.DataFrame:
    """The summary as shown: steps to Dice ≥ 0.9, final Dice, FP, FN, small-object recall, diverged at."""
    s = res.summary()
    out = pd.DataFrame({
        "loss": s.loss,
        "steps to Dice ≥ 0.9": [("—" if v is None or (isinstance(v, float) and math.isnan(v)) else str(int(v)))
                                for v in s["steps_to_dice_0.9"]],
        "final Dice": s.final_dice.round(4),
        "final FP": s.final_fp, "final FN": s.final_fn,
        "small-object recall": ["n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"
                                for v in s.small_recall],
        "diverged at": ["—" if v is None or (isinstance(v, float) and math.isnan(v)) else
                        f"step {int(v)} ({r})" for v, r in zip(s.diverged_at, s.diverged_reason)],
    })
    return out


def cached_train(cfg: TrainConfig, progress=None) -> TrainResult:
    """Train through a small cache of recent results (keyed by the hashable config)."""
    key = cfg
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.pop(key)
        _CACHE[key] = hit
        return hit
    res = train(cfg, progress=progress)
    _CACHE[key] = res
    while len(_CACHE) > 8:
        _CACHE.pop(next(iter(_CACHE)))
    return res


def is_cached(cfg: TrainConfig) -> bool:
    return cfg in _CACHE


_CACHE: dict[TrainConfig, TrainResult] = {}


# ------------------------------------------------------------------------------------------ page state
SIZES = (32, 64, 128, 256)
SMALL_AREAS = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05)
LARGE_AREAS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
LRS = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0,
       1e4, 3e4, 1e5)
DEFAULT_LOSSES = ["bce", "dice", "focal", "tversky"]


def custom_config(v: dict, params: dict[str, dict]) -> TrainConfig:
    """The page's settings (``train_*`` values) and per-loss parameter overrides -> a config."""
    from segloss_core.train import runs_from

    return TrainConfig(
        runs=runs_from(v["train_losses"], params), mode=v["train_mode"], object=v["train_object"],
        size=int(v["train_size"]), small_area=float(v["train_small"]), large_area=float(v["train_large"]),
        start=v["train_start"], optimizer=v["train_opt"], lr=float(v["train_lr"]), steps=int(v["train_steps"]),
        seed=int(v["train_seed"])).validate()


def describe(cfg: TrainConfig) -> str:
    """One sentence with the settings of a run (shown under a lesson)."""
    what = (f"free logits on a {cfg.size}×{cfg.size} image with {'no object' if cfg.object == 'empty' else f'the {cfg.object} object' + ('s' if cfg.object == 'both' else '')}, "
            f"start {cfg.start}" if cfg.mode == "free" else
            f"tiny network on {cfg.size}×{cfg.size} synthetic images (batch {cfg.batch}, "
            + (f"one large object of {cfg.large_area:g} and " if cfg.n_large else "")
            + f"{cfg.n_small} small objects of {cfg.small_area:g} of the image each, noise {cfg.noise:g}, "
            f"blur {cfg.blur:g}; metrics on {cfg.n_eval} held-out images)")
    return (f"Losses: {', '.join(r.label for r in cfg.runs)}. {what[0].upper() + what[1:]}; "
            f"{cfg.optimizer.upper() if cfg.optimizer == 'sgd' else 'Adam'}, learning rate {cfg.lr:g}, "
            f"{cfg.steps} steps, seed {cfg.seed}.")


def html_bytes(anim: go.Figure, curves: go.Figure, title: str) -> bytes:
    """Both figures in one HTML file with plotly.js embedded (opens offline)."""
    import html as _html

    body = (anim.to_html(full_html=False, include_plotlyjs=True, auto_play=False)
            + curves.to_html(full_html=False, include_plotlyjs=False))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_html.escape(title)}</title></head>"
            f"<body><h1>{_html.escape(title)}</h1>{body}</body></html>").encode()
