"""Write anomaly-map PNGs (map over its spectrogram or frame) for selected windows."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.reports.figures import save_map_overlay
from anomaly_diffusion.scoring.result import ScoreResult


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
    for i in tqdm(indices, desc="writing maps", unit="map", disable=len(indices) < 20, leave=False):
        w = windows[i]
        spectro = w.freqs_hz is not None or w.frame_s is not None
        title = f"{Path(w.item.path).name}  score {result.scores[i]:.4g}"
        written[i] = save_map_overlay(
            w.features[0],
            result.maps[i],
            folder / map_file_name(w),
            kind="spectrogram" if spectro else "frame",
            title=title,
            time_extent_s=(w.start_s, w.end_s) if spectro and w.start_s is not None else None,
            freq_extent_hz=(float(w.freqs_hz[0]), float(w.freqs_hz[-1]))
            if w.freqs_hz is not None
            else None,
        )
    return written
