"""segloss_app.common.number_columns: one number format per table column."""
from __future__ import annotations

import numpy as np
import pandas as pd

from segloss_app.common import number_columns


def _fmt(cfg, col):
    return cfg[col]["type_config"]["format"]


def test_whole_number_columns_are_integers_and_the_rest_three_significant_digits():
    df = pd.DataFrame({"pixels": [12, 30_000, 5], "level": [0.0, 1.0, np.nan], "value": [0.5234, 1e-6, 412.0],
                       "loss": ["dice", "bce", "focal"], "agrees": [True, False, True]})
    cfg = number_columns(df, loss="name")
    assert _fmt(cfg, "pixels") == "%d" and _fmt(cfg, "level") == "%d"
    assert _fmt(cfg, "value") == "%.3g"
    assert cfg["loss"]["label"] == "name" and "agrees" not in cfg
    assert _fmt(number_columns(df, sig=2), "value") == "%.2g"
