"""On-disk feature cache: the windows of a file, keyed by the file's identity (path, size,
modification time) and everything that shapes its features (source, feature config, rate)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly_diffusion.atomic import atomic_path
from anomaly_diffusion.config import FeatureConfig, SourceConfig, to_dict
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.windows import Window

logger = logging.getLogger(__name__)

#: Bump when the meaning of cached features changes (feature code, Window fields).
CACHE_VERSION = 4


class FeatureCache:
    """Windows of whole files stored as ``<folder>/<key>.npz``; a changed file, segment or
    feature setting gives another key, so stale entries are never read (delete the folder to
    reclaim space).

    Args:
        folder: Cache folder (created on first write).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.hits = 0
        self.misses = 0

    def key(
        self,
        item: Item,
        *,
        source: SourceConfig,
        features: FeatureConfig,
        expected_rate: float | None,
        expected_channels: int | None,
    ) -> str:
        """Hex digest of the file identity and the feature settings."""
        stat = Path(item.path).stat()
        ident = {
            "v": CACHE_VERSION,
            "path": str(Path(item.path).resolve()),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "segment": [item.start_s, item.end_s],
            "mask": item.mask_path,
            "label": item.label,
            "source": to_dict(source),
            "features": to_dict(features),
            "rate": expected_rate,
            "channels": expected_channels,
        }
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]

    def windows(
        self,
        item: Item,
        compute: Callable[[Item], list[Window]],
        *,
        source: SourceConfig,
        features: FeatureConfig,
        expected_rate: float | None = None,
        expected_channels: int | None = None,
    ) -> list[Window]:
        """Cached windows of ``item``, else ``compute(item)`` stored for next time."""
        try:
            key = self.key(
                item,
                source=source,
                features=features,
                expected_rate=expected_rate,
                expected_channels=expected_channels,
            )
        except OSError:
            return compute(item)  # missing file: the reader names the problem
        path = self.folder / f"{key}.npz"
        if path.is_file():
            try:
                windows = _load(path, item)
                self.hits += 1
                return windows
            except (OSError, ValueError, KeyError) as exc:
                logger.warning("%s: unreadable cache entry (%s); recomputing", path, exc)
        windows = compute(item)
        self.misses += 1
        try:
            _save(path, windows)
        except OSError as exc:
            logger.warning("%s: cannot write the feature cache (%s); going on without", path, exc)
        return windows


_OPTIONAL_ARRAYS = ("mask", "freqs_hz", "row_labels")
_SCALARS = ("start_s", "end_s", "label", "frame_s", "sample_rate", "row_start")


def _save(path: Path, windows: list[Window]) -> None:
    arrays: dict[str, np.ndarray] = {}
    meta = []
    for i, w in enumerate(windows):
        arrays[f"features_{i}"] = w.features
        for name in _OPTIONAL_ARRAYS:
            value = getattr(w, name)
            if value is not None:
                arrays[f"{name}_{i}"] = value
        meta.append(
            {
                **{name: getattr(w, name) for name in _SCALARS},
                "source_size": None if w.source_size is None else list(w.source_size),
                "start_time": None if w.start_time is None else w.start_time.isoformat(),
            }
        )
    arrays["meta"] = np.array(json.dumps(meta))
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        np.savez(f, **arrays)


def _load(path: Path, item: Item) -> list[Window]:
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
        windows = []
        for i, m in enumerate(meta):
            optional = {
                name: npz[f"{name}_{i}"] if f"{name}_{i}" in npz.files else None
                for name in _OPTIONAL_ARRAYS
            }
            windows.append(
                Window(
                    features=npz[f"features_{i}"],
                    item=item,
                    **{name: m[name] for name in _SCALARS},
                    **optional,
                    source_size=None if m["source_size"] is None else tuple(m["source_size"]),
                    start_time=None if m["start_time"] is None else pd.Timestamp(m["start_time"]),
                )
            )
    return windows
