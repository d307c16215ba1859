"""Vibration readers: NumPy ``.npz``/``.npy`` and MATLAB ``.mat`` accelerometer arrays."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest.checks import check_file, check_finite
from anomaly_diffusion.ingest.recording import Recording

VIBRATION_SUFFIXES = (".npz", ".npy", ".mat")
_RATE_KEYS = ("sample_rate", "fs", "sr", "sampling_rate")


def read_vibration(
    path: str | Path,
    *,
    channel: str | None = None,
    sample_rate: float | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    asset: str = "",
) -> Recording:
    """Read one accelerometer channel as float32 ``(1, N)`` (units: as recorded, often g).

    Args:
        path: ``.npz`` (a key per channel, optional ``sample_rate``/``fs`` key), ``.npy`` or
            ``.mat`` (v5, through scipy).
        channel: Key to read (e.g. ``DE`` for CWRU's drive end); ``None``: the first array key.
        sample_rate: Rate (Hz) for files that do not store one.
        start_s, end_s: Segment to keep (s).

    Raises:
        DataError: unreadable file, unknown key, no sample rate, NaN samples, empty segment.
    """
    path = Path(path)
    check_file(path)
    arrays = _load_arrays(path)
    rate = _rate_from(arrays) or sample_rate
    if rate is None:
        raise DataError(f"{path}: no sample rate in the file; set source.sample_rate=<Hz>")
    names = [k for k, v in arrays.items() if k not in _RATE_KEYS and v.size > 1]
    key = channel if channel is not None else (names[0] if names else None)
    if key not in names:
        raise DataError(
            f"{path}: channel {channel!r} not found; available: {names}; "
            "set source.channel=<one of them>"
        )
    signal = np.asarray(arrays[key], dtype=np.float32).reshape(-1)
    start = round((start_s or 0.0) * rate)
    stop = signal.size if end_s is None else min(signal.size, round(end_s * rate))
    if stop <= start:
        raise DataError(
            f"{path}: segment [{start_s}, {end_s}] s is empty (file lasts "
            f"{signal.size / rate:.3f} s); fix start_s/end_s"
        )
    data = signal[start:stop][None]
    check_finite(path, data)
    return Recording(
        data=np.ascontiguousarray(data),
        rate=float(rate),
        channels=(key,),
        path=str(path),
        asset=asset,
        kind="signal",
        offset_s=float(start_s or 0.0),
        units="g",
    )


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        if path.suffix.lower() == ".npy":
            return {"data": np.load(path, allow_pickle=False)}
        from scipy.io import loadmat

        mat = loadmat(path)
        return {
            k: v for k, v in mat.items() if not k.startswith("__") and isinstance(v, np.ndarray)
        }
    except (OSError, ValueError, zipfile.BadZipFile, NotImplementedError) as exc:
        raise DataError(
            f"{path}: cannot read arrays ({exc}); check that the file is a valid "
            f"{path.suffix} export"
        ) from exc


def _rate_from(arrays: dict[str, np.ndarray]) -> float | None:
    for key in _RATE_KEYS:
        if key in arrays and arrays[key].size == 1:
            return float(arrays[key].reshape(()))
    return None
