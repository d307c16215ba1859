"""Write anomaly-map PNGs (map over its spectrogram or frame) for selected windows."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.progress import progress
from anomaly_diffusion.reports.figures import save_map_overlay
from anomaly_diffusion.scoring.result import ScoreResult, peak_location


def map_file_name(window: Window) -> str:
    """Stable, unique PNG name for a window: ``<stem>_<start>s_<hash>.png``."""
    digest = hashlib.sha1(f"{window.item.path}|{window.start_s}".encode()).hexdigest()[:8]
    start = "" if window.start_s is None else f"_{window.start_s:.2f}s"
    return f"{Path(window.item.path).stem}{start}_{digest}.png"


def write_maps(
    windows: Sequence[Window], result: ScoreResult, indices: Sequence[int], folder: str | Path
) -> dict[int, Path]:
    """Overlay PNGs for the windows at ``indices``; returns ``{index: png path}``."""
    folder = Path(folder)
    written: dict[int, Path] = {}
    for i in progress(
        indices, desc="writing maps", unit="map", disable=len(indices) < 20, leave=False
    ):
        w = windows[i]
        spectro = w.frame_s is not None
        written[i] = save_map_overlay(
            w.features[0],
            result.maps[i],
            folder / map_file_name(w),
            kind="spectrogram" if spectro else "frame",
            title=_title(w, result, i),
            time_extent_s=(w.start_s, w.end_s) if spectro and w.start_s is not None else None,
            freq_extent_hz=_linear_extent(w.freqs_hz),
        )
    return written


def _linear_extent(freqs_hz: np.ndarray | None) -> tuple[float, float] | None:
    """Axis extent in Hz for linearly spaced rows (STFT); ``None`` (bins) for mel bands."""
    if freqs_hz is None or len(freqs_hz) < 2:
        return None
    steps = np.diff(freqs_hz)
    return (float(freqs_hz[0]), float(freqs_hz[-1])) if np.allclose(steps, steps[0]) else None


def _title(window: Window, result: ScoreResult, index: int) -> str:
    """File name, score and, for signals, where the map peaks (s, Hz)."""
    title = f"{Path(window.item.path).name}  score {result.scores[index]:.4g}"
    peak = peak_location(window, result.maps[index])
    if peak["peak_time_s"] is not None:
        title += f"  peak {peak['peak_time_s']:.2f} s"
    if peak["peak_freq_hz"] is not None:
        title += f", {peak['peak_freq_hz']:.0f} Hz"
    return title
