"""Small synthetic process plants shared by the process-model tests (imported by name: pytest
puts this folder on ``sys.path`` for its ``conftest.py``)."""

from __future__ import annotations

import numpy as np

from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.windows import Window

GAINS = np.array([1.0, -1.0, 2.0, 0.5, -0.5, 1.5])[:, None]


def out_of_step_plant(rows: int, rng: np.random.Generator, *, shift: int = 0) -> np.ndarray:
    """``(6, rows)`` float32: six sensors on one slow level (gains of both signs) plus 0.05 noise;
    ``shift`` moves sensor 2's trace that many rows in time, so each of its values is one it
    takes in normal operation, only no longer in step with the others."""
    level = np.convolve(rng.normal(0, 1, rows + 80), np.ones(8) / 8, mode="same")
    x = GAINS * level[40 : 40 + rows] + rng.normal(0, 0.05, (6, rows))
    if shift:
        x[2] = GAINS[2] * level[40 - shift : 40 - shift + rows] + rng.normal(0, 0.05, rows)
    return x.astype(np.float32)


def table_windows(x: np.ndarray, name: str, *, width: int = 16, hop: int = 4) -> list[Window]:
    """``(1, S, width)`` windows of a ``(S, rows)`` table every ``hop`` rows."""
    return [
        Window(features=x[None, :, s : s + width], item=Item(f"{name}.csv"), start_s=float(s))
        for s in range(0, x.shape[1] - width + 1, hop)
    ]
