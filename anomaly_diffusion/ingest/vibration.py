"""Vibration readers: NumPy ``.npz``/``.npy`` and MATLAB ``.mat`` (v5, v7.3) accelerometer arrays.

``.npy`` files are memory-mapped and MATLAB v7.3 (HDF5) vectors are read slice by slice, so a
segment of a long recording does not load the whole file.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest.checks import check_file, check_finite
from anomaly_diffusion.ingest.recording import Recording

VIBRATION_SUFFIXES = (".npz", ".npy", ".mat")
_RATE_KEYS = ("sample_rate", "fs", "sr", "sampling_rate")
_UNITS_KEY = "units"
_DEFAULT_UNITS = "g"


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
        path: ``.npz`` (a key per channel, optional ``sample_rate``/``fs`` key and ``units``
            string), ``.npy`` (memory-mapped) or ``.mat`` (v5 through scipy, v7.3 through h5py;
            same optional keys).
        channel: Key to read (e.g. ``DE`` for CWRU's drive end); for keys such as MATLAB's
            ``X097_DE_time`` a token of the name (``DE``) is enough when it is unambiguous.
            ``None``: the first numeric array key.
        sample_rate: Rate (Hz) for files that do not store one.
        start_s, end_s: Segment to keep (s).

    Raises:
        DataError: unreadable file, unknown key, no sample rate, NaN samples, empty segment,
            a key holding a matrix instead of one channel.
    """
    path = Path(path)
    check_file(path)
    with _open_arrays(path) as arrays:
        rate = _rate_from(arrays) or sample_rate
        if rate is None:
            raise DataError(
                f"{path}: no sample rate in the file; set source.sample_rate=<Hz> "
                "(train) or sample_rate=<Hz> (score)"
            )
        key = _choose_key(path, arrays, channel)
        signal = _vector(path, key, arrays[key])
        n = signal.shape[0]
        start = round((start_s or 0.0) * rate)
        stop = n if end_s is None else min(n, round(end_s * rate))
        if stop <= start:
            raise DataError(
                f"{path}: segment [{start_s}, {end_s}] s is empty (file lasts "
                f"{n / rate:.3f} s); fix start_s/end_s"
            )
        # A copy: a view would keep the whole memory map resident while windows are cut.
        data = np.array(signal[start:stop], dtype=np.float32, copy=True)[None]
        units = _units_from(arrays)
    check_finite(path, data)
    return Recording(
        data=np.ascontiguousarray(data),
        rate=float(rate),
        channels=(key,),
        path=str(path),
        asset=asset,
        kind="signal",
        offset_s=float(start_s or 0.0),
        units=units,
    )


def _choose_key(path: Path, arrays: dict[str, Any], channel: str | None) -> str:
    names = [
        k
        for k, v in arrays.items()
        if k not in _RATE_KEYS and k != _UNITS_KEY and _is_numeric(v) and v.size > 1
    ]
    if channel is None:
        if names:
            return names[0]
        raise DataError(
            f"{path}: no numeric array in the file (keys: {list(arrays)}); "
            "export the signal as a numeric array"
        )
    if channel in names:
        return channel
    # MATLAB exports name variables like X097_DE_time: accept the token "DE".
    token = channel.lower()
    matches = [k for k in names if token in k.lower().split("_")]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise DataError(
            f"{path}: channel {channel!r} matches several keys {matches}; "
            "set source.channel=<one of them>"
        )
    raise DataError(
        f"{path}: channel {channel!r} not found; available: {names}; "
        "set source.channel=<one of them>"
    )


def _vector(path: Path, key: str, array: Any) -> Any:
    """The key's samples as a 1-D array-like (a view: memory maps and HDF5 stay lazy)."""
    if isinstance(array, _H5Vector):
        return array
    squeezed = np.squeeze(array)
    if squeezed.ndim > 1:
        raise DataError(
            f"{path}: key {key!r} holds a {'x'.join(map(str, array.shape))} matrix, not one "
            "channel; save one channel per key (or set source.channel to another key)"
        )
    return squeezed.reshape(-1)


@contextmanager
def _open_arrays(path: Path) -> Iterator[dict[str, Any]]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            yield arrays
        elif suffix == ".npy":
            yield {"data": np.load(path, mmap_mode="r", allow_pickle=False)}
        elif _is_hdf5(path):
            with _open_mat73(path) as arrays:
                yield arrays
        else:
            yield _load_mat5(path)
    except (OSError, ValueError, zipfile.BadZipFile, NotImplementedError) as exc:
        raise DataError(
            f"{path}: cannot read arrays ({exc}); check that the file is a valid "
            f"{path.suffix} export"
        ) from exc


def _is_hdf5(path: Path) -> bool:
    import h5py

    return bool(h5py.is_hdf5(str(path)))


def _load_mat5(path: Path) -> dict[str, Any]:
    from scipy.io import loadmat

    try:
        mat = loadmat(path)
    except NotImplementedError as exc:  # a v7.3 header, but h5py found no HDF5 data in it
        raise DataError(
            f"{path}: MATLAB v7.3 header but not a readable HDF5 file (truncated copy?); "
            "copy or re-save it (save -v7.3, or -v7 for files under 2 GB)"
        ) from exc
    return {k: v for k, v in mat.items() if not k.startswith("__") and isinstance(v, np.ndarray)}


class _H5Vector:
    """A MATLAB v7.3 vector dataset, read only where sliced."""

    def __init__(self, dataset: Any) -> None:
        self._ds = dataset
        self.shape = (int(dataset.size),)
        self.size = int(dataset.size)
        self.dtype = dataset.dtype
        self._axis = int(np.argmax(dataset.shape))

    def __getitem__(self, item: slice) -> np.ndarray:
        index = [0] * self._ds.ndim
        index[self._axis] = item
        return np.asarray(self._ds[tuple(index)])


@contextmanager
def _open_mat73(path: Path) -> Iterator[dict[str, Any]]:
    """Top-level numeric datasets of a MATLAB v7.3 file (HDF5), as MATLAB sees them.

    MATLAB stores arrays column-major, so HDF5 shapes are transposed: a ``(N, 1)`` column
    vector is a ``(1, N)`` dataset. Groups (structs, ``#refs#``), references (cells), empty
    arrays and compound (complex) data are skipped; char arrays become strings.
    """
    import h5py

    with h5py.File(path, "r") as f:
        arrays: dict[str, Any] = {}
        for name, obj in f.items():
            if name.startswith("#") or not isinstance(obj, h5py.Dataset):
                continue
            matlab_class = obj.attrs.get("MATLAB_class", b"")
            if isinstance(matlab_class, bytes):
                matlab_class = matlab_class.decode("ascii", "replace")
            if obj.attrs.get("MATLAB_empty", 0):
                continue
            if matlab_class == "char":
                codes = np.asarray(obj[()]).T.reshape(-1)
                arrays[name] = np.asarray("".join(map(chr, codes)))
                continue
            if obj.dtype.kind not in "biuf":
                continue
            if obj.ndim >= 1 and sum(d > 1 for d in obj.shape) == 1 and obj.size > 1:
                arrays[name] = _H5Vector(obj)
            else:
                arrays[name] = np.asarray(obj[()]).T
        yield arrays


def _is_numeric(value: Any) -> bool:
    return np.dtype(value.dtype).kind in "biuf"


def _rate_from(arrays: dict[str, Any]) -> float | None:
    for key in _RATE_KEYS:
        value = arrays.get(key)
        if isinstance(value, np.ndarray) and value.size == 1 and _is_numeric(value):
            return float(value.reshape(()))
    return None


def _units_from(arrays: dict[str, Any]) -> str:
    value = arrays.get(_UNITS_KEY)
    if isinstance(value, np.ndarray) and value.dtype.kind in "US" and value.size == 1:
        text = value.reshape(()).item()
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        if text.strip():
            return text.strip()
    return _DEFAULT_UNITS
