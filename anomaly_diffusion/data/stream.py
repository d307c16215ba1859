"""Items -> windows, lazily: long recordings are read block by block so memory stays bounded,
and a failing item is reported without stopping the others."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

from anomaly_diffusion.config import FeatureConfig, SourceConfig
from anomaly_diffusion.data.cache import FeatureCache
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.long_recordings import clip_windows
from anomaly_diffusion.data.windows import Window, extract_windows, recording_windows
from anomaly_diffusion.errors import DataError
from anomaly_diffusion.features.windowing import window_bounds
from anomaly_diffusion.heap import HeapTrimmer
from anomaly_diffusion.ingest import read_recording
from anomaly_diffusion.ingest.audio import AUDIO_SUFFIXES
from anomaly_diffusion.progress import progress

logger = logging.getLogger(__name__)

#: Samples read per block when streaming a long recording (~16 MB of float32 per channel).
BLOCK_SAMPLES = 1 << 22


def item_windows(
    item: Item,
    *,
    source: SourceConfig,
    features: FeatureConfig,
    expected_rate: float | None = None,
    expected_channels: int | None = None,
    block_samples: int = BLOCK_SAMPLES,
) -> Iterator[Window]:
    """Windows of one item in time order. Audio and ``.npy`` signals longer than
    ``block_samples`` are read in blocks of whole windows (a window never spans two reads), so a
    multi-GB file needs memory for one block only; the windows are the same as a whole read's.

    Raises:
        DataError: as :func:`~anomaly_diffusion.data.windows.extract_windows`; for a streamed
            file, possibly after its first windows were yielded (the message gives the time).
    """
    span = _stream_span(item, features, source)  # streamed: signals for signal models only
    kwargs = {
        "source": source,
        "features": features,
        "expected_rate": expected_rate,
        "expected_channels": expected_channels,
    }
    if span is None or span[2] - span[1] <= block_samples:
        yield from extract_windows(item, **kwargs)
        return
    rate, first, last = span
    bounds = window_bounds(
        last - first,
        sample_rate=rate,
        window_seconds=features.window_seconds,
        hop_seconds=features.hop_seconds,
    )
    width = bounds[0][1] - bounds[0][0]
    hop = bounds[1][0] - bounds[0][0] if len(bounds) > 1 else width
    per_block = max(1, (block_samples - width) // max(hop, 1) + 1)
    for k in range(0, len(bounds), per_block):
        group = bounds[k : k + per_block]
        start_s, end_s = (first + group[0][0]) / rate, (first + group[-1][1]) / rate
        try:
            rec = read_recording(
                item.path, source=source, start_s=start_s, end_s=end_s, asset=item.asset
            )
        except DataError as exc:
            raise DataError(f"{exc} (in the block {start_s:.1f}-{end_s:.1f} s)") from exc
        block_item = replace(item, start_s=start_s, end_s=end_s)
        for window in recording_windows(rec, block_item, **kwargs):
            window.item = item
            yield window


def item_end_s(item: Item, source: SourceConfig) -> float | None:
    """Where ``item`` ends (s from the start of its file): its ``end_s``, else the file's
    length, from the header of audio and ``.npy`` files, else by reading it (tables: from the
    first row, one row interval past the last); ``None`` for images or an unreadable file
    (the reader reports it when the windows are read)."""
    if item.end_s is not None:
        return item.end_s
    length = _signal_length(item, source)
    if length is not None:
        return length[1] / length[0]
    try:
        return read_recording(item.path, source=source, asset=item.asset).duration_s
    except DataError:
        return None


def _signal_length(item: Item, source: SourceConfig) -> tuple[float, int] | None:
    """``(rate, samples)`` of an audio file or a one-channel ``.npy`` vector from its header
    (the ``.npy`` rate from ``source.sample_rate``), else ``None``."""
    suffix = Path(item.path).suffix.lower()
    try:
        if suffix in AUDIO_SUFFIXES:
            info = sf.info(item.path)
            rate, n = float(info.samplerate), int(info.frames)
        elif suffix == ".npy" and source.sample_rate:
            shape = np.load(item.path, mmap_mode="r", allow_pickle=False).shape
            if sum(d > 1 for d in shape) != 1:
                return None  # not one channel: the whole-file reader says so
            rate, n = float(source.sample_rate), int(np.prod(shape))
        else:
            return None
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError):
        return None  # the whole-file reader reports the problem
    return rate, n


def _stream_span(
    item: Item, features: FeatureConfig, source: SourceConfig
) -> tuple[float, int, int] | None:
    """``(rate, first, last)`` sample span of a streamable signal item, else ``None``.

    Streamable: audio files (rate and length from the header) and ``.npy`` vectors (length
    from the header, rate from ``source.sample_rate``: the file carries none).
    """
    if features.kind == "frame" or features.window_seconds is None:
        return None
    length = _signal_length(item, source)
    if length is None:
        return None
    rate, n = length
    first = round((item.start_s or 0.0) * rate)
    last = n if item.end_s is None else min(n, round(item.end_s * rate))
    return (rate, first, last) if last > first else None


def iter_windows(
    items: Iterable[Item],
    *,
    source: SourceConfig,
    features: FeatureConfig,
    failures: list[tuple[Item, str]],
    expected_rate: float | None = None,
    expected_channels: int | None = None,
    cache: FeatureCache | None = None,
    desc: str = "reading",
    clip_s: tuple[float, float] | None = None,
    clip_hop_s: float | None = None,
) -> Iterator[Window]:
    """Windows of many items, lazily; a failing item is appended to ``failures`` as
    ``(item, message)`` and the others go on. With a ``cache``, whole-file items are read
    from / written to it (streamed files are not cached). ``clip_s`` / ``clip_hop_s``: a clip
    model's training clip lengths, to cut long recordings into clip windows
    (:func:`~anomaly_diffusion.data.long_recordings.clip_windows`)."""
    items = list(items)
    kwargs = {
        "source": source,
        "features": features,
        "expected_rate": expected_rate,
        "expected_channels": expected_channels,
    }
    trimmer = HeapTrimmer()  # decoding leaves freed pages resident between the kept windows
    for item in progress(items, desc=desc, unit="file", disable=len(items) < 20, leave=False):
        trimmer.done(1)
        try:
            if item.problem:
                raise DataError(item.problem)
            feats = clip_windows(item, features, clip_s=clip_s, hop_s=clip_hop_s)
            if feats is not features:  # a long recording: clip windows, streamed
                yield from item_windows(item, **{**kwargs, "features": feats})
            elif cache is not None:
                yield from cache.windows(item, lambda it: extract_windows(it, **kwargs), **kwargs)
            else:
                yield from item_windows(item, **kwargs)
        except DataError as exc:
            logger.warning("%s", exc)
            failures.append((item, str(exc)))


def load_windows(
    items: Iterable[Item],
    *,
    source: SourceConfig,
    features: FeatureConfig,
    expected_rate: float | None = None,
    expected_channels: int | None = None,
    cache: FeatureCache | None = None,
    desc: str = "reading",
    clip_s: tuple[float, float] | None = None,
    clip_hop_s: float | None = None,
) -> tuple[list[Window], list[tuple[Item, str]]]:
    """All windows of many items in memory (training, evaluation); see :func:`iter_windows`.

    Returns:
        ``(windows, failures)`` where failures are ``(item, error message)``.
    """
    failures: list[tuple[Item, str]] = []
    windows = list(
        iter_windows(
            items,
            source=source,
            features=features,
            failures=failures,
            expected_rate=expected_rate,
            expected_channels=expected_channels,
            cache=cache,
            desc=desc,
            clip_s=clip_s,
            clip_hop_s=clip_hop_s,
        )
    )
    return windows, failures


def chunked(windows: Iterable[Window], size: int) -> Iterator[list[Window]]:
    """Consecutive lists of at most ``size`` windows."""
    chunk: list[Window] = []
    for window in windows:
        chunk.append(window)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
