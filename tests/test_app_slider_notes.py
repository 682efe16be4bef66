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


def test_playground_hard_prediction_is_finite_and_in_the_link():
    at = U.run_page("pages/playground.py", {"pg_hard": "1", "pg_losses": "dice,bce,conservative,focal"})
    U.ok(at)
    assert at.toggle(key="pg_hard").value is True
    assert at.query_params.get("pg_hard") == "1"
    import numpy as np
    table = at.dataframe[0].value
    assert set(table["name"]) == {REGISTRY[k].name for k in ("dice", "bce", "conservative", "focal")}
    assert np.isfinite(table["value"].astype(float)).all() and np.isfinite(table["grad_l2"].astype(float)).all()
    # c = 1: the conservative loss sits at its clamp (p_t = 1 - 1e-7 on every correct pixel), far below 0
    assert float(table.set_index("name").loc["Conservative loss", "value"]) < -60
