"""Long recordings scored by a clip model: windows of the training clip length.

A model trained on whole clips (``features.window_seconds=null``, e.g. the acoustic preset on
DCASE's 10-12 s clips) used to turn a 17-hour WAV into one spectrogram and run out of memory.
The rule: a recording longer than :data:`LONG_FACTOR` x the longest training clip is cut into
windows of the model's clip length (the median training clip), ``hop_s`` apart (default: the
clip length), and streamed block by block like any windowed model's input; each window is a row
with its own ``start_s``/``end_s``. Recordings up to that length are scored whole, as trained;
much shorter ones are refused (the detector's ``too_short``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import soundfile as sf

from anomaly_diffusion.config import FeatureConfig
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.ingest.audio import AUDIO_SUFFIXES

LONG_FACTOR = 1.5
"""A recording longer than this many times the longest training clip is cut into windows."""


def duration_s(item: Item) -> float | None:
    """Seconds of the item (its segment, for manifest rows) when the header says, else
    ``None`` (non-audio files, unreadable headers: the reader reports those)."""
    if Path(item.path).suffix.lower() not in AUDIO_SUFFIXES:
        return None
    try:
        info = sf.info(item.path)
    except (sf.LibsndfileError, RuntimeError, OSError):
        return None
    total = info.frames / info.samplerate
    end = total if item.end_s is None else min(total, item.end_s)
    return max(0.0, end - (item.start_s or 0.0))


def clip_windows(
    item: Item,
    features: FeatureConfig,
    *,
    clip_s: tuple[float, float] | None,
    hop_s: float | None = None,
) -> FeatureConfig:
    """The features to read ``item`` with: ``features`` itself, or (a long recording for a
    clip model) ``window_seconds`` = the clip length and ``hop_seconds`` = ``hop_s`` or it.

    Args:
        clip_s: The model's ``(median, longest)`` training clip (s), or ``None`` (a windowed
            model, or one saved before this rule).
        hop_s: Hop between the windows of a long recording (s).
    """
    if clip_s is None or features.window_seconds is not None or features.kind == "frame":
        return features
    length = duration_s(item)
    if length is None or length <= LONG_FACTOR * clip_s[1]:
        return features
    return replace(features, window_seconds=clip_s[0], hop_seconds=hop_s or clip_s[0])
