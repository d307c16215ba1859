"""Items -> model-ready windows: read, check, cut into windows, compute features."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import librosa
import numpy as np
from tqdm.auto import tqdm

from anomaly_diffusion.config import FeatureConfig, SourceConfig
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
from anomaly_diffusion.ingest import Recording, read_recording
from anomaly_diffusion.ingest.image import read_image

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
        mask: ``(H, W)`` bool ground truth at feature resolution (images with masks only).
        freqs_hz: ``(F,)`` centre frequency of each row (spectrograms only).
        frame_s: Seconds per column (spectrograms and sensor windows).
        source_size: ``(H, W)`` of the original image, to map peaks back to its pixels.
        sample_rate: Hz of the signal/table it was cut from (``None`` for images).
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


def extract_windows(
    item: Item, *, source: SourceConfig, features: FeatureConfig, expected_rate: float | None = None
) -> list[Window]:
    """Windows of one item. Signals: resampled or rejected when the rate differs from
    ``expected_rate``; images: resized to ``features.image_size``.

    Raises:
        DataError: unreadable file, wrong rate, recording shorter than one window, ...
    """
    rec = read_recording(
        item.path, source=source, start_s=item.start_s, end_s=item.end_s, asset=item.asset
    )
    if rec.kind == "image":
        return [_image_window(rec, item, features)]
    if features.kind == "frame":
        raise DataError(
            f"{item.path}: a {rec.kind} file, but the model expects images "
            "(features.kind=frame); score it with a model trained on that modality"
        )
    rec = _check_rate(rec, source=source, expected_rate=expected_rate)
    bounds = window_bounds(
        rec.data.shape[1],
        sample_rate=rec.rate,
        window_seconds=features.window_seconds,
        hop_seconds=features.hop_seconds,
    )
    if not bounds:
        raise DataError(
            f"{item.path}: {rec.duration_s:.3f} s is shorter than one window "
            f"({features.window_seconds} s); lower features.window_seconds"
        )
    return [_signal_window(rec, item, features, start, stop) for start, stop in bounds]


def _check_rate(rec: Recording, *, source: SourceConfig, expected_rate: float | None) -> Recording:
    if expected_rate is None or abs(rec.rate - expected_rate) < 1e-6:
        return rec
    if not source.resample or rec.kind == "table":
        raise DataError(
            f"{rec.path}: sample rate {rec.rate:g} Hz, model expects {expected_rate:g} Hz;"
            " set source.resample=true"
        )
    data = librosa.resample(rec.data, orig_sr=rec.rate, target_sr=expected_rate)
    return Recording(
        data=data.astype(np.float32),
        rate=expected_rate,
        channels=rec.channels,
        path=rec.path,
        asset=rec.asset,
        kind=rec.kind,
        offset_s=rec.offset_s,
        units=rec.units,
    )


def _image_window(rec: Recording, item: Item, cfg: FeatureConfig) -> Window:
    size = tuple(cfg.image_size)
    mask = None
    if item.mask_path:
        raw = read_image(item.mask_path).data
        mask = resize_frame((raw > 0.5).astype(np.float32), size=size)[0] > 0.5
    return Window(
        features=resize_frame(rec.data, size=size),
        item=item,
        label=item.label,
        mask=mask,
        source_size=rec.data.shape[1:],
    )


def _signal_window(rec: Recording, item: Item, cfg: FeatureConfig, start: int, stop: int) -> Window:
    chunk = rec.data[:, start:stop]
    start_s, end_s = rec.offset_s + start / rec.rate, rec.offset_s + stop / rec.rate
    label = item.label
    if rec.kind == "table":
        if rec.labels is not None:
            label = int(rec.labels[start:stop].max())
        return Window(
            features=sensor_window(chunk),
            item=item,
            start_s=start_s,
            end_s=end_s,
            label=label,
            frame_s=1.0 / rec.rate,
            sample_rate=rec.rate,
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
    )


def load_windows(
    items: Iterable[Item],
    *,
    source: SourceConfig,
    features: FeatureConfig,
    expected_rate: float | None = None,
    desc: str = "reading",
) -> tuple[list[Window], list[tuple[Item, str]]]:
    """Windows of many items; a failing item is reported, not fatal.

    Returns:
        ``(windows, failures)`` where failures are ``(item, error message)``.
    """
    windows: list[Window] = []
    failures: list[tuple[Item, str]] = []
    items = list(items)
    for item in tqdm(items, desc=desc, unit="file", disable=len(items) < 20, leave=False):
        try:
            windows.extend(
                extract_windows(item, source=source, features=features, expected_rate=expected_rate)
            )
        except DataError as exc:
            logger.warning("%s", exc)
            failures.append((item, str(exc)))
    return windows, failures
