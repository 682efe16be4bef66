"""AppTest of the Thin structures page and the Playground's topology read-outs."""
from __future__ import annotations

import pytest

from apptest_utils import figure, markdown, ok, run_page


@pytest.fixture(scope="module")
def thin():
    return run_page("pages/thin.py", {"thin_size": "96", "thin_levels": "5"})


def test_thin_page_shows_topology_losses_and_the_sweep(thin):
    at = thin
    ok(at)
    text = markdown(at)
    assert "What the computation shows." in text and "exactly the same value" in text
    assert "components **1 → 5**" in text          # 4 gaps by default: 5 pieces
    topo = at.dataframe[0].value
    assert list(topo["read-out"])[:2] == ["components β0", "holes β1"] and list(topo["difference"])[:2] == [4, 0]
    losses = at.dataframe[1].value
    assert {"cldice", "skeleton_recall", "dice"} <= set(losses["loss"])
    levels = at.dataframe[2].value
    assert list(levels["betti0_pred"]) == [1, 2, 3, 4, 5]
    verdicts = at.dataframe[3].value.set_index("loss")
    assert verdicts.loc["dice", "verdict"] == "blind" and verdicts.loc["cldice", "verdict"] == "notices"
    fig = figure(at, "thin_sweep")
    names = [t["name"] for t in fig["data"]]
    assert "dice (gaps)" in names and "dice (control)" in names


@pytest.mark.parametrize("mode", ["thin", "thicken", "shift", "branches", "none"])
def test_every_error_mode_renders(thin, mode):
    at = thin
    at.radio(key="thin_mode").set_value(mode).run()
    ok(at)
    assert at.query_params.get("thin_mode") == mode if mode != "gaps" else True


def test_other_structures_and_bad_link():
    at = run_page("pages/thin.py", {"thin_kind": "rings", "thin_size": "64", "thin_levels": "3", "thin_n": "oops"})
    ok(at)
    assert any("thin_n" in str(i.value) for i in at.info)
    topo = at.dataframe[0].value
    assert list(topo["ground truth"])[:2] == [2, 2]   # two rings: two components, two holes


def test_playground_thin_structure_source_and_topology_row():
    from segloss_core.topology import betti_numbers  # noqa: F401
    at = run_page("pages/playground.py", {"pg_src": "thin", "pg_thin": "rings", "pg_size": "128", "pg_fn": "0",
                                          "pg_fp": "0"})
    ok(at)
    m = {x.label: x.value for x in at.metric}
    assert m["Components β0"] == "2" and m["Holes β1"] == "2"   # two rings, predicted without error
    assert m["clDice"] == "1.0000"
