"""``python -m segloss_core reproduce`` as the outside check reads it: the CSVs, their new columns,
verdict words consistent with the steps in curves.csv, robustness.csv, and survey.html offline."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segloss_core import claim
from segloss_core.registry import KEYS
from segloss_core.monotonic import FLOAT_RTOL

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep")
    r = subprocess.run([sys.executable, "-m", "segloss_core", "reproduce", "--out", str(out), "--levels", "8",
                        "--size", "96", "--device", "cpu"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return out, r


def test_curves_and_verdicts_columns(reproduced):
    out, r = reproduced
    curves = pd.read_csv(out / "curves.csv")
    assert list(curves.columns) == ["object", "level", "fp", "fn", "loss", "value", "value_norm", "grad_l2"]
    v = pd.read_csv(out / "verdicts.csv", dtype={"monotone": str})
    assert list(v.columns)[:5] == ["object", "loss", "monotone", "violations", "kendall_tau"]  # today's columns kept
    assert {"survey_says", "verdict", "flip_tolerance", "min_step_rel"} <= set(v.columns)
    assert set(v["monotone"]) <= {"true", "false"} and v["loss"].nunique() == len(KEYS)
    assert set(v["survey_says"]) <= {"rises", "does not rise", "not stated"}
    assert set(v["verdict"]) <= {"rises", "saturates", "flat", "falls"}
    for row in v.itertuples():
        assert row.survey_says == claim.survey_says(row.loss, row.object)
    assert (v[v.object == "large"].survey_says == "not stated").all()
    assert set(v[(v.object == "small") & v.loss.isin(["hausdorff_dt", "cmss", "shape_aware"])].survey_says) == {"not stated"}


def test_verdict_words_follow_the_steps_in_curves_csv(reproduced):
    out, _ = reproduced
    curves = pd.read_csv(out / "curves.csv")
    v = pd.read_csv(out / "verdicts.csv")
    tol = 1e-3
    for row in v.itertuples():
        vals = curves[(curves.object == row.object) & (curves.loss == row.loss)].sort_values("level")["value"].to_numpy()
        steps, span = np.diff(vals), vals.max() - vals.min()
        zero = FLOAT_RTOL * np.abs(vals).max()
        if span <= zero:
            want = "flat"
        elif (steps < -zero).any():
            want = "falls"
        elif (np.abs(steps) <= zero).any():
            want = "flat"
        else:
            want = "rises" if (steps > tol * span).all() else "saturates"
        # the CSV rounds values to ~17 digits: a step at the precision boundary could read either way
        assert row.verdict == want, (row.object, row.loss, steps.min() / span)
        assert (row.monotone == "true") == (want == "rises") if isinstance(row.monotone, str) else row.monotone == (want == "rises")


def test_robustness_csv(reproduced):
    out, r = reproduced
    rob = pd.read_csv(out / "robustness.csv")
    assert list(rob.columns) == ["protocol", "confidence", "delta", "tolerance", "object", "loss", "verdict",
                                 "survey_says", "agrees"]
    assert set(rob.protocol) == {"boundary", "blobs", "translation"}
    assert set(rob.confidence) == {0.9, 0.99, 0.999, 1.0}
    assert rob.tolerance.min() == pytest.approx(1e-6) and rob.tolerance.max() == pytest.approx(0.1)
    assert set(rob.verdict) <= {"rises", "saturates", "flat", "falls"}
    assert set(rob.loss) == set(claim.SURVEY_LOSSES)  # the survey's losses; later ones are not stated by it
    stated = rob[rob.survey_says != "not stated"]
    assert stated.agrees.notna().all() and rob[rob.survey_says == "not stated"].agrees.isna().all()
    assert "Robustness" in r.stdout and "holds" in r.stdout


def test_survey_html_opens_offline_and_says_what_is_robust(reproduced):
    out, _ = reproduced
    html = (out / "survey.html").read_text()
    import re
    assert not re.search(r"<script[^>]*\bsrc=", html)  # plotly.js is embedded, nothing is loaded from outside
    assert "Plotly.newPlot" in html and len(html) > 3_000_000
    assert "which conclusions depend on a threshold" in html and "holds" in html and "not stated" in html


def test_bad_arguments_exit_2(tmp_path):
    for argv in (["--levels", "0"], ["--protocol", "spiral"], ["--confidence", "1.5"]):
        bad = subprocess.run([sys.executable, "-m", "segloss_core", "reproduce", "--out", str(tmp_path), *argv],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr and bad.stderr.startswith("error:"), argv
