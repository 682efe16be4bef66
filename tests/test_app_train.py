"""The Train page under AppTest. Expected numbers come from segloss_core.train on the same config."""
from __future__ import annotations

import pytest

from segloss_app import train_view as TV
from segloss_core.train_lessons import lessons

import apptest_utils as U
from apptest_utils import figure, infos, ok

PAGE = "pages/train.py"
SMALL = {"train_steps": "30", "train_size": "32", "train_object": "both"}


def run_page(query: dict | None = None, state: dict | None = None):
    return U.run_page(PAGE, query, state)


def _cfg(**over):
    v = {"train_losses": TV.DEFAULT_LOSSES, "train_mode": "free", "train_object": "both", "train_size": 32,
         "train_small": 0.002, "train_large": 0.15, "train_start": "perturbed", "train_opt": "adam", "train_lr": 0.1,
         "train_steps": 30, "train_seed": 0}
    v.update(over)
    return TV.custom_config(v, {})


@pytest.fixture(scope="module")
def small_page():
    return run_page(SMALL)


def test_page_trains_and_animates_in_the_browser(small_page):
    at = small_page
    ok(at)
    res = TV.cached_train(_cfg())
    fig = figure(at, "train_anim")
    assert len(fig["frames"]) == len(res.frame_steps)
    assert [f["name"] for f in fig["frames"]] == [str(s) for s in res.frame_steps]
    assert [t["type"] for t in fig["data"]] == ["image"] * 4
    slider = fig["layout"]["sliders"][0]
    assert slider["currentvalue"]["prefix"] == "step " and len(slider["steps"]) == len(res.frame_steps)
    labels = [b["label"] for b in fig["layout"]["updatemenus"][0]["buttons"]]
    assert labels == ["▶ Play", "❚❚ Pause"]
    # the frames differ (the prediction changes while training) and carry PNG panels
    assert fig["frames"][0]["data"][0]["source"].startswith("data:image/png;base64,")
    first, last = fig["frames"][0]["data"], fig["frames"][-1]["data"]
    assert any(a["source"] != b["source"] for a, b in zip(first, last))
    table = at.dataframe[0].value
    assert list(table["loss"]) == TV.DEFAULT_LOSSES
    want = TV.summary_table(res)
    assert list(table["final Dice"]) == list(want["final Dice"])
    curves = figure(at, "train_curves")
    assert {t["name"] for t in curves["data"]} >= set(TV.DEFAULT_LOSSES)


def test_step_buttons_move_the_shown_frame_and_the_url(small_page):
    at = small_page
    at.button(key="train_next").click().run()
    ok(at)
    assert figure(at, "train_anim")["layout"]["sliders"][0]["active"] == 1
    assert at.query_params["train_frame"] == "1"
    at.button(key="train_prev").click().run()
    assert figure(at, "train_anim")["layout"]["sliders"][0]["active"] == 0


def test_query_params_restore_the_state():
    q = {"train_losses": "bce,focal", "train_object": "both", "train_lr": "0.3", "train_steps": "30",
         "train_size": "32", "train_focal.gamma": "4", "train_opt": "sgd", "train_seed": "3"}
    at = run_page(q)
    ok(at)
    assert not at.info
    assert at.multiselect(key="train_losses").value == ["bce", "focal"]
    assert at.selectbox(key="train_object").value == "both"
    assert at.slider(key="train_focal.gamma").value == 4.0
    assert at.number_input(key="train_seed").value == 3
    res = TV.cached_train(TV.custom_config(
        {"train_losses": ["bce", "focal"], "train_mode": "free", "train_object": "both", "train_size": 32,
         "train_small": 0.002, "train_large": 0.15, "train_start": "perturbed", "train_opt": "sgd", "train_lr": 0.3,
         "train_steps": 30, "train_seed": 3}, {"focal": {"gamma": 4.0}}))
    assert res.run_labels == ["bce", "focal (gamma=4)"]
    assert list(at.dataframe[0].value["loss"]) == res.run_labels
    for k, v in q.items():
        assert at.query_params[k] == v, k


def test_bad_query_params_fall_back_with_one_notice():
    at = run_page({**SMALL, "train_mode": "magic", "train_steps": "-5", "train_losses": "nope"})
    ok(at)
    notice = infos(at)
    for name in ("train_mode", "train_steps", "train_losses"):
        assert name in notice
    assert at.radio(key="train_mode").value == "free"


def test_lesson_preset_says_whether_the_run_confirms_it():
    at = run_page({"train_lesson": "dice_nosmooth"})
    ok(at)
    lesson = lessons()["dice_nosmooth"]
    confirmed, detail = lesson.check(TV.cached_train(lesson.config))
    assert confirmed
    assert any("confirms it" in str(s.value) and detail in str(s.value) for s in at.success)
    assert any(lesson.title == str(h.value) for h in at.subheader)


def test_network_mode_curves_split_small_and_large_objects():
    at = run_page({"train_mode": "net", "train_size": "32", "train_steps": "10", "train_losses": "bce"})
    ok(at)
    names = {t["name"] for t in figure(at, "train_curves")["data"]}
    assert {"bce", "bce · small", "bce · large"} <= names
    assert any("held-out" in str(c.value) for c in at.caption)


def test_gif_and_html_exports(small_page):
    at = small_page
    at.button(key="train_mk_gif").click().run()
    ok(at)
    gif = [d for d in at.get("download_button") if "gif" in str(d.proto.label).lower()]
    assert gif


def test_a_run_that_does_not_show_the_lesson_says_so(monkeypatch):
    import dataclasses

    import segloss_core.train_lessons as T

    real = T.lessons()
    fake = {k: dataclasses.replace(v, check=lambda res: (False, "measured: nothing of the kind"))
            for k, v in real.items()}
    monkeypatch.setattr(T, "lessons", lambda: fake)
    at = run_page({"train_lesson": "dice_nosmooth"})
    ok(at)
    assert not at.success
    assert any("does not show it" in str(w.value) and "nothing of the kind" in str(w.value) for w in at.warning)


def test_heavy_links_are_bounded_with_a_notice():
    """A link may ask for 1000 network steps at 256² with 8 losses: clamped with a notice; more
    losses than the multiselect allows fall back to the default with the bad-link notice."""
    from segloss_app import limits
    b = limits.train_steps("net", 256, 1000, 8, 16, 8)
    assert b.value < 1000 and b.notice
    many = ",".join(["bce", "focal", "dice", "jaccard", "tversky", "boundary", "dice_bce", "mcc", "topk_ce"])
    at = U.run_page("pages/train.py", {"train_losses": many, "train_lesson": "custom"}, timeout=240)
    assert not at.exception
    assert any("train_losses" in str(i.value) for i in at.info)
