"""Camera readers: PNG/JPEG/BMP/TIFF through pillow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest.checks import check_file
from anomaly_diffusion.ingest.recording import Recording

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
"""Pillow modes of one channel wider than 8 bits."""


def _wide_gray(img: Image.Image) -> np.ndarray:
    """``(H, W)`` float32 in [0, 1] of a 16-bit, 32-bit integer or float gray image."""
    raw = np.asarray(img).astype(np.float32)
    top = float(raw.max()) if raw.size else 0.0
    if img.mode == "F" and top <= 1.0:
        scale = 1.0  # already [0, 1]
    elif img.mode.startswith("I;16") or top > 255.0:
        scale = 65535.0
    else:
        scale = 255.0  # 8-bit values stored wide
    return np.clip(raw / scale, 0.0, 1.0)


def read_image(path: str | Path, *, grayscale: bool = True, asset: str = "") -> Recording:
    """Read an image as float32 ``(C, H, W)`` in [0, 1]; C = 1 (gray) or 3 (RGB).

    16-bit gray images (industrial cameras' PNG/TIFF) are scaled by 65535, not clipped at 255 as
    Pillow's ``convert("L")`` would (a silently white frame); an alpha channel is dropped.

    Raises:
        DataError: empty, truncated or non-image file.
    """
    path = Path(path)
    check_file(path)
    try:
        with Image.open(path) as img:
            if img.mode in WIDE_MODES:
                gray = _wide_gray(img)
                array = gray if grayscale else np.repeat(gray[..., None], 3, axis=-1)
            else:
                img = img.convert("L" if grayscale else "RGB")
                array = np.asarray(img, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(
            f"{path}: not a readable image ({exc}); re-export it as PNG/JPEG or remove it"
        ) from exc
    data = array[None] if array.ndim == 2 else np.moveaxis(array, -1, 0)
    channels = ("gray",) if grayscale else ("r", "g", "b")
    return Recording(
        data=np.ascontiguousarray(data),
        rate=None,
        channels=channels,
        path=str(path),
        asset=asset,
        kind="image",
    )
