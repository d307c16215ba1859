"""Acoustic readers (WAV/FLAC/OGG through soundfile); segments are read without loading the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest.checks import check_file, check_finite
from anomaly_diffusion.ingest.recording import Recording

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


def read_audio(
    path: str | Path,
    *,
    start_s: float | None = None,
    end_s: float | None = None,
    mono: bool = True,
    asset: str = "",
) -> Recording:
    """Read an audio file (or the ``[start_s, end_s)`` segment of it) as float32 ``(C, N)``.

    Raises:
        DataError: empty, corrupt or non-audio file, a segment outside the file, NaN samples.
    """
    path = Path(path)
    check_file(path)
    try:
        info = sf.info(str(path))
        start = round((start_s or 0.0) * info.samplerate)
        stop = None if end_s is None else round(end_s * info.samplerate)
        if start >= info.frames:
            raise DataError(
                f"{path}: segment starts at {start_s} s but the file lasts "
                f"{info.frames / info.samplerate:.3f} s; fix start_s in the manifest"
            )
        data, rate = sf.read(str(path), start=start, stop=stop, dtype="float32", always_2d=True)
    except sf.LibsndfileError as exc:
        raise DataError(
            f"{path}: not a readable audio file ({exc}); re-export it as WAV/FLAC or remove it"
        ) from exc
    data = data.T  # (C, N)
    check_finite(path, data)
    if mono and data.shape[0] > 1:
        data = data.mean(axis=0, keepdims=True)
    channels = ("mono",) if data.shape[0] == 1 else tuple(f"ch{i}" for i in range(data.shape[0]))
    return Recording(
        data=np.ascontiguousarray(data, dtype=np.float32),
        rate=float(rate),
        channels=channels,
        path=str(path),
        asset=asset,
        kind="signal",
        offset_s=float(start_s or 0.0),
    )
