"""Items -> model-ready windows: read, check, cut into windows, compute features."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import librosa
import numpy as np

from anomaly_diffusion.config import FeatureConfig, SourceConfig
from anomaly_diffusion.data.baseline import centred_on_baseline
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.errors import DataError
from anomaly_diffusion.features.frames import resize_frame, sensor_window
from anomaly_diffusion.features.spectrogram import (
    log_mel,
    mel_frequencies,
    stft_frequencies,
    stft_log_power,
)
from anomaly_diffusion.features.windowing import window_bounds
from anomaly_diffusion.ingest import Recording, modality_of, read_recording
from anomaly_diffusion.ingest.image import read_image
from anomaly_diffusion.ingest.video import VIDEO_SUFFIXES
from anomaly_diffusion.metrics.localization import resize_masks

logger = logging.getLogger(__name__)


@dataclass
class Window:
    """One scored unit: model input features plus where it came from.

    Attributes:
        features: ``(C, F, T)`` spectrogram (row 0 = lowest frequency) or ``(C, H, W)`` frame,
            not yet normalized.
        item: The file/segment it was cut from.
        start_s, end_s: Position in the file (s); ``None`` for images.
        label: 0/1 when known.
        mask: ``(H, W)`` bool ground truth at feature resolution (images with masks only;
            resized nearest-neighbour to ``features.image_size``).
        freqs_hz: ``(F,)`` centre frequency of each row (spectrograms only).
        frame_s: Seconds per column (spectrograms and sensor windows).
        source_size: ``(H, W)`` of the original image, to map peaks back to its pixels.
        sample_rate: Hz of the signal/table it was cut from (``None`` for images).
        row_start: Labelled tables: index of the window's first row (sample) in the table.
        row_labels: Labelled tables: the 0/1 label of each row of the window ``(N,)``.
        channels: Sensor names of a table window's rows (``None`` for other kinds).
        start_time: Wall-clock time of ``start_s`` when the file has one (tables with
            date-time stamps).
    """

    features: np.ndarray
    item: Item
    start_s: float | None = None
    end_s: float | None = None
    label: int | None = None
    mask: np.ndarray | None = None
    freqs_hz: np.ndarray | None = None
    frame_s: float | None = None
    source_size: tuple[int, int] | None = None
    sample_rate: float | None = None
    row_start: int | None = None
    row_labels: np.ndarray | None = None
    start_time: datetime | None = None
    channels: tuple[str, ...] | None = None


def extract_windows(
    item: Item,
    *,
    source: SourceConfig,
    features: FeatureConfig,
    expected_rate: float | None = None,
    expected_channels: int | None = None,
) -> list[Window]:
    """Windows of one item (the whole file or its ``[start_s, end_s)`` segment, read at once).

    Signals: resampled or rejected when the rate differs from ``expected_rate``; windows never
    cross a gap that splits the recording. Images are resized to ``features.image_size``; a video
    gives one window per sampled frame.

    Raises:
        DataError: unreadable file, wrong rate or channel count, recording shorter than one
            window, ...
    """
    check_modality(item.path, features)
    rec = read_recording(
        item.path, source=source, start_s=item.start_s, end_s=item.end_s, asset=item.asset
    )
    if rec.kind == "table" and source.baseline_s and features.kind == "sensor_window":
        rec = centred_on_baseline(rec, item, source=source)
    return recording_windows(
        rec,
        item,
        source=source,
        features=features,
        expected_rate=expected_rate,
        expected_channels=expected_channels,
    )


def check_modality(path: str, features: FeatureConfig) -> None:
    """Refuse, from its file type alone, a file of another modality than the model's (an image
    for a signal model, a signal or table for a camera model) before any byte of it is read:
    a 2 GB WAV given to a camera model costs nothing.

    Raises:
        DataError: naming the file, its modality and the model's.
    """
    modality = modality_of(path)
    if modality is None:
        return  # the reader names the unsupported type
    if features.kind == "frame" and modality != "camera":
        kind = "sensor table" if modality == "process" else "signal"
        raise DataError(
            f"{path}: a {kind} file, but the model expects images (features.kind=frame); "
            "score it with a model trained on that modality"
        )
    if features.kind != "frame" and modality == "camera":
        is_video = Path(path).suffix.lower() in VIDEO_SUFFIXES
        expects = {"stft": "vibration signals", "log_mel": "sound recordings"}.get(
            features.kind, "sensor tables"
        )
        raise DataError(
            f"{path}: {'a video' if is_video else 'an image'} file, but the model expects "
            f"{expects} "
            f"(features.kind={features.kind}); score it with a camera model"
        )


def recording_windows(
    rec: Recording,
    item: Item,
    *,
    source: SourceConfig,
    features: FeatureConfig,
    expected_rate: float | None = None,
    expected_channels: int | None = None,
) -> list[Window]:
    """Windows of a recording already read, of the model's modality (see
    :func:`extract_windows`, which checks it before reading)."""
    if rec.kind == "image":
        windows = [_image_window(rec, item, features)]
    elif rec.kind == "video":
        windows = _video_windows(rec, item, features)
    else:
        windows = _signal_windows(rec, item, source, features, expected_rate)
    if expected_channels is not None and windows[0].features.shape[0] != expected_channels:
        raise DataError(
            f"{item.path}: {windows[0].features.shape[0]} channel(s), the model expects "
            f"{expected_channels}; {_channel_fix(rec, expected_channels)}"
        )
    return windows


def _channel_fix(rec: Recording, expected: int) -> str:
    if rec.kind in ("image", "video"):
        return "set source.grayscale=" + ("true" if expected == 1 else "false")
    if expected == 1:
        return "set source.mono=true (mix) or source.channel=<index or name> (choose one)"
    return f"give recordings with {expected} channels (source.mono=false keeps all channels)"


def _signal_windows(
    rec: Recording,
    item: Item,
    source: SourceConfig,
    features: FeatureConfig,
    expected_rate: float | None,
) -> list[Window]:
    if rec.kind == "table" and features.kind in ("stft", "log_mel"):
        rec = _table_as_signal(rec, source)
    rec = _check_rate(rec, source=source, expected_rate=expected_rate)
    features = _window_for(rec, features)
    windows = []
    for seg_start, seg_stop in rec.segments or ((0, rec.data.shape[-1]),):
        bounds = window_bounds(
            seg_stop - seg_start,
            sample_rate=rec.rate,
            window_seconds=features.window_seconds,
            hop_seconds=features.hop_seconds,
        )
        windows.extend(
            _signal_window(rec, item, features, seg_start + a, seg_start + b) for a, b in bounds
        )
    if not windows:
        longest = max(b - a for a, b in rec.segments or ((0, rec.data.shape[-1]),)) / rec.rate
        raise DataError(
            f"{item.path}: {longest:.3f} s of usable signal is shorter than one window "
            f"({features.window_seconds} s); lower features.window_seconds"
        )
    for note in rec.notes:
        logger.warning("%s: %s", item.path, note)
    return windows


MIN_WINDOW_SAMPLES = 2
"""Samples (table rows) a window needs: one row is no trace to re-project."""

TABLE_WINDOW_ROWS = 20
"""Rows of a table window when ``features.window_seconds`` holds fewer than
:data:`MIN_WINDOW_SAMPLES` of the table's rows (TEP: 20 rows of 3 minutes, one hour)."""


TRAIN_HOP_FRACTION = 0.1
"""Training windows of process tables start every tenth of a window (scoring keeps
``features.hop_seconds``)."""


def training_features(features: FeatureConfig) -> FeatureConfig:
    """The feature settings training windows are cut with: for process tables
    (``sensor_window``) a hop of :data:`TRAIN_HOP_FRACTION` of the window, unless the
    configured hop is already that dense; other kinds unchanged.

    A table of normal operation is short in windows: Tennessee Eastman's 400 training rows give
    39 windows of 20 rows at the scoring hop of 10, and the model learns normal windows from
    those 39 only. A window shifted by a row or two is as normal as the original, so every
    shift is a training example (hop 2 rows: 191 windows; mean row AUROC over the 18 faults
    0.945 -> 0.956, see bench/results/). Memory: the training windows hold each row about
    ``1 / TRAIN_HOP_FRACTION`` times.
    """
    if features.kind != "sensor_window" or features.window_seconds is None:
        return features
    hop = features.window_seconds * TRAIN_HOP_FRACTION
    if features.hop_seconds is not None and features.hop_seconds <= hop:
        return features
    return dataclasses.replace(features, hop_seconds=hop)


def _window_for(rec: Recording, features: FeatureConfig) -> FeatureConfig:
    """``features``, or for a table too coarse for them, windows of :data:`TABLE_WINDOW_ROWS`
    rows with the hop scaled alike (the process preset's 64-s windows hold no row of a table
    with a row every 3 minutes). The same table interval always gives the same windows, so a
    saved model reads its tables as it was trained.

    Raises:
        DataError: a signal window shorter than :data:`MIN_WINDOW_SAMPLES` samples.
    """
    if features.window_seconds is None or not rec.rate:
        return features
    width = round(features.window_seconds * rec.rate)
    if width >= MIN_WINDOW_SAMPLES:
        return features
    interval = 1.0 / rec.rate
    if rec.kind != "table":
        raise DataError(
            f"{rec.path}: features.window_seconds={features.window_seconds:g} holds {width} "
            f"samples (one every {interval:.4g} s); a window needs at least "
            f"{MIN_WINDOW_SAMPLES}: raise features.window_seconds"
        )
    window_s = TABLE_WINDOW_ROWS * interval
    hop_s = (features.hop_seconds or features.window_seconds) * window_s / features.window_seconds
    logger.warning(
        "%s: a row every %.4g s, so features.window_seconds=%g would hold %d row(s); "
        "windows of %d rows instead (%.6g s, hop %.6g s); set features.window_seconds "
        "to choose another length",
        rec.path,
        interval,
        features.window_seconds,
        width,
        TABLE_WINDOW_ROWS,
        window_s,
        hop_s,
    )
    return dataclasses.replace(features, window_seconds=window_s, hop_seconds=hop_s)


def _table_as_signal(rec: Recording, source: SourceConfig) -> Recording:
    """A vibration signal stored as a table column: keep the ``source.channel`` column."""
    if source.channel is None and len(rec.channels) == 1:
        return dataclasses.replace(rec, kind="signal")
    if source.channel not in rec.channels:
        raise DataError(
            f"{rec.path}: a table with columns {list(rec.channels)} used as a signal; set "
            "source.channel=<the column to analyse>"
        )
    keep = rec.channels.index(source.channel)
    return dataclasses.replace(
        rec, data=rec.data[keep : keep + 1], channels=(source.channel,), kind="signal"
    )


def _check_rate(rec: Recording, *, source: SourceConfig, expected_rate: float | None) -> Recording:
    if expected_rate is None or abs(rec.rate - expected_rate) < 1e-6:
        return rec
    if rec.kind == "table":
        raise DataError(
            f"{rec.path}: rows every {1 / rec.rate:g} s ({rec.rate:g} Hz), the model expects "
            f"{expected_rate:g} Hz; export the table at the model's interval, or train with "
            "source.table_rate=<Hz> so that every table is resampled to one rate"
        )
    if not source.resample:
        raise DataError(
            f"{rec.path}: sample rate {rec.rate:g} Hz, model expects {expected_rate:g} Hz;"
            " set resample=true (score) or source.resample=true (train)"
        )
    data = librosa.resample(rec.data, orig_sr=rec.rate, target_sr=expected_rate)
    scale = expected_rate / rec.rate
    segments = (
        None
        if rec.segments is None
        else tuple(
            (round(a * scale), min(data.shape[-1], round(b * scale))) for a, b in rec.segments
        )
    )
    return dataclasses.replace(
        rec, data=data.astype(np.float32), rate=expected_rate, segments=segments
    )


def _image_window(rec: Recording, item: Item, cfg: FeatureConfig) -> Window:
    size = tuple(cfg.image_size)
    mask = None
    if item.mask_path:
        raw = read_image(item.mask_path).data
        mask = resize_masks(raw[:1] > 0.5, size)[0]  # nearest-neighbour, as MVTec AD / anomalib
    return Window(
        features=resize_frame(rec.data, size=size),
        item=item,
        label=item.label,
        mask=mask,
        source_size=rec.data.shape[1:],
    )


def _video_windows(rec: Recording, item: Item, cfg: FeatureConfig) -> list[Window]:
    """One frame window per sampled video frame, positioned in time (s)."""
    size = tuple(cfg.image_size)
    return [
        Window(
            features=resize_frame(frame, size=size),
            item=item,
            start_s=rec.offset_s + i / rec.rate,
            end_s=rec.offset_s + (i + 1) / rec.rate,
            label=item.label,
            source_size=frame.shape[1:],
        )
        for i, frame in enumerate(rec.data)
    ]


def _signal_window(rec: Recording, item: Item, cfg: FeatureConfig, start: int, stop: int) -> Window:
    chunk = rec.data[:, start:stop]
    start_s, end_s = rec.offset_s + start / rec.rate, rec.offset_s + stop / rec.rate
    label = item.label
    rows = {}
    if rec.labels is not None:  # labelled table rows: a window is anomalous if any row is
        label = int(rec.labels[start:stop].max())
        rows = {"row_start": start, "row_labels": np.asarray(rec.labels[start:stop])}
    if rec.start_time is not None:
        rows["start_time"] = rec.start_time + timedelta(seconds=start_s)
    if rec.kind == "table":
        return Window(
            **rows,
            features=sensor_window(chunk),
            item=item,
            start_s=start_s,
            end_s=end_s,
            label=label,
            frame_s=1.0 / rec.rate,
            sample_rate=rec.rate,
            channels=tuple(rec.channels),
        )
    if cfg.kind == "log_mel":
        feats = log_mel(
            chunk,
            sample_rate=rec.rate,
            n_fft=cfg.n_fft,
            hop_length=cfg.hop_length,
            n_mels=cfg.n_mels,
            max_freq_hz=cfg.max_freq_hz,
        )
        freqs = mel_frequencies(
            sample_rate=rec.rate, n_mels=cfg.n_mels, max_freq_hz=cfg.max_freq_hz
        )
    else:
        feats = stft_log_power(
            chunk,
            sample_rate=rec.rate,
            n_fft=cfg.n_fft,
            hop_length=cfg.hop_length,
            max_freq_hz=cfg.max_freq_hz,
        )
        freqs = stft_frequencies(sample_rate=rec.rate, n_fft=cfg.n_fft, max_freq_hz=cfg.max_freq_hz)
    return Window(
        features=feats,
        item=item,
        start_s=start_s,
        end_s=end_s,
        label=label,
        freqs_hz=freqs,
        frame_s=cfg.hop_length / rec.rate,
        sample_rate=rec.rate,
        **rows,
    )
