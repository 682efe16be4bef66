"""Writes the lesson masks the app ships in assets/ (run once; the files are committed).

assets/touching_cells.png: nine disks of radius 24 px on a 256×256 grid, centres 50 px apart, so
neighbouring cells are separated by gaps of 2 px (the U-Net border-weight lesson).
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


if __name__ == "__main__":
    out = ROOT / "assets" / "touching_cells.png"
    Image.fromarray(touching_cells().astype(np.uint8) * 255).save(out, optimize=True)
    print(f"wrote {out}")
