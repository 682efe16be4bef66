"""Writes the lesson masks the app ships in assets/ (run once; the files are committed).

assets/touching_cells.png: nine disks of radius 24 px on a 256×256 grid, centres 50 px apart, so
neighbouring cells are separated by gaps of 2 px (the U-Net border-weight lesson).
assets/icon.png: the tab icon (32×32: an Okabe-Ito blue disk with an orange blob), served by the app
itself: a ``:material/...:`` page icon would make the browser fetch an SVG from fonts.gstatic.com.
"""
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.draw import disk

ROOT = Path(__file__).resolve().parents[1]


def touching_cells(size: int = 256, r: float = 24.0, spacing: float = 50.0) -> np.ndarray:
    m = np.zeros((size, size), bool)
    c = (size - 1) / 2
    for dy in (-spacing, 0, spacing):
        for dx in (-spacing, 0, spacing):
            m[disk((c + dy, c + dx), r, shape=m.shape)] = True
    return m


def icon() -> np.ndarray:
    yy, xx = np.mgrid[:32, :32]
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[(yy - 15.5) ** 2 + (xx - 15.5) ** 2 <= 14 ** 2] = (0, 114, 178, 255)  # Okabe-Ito blue disk
    rgba[(yy - 11.5) ** 2 + (xx - 19.5) ** 2 <= 6 ** 2] = (230, 159, 0, 255)  # an orange blob on it
    return rgba


if __name__ == "__main__":
    out = ROOT / "assets" / "touching_cells.png"
    Image.fromarray(touching_cells().astype(np.uint8) * 255).save(out, optimize=True)
    print(f"wrote {out}")
    out = ROOT / "assets" / "icon.png"
    Image.fromarray(icon()).save(out, optimize=True)
    print(f"wrote {out}")
