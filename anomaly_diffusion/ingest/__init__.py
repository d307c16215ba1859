"""Readers: bytes -> :class:`Recording`. Dispatch by file type with :func:`read_recording`."""

from __future__ import annotations

from pathlib import Path

from anomaly_diffusion.config import SourceConfig
from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest.audio import AUDIO_SUFFIXES, read_audio
from anomaly_diffusion.ingest.image import IMAGE_SUFFIXES, read_image
from anomaly_diffusion.ingest.recording import Recording
from anomaly_diffusion.ingest.table import TABLE_SUFFIXES, read_table
from anomaly_diffusion.ingest.vibration import VIBRATION_SUFFIXES, read_vibration
from anomaly_diffusion.ingest.video import VIDEO_SUFFIXES, read_video

SUPPORTED_SUFFIXES = (
    AUDIO_SUFFIXES + IMAGE_SUFFIXES + VIDEO_SUFFIXES + VIBRATION_SUFFIXES + TABLE_SUFFIXES
)

__all__ = ["SUPPORTED_SUFFIXES", "Recording", "modality_of", "read_recording"]


def modality_of(path: str | Path) -> str | None:
    """Modality a file type belongs to (``vibration``, ``acoustic``, ``camera``, ``process``)."""
    suffix = Path(path).suffix.lower()
    for modality, suffixes in (
        ("acoustic", AUDIO_SUFFIXES),
        ("camera", IMAGE_SUFFIXES + VIDEO_SUFFIXES),
        ("vibration", VIBRATION_SUFFIXES),
        ("process", TABLE_SUFFIXES),
    ):
        if suffix in suffixes:
            return modality
    return None


def read_recording(
    path: str | Path,
    *,
    source: SourceConfig,
    start_s: float | None = None,
    end_s: float | None = None,
    asset: str = "",
) -> Recording:
    """Read any supported file (or a ``[start_s, end_s)`` segment of a signal, table or video).

    Raises:
        DataError: unsupported type or any reader failure, naming the file and the fix.
    """
    path = Path(path)
    modality = modality_of(path)
    if modality == "acoustic":
        return read_audio(
            path,
            start_s=start_s,
            end_s=end_s,
            mono=source.mono,
            channel=source.channel,
            asset=asset,
        )
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return read_video(
            path,
            fps=source.video_fps,
            grayscale=source.grayscale,
            start_s=start_s,
            end_s=end_s,
            asset=asset,
        )
    if modality == "camera":
        return read_image(path, grayscale=source.grayscale, asset=asset)
    if modality == "vibration":
        return read_vibration(
            path,
            channel=source.channel,
            sample_rate=source.sample_rate,
            start_s=start_s,
            end_s=end_s,
            asset=asset,
        )
    if modality == "process":
        return read_table(
            path,
            timestamp_column=source.timestamp_column,
            label_column=source.label_column,
            columns=None if source.columns is None else tuple(source.columns),
            exclude_columns=tuple(source.exclude_columns),
            table_rate=source.table_rate,
            max_gap_s=source.max_gap_s,
            start_s=start_s,
            end_s=end_s,
            asset=asset,
        )
    raise DataError(
        f"{path}: unsupported file type {path.suffix!r}; supported: {', '.join(SUPPORTED_SUFFIXES)}"
    )
