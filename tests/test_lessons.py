"""Every teaching preset opens its page with its explanation on that page, and the computed
numbers show its point (a check per lesson, recomputed here and shown on the page)."""
import numpy as np
import pytest

import apptest_utils as U
from segloss_app.common import PAGES
from segloss_app.presets import PRESETS
from segloss_core.lessons import BY_ID, LESSONS, check_touching


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: l.id)
def test_the_computation_shows_the_lesson(lesson):
    c = lesson.check()
    assert c.shows, c.text
    assert any(ch.isdigit() for ch in c.text)  # a sentence with the numbers, not a typed claim


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: l.id)
def test_the_preset_opens_its_page_with_the_explanation_and_the_check(lesson):
    at = U.run_page(PAGES[lesson.page], {**lesson.params, "lesson": lesson.id}, timeout=240)
    U.ok(at)
    assert not at.info or all("not valid" not in str(i.value) for i in at.info), [i.value for i in at.info]
    text = " ".join(str(m.value) for m in at.markdown)
    assert f"**Lesson: {lesson.name}.** {lesson.explanation}" in text
    assert "✓ **The numbers show it.** " + lesson.check().text in text


def test_presets_are_the_lessons():
    assert [p.name for p in PRESETS] == [l.name for l in LESSONS]
    assert all(p.params["lesson"] in BY_ID for p in PRESETS)


def test_lesson_box_ignores_other_pages_and_unknown_ids():
    at = U.run_page("pages/tune.py", {"lesson": "small_object"})  # a Large vs small lesson
    U.ok(at)
    assert not any("**Lesson:" in str(m.value) for m in at.markdown)
    at = U.run_page("pages/tune.py", {"lesson": "[x](http://evil)"})
    U.ok(at)
    assert not any("**Lesson:" in str(m.value) for m in at.markdown)


def test_touching_cells_really_touch():
    from scipy import ndimage as ndi

    from segloss_core.masks import real_mask
    gt = real_mask("cells", 256)
    lab, n = ndi.label(gt)
    assert n == 9
    gaps = [ndi.distance_transform_edt(lab != 1)[lab == j].min() for j in (2, 4)]
    assert all(2 <= g <= 4 for g in gaps)  # neighbours 1-3 px apart
    import subprocess, sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "scripts"))
    from make_assets import touching_cells
    assert np.array_equal(touching_cells(), gt)  # the shipped asset is what the script makes
    assert check_touching().shows


def test_the_shipped_icon_is_what_the_script_makes():
    import sys
    from pathlib import Path

    from PIL import Image
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from make_assets import icon
    shipped = np.asarray(Image.open(Path(__file__).resolve().parents[1] / "assets" / "icon.png"))
    assert np.array_equal(shipped, icon())
