"""Camera readers: PNG/JPEG/BMP/TIFF through pillow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest.checks import check_file
from anomaly_diffusion.ingest.recording import Recording

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def read_image(path: str | Path, *, grayscale: bool = True, asset: str = "") -> Recording:
    """Read an image as float32 ``(C, H, W)`` in [0, 1]; C = 1 (gray) or 3 (RGB).

    Raises:
        DataError: empty, truncated or non-image file.
    """
    path = Path(path)
    check_file(path)
    try:
        with Image.open(path) as img:
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
