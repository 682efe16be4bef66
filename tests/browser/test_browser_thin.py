"""The losses since 2020 in a real browser: the catalogue shows each new key with its formula
rendered (KaTeX), and the Thin structures page draws its sweep with the computed summary."""
from __future__ import annotations

import re

NEW = ["cldice", "skeleton_recall", "unified_focal", "topk_ce", "mcc", "log_hausdorff_dt", "hausdorff_er",
       "boundary_dou"]


def test_catalogue_shows_every_new_loss_with_its_formula(app):
    from segloss_core.registry import REGISTRY
    app.goto("/catalogue")
    app.assert_no_errors()
    main = app.page.get_by_test_id("stMain")
    for k in NEW:
        box = app.page.get_by_label("Search by name, key or family")
        box.fill(k)
        box.press("Enter")
        app.wait_until(lambda: main.get_by_text(REGISTRY[k].reference, exact=False).count() >= 1,
                       what=f"the catalogue entry of {k}")
        app.wait_idle()
        assert main.locator(".katex").count() >= 1, k  # the LaTeX formula is rendered, not shown as source
        app.assert_no_errors()
    app.screenshot("catalogue-new-losses")


def test_thin_page_draws_the_sweep_and_says_what_it_shows(app):
    app.goto("/thin?thin_size=96&thin_levels=5")
    app.assert_no_errors()
    main = app.page.get_by_test_id("stMain")
    app.wait_until(lambda: main.get_by_text(re.compile("What the computation shows")).count() >= 1,
                   what="the sweep's summary")
    app.wait_until(lambda: main.get_by_test_id("stPlotlyChart").count() >= 2, what="the overlay and the sweep charts")
    assert main.get_by_text(re.compile(r"4 one-pixel gaps break the tree into 5 pieces")).count() >= 1
    app.screenshot("thin-structures")
