"""JSON files a user loads into the app, read safely and checked against a schema.

Two files are loaded: a page configuration (exported with "Settings (JSON)") and a drawing
(exported with "Drawing as JSON"). Both are untrusted. :func:`load_json` reads one with bounded
work and memory and answers every problem with one :class:`JsonFileError` line, never a
traceback:

* the byte size is checked before anything is decoded;
* a UTF-8 byte-order mark is accepted;
* the nesting depth is measured on the raw text before parsing (a file of 100 000 ``[`` is
  refused without recursing);
* integers longer than :data:`MAX_DIGITS` digits, numbers that overflow to infinity and the
  non-standard ``NaN`` / ``Infinity`` are refused while parsing.

The parsed document is then checked with ``jsonschema`` (types, ranges, lengths, item counts):
:data:`CONFIG_SCHEMA` and :data:`DRAWING_SCHEMA`. The first violation becomes one line that names
where it is (``'shape'[0] must be at most 512``). Unknown keys are not errors: the readers drop
them and report them, so the page can say what it ignored.

:func:`clean_fabric` reduces a drawing's Fabric.js canvas JSON to what the freehand canvas draws
(path objects with their geometry and style), so that a loaded drawing can make the browser fetch
nothing: image objects, ``src`` / ``source`` fields, background and overlay images are dropped.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Collection

import numpy as np

#: Deepest nesting accepted in a loaded JSON file (a drawing's Fabric paths need 5).
MAX_DEPTH = 16
#: Longest integer literal accepted (64-bit integers have at most 20 digits with the sign).
MAX_DIGITS = 20
#: Size limits of the two files (bytes), checked before parsing.
MAX_CONFIG_BYTES = 1 * 1024 * 1024
MAX_DRAWING_BYTES = 8 * 1024 * 1024
#: A drawing's mask side: the largest canvas image size the Playground offers.
MAX_DRAWING_SIDE = 512
#: Fabric objects kept from a loaded drawing (one freehand stroke is one object).
MAX_FABRIC_OBJECTS = 5000
#: Configuration entries read (the Playground has about 70 settings).
MAX_CONFIG_ENTRIES = 500
MAX_VALUE_CHARS = 200


class JsonFileError(ValueError):
    """A loaded JSON file cannot be used; the message is one line saying why."""


# ------------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------------
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def json_depth(data: bytes) -> int:
    """Deepest ``[``/``{`` nesting of a JSON text, brackets inside strings not counted (linear
    time, no recursion; the text need not be valid JSON)."""
    raw = np.frombuffer(_STRING.sub(b'""', data), dtype=np.uint8)
    step = np.zeros(raw.shape, np.int64)
    step[(raw == ord("[")) | (raw == ord("{"))] = 1
    step[(raw == ord("]")) | (raw == ord("}"))] = -1
    return int(np.cumsum(step).max(initial=0))


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise JsonFileError(f"holds an integer of {len(text.lstrip('-')):,} digits; at most {MAX_DIGITS} are accepted")
    return int(text)


def _parse_float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise JsonFileError(f"holds a number too large for a float ({text[:24]}{'…' if len(text) > 24 else ''})")
    return v


def _parse_constant(text: str):
    raise JsonFileError(f"holds {text}, which is not a JSON number")


def load_json(data: bytes, what: str, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``data`` (the file ``what``, e.g. "the configuration") with bounded work.

    Raises :class:`JsonFileError` (one line) for a file over ``max_bytes``, not UTF-8, nested
    deeper than ``max_depth``, not valid JSON, or holding an overlong integer, an infinite number
    or ``NaN``. A UTF-8 byte-order mark is accepted.
    """
    if len(data) > max_bytes:
        raise JsonFileError(f"{what} is {len(data) / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:g} MiB")
    if not data.strip():
        raise JsonFileError(f"{what} is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise JsonFileError(f"{what} is not UTF-8 text (is it a JSON file?)") from None
    depth = json_depth(text.encode("utf-8"))
    if depth > max_depth:
        raise JsonFileError(f"{what} is nested {depth:,} levels deep; at most {max_depth} are accepted")
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except JsonFileError as exc:
        raise JsonFileError(f"{what} {exc}") from None
    except json.JSONDecodeError as exc:
        raise JsonFileError(f"{what} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except (RecursionError, MemoryError, ValueError) as exc:  # belt and braces: still one line
        raise JsonFileError(f"{what} could not be read ({type(exc).__name__})") from None


# ------------------------------------------------------------------------------------------------
# Schemas
# ------------------------------------------------------------------------------------------------
_SCALAR = {"type": ["string", "number", "boolean"], "maxLength": MAX_VALUE_CHARS}

#: An exported configuration: ``{"page", "params": {name: value}, "note"}`` or a flat ``{name: value}``.
CONFIG_SCHEMA: dict = {
    "type": "object",
    "maxProperties": MAX_CONFIG_ENTRIES,
    "properties": {
        "page": {"type": "string", "maxLength": 64},
        "params": {"type": "object", "maxProperties": MAX_CONFIG_ENTRIES},
        "note": {"type": "string", "maxLength": 2000},
    },
}

#: A drawing: mask as run lengths plus the canvas's Fabric JSON (see ``segloss_app.canvas``).
DRAWING_SCHEMA: dict = {
    "type": "object",
    "required": ["format", "shape", "runs"],
    "properties": {
        "format": {"const": "segloss-lab-drawing"},
        "version": {"type": "integer", "minimum": 1, "maximum": 1},
        "shape": {"type": "array", "minItems": 2, "maxItems": 2,
                  "items": {"type": "integer", "minimum": 1, "maximum": MAX_DRAWING_SIDE}},
        # the items (up to 262 145 integers) are checked with numpy in read_drawing, much faster
        "runs": {"type": "array", "maxItems": MAX_DRAWING_SIDE ** 2 + 1},
        "note": {"type": "string", "maxLength": 2000},
        "canvas": {"type": ["object", "null"],
                   "properties": {"objects": {"type": "array", "maxItems": MAX_FABRIC_OBJECTS,
                                              "items": {"type": "object"}},
                                  "version": {"type": "string", "maxLength": 32}}},
    },
}

_TYPE_NAMES = {"object": "an object", "array": "a list", "string": "a string", "number": "a number",
               "integer": "an integer", "boolean": "true or false", "null": "null"}


def _where(path) -> str:
    parts = list(path)
    if not parts:
        return "the file"
    out = repr(str(parts[0]))
    for p in parts[1:]:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def _message(err) -> str:
    v, val = err.validator, err.validator_value
    if v == "type":
        types = [val] if isinstance(val, str) else list(val)
        return "must be " + " or ".join(_TYPE_NAMES.get(t, t) for t in types)
    if v == "const":
        return f"must be {json.dumps(val)}"
    if v == "minimum":
        return f"must be at least {val}"
    if v == "maximum":
        return f"must be at most {val}"
    if v == "minItems":
        return f"must have at least {val} items"
    if v == "maxItems":
        return f"has more than {val:,} items"
    if v == "maxLength":
        return f"is longer than {val:,} characters"
    if v == "maxProperties":
        return f"has more than {val:,} entries"
    if v == "required":
        return f"lacks {err.message.split(' is a required')[0]}"
    return err.message[:120]


def check(doc: Any, schema: dict, what: str) -> None:
    """Raise :class:`JsonFileError` naming the first place where ``doc`` breaks ``schema``."""
    import jsonschema

    err = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    if err is not None:
        where = _where(err.absolute_path)
        raise JsonFileError(f"{what}: {'it' if where == 'the file' else where} {_message(err)}")


# ------------------------------------------------------------------------------------------------
# The two readers
# ------------------------------------------------------------------------------------------------
@dataclass
class Config:
    """What a configuration file gave: URL parameters to apply and the entries ignored."""

    params: dict[str, str]
    ignored: list[str] = field(default_factory=list)


def read_config(data: bytes, known: Collection[str] | Callable[[str], bool]) -> Config:
    """A page configuration: ``{"page", "params": {...}}`` or a flat ``{name: value}``.

    Entries whose name is in ``known`` (a collection of names, or a test on a name) and whose value is a string, number or boolean (at most
    :data:`MAX_VALUE_CHARS` characters) become URL parameters (booleans as ``"1"``/``"0"``); every
    other entry is ignored and listed in :attr:`Config.ignored`. The values themselves are
    validated by the page, like any link.
    """
    what = "the configuration"
    doc = load_json(data, what, MAX_CONFIG_BYTES)
    check(doc, CONFIG_SCHEMA, what)
    params = doc.get("params", doc)
    accept = known if callable(known) else set(known).__contains__
    keep: dict[str, str] = {}
    ignored: list[str] = []
    for k, v in params.items():
        if k in ("page", "params", "note", "present") and params is doc:
            continue
        ok_value = isinstance(v, (str, int, float, bool)) and len(str(v)) <= MAX_VALUE_CHARS
        if accept(k) and ok_value:
            keep[k] = ("1" if v else "0") if isinstance(v, bool) else str(v)
        else:
            ignored.append(str(k))
    return Config(keep, ignored)


@dataclass
class Drawing:
    """A loaded drawing: the mask, the cleaned Fabric JSON and what was dropped from the file."""

    mask: np.ndarray
    canvas: dict | None
    notes: list[str] = field(default_factory=list)


def read_drawing(data: bytes) -> Drawing:
    """Inverse of ``segloss_app.canvas.drawing_json``, checked against :data:`DRAWING_SCHEMA`;
    :class:`JsonFileError` (one line) for a bad file. Unknown top-level keys are dropped (noted),
    and the canvas JSON goes through :func:`clean_fabric`."""
    what = "the drawing file"
    doc = load_json(data, what, MAX_DRAWING_BYTES)
    if not isinstance(doc, dict) or doc.get("format") != "segloss-lab-drawing":
        raise JsonFileError("not a SegLoss Lab drawing (expected format 'segloss-lab-drawing')")
    check(doc, DRAWING_SCHEMA, what)
    H, W = (int(v) for v in doc["shape"])
    runs = np.asarray(doc["runs"]) if doc["runs"] else np.zeros(0, np.int64)
    if runs.ndim != 1 or runs.dtype.kind not in "iu":
        raise JsonFileError(f"{what}: 'runs' must be a list of whole numbers")
    if runs.size and runs.min() < 0:
        raise JsonFileError(f"{what}: 'runs' must not hold negative counts")
    if int(runs.sum(dtype=np.int64)) != H * W:
        raise JsonFileError(f"{what}: the runs add up to {int(runs.sum(dtype=np.int64)):,} pixels, "
                            f"not the {H}x{W} = {H * W:,} of its shape")
    notes = []
    unknown = [k for k in doc if k not in DRAWING_SCHEMA["properties"]]
    if unknown:
        notes.append(f"ignored {len(unknown)} unknown field(s)")
    canvas, dropped = clean_fabric(doc.get("canvas"))
    if dropped:
        notes.append(f"removed {dropped} canvas item(s) that are not brush strokes (images, outside "
                     "sources or unknown fields)")
    mask = np.repeat(np.arange(runs.size) % 2 == 1, runs).reshape(H, W)
    return Drawing(mask, canvas, notes)


# ------------------------------------------------------------------------------------------------
# Fabric.js canvas JSON
# ------------------------------------------------------------------------------------------------
#: Object types the freehand canvas creates or can redraw without loading anything.
FABRIC_TYPES = frozenset({"path", "line", "rect", "circle", "ellipse", "triangle", "polygon", "polyline"})
#: Scalar style and geometry fields of those objects (strings at most 64 characters).
FABRIC_FIELDS = frozenset({
    "type", "version", "originX", "originY", "left", "top", "width", "height", "fill", "stroke",
    "strokeWidth", "strokeLineCap", "strokeDashOffset", "strokeLineJoin", "strokeUniform",
    "strokeMiterLimit", "scaleX", "scaleY", "angle", "flipX", "flipY", "opacity", "visible",
    "backgroundColor", "fillRule", "paintFirst", "globalCompositeOperation", "skewX", "skewY",
    "rx", "ry", "radius", "startAngle", "endAngle", "x1", "y1", "x2", "y2",
})
_COLOR = re.compile(r"^(|#[0-9a-fA-F]{3,8}|rgba?\([0-9.,\s%]+\)|[a-zA-Z]{1,20})$")


def _scalar_ok(name: str, v: Any) -> bool:
    if v is None or isinstance(v, bool):
        return True
    if isinstance(v, (int, float)):
        return math.isfinite(v)
    if isinstance(v, str):
        if name in ("fill", "stroke", "backgroundColor"):
            return bool(_COLOR.match(v))
        return len(v) <= 64 and not any(c in v for c in "()/:<>")
    return False


def _numbers(v: Any, strings: bool = False) -> bool:
    """A (nested) list of finite numbers (and, for path commands, short command letters)."""
    if isinstance(v, list):
        return all(_numbers(x, strings) for x in v)
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return math.isfinite(v)
    return strings and isinstance(v, str) and len(v) == 1 and v.isalpha()


def clean_fabric(canvas: Any) -> tuple[dict | None, int]:
    """A Fabric.js canvas JSON reduced to drawable shapes; returns ``(clean, items dropped)``.

    Kept: ``version`` and ``objects`` whose ``type`` is in :data:`FABRIC_TYPES`, each with only the
    scalar fields of :data:`FABRIC_FIELDS` (colours as ``#rgb`` / ``rgb()`` / names) and its
    ``path`` / ``points`` / ``strokeDashArray`` as lists of numbers. Everything else (image objects
    and their ``src``, patterns, background and overlay images, groups, unknown fields) is dropped,
    so the canvas loads nothing from outside.
    """
    if canvas is None:
        return None, 0
    if not isinstance(canvas, dict):
        return None, 1
    dropped = sum(1 for k in canvas if k not in ("version", "objects", "background"))
    background = canvas.get("background")
    if background is not None and not (isinstance(background, str) and _COLOR.match(background)):
        dropped += 1
    objects = canvas.get("objects") or []
    if not isinstance(objects, list):
        return {"objects": []}, dropped + 1
    out = []
    for obj in objects[:MAX_FABRIC_OBJECTS]:
        if not isinstance(obj, dict) or obj.get("type") not in FABRIC_TYPES:
            dropped += 1
            continue
        clean = {}
        for k, v in obj.items():
            if k in FABRIC_FIELDS and _scalar_ok(k, v):
                clean[k] = v
            elif k == "path" and _numbers(v, strings=True):
                clean[k] = v
            elif k in ("points",) and isinstance(v, list) and all(
                    isinstance(p, dict) and set(p) <= {"x", "y"} and _numbers(list(p.values())) for p in v):
                clean[k] = v
            elif k == "strokeDashArray" and (v is None or _numbers(v)):
                clean[k] = v
            elif k == "shadow" and v is None:
                clean[k] = v
            else:
                dropped += 1
        out.append(clean)
    dropped += max(0, len(objects) - MAX_FABRIC_OBJECTS)
    result: dict[str, Any] = {"objects": out}
    if isinstance(canvas.get("version"), str) and _scalar_ok("version", canvas["version"]):
        result["version"] = canvas["version"]
    if isinstance(background, str) and _COLOR.match(background):
        result["background"] = background
    return result, dropped
