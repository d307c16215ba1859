"""The one value every reader returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Recording:
    """A signal, image or sensor table read from one file (or one segment of it).

    Attributes:
        data: Signals and tables ``(C, N)`` float32 (C channels/sensors, N samples);
            images ``(C, H, W)`` float32 in [0, 1].
        rate: Samples per second (Hz) for signals and tables; ``None`` for images.
        channels: Channel / sensor names, length C.
        path: The file it came from.
        asset: Machine or camera the data belongs to.
        kind: ``"signal"``, ``"image"`` or ``"table"``.
        offset_s: Start of ``data`` within the file (s), when a segment was read.
        units: Physical units of the samples when known (e.g. ``"g"``).
        labels: Tables only: optional per-sample 0/1 labels ``(N,)``.
    """

    data: np.ndarray
    rate: float | None
    channels: tuple[str, ...]
    path: str
    asset: str
    kind: str
    offset_s: float = 0.0
    units: str | None = None
    labels: np.ndarray | None = None

    @property
    def duration_s(self) -> float | None:
        """Length in seconds for signals and tables, ``None`` for images."""
        return None if self.rate is None else self.data.shape[-1] / self.rate
