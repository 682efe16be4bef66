"""Hostile and careless input (issue 15): no traceback, no injected content, bounded work.

* validators on hostile files (configuration and drawing JSON, canvas data URLs, ``.npy`` headers);
* the per-request cost bound (Tune grids, survey levels, images sent to the browser, caches);
* plain-text echo of URL values (no link, image or autolink can form on any page);
* the CLI's ``eval`` cases (exit 2 with one line, never a traceback, never unsafe advice).
"""
from __future__ import annotations

import base64
import io
import json
import re
import resource
import time

import numpy as np
import pytest
from PIL import Image

from segloss_app import canvas as CV
from segloss_app import limits
from segloss_app import validate as V
from segloss_app.plaintext import plain
from segloss_app.presets import params_from_config
from segloss_core import cli
from segloss_core.mask_files import MaskLoadError, load_mask, load_probabilities, npy_header
from segloss_core.registry import REGISTRY

import apptest_utils as U

EVIL_LINK = "[CLICK-ME](http://evil.example/phish)"
EVIL_IMAGE = "![px](http://evil.example/x.png)"
EVIL_HTML = "<img src=http://evil.example/y.png>"
EVIL_BARE = "www.evil.example https://evil.example/z"


def live_markup(md: str) -> list[str]:
    """What in the Markdown source ``md`` could render as a link, an image, HTML, a Streamlit
    directive or a GFM autolink (Streamlit autolinks ``http(s)://`` and ``www.`` in parsed text,
    so escaping their punctuation is not enough)."""
    found = []
    unescaped = re.sub(r"\\.", "", md)  # drop every backslash escape
    for ch in "[]()<>`$":
        if ch in unescaped:
            found.append(f"unescaped {ch!r}")
    for pat in (r"https?://", r"www\.", r"[\w.+-]+@[\w-]+\.\w"):
        if re.search(pat, md, re.IGNORECASE):
            found.append(f"autolink {pat}")
    return found


# ------------------------------------------------------------------------------------------------
# Plain-text echo
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [EVIL_LINK, EVIL_IMAGE, EVIL_HTML, EVIL_BARE, ":red[big] $x^2$ `code`",
                                  "a@evil.example", "line\nbreak\r\n# heading"])
def test_plain_leaves_no_live_markup(text):
    out = plain(text, max_len=200)
    assert not live_markup(out), (out, live_markup(out))
    assert "\n" not in out and "\r" not in out
    # what the reader sees is what was typed: drop the escapes and the invisible joiners
    assert re.sub(r"\\(.)", r"\1", out).replace("\u2060", "") == text.replace("\r\n", "  ").replace("\n", " ")


def test_plain_keeps_names_readable_and_cuts_long_values():
    assert plain("tune_focal.gamma='99'") == "tune_focal.gamma='99'"
    assert plain("x" * 5000).endswith("…") and len(plain("x" * 5000)) == 81


PAGE_CASES = [
    ("pages/playground.py", "pg_shape"),
    ("pages/large_vs_small.py", "lvs_delta"),
    ("pages/tune.py", "tune_loss"),
    ("pages/gradients.py", "grad_fn"),
    ("pages/train.py", "train_mode"),
]


@pytest.mark.parametrize("page,param", PAGE_CASES)
def test_url_values_are_echoed_as_plain_text(page, param):
    evil = EVIL_LINK + " " + EVIL_IMAGE + " " + EVIL_HTML
    at = U.run_page(page, {param: evil})
    U.ok(at)
    notices = [str(e.value) for e in at.info]
    assert any(param in n for n in notices), notices  # the bad value is named ...
    echoed = [str(el.value) for el in list(at.info) + list(at.markdown) + list(at.caption) + list(at.warning)
              if "evil" in str(el.value)]
    assert echoed and "CLICK-ME" in " ".join(echoed)
    for text in echoed:  # ... but inert
        assert not live_markup(text), (text, live_markup(text))


def test_catalogue_search_caption_is_plain_text():
    at = U.run_page("pages/catalogue.py", {"cat_q": EVIL_LINK})
    U.ok(at)
    caps = [str(c.value) for c in at.caption if "CLICK-ME" in str(c.value)]
    assert caps, "the search is echoed in the caption"
    for c in caps:
        assert not live_markup(c), (c, live_markup(c))


# ------------------------------------------------------------------------------------------------
# Canvas messages
# ------------------------------------------------------------------------------------------------
def _data_url(im: Image.Image, fmt: str = "PNG") -> str:
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.fixture(scope="module")
def png_bomb() -> str:
    """A canvas message of ~40 KB whose PNG declares 9000 x 9000 pixels (324 MB as RGBA)."""
    return _data_url(Image.new("1", (9000, 9000)))


def test_canvas_png_bomb_is_refused_before_decoding(png_bomb):
    assert len(png_bomb) < 200_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    with pytest.raises(ValueError, match="declares 9000x9000 pixels; the limit is 1088"):
        CV.rgba_from_data_url(png_bomb)
    assert time.perf_counter() - t < 0.5
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 100  # MB; decoding takes 324+


@pytest.mark.parametrize("url,match", [
    ("data:image/png;base64," + "A" * (CV.MAX_CANVAS_URL_CHARS + 1), "limit is 8 MB"),
    ("data:image/png;base64,@@@not-base64@@@", "not valid base64"),
    (None, None),
])
def test_canvas_bad_data_urls(url, match):
    if match is None:
        assert CV.rgba_from_data_url(url) is None
        return
    with pytest.raises(ValueError, match=match):
        CV.rgba_from_data_url(url)


def test_canvas_jpeg_and_truncated_png_are_refused():
    with pytest.raises(ValueError, match="not a PNG"):
        CV.rgba_from_data_url(_data_url(Image.new("RGB", (32, 32)), "JPEG"))
    good = _data_url(Image.new("RGBA", (64, 64), (0, 0, 0, 255)))
    head, b64 = good.split(",", 1)
    cut = base64.b64encode(base64.b64decode(b64)[:60]).decode()
    with pytest.raises(ValueError, match="truncated or corrupt|not a PNG"):
        CV.rgba_from_data_url(head + "," + cut)
    assert CV.rgba_from_data_url(good).shape == (64, 64, 4)  # a real drawing still decodes


def test_canvas_bomb_on_the_page_gives_one_line_and_the_page_keeps_working(png_bomb):
    at = U.run_page("pages/playground.py", {"pg_src": "draw"})
    U.ok(at)
    at.session_state["pg_gt_canvas_0"] = {"drawing": {"raw": {"objects": [{"type": "path"}]}, "data": png_bomb},
                                          "backgroundFit": None}
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and "9000x9000" in at.error[0].value
    at.button(key="pg_gt_clear").click().run()  # Clear gives a fresh canvas: the error is gone
    U.ok(at)


def test_fabric_sources_are_stripped():
    canvas = {
        "version": "4.4.0", "background": "#FFFFFF",
        "backgroundImage": {"type": "image", "src": "http://evil.example/bg.png"},
        "overlayImage": {"type": "image", "src": "https://evil.example/ov.png"},
        "objects": [
            {"type": "image", "src": "http://evil.example/x.png", "left": 1},
            {"type": "path", "path": [["M", 1, 2], ["Q", 3, 4, 5, 6], ["L", 7, 8]], "stroke": "#000000",
             "strokeWidth": 18, "fill": None, "shadow": None, "strokeDashArray": None, "left": 3.5},
            {"type": "rect", "fill": {"type": "pattern", "source": "http://evil.example/p.png"}, "width": 4},
            {"type": "group", "objects": [{"type": "image", "src": "//evil.example/g.png"}]},
            {"type": "path", "path": [["M", 0, 0]], "stroke": "url(http://evil.example/s)",
             "clipPath": {"type": "image", "src": "http://evil.example/c.png"}},
        ],
    }
    clean, dropped = V.clean_fabric(canvas)
    text = json.dumps(clean)
    assert "evil" not in text and "src" not in text and "source" not in text and "url(" not in text
    assert dropped >= 6
    assert clean["objects"][0]["path"] == canvas["objects"][1]["path"]  # real strokes survive
    assert [o["type"] for o in clean["objects"]] == ["path", "rect", "path"]
    assert clean["background"] == "#FFFFFF"
    # a drawing file carrying them: loaded clean, with a note saying what was removed
    m = np.zeros((16, 16), bool)
    m[4:8, 4:12] = True
    doc = json.loads(CV.drawing_json(m, {"objects": []}))
    doc["canvas"] = canvas
    d = V.read_drawing(json.dumps(doc).encode())
    assert np.array_equal(d.mask, m) and "evil" not in json.dumps(d.canvas)
    assert any("removed" in n for n in d.notes)
    # and what the app exports is clean too
    assert b"evil" not in CV.drawing_json(m, canvas)


# ------------------------------------------------------------------------------------------------
# JSON loaders
# ------------------------------------------------------------------------------------------------
def _drawing(**over) -> bytes:
    doc = {"format": "segloss-lab-drawing", "version": 1, "shape": [2, 3], "runs": [1, 2, 3], "canvas": None}
    doc.update(over)
    return json.dumps(doc).encode()


def one_line(exc: BaseException) -> str:
    msg = str(exc)
    assert "\n" not in msg and "Traceback" not in msg and "set_int_max_str_digits" not in msg and len(msg) < 300
    return msg


DRAWING_CASES = [
    (b"[" * 100_000, "nested 100,000 levels"),
    (b'{"a": ' * 50_000 + b"1" + b"}" * 50_000, "nested 50,000 levels"),
    (_drawing(runs=[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]), "nested"),
    (_drawing().replace(b'"shape": [2, 3]', b'"shape": [1e400, 1]'), "too large for a float"),
    (_drawing().replace(b'"runs": [1, 2, 3]', b'"runs": [' + b"9" * 200_000 + b"]"), "200,000 digits"),
    (_drawing().replace(b'"shape": [2, 3]', b'"shape": [NaN, 3]'), "NaN"),
    (_drawing(canvas=5), "'canvas' must be an object or null"),
    (_drawing(canvas=[1, 2, 3]), "'canvas' must be an object or null"),
    (_drawing(canvas="<script>alert(1)</script>"), "'canvas' must be an object or null"),
    (_drawing(canvas={"objects": 7}), "'canvas'.objects must be a list"),
    (_drawing(shape=[2]), "'shape' must have at least 2 items"),
    (_drawing(shape=[2, 3.5]), "'shape'[1] must be an integer"),
    (_drawing(shape=[100000, 100000], runs=[1]), "must be at most 512"),
    (_drawing(shape="2x3"), "'shape' must be a list"),
    (_drawing(runs=[1, -2, 7]), "negative"),
    (_drawing(runs=[1, "2", 3]), "whole numbers"),
    (_drawing(runs=[1, 2]), "add up to 3 pixels, not the 2x3"),
    (_drawing(version=99), "'version' must be at most 1"),
    (b"\xff\xfe garbage", "not UTF-8"),
    (b"", "empty"),
    (b"{nope", "not valid JSON"),
    (b'{"a": 1}', "not a SegLoss Lab drawing"),
    (b" " * (V.MAX_DRAWING_BYTES + 1), "the limit is 8 MiB"),
]


@pytest.mark.parametrize("data,match", DRAWING_CASES, ids=[m for _, m in DRAWING_CASES])
def test_hostile_drawing_files_give_one_clear_line(data, match):
    with pytest.raises(ValueError) as info:
        CV.mask_from_drawing_json(data)
    assert match in one_line(info.value)


def test_drawing_with_bom_and_unknown_keys_loads():
    data = b"\xef\xbb\xbf" + _drawing(extra={"a": 1}, more=2)
    d = V.read_drawing(data)
    assert d.mask.tolist() == [[False, True, True], [False, False, False]]
    assert d.notes == ["ignored 2 unknown field(s)"]


CONFIG_CASES = [
    (b"[" * 100_000, "nested 100,000 levels"),
    (b'{"params": {"pg_frac": ' + b"1" * 200_000 + b"}}", "200,000 digits"),
    (b'{"params": {"pg_frac": 1e999}}', "too large for a float"),
    (b'{"params": [1, 2]}', "'params' must be an object"),
    (b'{"page": 5}', "'page' must be a string"),
    (b"[1, 2, 3]", "the configuration: it must be an object"),
    (b'"just text"', "must be an object"),
    (json.dumps({f"k{i}": 1 for i in range(V.MAX_CONFIG_ENTRIES + 1)}).encode(), "more than 500 entries"),
    (b" " * (V.MAX_CONFIG_BYTES + 1), "the limit is 1 MiB"),
]


@pytest.mark.parametrize("data,match", CONFIG_CASES, ids=[m for _, m in CONFIG_CASES])
def test_hostile_configuration_files_give_one_clear_line(data, match):
    with pytest.raises(ValueError) as info:
        params_from_config(data, "pg_", known={"pg_frac"})
    assert match in one_line(info.value)


def test_configuration_unknown_keys_are_dropped_and_reported():
    known = {"pg_frac", "pg_shape", "pg_gshared"}
    params = {"pg_frac": "0.001", "pg_gshared": True, "pg_shape": "x" * 5000, "tune_loss": "dice",
              **{f"pg_junk{i}": "1" for i in range(400)}}
    data = b"\xef\xbb\xbf" + json.dumps({"page": "playground", "params": params}).encode()  # BOM accepted
    keep, ignored = params_from_config(data, "pg_", known=known)
    assert keep == {"pg_frac": "0.001", "pg_gshared": "1"}  # the 5000-character value is not kept
    assert len(ignored) == 402 and "pg_shape" in ignored and "tune_loss" in ignored
    assert len(json.dumps(keep)) < 100  # the link stays short


def test_json_depth_ignores_brackets_in_strings():
    assert V.json_depth(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "b": [[1]]}') == 3
    assert V.json_depth(b'"\\"[[["') == 0


# ------------------------------------------------------------------------------------------------
# .npy headers (loaders and CLI)
# ------------------------------------------------------------------------------------------------
def _npy_with_header(shape, descr="<f8", body=b"") -> bytes:
    from numpy.lib import format as F
    buf = io.BytesIO()
    F.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue() + body


def test_npy_header_declaring_huge_arrays_is_refused_before_allocation():
    data = _npy_with_header((100_000, 100_000))  # 74.5 GiB declared, 128 bytes on disk
    assert npy_header(data)[0] == (100_000, 100_000)
    with pytest.raises(MaskLoadError, match="100000x100000 pixels; the limit is 2048"):
        load_probabilities(data, name_hint="p.npy")
    with pytest.raises(MaskLoadError, match="truncated"):
        load_mask(_npy_with_header((64, 64), "|b1", b"\x01" * 100), name_hint="m.npy")
    with pytest.raises(MaskLoadError, match="Python objects"):
        load_mask(_npy_with_header((2, 2), "|O"), name_hint="o.npy")
    with pytest.raises(MaskLoadError, match="dtype"):
        load_mask(_npy_with_header((2, 2), "<c16", b"\0" * 64), name_hint="c.npy")
    with pytest.raises(MaskLoadError, match="unreadable header"):
        load_mask(b"\x93NUMPY\x01\x00\xff\xff{", name_hint="h.npy")


@pytest.fixture
def pair(tmp_path):
    gt = np.zeros((16, 16), bool)
    gt[4:10, 4:10] = True
    np.save(tmp_path / "gt.npy", gt)
    np.save(tmp_path / "pred.npy", np.where(gt, 0.9, 0.1))
    return tmp_path


def _eval(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(["eval", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _bad(path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


CLI_CASES = {
    "huge header (gt)": ("gt", lambda d: _bad(d / "big.npy", _npy_with_header((100_000, 100_000))), "limit is 2048"),
    "huge header (pred)": ("pred", lambda d: _bad(d / "big.npy", _npy_with_header((100_000, 100_000))), "limit is 2048"),
    "1e10 values (pred)": ("pred", lambda d: _bad(d / "v.npy", _npy_with_header((10_000_000_000,))), "1-D array"),
    "random bytes .npy (pred)": ("pred", lambda d: _bad(d / "r.npy", bytes(range(256)) * 40), "not a valid .npy"),
    "random bytes .npy (gt)": ("gt", lambda d: _bad(d / "r.npy", bytes(range(256)) * 40), "not a valid .npy"),
    "pickled objects (pred)": ("pred", lambda d: _bad(d / "o.npy", _npy_with_header((2, 2), "|O", b"\x80\x04N.")),
                               "Python objects"),
    "truncated (pred)": ("pred", lambda d: _bad(d / "t.npy", _npy_with_header((16, 16))), "truncated"),
    "empty (pred)": ("pred", lambda d: _bad(d / "e.npy", b""), "empty"),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_eval_hostile_npy_exits_2_with_one_line(pair, capsys, case):
    which, make, match = CLI_CASES[case]
    bad = make(pair)
    args = ["--gt", bad, "--pred", str(pair / "pred.npy")] if which == "gt" else \
        ["--gt", str(pair / "gt.npy"), "--pred", bad]
    code, out, err = _eval(capsys, *args)
    assert code == 2, (code, err)
    assert err.count("\n") == 1 and err.startswith("error: ") and match in err, err
    assert "allow_pickle" not in err and "Traceback" not in err and not out


def test_cli_eval_checks_the_prediction_size_before_reading(pair, capsys):
    big = pair / "big.npy"
    with open(big, "wb") as fh:  # a sparse 1 GiB file: nothing is written to disk
        fh.truncate(2 ** 30)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, _, err = _eval(capsys, "--gt", str(pair / "gt.npy"), "--pred", str(big))
    assert code == 2 and "1024.0 MiB; the limit is 20.0 MiB" in err
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 50  # MB (it read 1 GiB before)


@pytest.mark.parametrize("losses", [",", " , ,"])
def test_cli_eval_empty_loss_list_exits_2(pair, capsys, losses):
    code, out, err = _eval(capsys, "--gt", str(pair / "gt.npy"), "--pred", str(pair / "pred.npy"), "--losses", losses)
    assert code == 2 and "names no loss" in err and not out


def test_cli_eval_still_reads_good_files(pair, capsys):
    code, out, err = _eval(capsys, "--gt", str(pair / "gt.npy"), "--pred", str(pair / "pred.npy"),
                           "--losses", "dice,dice,bce", "--json")
    assert code == 0, err
    assert list(json.loads(out)["losses"]) == ["dice", "bce"]


# ------------------------------------------------------------------------------------------------
# Cost of one request
# ------------------------------------------------------------------------------------------------
def test_tune_bound_clamps_full_image_losses_only():
    unet, focal, cmss = REGISTRY["unet_weighted_ce"], REGISTRY["focal"], REGISTRY["cmss"]
    b = limits.tune_side(unet, 33, True, 41, 256 * 256)
    assert b.value < 33 and b.notice and "33×33" in b.notice and "2 min" in b.notice
    assert limits.tune_cost_s(unet, b.value ** 2, 41, 256 * 256) <= limits.BUDGET_S
    assert limits.tune_cost_s(unet, 33 * 33, 41, 256 * 256) > 100  # what the link asked for: minutes
    assert limits.tune_side(focal, 33, True, 41, 256 * 256) == limits.Bound(33)  # compressed: cheap
    # the automatic resolutions always fit, so the page's defaults never show the notice
    assert limits.tune_side(unet, 7, True, 41, 256 * 256).notice is None
    assert limits.tune_side(cmss, 11, True, 41, 256 * 256).notice is None


def test_tune_heaviest_link_is_bounded_with_a_notice():
    t = time.perf_counter()
    at = U.run_page("pages/tune.py", {"tune_loss": "unet_weighted_ce", "tune_res": "33"}, timeout=120)
    elapsed = time.perf_counter() - t
    U.ok(at)
    assert any("Grid reduced from 33×33" in str(w.value) for w in at.warning)
    side = limits.tune_side(REGISTRY["unet_weighted_ce"], 33, True, 41, 256 * 256).value
    assert any(f"{side}×{side})" in str(m.value) for m in at.markdown)  # the read-out names the grid computed
    assert elapsed < 60, elapsed  # was 173 s of CPU


def test_survey_bound_lowers_blurred_levels_with_a_notice():
    assert limits.survey_levels(101, 0.0) == limits.Bound(101)  # hard edges: ~2 s
    b = limits.survey_levels(101, 5.0)
    assert limits.SURVEY_MIN_LEVELS <= b.value < 101 and "instead of 101" in b.notice
    assert limits.survey_cost_s(b.value, 5.0) <= limits.BUDGET_S
    assert limits.survey_memory_mb(b.value, 5.0) <= limits.SURVEY_BUDGET_MB
    assert limits.survey_levels(41, 5.0).notice is None  # the default count of levels stays, blurred or not
    at = U.run_page("pages/large_vs_small.py", {"lvs_levels": "101", "lvs_blur": "5", "lvs_delta": "500",
                                                "lvs_large_r": "120", "lvs_small_r": "40", "lvs_fpmode": "noise"},
                    timeout=120)
    assert not at.exception
    assert any(f"Computed {b.value} error levels instead of 101" in str(w.value) for w in at.warning)


def test_display_shrinks_large_maps_and_keeps_peaks():
    a = np.zeros((1024, 1024), np.float32)
    a[5, 7], a[700, 300] = -3.0, 2.0
    maps, f = limits.shrink_for_display({f"k{i}": a for i in range(8)})
    assert f == 2 and maps["k0"].shape == (512, 512)
    assert sum(m.size for m in maps.values()) <= limits.MAX_SENT_PIXELS
    assert maps["k0"][2, 3] == -3.0 and maps["k0"][350, 150] == 2.0  # sign and size of the peaks kept
    small = {"k": np.ones((256, 256))}
    assert limits.shrink_for_display(small)[1] == 1


def test_full_resolution_uploads_are_capped():
    assert limits.full_side_notice((1024, 800), "m.png") is None
    assert "downsampled to 1024" in limits.full_side_notice((2048, 2048), "m.png")


# ------------------------------------------------------------------------------------------------
# Caches bounded by memory
# ------------------------------------------------------------------------------------------------
def test_lru_is_bounded_by_bytes_and_keeps_the_newest():
    from segloss_app.compute_analysis import _LRU
    lru = _LRU(10, max_bytes=100 * 2**20)
    for i in range(4):
        lru.put(i, np.zeros(40 * 2**20, np.uint8))
    assert list(lru.data) == [2, 3] and lru.bytes() <= 100 * 2**20
    lru.put("huge", {"a": np.zeros(300 * 2**20, np.uint8)})  # alone over the budget: kept, the rest goes
    assert list(lru.data) == ["huge"]
    assert limits.nbytes({"x": [np.zeros(10, np.float64)], "y": (np.zeros(4, np.uint8),)}) >= 84


def test_cache_worst_cases_stay_under_budget():
    from segloss_app import compute as C
    from segloss_app import compute_analysis as CA
    assert sum(C.WORST_CASE_BYTES.values()) < 512 * 2**20  # was ~4 GB: 32 pair reports at 2048² x 8 maps
    assert sum(CA._BYTES.values()) <= 1024 * 2**20
    with pytest.raises(ValueError, match="at most 12 gradient maps"):
        C.pair_report(np.zeros((8, 8), bool), np.zeros((8, 8), np.float32), tuple(["dice"] * 13), "{}")


def test_server_upload_limit_is_configured():
    import tomllib
    from pathlib import Path
    cfg = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["maxUploadSize"] == CV.MAX_UPLOAD_BYTES // 2**20
    assert cfg["browser"]["gatherUsageStats"] is False and cfg["client"]["toolbarMode"] == "viewer"
    assert cfg["runner"]["postScriptGC"] is False  # 0.24 s of every rerun (the comment in config.toml)


# ------------------------------------------------------------------------------------------------
# Uploads on the Playground (AppTest uploads the bytes as the browser would)
# ------------------------------------------------------------------------------------------------
def test_large_upload_at_full_resolution_is_bounded():
    from segloss_core.mask_files import save_mask_png
    m = np.zeros((2048, 2048), bool)
    m[500:1500, 600:1400] = True
    keys = "bce,dice,focal,boundary,hausdorff_dt,cmss,unet_weighted_ce,lovasz_hinge"
    at = U.run_page("pages/playground.py", {"pg_src": "upload", "pg_gkeys": keys}, timeout=120)
    at.file_uploader(key="pg_gt_file").set_value(("big.png", save_mask_png(m), "image/png")).run()
    U.ok(at)
    t = time.perf_counter()
    at.checkbox(key="pg_gt_down").uncheck().run()  # "full resolution": was 41 s, 2.1 GB and a chart too big
    elapsed = time.perf_counter() - t
    U.ok(at)
    assert any("downsampled to 1024 px" in str(w.value) for w in at.warning)
    assert "1024×1024 px" in " ".join(str(c.value) for c in at.caption)
    fig = U.figure(at, "pg_gradmaps")
    maps = [U.arr(tr["z"]) for tr in fig["data"] if tr.get("type") == "heatmap"]
    assert len(maps) == 8 and sum(a.size for a in maps) <= limits.MAX_SENT_PIXELS
    assert "1/2 resolution" in fig["layout"]["title"]["text"]
    sent = sum(len(el.proto.spec) for el in at.get("plotly_chart"))
    assert sent < 25 * 2**20, sent / 2**20  # MB of chart JSON for the whole page
    assert elapsed < 60, elapsed


def test_hostile_files_on_the_playground_give_one_line():
    at = U.run_page("pages/playground.py")
    cfg = at.file_uploader(key="pg_cfg_file")
    cfg.set_value(("c.json", b"[" * 100_000, "application/json")).run()  # RecursionError before
    assert not at.exception and len(at.sidebar.error) == 1 and "nested 100,000 levels" in at.sidebar.error[0].value
    at.file_uploader(key="pg_cfg_file").set_value(("c.json", b" " * (2 * 2**20), "application/json")).run()
    assert not at.exception and "at most 1 MiB" in at.sidebar.error[0].value  # refused from its size
    junk = {"params": {EVIL_LINK: "1", "pg_frac": "0.001", **{f"pg_x{i}": "1" for i in range(400)}}}
    at.file_uploader(key="pg_cfg_file").set_value(("c.json", json.dumps(junk).encode(), "application/json")).run()
    U.ok(at)
    assert dict(at.query_params).get("pg_frac") in ("0.001", ["0.001"])
    assert not any(k.startswith("pg_x") for k in at.query_params)  # the link stays short
    note = " ".join(str(c.value) for c in at.sidebar.caption if "Ignored" in str(c.value))
    assert "Ignored 401 entries" in note and "CLICK-ME" in note and "and 393 more" in note
    assert not live_markup(note.split(": ", 1)[1])  # the names from the file are plain text


def test_hostile_drawing_file_on_the_playground_gives_one_line():
    at = U.run_page("pages/playground.py", {"pg_src": "draw"})
    bad = _drawing(shape=[1e300, 1]).replace(b"1e+300", b"1e400")
    at.file_uploader(key="pg_gt_drawing_file").set_value(("d.json", bad, "application/json")).run()
    assert not at.exception and len(at.error) == 1 and "too large for a float" in at.error[0].value
    at.run()  # the message stays one line on a rerun, and the page keeps working
    assert not at.exception


def test_key_list_longer_than_a_multiselect_allows_falls_back():
    from segloss_app.common import KeyListParam
    p = KeyListParam(["dice"], max_items=8)
    assert p.parse("dice,bce") == ["dice", "bce"]
    with pytest.raises(ValueError):  # Streamlit raises on more than max_selections: refuse it here
        p.parse(",".join(list(REGISTRY)[:9]))


def test_train_bound_clamps_steps_of_the_heaviest_link():
    b = limits.train_steps("net", 256, 1000, 8)
    assert b.value == limits.TRAIN_MIN_STEPS and "instead of 1000" in b.notice
    assert limits.train_cost_s("net", 256, 1000, 8) > 3600  # what the link asked for: over an hour
    assert limits.train_steps("free", 64, 100, 4).notice is None  # the page's default
    assert limits.train_steps("net", 64, 300, 2).notice is None  # the longest lesson
