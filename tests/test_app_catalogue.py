"""The Catalogue page under AppTest: every registry loss is listed, search filters, links navigate."""
from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from segloss_core.registry import FAMILIES, KEYS, REGISTRY

import numpy as np
from apptest_utils import arr, figure

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def run_catalogue(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/catalogue.py")
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def _qp(at: AppTest, name: str) -> str:
    v = at.query_params[name]
    return v[0] if isinstance(v, list) else v


@pytest.fixture(scope="module")
def catalogue() -> AppTest:
    return run_catalogue()


def test_lists_every_loss_by_family(catalogue):
    at = catalogue
    assert not at.exception and not at.error
    assert len(KEYS) >= 34  # the survey's 26 and the 8 since 2020
    text = " ".join(m.value for m in at.markdown)
    for k in KEYS:
        assert f"`{k}`" in text
        assert at.button(key=f"cat_pg_{k}") and at.button(key=f"cat_tune_{k}")
    assert [t.label for t in at.tabs] == [f"{f.capitalize()} ({sum(REGISTRY[k].family == f for k in KEYS)})"
                                          for f in FAMILIES]
    assert len(at.latex) == len(KEYS)


def test_formulas_and_parameter_tables_come_from_the_registry(catalogue):
    at = catalogue
    formulas = {x.value.strip().removeprefix("$$").removesuffix("$$").strip() for x in at.latex}
    assert formulas == {REGISTRY[k].formula for k in KEYS}
    tables = [d.value for d in at.dataframe]
    assert len(tables) == sum(1 for k in KEYS if REGISTRY[k].params)
    focal = next(t for t in tables if list(t["parameter"]) == ["alpha", "gamma"] and "focusing" in " ".join(t["meaning"]))
    assert list(focal.columns) == ["parameter", "default", "range", "scale", "meaning"]
    assert focal["default"].tolist() == ["0.25", "2"]
    wce = next(t for t in tables if "auto = (N-Σg)/Σg" in " ".join(t["meaning"]))
    assert wce["default"].tolist() == ["auto"] and wce["scale"].tolist() == ["log"]


def test_use_case_and_reference_shown(catalogue):
    text = " ".join(m.value for m in catalogue.markdown)
    for k in KEYS:
        assert REGISTRY[k].reference in text
        assert REGISTRY[k].use_case in text


def test_search_filters():
    at = run_catalogue()
    at.text_input(key="cat_q").input("tversky").run()
    assert not at.exception
    shown = {b.key[len("cat_pg_"):] for b in at.button if b.key and b.key.startswith("cat_pg_")}
    assert shown == {"tversky", "focal_tversky", "unified_focal"}  # the Unified Focal loss contains focal Tversky
    assert _qp(at, "cat_q") == "tversky"
    at.text_input(key="cat_q").input("boundary").run()  # family name (and texts that mention boundaries)
    shown = {b.key[len("cat_pg_"):] for b in at.button if b.key and b.key.startswith("cat_pg_")}
    assert shown >= {k for k in KEYS if REGISTRY[k].family == "boundary"} and "bce" not in shown
    # the search covers the "when to use it" texts and the parameter meanings
    at.text_input(key="cat_q").input("imbalance").run()
    shown = {b.key[len("cat_pg_"):] for b in at.button if b.key and b.key.startswith("cat_pg_")}
    assert "focal" in shown and "bce" not in shown
    at.text_input(key="cat_q").input("hinge").run()
    shown = {b.key[len("cat_pg_"):] for b in at.button if b.key and b.key.startswith("cat_pg_")}
    assert shown == {"lovasz_hinge"}
    at.text_input(key="cat_q").input("no such loss").run()
    assert any("No loss" in i.value for i in at.info)


def test_search_echo_is_plain_text():
    at = run_catalogue({"cat_q": "[CLICK-ME](http://evil/phish) ![x](http://evil/x.png)"})
    assert not at.exception
    cap = " ".join(c.value for c in at.caption)
    assert "](http" not in cap and "CLICK-ME" in cap


def test_conservative_card_shows_its_per_pixel_curve():
    at = run_catalogue({"cat_q": "conservative"})
    assert not at.exception
    fig = figure(at, "cat_term_conservative")
    by_name = {t["name"]: np.asarray(arr(t["y"]), dtype=float) for t in fig["data"]}
    cons = by_name["Conservative loss"]
    assert (np.diff(cons) < 0).all()  # strictly decreasing in p_t, as the notes say
    assert "Binary cross-entropy" in by_name
    text = " ".join(m.value for m in at.markdown)
    assert "strictly decreasing" in text and "penalizes extreme confidence" not in text


def test_search_restored_from_url():
    at = run_catalogue({"cat_q": "dice"})
    shown = {b.key[len("cat_pg_"):] for b in at.button if b.key and b.key.startswith("cat_pg_")}
    assert "dice" in shown and "bce" not in shown


def test_csv_download_has_every_loss(monkeypatch):
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def capture(self, path_or_data, mimetype, kind, filename=None):
        files[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", capture)
    at = run_catalogue()
    assert any(b.label == "Download the catalogue (CSV)" for b in at.get("download_button"))
    df = pd.read_csv(io.BytesIO(files["segloss-catalogue.csv"]))
    assert df["key"].tolist() == list(KEYS)
    assert {"name", "family", "formula_latex", "reference", "use_case", "parameters", "needs_distance_maps",
            "multiclass"} <= set(df.columns)
    assert "gamma=2" in df.set_index("key").loc["focal", "parameters"]


def test_open_in_playground_navigates():
    at = run_catalogue()
    at.button(key="cat_pg_tversky").click().run()
    assert not at.exception and not at.error
    assert _qp(at, "pg_losses") == "tversky"
    df = at.dataframe[0].value
    assert df["name"].tolist() == [REGISTRY["tversky"].name]
    assert at.selectbox(key="pg_ploss").value == "tversky"


def test_open_in_tune_navigates():
    at = run_catalogue()
    at.button(key="cat_tune_tversky").click().run()
    assert not at.exception
    assert _qp(at, "tune_loss") == "tversky"
    assert at.session_state["tune_loss"] == "tversky"
