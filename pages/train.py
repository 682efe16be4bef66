"""Train: every selected loss optimizes the same start side by side; the panels animate in the browser."""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from segloss_app import train_view as TV
from segloss_app import limits
from segloss_app.common import (KeyListParam, UrlParam, chart, loss_param_widgets, page_header, param_url_spec,
                                number_columns, show_error, sync_url, url_state)
from segloss_core.registry import KEYS, REGISTRY
from segloss_core.train import MODES, OBJECTS, OPTIMIZERS, STARTS, gif_bytes
from segloss_core.train_lessons import lessons

LESSONS = lessons()
SPEC = {
    "train_lesson": UrlParam("custom", str, choices=("custom",) + tuple(LESSONS)),
    "train_losses": KeyListParam(TV.DEFAULT_LOSSES, max_items=8),  # the multiselect's max_selections
    "train_mode": UrlParam("free", str, choices=MODES),
    "train_object": UrlParam("small", str, choices=OBJECTS),
    "train_size": UrlParam(64, int, 32, 256),
    "train_small": UrlParam(0.002, float, 1e-4, 0.05),
    "train_large": UrlParam(0.15, float, 0.05, 0.5),
    "train_start": UrlParam("perturbed", str, choices=STARTS),
    "train_opt": UrlParam("adam", str, choices=OPTIMIZERS),
    "train_lr": UrlParam(0.1, float, 1e-4, 1e5),
    "train_steps": UrlParam(100, int, 10, 1000),
    "train_seed": UrlParam(0, int, 0, 9999),
    "train_frame": UrlParam(0, int, 0, 400),
}
PSPEC = {}
for _k in KEYS:
    PSPEC.update(param_url_spec(_k, "train_"))
MODE_NAMES = {"free": "free logits", "net": "tiny network"}


def loss_params(keys) -> dict[str, dict]:
    """``{key: {param: value}}`` of the selected losses' parameters that differ from the defaults."""
    ss = st.session_state
    out: dict[str, dict] = {}
    for k in keys:
        for p in REGISTRY[k].params:
            name = f"train_{k}.{p.name}"
            if p.auto:
                if name + ".auto" in ss:
                    v = None if ss[name + ".auto"] else float(ss.get(name + ".value", 1.0))
                else:
                    raw = ss.get(name, "auto")
                    v = None if raw in (None, "auto") else float(raw)
            else:
                v = ss.get(name, p.default)
                v = float(v) if p.numeric else v
            if v != p.default:
                out.setdefault(k, {})[p.name] = v
    return out


def url_values(keys) -> dict:
    out = {k: st.session_state.get(k, p.default) for k, p in SPEC.items()}
    params = loss_params(keys)
    for k in keys:
        for p in REGISTRY[k].params:
            v = params.get(k, {}).get(p.name, p.default)
            out[f"train_{k}.{p.name}"] = ("auto" if v is None else v) if p.auto else v
    return out


def with_current(options, value):
    return sorted(set(options) | {value})


def step_frame(delta: int, n: int) -> None:
    st.session_state["train_frame"] = min(max(int(st.session_state.get("train_frame", 0)) + delta, 0), n - 1)


present = page_header(
    "Train",
    "What each loss *does* to a prediction when it is optimized. Every selected loss starts from the same "
    "prediction (free logits) or the same network weights (tiny network), sees the same data in the same order, "
    "and all of them are trained at once, in one batched computation per step. Press ▶ Play under the panels "
    "(it plays in your browser) or drag the step slider. Colours: true positive green, false positive orange, "
    "missed (false negative) blue.")
url_state({**SPEC, **PSPEC})
ss = st.session_state

sb = st.sidebar
sb.selectbox("Lesson", ("custom",) + tuple(LESSONS), key="train_lesson",
             format_func=lambda k: "Custom settings" if k == "custom" else LESSONS[k].title)
lesson = LESSONS.get(ss["train_lesson"])
keys = list(ss.get("train_losses") or TV.DEFAULT_LOSSES)
if lesson is None:
    sb.multiselect("Losses", list(KEYS), key="train_losses", format_func=lambda k: f"{REGISTRY[k].name} ({k})",
                   max_selections=8)
    keys = list(ss.get("train_losses") or TV.DEFAULT_LOSSES)
    sb.radio("Mode", MODES, key="train_mode", format_func=MODE_NAMES.get, horizontal=True)
    net = ss["train_mode"] == "net"
    if not net:
        sb.selectbox("Object", OBJECTS, key="train_object",
                     help="small, large, both in one image, or an empty image (no object)")
        sb.selectbox("Start", STARTS, key="train_start",
                     help="half: p = 0.5 everywhere; perturbed: half the object missed and as many pixels added "
                          "(c = 0.9), as on the Playground; noise: logits ~ N(0, 1)")
    sb.select_slider("Small object area (fraction of the image)", with_current(TV.SMALL_AREAS, ss["train_small"]),
                     key="train_small", format_func=lambda v: f"{v:g} (1:{1 / v:,.0f})")
    sb.select_slider("Large object area (fraction of the image)", with_current(TV.LARGE_AREAS, ss["train_large"]),
                     key="train_large", format_func=lambda v: f"{v:g}")
    if ss["train_size"] not in TV.SIZES:
        ss["train_size"] = 64
    sb.selectbox("Image side (px)", TV.SIZES, key="train_size")
    c1, c2 = sb.columns(2)
    c1.selectbox("Optimizer", OPTIMIZERS, key="train_opt", format_func=lambda o: {"adam": "Adam", "sgd": "SGD"}[o])
    c2.number_input("Seed", 0, 9999, step=1, key="train_seed")
    sb.select_slider("Learning rate", with_current(TV.LRS, float(ss["train_lr"])), key="train_lr",
                     format_func=lambda v: f"{v:g}",
                     help="free logits with SGD: a BCE step moves each logit by lr·(p − g)/N, so useful rates are "
                          "of the order of the pixel count")
    sb.slider("Steps", 10, 1000, step=10, key="train_steps")
    with st.expander("Loss parameters", expanded=False):
        cols = st.columns(min(len(keys), 4) or 1)
        for i, k in enumerate(keys):
            with cols[i % len(cols)]:
                st.markdown(f"**{REGISTRY[k].name}**")
                if REGISTRY[k].params:
                    loss_param_widgets(k, "train_")
                else:
                    st.caption("no parameters")
    try:
        cfg = TV.custom_config({**{k: ss.get(k, p.default) for k, p in SPEC.items()}, "train_losses": keys},
                               loss_params(keys))
    except ValueError as exc:
        show_error(exc)
        sync_url({**SPEC, **PSPEC}, url_values(keys))
        st.stop()
else:
    cfg = lesson.config
    st.subheader(lesson.title)
    st.markdown(lesson.text)
    st.caption(TV.describe(cfg) + " Pick *Custom settings* in the sidebar to change them.")

b = limits.train_steps(cfg.mode, cfg.size, cfg.steps, len(cfg.runs), cfg.batch, cfg.n_eval)
if b.notice:  # one request may not demand minutes of CPU (a link can ask for 1000 network steps at 256²)
    st.warning(b.notice)
    cfg = replace(cfg, steps=b.value)
bar = None if TV.is_cached(cfg) else st.progress(0.0, text="Training …")
try:
    res = TV.cached_train(cfg, progress=(lambda f, m: bar.progress(min(f, 1.0), text=f"Training — {m}")) if bar else None)
except (ValueError, RuntimeError) as exc:
    show_error(exc)
    st.stop()
if bar:
    bar.empty()

if lesson is not None:
    ok, detail = lesson.check(res)
    if ok:
        st.success("**This run confirms it.** " + detail)
    else:
        st.warning("**This run does not show it.** " + detail)
for lab, (step, why) in res.diverged.items():
    st.warning(f"{lab} diverged at step {step} ({why}); it was stopped there and its curves end at its last "
               "finite step. The other losses went on.")

n = len(res.frame_steps)
ss["train_frame"] = min(max(int(ss.get("train_frame", 0)), 0), n - 1)
anim = TV.animation_figure(res, active=int(ss["train_frame"]))
chart(anim, key="train_anim", config={"displayModeBar": False})
c = st.columns([1, 1, 6])
c[0].button("◀ step", key="train_prev", on_click=step_frame, args=(-1, n), help="previous snapshot")
c[1].button("step ▶", key="train_next", on_click=step_frame, args=(1, n), help="next snapshot")
c[2].caption(f"{n} snapshots, every {res.config.stride} step(s) of {res.config.steps}; shown first: step "
             f"{res.frame_steps[ss['train_frame']]}. "
             + ("Panels: the first held-out image. " if res.config.mode == "net" else "")
             + f"Trained on {res.device} in {res.seconds:.1f} s ({res.n_params:,} parameters per loss).")

curves = TV.curves_figure(res)
chart(curves, key="train_curves")
if res.config.mode == "net":
    st.caption("Dice, FP and FN on the held-out images: solid all pixels, dashed the small objects, dotted the "
               "large ones (a false positive counts for the object class nearest to it).")
summary = TV.summary_table(res)
st.dataframe(summary, hide_index=True, key="train_summary", column_config=number_columns(summary))

e = st.columns(3)
name = f"train_{lesson.key if lesson else 'custom'}"
e[0].download_button("CSV curves", res.curves_csv().to_csv(index=False).encode(), f"{name}_curves.csv", "text/csv",
                     key="dl_csv_train")
if e[1].button("Make GIF", key="train_mk_gif", help="animated GIF of the panels (Pillow)"):
    ss["_train_gif"] = (cfg, gif_bytes(res))
if ss.get("_train_gif") and ss["_train_gif"][0] == cfg:
    e[1].download_button("GIF animation", ss["_train_gif"][1], f"{name}.gif", "image/gif", key="dl_gif_train")
if e[2].button("Make HTML", key="train_mk_html", help="both figures, plotly.js embedded (~5 MB, opens offline)"):
    ss["_train_html"] = (cfg, TV.html_bytes(anim, curves, "SegLoss Lab: " + (lesson.title if lesson else "training")))
if ss.get("_train_html") and ss["_train_html"][0] == cfg:
    e[2].download_button("HTML (interactive)", ss["_train_html"][1], f"{name}.html", "text/html", key="dl_html_train")

sync_url({**SPEC, **PSPEC}, url_values(keys))
