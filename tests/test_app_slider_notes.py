"""Naming traps are said beside the sliders, on every page that shows them (from the registry)."""
import apptest_utils as U

from segloss_core.registry import REGISTRY


def test_focal_tversky_naming_beside_the_tune_sliders():
    at = U.run_page("pages/tune.py", {"tune_loss": "focal_tversky"})
    U.ok(at)
    caps = " ".join(c.value for c in at.caption)
    assert REGISTRY["focal_tversky"].slider_note in caps
    assert "their α = 0.7 (on FN) is β = 0.7 here" in caps


def test_unet_border_option_beside_the_tune_sliders():
    at = U.run_page("pages/tune.py", {"tune_loss": "unet_weighted_ce"})
    U.ok(at)
    assert at.selectbox(key="tune_unet_weighted_ce.border").value == "background"
    assert "everywhere is the paper's equation" in " ".join(c.value for c in at.caption)
