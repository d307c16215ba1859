"""Acoustic readers (WAV/FLAC/OGG through soundfile); segments are read without loading the file.

WAV files from accelerometer recorders go through the same reader: ``channel`` picks the axis.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest.checks import check_file, check_finite
from anomaly_diffusion.ingest.recording import Recording
from anomaly_diffusion.ingest.wav_header import wav_truncation

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
_STEREO_NAMES = {"left": 0, "right": 1}


def read_audio(
    path: str | Path,
    *,
    start_s: float | None = None,
    end_s: float | None = None,
    mono: bool = True,
    channel: str | int | None = None,
    asset: str = "",
) -> Recording:
    """Read an audio file (or the ``[start_s, end_s)`` segment of it) as float32 ``(C, N)``.

    Args:
        channel: Keep only this channel: an index (``"0"``, ``"1"``, ``1``; ``"ch1"`` too) or,
            for 2-channel files, ``"left"``/``"right"``. ``None``: see ``mono``.
        mono: With ``channel=None``: mix all channels down to one (``True``) or keep them all.

    Raises:
        DataError: empty, corrupt, truncated (a WAV shorter than its header declares) or
            non-audio file, a segment outside the file, NaN samples, a channel the file does
            not have.
    """
    path = Path(path)
    check_file(path)
    if path.suffix.lower() == ".wav" and (problem := wav_truncation(path)):
        raise DataError(
            f"{path}: {problem}; copy the file again from the recorder, or cut it with a "
            "tool that rewrites the header (e.g. sox in.wav out.wav trim 0 <seconds>)"
        )
    try:
        info = sf.info(str(path))
    except sf.LibsndfileError as exc:
        raise DataError(
            f"{path}: not a readable audio file ({exc}); re-export it as WAV/FLAC or remove it"
        ) from exc
    index = None if channel is None else _channel_index(path, channel, info.channels)
    start = round((start_s or 0.0) * info.samplerate)
    stop = None if end_s is None else round(end_s * info.samplerate)
    if start >= info.frames:
        raise DataError(
            f"{path}: segment starts at {start_s} s but the file lasts "
            f"{info.frames / info.samplerate:.3f} s; fix start_s in the manifest"
        )
    try:
        data, rate = sf.read(str(path), start=start, stop=stop, dtype="float32", always_2d=True)
    except sf.LibsndfileError as exc:
        raise DataError(
            f"{path}: not a readable audio file ({exc}); re-export it as WAV/FLAC or remove it"
        ) from exc
    data = data.T  # (C, N)
    if index is not None:
        data = data[index : index + 1]
        channels: tuple[str, ...] = (f"ch{index}",)
    elif mono and data.shape[0] > 1:
        data = data.mean(axis=0, keepdims=True)
        channels = ("mono",)
    else:
        channels = (
            ("mono",) if data.shape[0] == 1 else tuple(f"ch{i}" for i in range(data.shape[0]))
        )
    check_finite(path, data)
    return Recording(
        data=np.ascontiguousarray(data, dtype=np.float32),
        rate=float(rate),
        channels=channels,
        path=str(path),
        asset=asset,
        kind="signal",
        offset_s=float(start_s or 0.0),
    )


def _channel_index(path: Path, channel: str | int, n_channels: int) -> int:
    """Index of ``channel`` (index, ``chN`` or left/right) in a file with ``n_channels``."""
    name = str(channel).strip().lower()
    valid = f"0..{n_channels - 1}" if n_channels > 1 else "0"
    if n_channels == 2:
        valid += " or left/right"
    if name in _STEREO_NAMES:
        if n_channels != 2:
            raise DataError(
                f"{path}: source.channel={channel!r} names a stereo channel but the file has "
                f"{n_channels} channel(s); set source.channel=<{valid}>"
            )
        return _STEREO_NAMES[name]
    digits = name.removeprefix("ch")
    if not digits.isdigit():
        raise DataError(
            f"{path}: source.channel={channel!r} is not an audio channel; the file has "
            f"{n_channels} channel(s); set source.channel=<{valid}>"
        )
    index = int(digits)
    if index >= n_channels:
        raise DataError(
            f"{path}: channel {index} does not exist, the file has {n_channels} channel(s); "
            f"set source.channel=<{valid}>"
        )
    return index
