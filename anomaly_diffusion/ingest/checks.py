"""Shared sanity checks for readers: each failure is a DataError naming file, problem and fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from anomaly_diffusion.errors import DataError


def check_file(path: Path) -> None:
    """Fail early on a missing or empty file."""
    if not path.is_file():
        raise DataError(
            f"{path}: file not found; check the path (folders are searched recursively)"
        )
    if path.stat().st_size == 0:
        raise DataError(
            f"{path}: file is empty (0 bytes); re-export it or remove it from the input"
        )


def check_finite(path: Path, data: np.ndarray) -> None:
    """Reject NaN/inf samples, naming how many and where the first one is."""
    bad = ~np.isfinite(data)
    if bad.any():
        first = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), data.shape))
        raise DataError(
            f"{path}: {int(bad.sum())} NaN/inf value(s), first at index {first}; "
            "repair or interpolate the recording before scoring"
        )
