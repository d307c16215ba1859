"""The one value every reader returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np


@dataclass(frozen=True)
class Recording:
    """A signal, image, video or sensor table read from one file (or one segment of it).

    Attributes:
        data: Signals and tables ``(C, N)`` float32 (C channels/sensors, N samples);
            images ``(C, H, W)`` float32 in [0, 1]; videos ``(N, C, H, W)`` float32 in [0, 1]
            (N frames, C = 1 gray or 3 RGB).
        rate: Samples per second (Hz) for signals and tables, frames per second for videos;
            ``None`` for images.
        channels: Channel / sensor names, length C.
        path: The file it came from.
        asset: Machine or camera the data belongs to.
        kind: ``"signal"``, ``"image"``, ``"video"`` or ``"table"``.
        offset_s: Start of ``data`` within the file (s), when a segment was read.
        units: Physical units of the samples when known (e.g. ``"g"``).
        labels: Tables only: optional per-sample 0/1 labels ``(N,)``.
        segments: Valid sample ranges ``[start, stop)`` along the last axis, in order, when a
            table has gaps too long to interpolate (samples outside every range are NaN or lie
            across a time jump and must not be scored); ``None``: the whole recording is one
            segment.
        notes: Human-readable warnings about what the reader repaired or could not repair
            (interpolated gaps, gaps that split the recording, repeated frames, ...).
        start_time: Wall-clock time at ``t = 0`` s of the file (a ``pandas.Timestamp``, time-zone
            aware when the file says so), when the file has one (tables with date-time stamps);
            sample ``i`` of ``data`` is at ``start_time + offset_s + i / rate``.
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
    segments: tuple[tuple[int, int], ...] | None = None
    notes: tuple[str, ...] = ()
    start_time: datetime | None = None

    @property
    def duration_s(self) -> float | None:
        """Length in seconds for signals, tables and videos, ``None`` for images."""
        if self.rate is None:
            return None
        n = self.data.shape[0] if self.kind == "video" else self.data.shape[-1]
        return n / self.rate
