"""Image frames and sensor windows as model input: pure functions."""

from __future__ import annotations

import numpy as np
from PIL import Image


def resize_frame(image: np.ndarray, *, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of ``(C, H, W)`` float32 in [0, 1] to ``(C, size[0], size[1])``."""
    height, width = size
    if image.shape[1:] == (height, width):
        return image.astype(np.float32, copy=False)
    channels = [
        np.asarray(
            Image.fromarray(ch.astype(np.float32), mode="F").resize((width, height), Image.BILINEAR)
        )
        for ch in image
    ]
    return np.stack(channels).astype(np.float32)


def sensor_window(table: np.ndarray) -> np.ndarray:
    """Sensors x time window ``(S, N)`` as a one-channel frame ``(1, S, N)``."""
    return table[None].astype(np.float32, copy=False)
