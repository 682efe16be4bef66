"""Mask and probability files: read with every failure explained, written as PNG.

:func:`load_mask`, :func:`load_probabilities` and :func:`save_mask_png` read and write files
(PNG/JPEG/BMP/TIFF through Pillow, ``.npy`` through ``numpy.load(allow_pickle=False)`` after
:func:`npy_header` has checked its header). Every failure is a :class:`MaskLoadError` (a
``ValueError``) with a one-line message; a grey-level image without a threshold raises
:class:`NonBinaryMaskError`, which carries Otsu's threshold for a user interface to offer.
"""
from __future__ import annotations

import io
import os
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError
from skimage.filters import threshold_otsu

from .masks import _finite  # the shared finite-number check of the mask generators

__all__ = ["MaskLoadError", "NonBinaryMaskError", "load_mask", "load_probabilities", "npy_header", "save_mask_png"]

_IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "TIFF")
_NPY_MAGIC = b"\x93NUMPY"


class MaskLoadError(ValueError):
    """A mask or probability file could not be used; the message is one line saying why."""


class NonBinaryMaskError(MaskLoadError):
    """The file holds more than two distinct values and no threshold was given.

    Attributes
    ----------
    threshold : float
        Otsu's threshold of the values (foreground would be ``value > threshold``), which a user
        interface can offer as the default.
    n_values : int
        Number of distinct values found.
    """

    def __init__(self, message: str, threshold: float, n_values: int):
        super().__init__(message)
        self.threshold = float(threshold)
        self.n_values = int(n_values)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------
def _read_source(src: Any, name_hint: str | None, max_bytes: int) -> tuple[bytes, str]:
    """Return ``(data, name)`` from a path, bytes or a binary file-like object."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
        name = name_hint or "<bytes>"
    elif isinstance(src, (str, os.PathLike)):
        name = os.fspath(src)
        try:
            n_bytes = os.path.getsize(name)
        except OSError as exc:
            raise MaskLoadError(f"cannot read {name}: {exc.strerror or exc}") from None
        if n_bytes > max_bytes:
            raise MaskLoadError(f"{os.path.basename(name)} is {n_bytes / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.1f} MiB")
        try:
            with open(name, "rb") as fh:
                data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise MaskLoadError(f"cannot read {name}: {exc.strerror or exc}") from None
        name = name_hint or name
    elif hasattr(src, "read"):
        data = src.read(max_bytes + 1)
        if isinstance(data, str):
            raise MaskLoadError("the file was opened in text mode; open it in binary mode ('rb')")
        data = bytes(data)
        name = name_hint or str(getattr(src, "name", "<file>"))
    else:
        raise MaskLoadError(f"expected a path, bytes or a binary file; got {type(src).__name__}")
    label = os.path.basename(name) if name and not name.startswith("<") else "the file"
    if len(data) > max_bytes:
        raise MaskLoadError(f"{label} is larger than the limit of {max_bytes / 2**20:.1f} MiB")
    if not data:
        raise MaskLoadError(f"{label} is empty")
    return data, label


def _check_dims(shape: tuple[int, ...], label: str, max_side: int) -> None:
    if len(shape) != 2:
        raise MaskLoadError(f"{label} holds a {len(shape)}-D array of shape {shape}; a mask must be 2-D (H, W)")
    if min(shape) < 1:
        raise MaskLoadError(f"{label} holds an empty array of shape {shape}")
    if max(shape) > max_side:
        raise MaskLoadError(f"{label} is {shape[0]}x{shape[1]} pixels; the limit is {max_side} pixels per side")


def npy_header(data: bytes, label: str = "the file") -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, data offset)`` of a ``.npy`` file, read from its header alone.

    Nothing is allocated from what the header declares (a 100-byte file can declare 1e10 float64
    values, 74.5 GiB); the header is parsed by :mod:`numpy.lib.format`, which never unpickles.
    Raises :class:`MaskLoadError` (one line) for a missing or malformed header.
    """
    from numpy.lib import format as npy_format

    fp = io.BytesIO(data)
    try:
        version = npy_format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = npy_format.read_array_header_2_0(fp)
        else:
            raise MaskLoadError(f"{label} is a .npy file of format version {version[0]}.{version[1]}; "
                                "versions 1.0 and 2.0 are read")
    except MaskLoadError:
        raise
    except Exception as exc:  # truncated or malformed headers raise ValueError/EOFError/SyntaxError...
        raise MaskLoadError(f"{label} is not a valid .npy file (unreadable header: {type(exc).__name__})") from None
    return tuple(int(n) for n in shape), np.dtype(dtype), fp.tell()


def _load_npy(data: bytes, label: str, max_side: int) -> np.ndarray:
    """Decode a ``.npy`` file after checking what its header declares: a 2-D numeric or bool
    array within ``max_side`` per side, with exactly the bytes that shape needs behind it."""
    shape, dtype, offset = npy_header(data, label)
    if dtype.hasobject:
        raise MaskLoadError(f"{label} holds Python objects (pickled); only numeric .npy arrays are accepted")
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise MaskLoadError(f"{label} has dtype {dtype}; expected bool, integer or float")
    _check_dims(shape, label, max_side)
    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - offset < need:
        raise MaskLoadError(f"{label} is truncated: its header declares {shape[0]}x{shape[1]} {dtype} values "
                            f"({need:,} bytes) but {max(0, len(data) - offset):,} bytes follow")
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:
        raise MaskLoadError(f"{label} is not a valid .npy file ({type(exc).__name__})") from None
    if not isinstance(arr, np.ndarray):
        raise MaskLoadError(f"{label} is not a single .npy array")
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise MaskLoadError(f"{label} contains NaN or infinite values")
    return arr


def _load_image(data: bytes, label: str, max_side: int) -> np.ndarray:
    try:
        im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise MaskLoadError(f"{label} is not a readable image or .npy file (expected PNG, JPEG, BMP, TIFF or .npy)") from None
    except Exception as exc:
        raise MaskLoadError(f"{label} could not be opened as an image ({type(exc).__name__})") from None
    with im:
        if im.format not in _IMAGE_FORMATS:
            raise MaskLoadError(f"{label} is a {im.format} image; supported: {', '.join(_IMAGE_FORMATS)} and .npy")
        w, h = im.size
        _check_dims((h, w), label, max_side)  # from the header, before decoding any pixel
        try:
            im.load()
        except Exception as exc:
            raise MaskLoadError(f"{label} is truncated or corrupt ({type(exc).__name__})") from None
        if im.mode == "1":
            return np.asarray(im, dtype=bool)
        if im.mode in ("L", "I", "I;16", "I;16B", "I;16L", "F"):
            arr = np.asarray(im)
        else:
            arr = np.asarray(im.convert("L"))
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise MaskLoadError(f"{label} contains NaN or infinite values")
    return arr


def _load_array(src: Any, name_hint: str | None, max_side: int, max_bytes: int) -> tuple[np.ndarray, str, bool]:
    """Decode ``src`` into a 2-D array; returns ``(array, label, is_npy)``."""
    if not isinstance(max_side, (int, np.integer)) or max_side < 1:
        raise ValueError(f"max_side must be a positive integer; got {max_side!r}")
    if not isinstance(max_bytes, (int, np.integer)) or max_bytes < 1:
        raise ValueError(f"max_bytes must be a positive integer; got {max_bytes!r}")
    data, label = _read_source(src, name_hint, int(max_bytes))
    if data.startswith(_NPY_MAGIC):
        return _load_npy(data, label, int(max_side)), label, True
    if label.lower().endswith(".npy"):
        raise MaskLoadError(f"{label} is not a valid .npy file (missing the NumPy header)")
    return _load_image(data, label, int(max_side)), label, False


def load_mask(
    path_or_bytes: Any,
    *,
    name_hint: str | None = None,
    threshold: float | None = None,
    max_side: int = 2048,
    max_bytes: int = 20 * 1024 * 1024,
) -> np.ndarray:
    """Read a binary mask from an image or ``.npy`` file.

    Parameters
    ----------
    path_or_bytes : str, os.PathLike, bytes or binary file-like
        The file. The format is recognized from the content (the ``.npy`` magic number, else
        Pillow), not from the name.
    name_hint : str, optional
        File name used in messages (e.g. an upload's name).
    threshold : float, optional
        Foreground is ``value > threshold`` (in the file's own units, e.g. 0..255 for 8-bit
        images). Without it the file must hold at most two distinct values: with 0 among them,
        non-zero is foreground; otherwise the larger value is foreground.
    max_side : int, default 2048
        Largest accepted height or width (checked from the header before decoding).
    max_bytes : int, default 20 MiB
        Largest accepted file size.

    Returns
    -------
    numpy.ndarray
        ``bool`` array ``(H, W)``. An all-background mask is returned as is.

    Raises
    ------
    NonBinaryMaskError
        More than two distinct values and no ``threshold``; carries ``.threshold`` (Otsu's).
    MaskLoadError
        Empty, too large (bytes or pixels), unreadable or unsupported file, not 2-D, NaN or
        infinite values, non-numeric ``.npy``. Both are ``ValueError`` subclasses.

    Notes
    -----
    Colour images are converted to grayscale (Pillow's ``"L"`` mode); 16-bit and float
    grayscale images keep their values. JPEG compression creates intermediate grey levels, so a
    JPEG mask usually needs a threshold.
    """
    arr, label, _ = _load_array(path_or_bytes, name_hint, max_side, max_bytes)
    return _binarize(arr, label, threshold)


def _binarize(arr: np.ndarray, label: str, threshold: float | None) -> np.ndarray:
    """Apply :func:`load_mask`'s rules to a decoded 2-D array."""
    if threshold is not None:
        t = _finite("threshold", threshold)
        return np.asarray(arr > t, dtype=bool)
    if arr.dtype == bool:
        return arr.copy()
    values = np.unique(arr)
    if values.size > 2:
        t = float(threshold_otsu(arr))
        raise NonBinaryMaskError(
            f"{label} has {values.size} distinct values, not a binary mask; pass a threshold "
            f"(Otsu suggests {t:.4g}: foreground = value > {t:.4g})",
            threshold=t,
            n_values=values.size,
        )
    if values.size == 2 and values[0] != 0:
        return arr == values[1]
    return arr != 0


def load_probabilities(
    path_or_bytes: Any,
    *,
    name_hint: str | None = None,
    threshold: float | None = None,
    max_side: int = 2048,
    max_bytes: int = 20 * 1024 * 1024,
) -> np.ndarray:
    """Read a probability map: a ``.npy`` array in ``[0, 1]`` or an image (a hard mask).

    Parameters
    ----------
    path_or_bytes : str, os.PathLike, bytes or binary file-like
        The file.
    name_hint : str, optional
        File name used in messages.
    threshold : float, optional
        For images only: passed to :func:`load_mask`.
    max_side, max_bytes : int
        Limits, as in :func:`load_mask`.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` array with values in ``[0, 1]`` (0 or 1 for images): float64 when the file holds
        float64 (no precision is lost), float32 otherwise.

    Raises
    ------
    MaskLoadError
        As :func:`load_mask`, plus values outside ``[0, 1]`` in a ``.npy`` file.
    """
    arr, label, is_npy = _load_array(path_or_bytes, name_hint, max_side, max_bytes)
    if not is_npy:
        return _binarize(arr, label, threshold).astype(np.float32)
    if arr.dtype != bool:
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0.0 or hi > 1.0:
            raise MaskLoadError(f"{label} has values in [{lo:.4g}, {hi:.4g}]; probabilities must lie in [0, 1]")
    return arr.astype(np.float64 if arr.dtype == np.float64 else np.float32)


def save_mask_png(mask: np.ndarray) -> bytes:
    """Encode a mask as an 8-bit grayscale PNG (0 background, 255 object).

    Parameters
    ----------
    mask : array_like
        2-D mask; non-zero is foreground.

    Returns
    -------
    bytes
        PNG file contents; :func:`load_mask` reads them back exactly.
    """
    m = np.asarray(mask)
    if m.ndim != 2 or min(m.shape) < 1:
        raise ValueError(f"mask must be a non-empty 2-D array; got shape {m.shape}")
    buf = io.BytesIO()
    Image.fromarray(np.where(m.astype(bool), 255, 0).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()
