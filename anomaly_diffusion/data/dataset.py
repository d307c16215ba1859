"""Datasets as lists of items: the folder layout, manifests and input paths/globs."""

from __future__ import annotations

import glob as globlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest import SUPPORTED_SUFFIXES, modality_of

MANIFEST_COLUMNS = ("path", "split", "label", "defect", "start_s", "end_s", "asset")


@dataclass(frozen=True)
class Item:
    """One file or one segment of a file, with what is known about it.

    Attributes:
        path: File path.
        split: ``train`` or ``test``.
        label: 0 normal, 1 anomalous, ``None`` unknown (plain scoring input).
        defect: ``good`` or the defect kind (folder name).
        asset: Machine / camera name.
        start_s, end_s: Segment of the file (s); ``None``: from the start / to the end.
        mask_path: Ground-truth pixel mask (images), when one exists.
        conditions: Operating conditions ``((name, value), ...)`` from extra manifest / input
            columns or a condition table (see :mod:`anomaly_diffusion.data.conditions`).
        problem: Why this manifest row cannot be read (missing file, path escaping the
            manifest's folder); readers report it as the item's error instead of touching it.
        recorded_at: When the recording was made (a manifest / input ``recorded_at`` cell, ISO
            text), the time axis of the asset's trend and onset; ``None``: from the file name.
    """

    path: str
    split: str = "test"
    label: int | None = None
    defect: str = ""
    asset: str = ""
    start_s: float | None = None
    end_s: float | None = None
    mask_path: str | None = None
    conditions: tuple[tuple[str, str], ...] = ()
    problem: str | None = None
    recorded_at: str | None = None


def _files_under(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
    )


def discover(root: str | Path, *, require_train: bool = True) -> list[Item]:
    """Items of a dataset folder: ``train/good``, ``test/good``, ``test/<defect>``, masks in
    ``ground_truth/<defect>/<stem>_mask.png``.

    Args:
        root: The dataset folder.
        require_train: Refuse a folder without training files (``evaluate`` of a saved model
            on a new labelled test set passes ``False``: it needs ``test/`` only).

    Raises:
        DataError: the folder is missing, or (``require_train``) its ``train/good`` holds no
            supported file.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"data.root={root}: folder not found; point data.root at a folder with "
            "train/good/ (and optionally test/<kind>/), or use data.manifest=<file>"
        )
    train = _files_under(root / "train" / "good")
    if not train and require_train:
        raise DataError(
            f"data.root={root}: no supported files under {root / 'train' / 'good'}; "
            f"expected {', '.join(SUPPORTED_SUFFIXES)} files there"
        )
    asset = root.name
    items = [Item(str(p), "train", 0, "good", asset) for p in train]
    test_root = root / "test"
    for kind in (
        sorted(d.name for d in test_root.iterdir() if d.is_dir()) if test_root.is_dir() else []
    ):
        label = 0 if kind == "good" else 1
        for p in _files_under(test_root / kind):
            mask = root / "ground_truth" / kind / f"{p.stem}_mask.png"
            items.append(
                Item(
                    str(p),
                    "test",
                    label,
                    kind,
                    asset,
                    mask_path=str(mask) if mask.is_file() else None,
                )
            )
    return items


def read_manifest(manifest: str | Path) -> list[Item]:
    """Items of a manifest CSV/Parquet (paths relative to the manifest's folder).

    A row whose file is missing or whose path escapes the manifest's folder becomes an item with
    ``problem`` set (never read), so a batch reports it and goes on with the other rows.

    Raises:
        DataError: the manifest itself is missing, unreadable or has no ``path`` column.
    """
    manifest = Path(manifest)
    if not manifest.is_file():
        raise DataError(
            f"data.manifest={manifest}: file not found; give a CSV/Parquet manifest "
            f"with columns {', '.join(MANIFEST_COLUMNS)}"
        )
    try:
        table = (
            pd.read_parquet(manifest)
            if manifest.suffix.lower() == ".parquet"
            else pd.read_csv(manifest)
        )
    except Exception as exc:  # pandas/pyarrow raise many types for a bad table
        raise DataError(
            f"data.manifest={manifest}: cannot read the manifest ({exc}); save it as CSV or "
            "Parquet with a header row"
        ) from exc
    if "path" not in table.columns:
        raise DataError(
            f"{manifest}: no 'path' column; a manifest needs columns "
            f"{', '.join(MANIFEST_COLUMNS)} (all but path optional)"
        )
    base = manifest.resolve().parent
    return [
        _manifest_item(manifest, base, i, row) for i, row in enumerate(table.to_dict("records"))
    ]


def _manifest_item(manifest: Path, base: Path, index: int, row: dict) -> Item:
    where = f"{manifest}: row {index + 2}"
    path = (base / str(row["path"])).resolve()
    problem = None
    if not path.is_relative_to(base):
        problem = (
            f"{where}: path {row['path']!r} escapes the manifest folder {base}; "
            "use paths relative to the manifest, inside its folder"
        )
        path = Path(str(row["path"]))
    elif not path.is_file():
        problem = (
            f"{where}: file {row['path']!r} not found under {base}; fix the path or remove the row"
        )
    label = row.get("label")
    label = None if label is None or pd.isna(label) else int(label)
    return Item(
        problem=problem,
        path=str(path),
        split=_text(row, "split", "test"),
        label=label,
        defect=_text(row, "defect", "good" if label == 0 else ""),
        asset=_text(row, "asset", base.name),
        start_s=_optional_float(row.get("start_s")),
        end_s=_optional_float(row.get("end_s")),
        conditions=extra_conditions(row),
        recorded_at=_text(row, "recorded_at", "") or None,
    )


def extra_conditions(row: dict) -> tuple[tuple[str, str], ...]:
    """Non-blank cells of a manifest / input row outside the contract columns, as conditions."""
    skip = {*MANIFEST_COLUMNS, "mask_path", "recorded_at"}
    return tuple(
        sorted((str(k), _text(row, k, "")) for k in row if k not in skip and _text(row, k, ""))
    )


def _text(row: dict, key: str, default: str) -> str:
    """A manifest cell as text; blank, missing or NaN cells give ``default``."""
    value = row.get(key)
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
        return default
    return str(value).strip()


def _optional_float(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def load_items(
    *,
    root: str | None,
    manifest: str | None,
    condition_table: str | None = None,
    require_train: bool = True,
) -> list[Item]:
    """Items from ``data.manifest`` when given, else from the ``data.root`` folder; operating
    conditions from ``condition_table`` are attached (manifest values win). ``require_train``:
    see :func:`discover`."""
    if manifest:
        items = read_manifest(manifest)
    elif root:
        items = discover(root, require_train=require_train)
    else:
        raise DataError("no data given; set data.root=<folder> or data.manifest=<file>")
    return with_condition_table(items, condition_table)


def with_condition_table(items: list[Item], condition_table: str | None) -> list[Item]:
    """``items`` with a side table's conditions attached (unchanged when ``None``)."""
    if not condition_table:
        return items
    from anomaly_diffusion.data.conditions import attach_condition_table, read_condition_table

    return attach_condition_table(items, read_condition_table(condition_table))


def resolve_inputs(spec: str) -> list[Item]:
    """Scoring input: a file, a folder (searched recursively), a glob, or a manifest.

    Raises:
        DataError: nothing matches.
    """
    path = Path(spec)
    if path.is_file() and path.suffix.lower() in (".csv", ".parquet") and _is_manifest(path):
        return read_manifest(path)
    if path.is_file():
        return [Item(str(path), asset=path.parent.name)]
    if path.is_dir():
        files = _files_under(path)
    else:
        files = sorted(
            Path(p)
            for p in globlib.glob(spec, recursive=True)
            if Path(p).is_file() and modality_of(p) is not None
        )
    if not files:
        raise DataError(
            f"input={spec}: no supported files found; give a file, a folder, a glob "
            f"or a manifest ({', '.join(SUPPORTED_SUFFIXES)})"
        )
    return [Item(str(p), asset=p.parent.name) for p in files]


def _is_manifest(path: Path) -> bool:
    try:
        columns = (
            pd.read_parquet(path).columns
            if path.suffix.lower() == ".parquet"
            else pd.read_csv(path, nrows=0).columns
        )
    except Exception:  # an unreadable table is not a manifest; its reader reports the problem
        return False
    return "path" in columns


def split_validation(
    items: list[Item],
    *,
    fraction: float,
    rng: np.random.Generator,
    end_of: Callable[[Item], float | None] | None = None,
) -> tuple[list[Item], list[Item]]:
    """Hold out a fraction of the normal training data for threshold calibration, without leakage.

    With >= 2 files, whole files are held out (all segments of a file stay on one side). With one
    file cut into >= 2 manifest segments, the last segments in time are held out (segments do not
    overlap). A single segment is split in time, its tail held out; a single whole file (one
    historian export, one long recording) too, its end from ``end_of`` (e.g.
    :func:`~anomaly_diffusion.data.stream.item_end_s`). Returns ``(train, validation)``.
    """
    files = sorted({it.path for it in items})
    if len(files) >= 2:
        n_val = min(len(files) - 1, max(1, round(fraction * len(files))))
        held = set(rng.choice(files, size=n_val, replace=False).tolist())
        return [it for it in items if it.path not in held], [it for it in items if it.path in held]
    if len(items) >= 2:
        ordered = sorted(items, key=lambda it: it.start_s or 0.0)
        n_val = min(len(items) - 1, max(1, round(fraction * len(items))))
        return _cut_segments(ordered[:-n_val], ordered[-n_val:])
    item = items[0]
    if item.end_s is None and end_of is not None:
        end = end_of(item)
        item = item if end is None else replace(item, end_s=end)
    return _split_single_segment(item, fraction)


def _cut_segments(train: list[Item], held: list[Item]) -> tuple[list[Item], list[Item]]:
    """Segments of one file: held-out segments start at a cut time; training segments that
    reach past it (overlapping manifest segments) are clipped at the cut, so no window of one
    side overlaps a window of the other."""
    cut = min(it.start_s or 0.0 for it in held)
    clipped = []
    for it in train:
        end = it.end_s
        if end is None or end > cut:
            if (it.start_s or 0.0) >= cut:
                continue
            it = replace(it, end_s=cut)
        clipped.append(it)
    if not clipped:
        raise DataError(
            f"{train[0].path}: every training segment overlaps the held-out ones; give "
            "non-overlapping start_s/end_s segments or more files"
        )
    return clipped, held


def _split_single_segment(item: Item, fraction: float) -> tuple[list[Item], list[Item]]:
    """One training recording: split its time span, the tail held out for calibration."""
    if item.end_s is None:
        raise DataError(
            f"{item.path}: the only training file, and its length is unknown (an image, or "
            "unreadable); part of the normal data must be held out for calibration: add "
            "normal files, or give a manifest with start_s/end_s segments"
        )
    start = item.start_s or 0.0
    cut = item.end_s - fraction * (item.end_s - start)
    return [replace(item, end_s=cut)], [replace(item, start_s=cut)]
