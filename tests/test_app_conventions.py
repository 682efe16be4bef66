"""The Conventions page under AppTest: presets side by side, toggles, the 3-class example, snippets, URL."""
from __future__ import annotations

import pytest
import torch

from apptest_utils import markdown, ok, run_page
from segloss_app import conventions_view as V
from segloss_core.conventions import PRESETS

PAGE = "pages/conventions.py"


def _table(at):
    return at.dataframe[0].value


@pytest.fixture(scope="module")
def page():
    return run_page(PAGE)


def test_renders_the_default_presets_with_library_values(page):
    at = page
    ok(at)
    t = _table(at)
    assert list(t["preset"]) == list(V.DEFAULT_PRESETS) + ["custom"]
    z, g = V.build_batch(V.DEFAULT_SAMPLES)
    for name in V.DEFAULT_PRESETS:
        want = PRESETS[name](z, g)
        row = t[t["preset"] == name].iloc[0]
        assert row["batch value"] == pytest.approx(float(want.mean()), abs=1e-9)
        assert row["value: empty"] == pytest.approx(float(want[2]), abs=1e-9)
    # MONAI's empty image: the smoothed value ~1; smp: the batch value for every sample
    assert t[t["preset"] == "monai.DiceLoss"].iloc[0]["value: empty"] > 0.99
    smp = t[t["preset"] == "smp.DiceLoss"].iloc[0]
    assert smp["value: large"] == smp["value: empty"] == smp["batch value"]
    text = markdown(at)
    assert "empty ground truth" in text and "batch value pools the counts" in text
    assert len(at.dataframe) >= 4  # values, gradients, per-class, averaging
    assert any("MemoryEfficientSoftDiceLoss" in c.value for c in at.code)


def test_switching_presets_changes_values_and_url():
    at = run_page(PAGE)
    at.multiselect(key="conv_presets_ms").set_value(["segloss.default", "kornia.dice_loss"]).run()
    ok(at)
    t = _table(at)
    assert list(t["preset"]) == ["segloss.default", "kornia.dice_loss", "custom"]
    qp = at.query_params["conv_presets"]
    assert (qp[0] if isinstance(qp, list) else qp) == "segloss.default,kornia.dice_loss"


def test_toggles_walk_from_monai_to_smp():
    at = run_page(PAGE, query={"conv_base": "monai.DiceLoss", "conv_reduction": "batch", "conv_empty": "one",
                               "conv_soft": "semimetric", "conv_snr": "0", "conv_sdr": "0"})
    ok(at)
    t = _table(at)
    custom = t[t["preset"] == "custom"].iloc[0]
    z, g = V.build_batch(V.DEFAULT_SAMPLES)
    assert custom["batch value"] == pytest.approx(float(PRESETS["smp.DiceLoss"](z, g).mean()), abs=1e-9)


def test_edited_sample_from_the_url_and_bad_values_fall_back():
    at = run_page(PAGE, query={"conv_r2": "6", "conv_fp2": "0", "conv_base": "nope"})
    ok(at)
    samples = list(V.DEFAULT_SAMPLES)
    samples[2] = V.Sample(6.0, 0, 0, 0.9)
    z, g = V.build_batch(samples)
    t = _table(at)
    row = t[t["preset"] == "monai.DiceLoss"].iloc[0]
    assert row["value: empty"] == pytest.approx(float(PRESETS["monai.DiceLoss"](z, g)[2]), abs=1e-9)
    assert any("conv_base" in str(i.value) for i in at.info)


def test_three_class_tables():
    z, g = V.three_class_batch()
    t = V.averaging_table(z, g)
    sel = lambda bg, avg, e: t[(t["background"] == bg) & (t["average"] == avg) & (t["empty"] == e)].iloc[0]
    # the absent lesion counts as loss ~1 over all classes, leaves the mean over present ones, is 0 when masked
    assert sel("include", "all", "smooth")["sample 2 (no lesion)"] > sel("include", "present", "smooth")["sample 2 (no lesion)"]
    assert sel("include", "all", "one")["sample 2 (no lesion)"] < sel("include", "present", "smooth")["sample 2 (no lesion)"]
    assert sel("exclude", "present", "smooth")["sample 1"] > sel("include", "present", "smooth")["sample 1"]
    pc = V.per_class_table(z, g)
    assert (pc[(pc["sample"] == 2) & (pc["class"] == "lesion")]["Σg"] == 0).all()


def test_snippets_compute_the_shown_value(tmp_path):
    """Each snippet's own-library part, run on the downloaded batch, prints the table's numbers."""
    z, g = V.build_batch(V.DEFAULT_SAMPLES)
    (tmp_path / "conventions_batch.npz").write_bytes(V.batch_npz(z, g))
    for name in ("monai.DiceLoss", "kornia.dice_loss", "smp.DiceLoss", "nnunet.SoftDiceLoss"):
        code = V.snippet(name)
        ours = code.split("\n# " + PRESETS[name].library)[0] if "nnunet" in name else code
        import contextlib, io, os
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile(ours, name, "exec"), {})
        finally:
            os.chdir(cwd)
        printed = buf.getvalue()
        assert "tensor(" in printed, (name, printed)


def test_hostile_link_values_are_inert():
    from test_hostile import EVIL_HTML, EVIL_IMAGE, EVIL_LINK, live_markup
    evil = EVIL_LINK + " " + EVIL_IMAGE + " " + EVIL_HTML
    at = run_page(PAGE, query={"conv_base": evil, "conv_presets": evil, "conv_reduction": evil, "conv_r0": evil})
    ok(at)
    assert list(_table(at)["preset"]) == list(V.DEFAULT_PRESETS) + ["custom"]  # unknown names are dropped
    notices = " ".join(str(e.value) for e in at.info)
    assert "conv_base" in notices and "conv_reduction" in notices and "conv_r0" in notices
    echoed = [str(el.value) for el in list(at.info) + list(at.markdown) + list(at.caption) if "evil" in str(el.value)]
    assert echoed and "CLICK-ME" in " ".join(echoed)
    for text in echoed:
        assert not live_markup(text), text
