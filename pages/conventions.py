"""Conventions: which Dice is this? The same four samples under MONAI's, segmentation_models_pytorch's,
kornia's and nnU-Net's defaults, side by side, with toggles to walk from one to another.

The presets and options are data of the library (segloss_core.conventions, the registry); the
computations are in segloss_app.conventions_view.
"""
from __future__ import annotations

import streamlit as st

from segloss_app import conventions_view as V
from segloss_app.common import UrlParam, number_columns, page_header, show_error, sync_url, url_state
from segloss_core.conventions import ALL_PRESETS
from segloss_core.losses.region import AVERAGE, BACKGROUND, EMPTY, REDUCTIONS, SOFT
from segloss_core.registry import REGISTRY

NAMES = V.preset_names()
SMOOTHS = (0.0, 1e-8, 1e-7, 1e-5, 1e-3, 0.1, 1.0)
SPEC = {
    "conv_presets": UrlParam(",".join(V.DEFAULT_PRESETS), str),
    "conv_base": UrlParam("monai.DiceLoss", str, choices=NAMES),
    "conv_reduction": UrlParam("", str, choices=("",) + REDUCTIONS),
    "conv_snr": UrlParam(-1.0, float, -1.0, 100.0),
    "conv_sdr": UrlParam(-1.0, float, -1.0, 100.0),
    "conv_background": UrlParam("", str, choices=("",) + BACKGROUND),
    "conv_empty": UrlParam("", str, choices=("",) + EMPTY),
    "conv_average": UrlParam("", str, choices=("",) + AVERAGE),
    "conv_soft": UrlParam("", str, choices=("",) + SOFT),
}
for _i, _s in enumerate(V.DEFAULT_SAMPLES):
    SPEC[f"conv_r{_i}"] = UrlParam(_s.radius, float, 0.0, 30.0)
    SPEC[f"conv_fn{_i}"] = UrlParam(_s.fn, int, 0, 2000)
    SPEC[f"conv_fp{_i}"] = UrlParam(_s.fp, int, 0, 2000)
    SPEC[f"conv_c{_i}"] = UrlParam(_s.confidence, float, 0.51, 1.0)

QUESTIONS = {
    "Batch Dice or per-sample Dice?": (
        "Per sample, each image gets its own ratio and the loss is their mean; batch Dice sums TP, FP and FN over "
        "the batch first, so one ratio serves every image. That is why a batch-Dice score moves with the batch "
        "size and its composition, and why a small object's gradient shrinks beside a large one: its pixels are a "
        "small share of the pooled sums."),
    "What does an empty mask give?": (
        "With no smoothing 0/0 is undefined: libraries return the smoothed value (MONAI, nnU-Net: s/(Σp+s), which "
        "is ~0 and gives loss ~1 for any false positive), mask the class to loss 0 (segmentation_models_pytorch), "
        "or pool it with the background (kornia). Here `empty` chooses among these."),
    "What does the smoothing do when the network predicts nothing?": (
        "With s in the numerator, an empty prediction on a non-empty object scores s/(Σg+s) instead of 0, and an "
        "empty prediction on an empty image scores s/s = 1. A large s rewards predicting nothing on small objects; "
        "s only in the denominator (kornia's eps) keeps an empty prediction at loss 1."),
    "Does the background count?": (
        "The background is the largest class and its Dice is high by construction: averaging it in flatters the "
        "loss and dilutes the foreground's gradient. nnU-Net leaves it out; MONAI and smp keep it by default; "
        "kornia's micro average pools it into one ratio."),
    "Which of Tversky's α and β weighs false negatives?": (
        "In MONAI, segmentation_models_pytorch and this library α multiplies FP and β multiplies FN, as in Salehi et "
        "al.; Abraham & Khan's focal Tversky code names them the other way round."),
    "Why does Dice never reach 0 on soft labels?": (
        "Σpg < Σ(p+g)/2 unless p and g are both 0 or 1, so the product form stays above 0 when the prediction "
        "equals a soft target. Wang & Blaschko's semimetric form uses (Σp+Σg-Σ|p-g|)/2 instead: identical on hard "
        "labels, 0 exactly when p = g (segmentation_models_pytorch 0.6 uses it)."),
}


def _preset_list(text: str) -> list[str]:
    names = [n for n in (text or "").split(",") if n in ALL_PRESETS]
    return list(dict.fromkeys(names))[:4] or list(V.DEFAULT_PRESETS)


def _on_base() -> None:
    for k in ("conv_reduction", "conv_background", "conv_empty", "conv_average", "conv_soft"):
        st.session_state[k] = ""
    st.session_state["conv_snr"] = st.session_state["conv_sdr"] = -1.0


present = page_header("Conventions: which Dice is this?",
                      "The same batch of four samples under the defaults of MONAI, segmentation_models_pytorch, "
                      "kornia and nnU-Net. Each preset is a set of options of this library, checked against the "
                      "library itself (tests/test_conventions.py).")
vals = url_state(SPEC)

with st.sidebar:
    st.subheader("The batch")
    samples = []
    for i, (n, d) in enumerate(zip(V.NAMES, V.DEFAULT_SAMPLES)):
        with st.expander(f"Sample {i + 1}: {n}", expanded=False):
            r = st.slider("object radius (0 = empty ground truth)", 0.0, 30.0, step=0.5, key=f"conv_r{i}")
            fn = st.number_input("false negatives (pixels)", 0, 2000, step=1, key=f"conv_fn{i}")
            fp = st.number_input("false positives (pixels)", 0, 2000, step=1, key=f"conv_fp{i}")
            c = st.slider("confidence c", 0.51, 1.0, step=0.01, key=f"conv_c{i}")
        samples.append(V.Sample(float(r), int(fn), int(fp), float(c), noise=d.noise))

if "conv_presets_ms" not in st.session_state:
    st.session_state["conv_presets_ms"] = _preset_list(vals["conv_presets"])
chosen = st.multiselect("Presets side by side (two to four)", NAMES, max_selections=4, key="conv_presets_ms")
if not chosen:
    st.info("Pick at least one preset; showing the default four.")
    chosen = list(V.DEFAULT_PRESETS)

st.markdown("**Walk from one library to another**: start from a preset and toggle its conventions; the column "
            "`custom` follows.")
cols = st.columns(4)
base = cols[0].selectbox("start from", NAMES, key="conv_base", on_change=_on_base)
bp = ALL_PRESETS[base]
resolved = REGISTRY[bp.key].resolve(bp.params)
has = {p.name for p in REGISTRY[bp.key].params}


def _choice(col, name, label, options):
    if name not in has:
        col.caption(f"{label}: not an option of {bp.key}")
        return None
    opts = ("",) + options
    cur = resolved[name]
    return col.selectbox(label, opts, key=f"conv_{name}", format_func=lambda v: f"({cur}: preset)" if v == "" else v)


toggles = {}
for col, name, label, opts in ((cols[1], "reduction", "reduction", REDUCTIONS),
                               (cols[2], "background", "background", BACKGROUND),
                               (cols[3], "empty", "empty ground truth", EMPTY)):
    toggles[name] = _choice(col, name, label, opts)
cols2 = st.columns(4)
toggles["average"] = _choice(cols2[0], "average", "class average", AVERAGE)
toggles["soft"] = _choice(cols2[1], "soft", "soft labels", SOFT)
snr = cols2[2].select_slider("numerator smoothing s_nr", (-1.0,) + SMOOTHS, key="conv_snr",
                             format_func=lambda v: "(preset)" if v < 0 else f"{v:g}")
sdr = cols2[3].select_slider("denominator smoothing s_dr", (-1.0,) + SMOOTHS, key="conv_sdr",
                             format_func=lambda v: "(preset)" if v < 0 else f"{v:g}")
overrides = {k: v for k, v in toggles.items() if v}
if snr >= 0:
    overrides["smooth_nr"] = snr
if sdr >= 0:
    overrides["smooth_dr"] = sdr
custom = V.custom_preset(base, overrides)

try:
    logits, target = V.build_batch(samples)
    presets = [ALL_PRESETS[n] for n in chosen] + [custom]
    table = V.preset_table(logits, target, presets)
except ValueError as exc:  # a perturbation request the generator refuses
    show_error(exc)
    st.stop()

st.subheader("The batch")
for col, n, img, s in zip(st.columns(4), V.NAMES, V.overlays(samples), samples):
    col.image(img, caption=f"{n}: radius {s.radius:g}, FN {s.fn}, FP {s.fp}, c = {s.confidence:g}", width=160)
st.caption("Blue: TP, orange: FP, pink: FN. Probabilities c inside the prediction and 1 - c outside; edit the "
           "samples in the sidebar.")

st.subheader("Presets side by side")
value_cols = ["preset"] + [c for c in table.columns if c.startswith("value")] + ["batch value"]
st.dataframe(table[value_cols], hide_index=True, key="conv_table", column_config=number_columns(table[value_cols], sig=6))
for n, v in zip(table["preset"], table["batch value"]):
    st.markdown(f"- `{n}`: batch value **{v:.6f}**, empty image **{float(table.loc[table['preset'] == n, 'value: empty'].iloc[0]):.6f}**")
st.markdown("**Gradient each sample receives** (L2 norm of ∂(batch mean)/∂logits, and its share of the batch's):")
grad_cols = ["preset"] + [c for c in table.columns if c.startswith("grad")]
st.dataframe(table[grad_cols], hide_index=True, column_config=number_columns(table[grad_cols], sig=4))

st.subheader("Why they differ, from the counts")
for line in V.explanations(logits, target, presets):
    st.markdown("- " + line)

st.subheader("Three classes: background in or out, present or all classes")
z3, g3 = V.three_class_batch()
st.caption("Sample 1: background, a large organ and a small lesion (predicted 2 px off). Sample 2: no lesion in the "
           "ground truth, a false-positive lesion in the prediction. Dice with s = 1e-5.")
per_class, averaging = V.per_class_table(z3, g3), V.averaging_table(z3, g3)
st.dataframe(per_class, hide_index=True, column_config=number_columns(per_class, sig=4))
st.dataframe(averaging, hide_index=True, column_config=number_columns(averaging, sig=6))
st.markdown("With `average=present` the absent lesion leaves sample 2's mean; with `all` it counts as loss ~1 "
            "(smoothed) or 0 (masked, `empty=one`, as segmentation_models_pytorch does); excluding the background "
            "removes the easiest class and raises every value.")

st.subheader("Copy as code")
npz = V.batch_npz(logits, target)
st.download_button("Download this batch (conventions_batch.npz)", npz, "conventions_batch.npz", key="conv_dl_npz")
for n in chosen + ["custom"]:
    code = V.snippet(n, custom if n == "custom" else None)
    with st.expander(f"{n}", expanded=False):
        st.code(code, language="python")
        st.download_button(f"Download {n}.py", code, f"{n.replace('(', '_').replace(')', '').replace('=', '_')}.py",
                           key=f"conv_dl_{n}")

st.subheader("The questions")
for q, a in QUESTIONS.items():
    with st.expander(q, expanded=not present):
        st.markdown(a)

out = {f"conv_r{i}": s.radius for i, s in enumerate(samples)}
out.update({f"conv_fn{i}": s.fn for i, s in enumerate(samples)})
out.update({f"conv_fp{i}": s.fp for i, s in enumerate(samples)})
out.update({f"conv_c{i}": s.confidence for i, s in enumerate(samples)})
out.update({"conv_presets": ",".join(chosen), "conv_base": base, "conv_snr": snr, "conv_sdr": sdr})
for k in ("reduction", "background", "empty", "average", "soft"):
    out[f"conv_{k}"] = toggles.get(k) or ""
sync_url(SPEC, out)
