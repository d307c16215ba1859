"""Plan scoring work without reading samples: one item per window, so that an engine which maps
one input row to one output row (a Spark UDF) scores exactly the windows the local engine does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import soundfile as sf

from anomaly_diffusion.config import FeatureConfig, SourceConfig
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.errors import DataError
from anomaly_diffusion.features.windowing import window_bounds
from anomaly_diffusion.ingest import modality_of, read_recording
from anomaly_diffusion.ingest.audio import AUDIO_SUFFIXES
from anomaly_diffusion.ingest.image import IMAGE_SUFFIXES
from anomaly_diffusion.ingest.vibration import VIBRATION_SUFFIXES

#: File types the planner can cut into windows (tables and videos it cannot: their windows
#: depend on gaps and frame sampling found only while reading).
PLANNABLE = (*AUDIO_SUFFIXES, *IMAGE_SUFFIXES, *VIBRATION_SUFFIXES)


def plan_windows(item: Item, *, source: SourceConfig, features: FeatureConfig) -> list[Item]:
    """``item`` cut into one item per window (``start_s``/``end_s`` of exactly that window), or
    ``[item]`` unchanged when it is one window (images), unreadable (its reader reports the
    problem when scored) or not plannable."""
    suffix = Path(item.path).suffix.lower()
    if item.problem or suffix in IMAGE_SUFFIXES or features.window_seconds is None:
        return [item]
    try:
        if suffix in AUDIO_SUFFIXES:
            info = sf.info(item.path)
            rate, n = float(info.samplerate), int(info.frames)
        elif suffix in VIBRATION_SUFFIXES:  # arrays: read once on the planner for the length
            rec = read_recording(item.path, source=source)
            rate, n = float(rec.rate), int(rec.data.shape[-1])
        else:
            return [item]
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError, DataError):
        return [item]
    first = round((item.start_s or 0.0) * rate)
    last = n if item.end_s is None else min(n, round(item.end_s * rate))
    bounds = window_bounds(
        max(0, last - first),
        sample_rate=rate,
        window_seconds=features.window_seconds,
        hop_seconds=features.hop_seconds,
    )
    if not bounds:
        return [item]  # too short: scoring it reports the error
    offset = item.start_s or 0.0
    # the end carries a quarter sample of slack so that rounding never loses the last sample
    return [
        replace(item, start_s=offset + a / rate, end_s=offset + (b + 0.25) / rate)
        for a, b in bounds
    ]


def unplannable(items: list[Item]) -> list[str]:
    """Paths of items whose type an engine mapping one row to one window cannot plan."""
    return [
        it.path
        for it in items
        if not it.problem
        and Path(it.path).suffix.lower() not in PLANNABLE
        and modality_of(it.path) is not None
    ]
