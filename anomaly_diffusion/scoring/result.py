"""Scoring output: :class:`ScoreResult` and its table in the score-output contract."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.scoring.maps import peak_of

SCORE_COLUMNS = (
    "path",
    "asset",
    "start_s",
    "end_s",
    "start_time",
    "score",
    "threshold",
    "is_anomaly",
    "severity",
    "peak_time_s",
    "peak_freq_hz",
    "peak_x",
    "peak_y",
    "peak_sensor",
    "map_path",
    "error",
)


@dataclass
class ScoreResult:
    """Scores and maps of N windows.

    Attributes:
        scores: ``(N,)`` anomaly scores, higher = more anomalous.
        maps: N smoothed maps ``(F, T)`` / ``(H, W)`` at feature resolution.
        threshold: Calibrated alarm threshold, or one per window ``(N,)`` with per-asset /
            per-condition thresholds (``None`` before calibration).
        network_evals_per_item: UNet forward passes per window.
        severity: ``(N,)`` in 0-1, how far into the normal scores' tail each window lies
            (:mod:`anomaly_diffusion.metrics.severity`); ``None`` before calibration.
    """

    scores: np.ndarray
    maps: list[np.ndarray]
    threshold: float | np.ndarray | None
    network_evals_per_item: int
    severity: np.ndarray | None = None

    @property
    def is_anomaly(self) -> np.ndarray:
        """``(N,)`` bool: ``score > threshold`` (all False without a threshold)."""
        if self.threshold is None:
            return np.zeros(len(self.scores), dtype=bool)
        return self.scores > self.threshold


def peak_location(window: Window, amap: np.ndarray) -> dict[str, float | None]:
    """Where the map peaks: time (s) and frequency (Hz) for signals, time and sensor (the
    name of the map row that peaks) for tables, pixel x/y for images (in the original image's
    pixels)."""
    row, col = peak_of(amap)
    out: dict[str, float | str | None] = {
        "peak_time_s": None,
        "peak_freq_hz": None,
        "peak_x": None,
        "peak_y": None,
        "peak_sensor": None,
    }
    if window.channels and amap.ndim == 2 and amap.shape[0] == len(window.channels):
        out["peak_sensor"] = str(window.channels[row])
    if window.frame_s is not None:
        out["peak_time_s"] = float((window.start_s or 0.0) + col * window.frame_s)
        if window.freqs_hz is not None:
            out["peak_freq_hz"] = float(window.freqs_hz[min(row, len(window.freqs_hz) - 1)])
    elif window.source_size is not None:
        height, width = amap.shape
        out["peak_x"] = float((col + 0.5) * window.source_size[1] / width)
        out["peak_y"] = float((row + 0.5) * window.source_size[0] / height)
    return out


def result_frame(windows: Sequence[Window], result: ScoreResult) -> pd.DataFrame:
    """One row per window in the score-output contract (``map_path``/``error`` left empty)."""
    rows = []
    flags = result.is_anomaly
    thresholds = (
        [None] * len(windows)
        if result.threshold is None
        else np.broadcast_to(result.threshold, result.scores.shape).tolist()
    )
    for i, (window, amap) in enumerate(zip(windows, result.maps, strict=True)):
        score = float(result.scores[i])
        threshold = thresholds[i]
        rows.append(
            {
                "path": window.item.path,
                "asset": window.item.asset,
                "start_s": window.start_s,
                "end_s": window.end_s,
                "start_time": None if window.start_time is None else window.start_time.isoformat(),
                "score": score,
                "threshold": threshold,
                "is_anomaly": bool(flags[i]),
                "severity": None if result.severity is None else float(result.severity[i]),
                **peak_location(window, amap),
                "map_path": None,
                "error": None,
            }
        )
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


def failure_rows(failures: Sequence[tuple[object, str]]) -> pd.DataFrame:
    """Contract rows for inputs that could not be scored (only ``path``, ``asset``, ``error``)."""
    rows = [
        {
            "path": item.path,
            "asset": item.asset,
            "start_s": item.start_s,
            "end_s": item.end_s,
            "is_anomaly": False,
            "error": message,
        }
        for item, message in failures
    ]
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
