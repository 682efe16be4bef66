"""Conventions in a real browser: the shown batch values are the libraries' own numbers on the
default batch (which holds an empty image), and switching the presets changes them."""
from __future__ import annotations

import re

import torch


def _shown(app) -> dict[str, tuple[float, float]]:
    text = app.page.get_by_test_id("stMain").inner_text()
    return {m.group(1): (float(m.group(2)), float(m.group(3)))
            for m in re.finditer(r"([\w.()=]+): batch value ([-\d.]+), empty image ([-\d.]+)", text)}


def test_batch_values_are_the_libraries_and_switch_with_the_preset(app):
    from monai.losses import DiceLoss
    from kornia.losses import dice_loss

    from segloss_app import conventions_view as V

    z, g = V.build_batch(V.DEFAULT_SAMPLES)
    assert g[2].sum() == 0  # the default batch has an empty image
    monai = float(DiceLoss(sigmoid=True)(z, g))
    two = torch.cat([torch.zeros_like(z), z], 1)
    kornia = float(dice_loss(two, g[:, 0].long()))

    app.goto("/conventions?conv_presets=monai.DiceLoss,segloss.default")
    app.assert_no_errors()
    shown = app.wait_until(lambda: _shown(app) if "monai.DiceLoss" in _shown(app) else None, what="the values")
    assert abs(shown["monai.DiceLoss"][0] - monai) < 1e-6, (shown, monai)
    assert "kornia.dice_loss" not in shown
    app.screenshot("conventions-monai")

    app.goto("/conventions?conv_presets=kornia.dice_loss,segloss.default")
    app.assert_no_errors()
    shown = app.wait_until(lambda: _shown(app) if "kornia.dice_loss" in _shown(app) else None, what="the values")
    assert abs(shown["kornia.dice_loss"][0] - kornia) < 1e-6, (shown, kornia)
    assert "monai.DiceLoss" not in shown
    assert "conv_presets=kornia.dice_loss" in app.page.url
