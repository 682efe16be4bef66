"""The survey reproduction under the default protocol: the checks the issue names, computed."""
import numpy as np
import pytest

from segloss_core import REGISTRY
from segloss_core.monotonic import analyze
from segloss_core.survey import SURVEY_CLAIM, SurveyConfig, agreement_text, run_survey, summary_table


@pytest.fixture(scope="module")
def default_survey():
    return run_survey(SurveyConfig())


def verdict(res, obj, key):
    v = res.verdicts
    return v[(v.object == obj) & (v.loss == key)].iloc[0]


def test_large_object_region_and_distribution_losses_rise(default_survey):
    for key, spec in REGISTRY.items():
        if spec.family in ("region", "distribution"):
            assert verdict(default_survey, "large", key).monotone, key


def test_small_object_focal_and_combo_rise_overlap_losses_do_not(default_survey):
    for key in ("focal", "combo"):
        assert verdict(default_survey, "small", key).monotone, key
    for key in ("dice", "jaccard", "tversky"):
        assert not verdict(default_survey, "small", key).monotone, key


def test_protocol_facts_from_survey_md(default_survey):
    c = default_survey.curves
    small = c[(c.object == "small") & (c.loss == "dice")]
    large = c[(c.object == "large") & (c.loss == "dice")]
    tp_small = small["tp"].to_numpy()
    assert tp_small[0] > 100 and (tp_small[6:] == 0).all()  # no TP left from about level 6
    assert large["tp"].iloc[-1] / large["tp"].iloc[0] > 0.9  # large keeps >90 % through level 40
    # soft Dice at perfect overlap: ~0.75 for the small object and ~0.03 for the large at c = 0.99
    assert small["value"].iloc[0] == pytest.approx(0.75, abs=0.05)
    assert large["value"].iloc[0] == pytest.approx(0.03, abs=0.02)


def test_verdicts_are_recomputable_from_curves(default_survey):
    c = default_survey.curves
    for _, r in default_survey.verdicts.iterrows():
        vals = c[(c.object == r.object) & (c.loss == r.loss)].sort_values("level")["value"]
        m = analyze(vals.to_numpy(), default_survey.config.tolerance)
        assert (m.monotone, m.violations) == (r.monotone, r.violations)
        assert r.agrees == (r.monotone == (r.loss in SURVEY_CLAIM[r.object]["monotone"]))
        assert r.explanation


def test_texts(default_survey):
    table = summary_table(default_survey)
    assert table.count("\n") >= 27
    text = agreement_text(default_survey)
    assert "Small object" in text and "Large object" in text


def test_config_validation():
    for bad in (dict(levels=1), dict(size=8), dict(confidence=1.0), dict(delta=0), dict(small_radius=500)):
        with pytest.raises(ValueError):
            SurveyConfig(**bad).validate()
