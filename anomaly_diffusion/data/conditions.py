"""Operating conditions (machine id, speed, load, microphone, product type, ...) per item.

Values come, in this order of precedence, from manifest / input-table columns, from a side table
(``data.condition_table``: a CSV/Parquet keyed by file name) and from attributes in the file name
(DCASE style ``..._car_B1_spd_31V_mic_1.wav``: the token after the condition's name). A fitted
:class:`ConditionEncoder` turns them into model inputs: categorical values index a learned
embedding (index 0 = unknown/absent, which is also what training's condition dropout teaches,
so an absent or unseen value falls back to the unconditional model); numeric values are
standardized with training statistics (absent: 0 = the training mean).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly_diffusion.errors import ConfigError, DataError

UNKNOWN = 0
logger = logging.getLogger(__name__)


def filename_attributes(path: str | Path, names: Sequence[str]) -> dict[str, str]:
    """Values of ``names`` read from a file name: the token after ``<name>`` in the stem split
    on ``_`` (``section_00_car_B1_spd_31V.wav`` -> ``{"car": "B1", "spd": "31V"}``)."""
    tokens = Path(path).stem.split("_")
    found = {}
    for name in names:
        for i, tok in enumerate(tokens[:-1]):
            if tok == name:
                found[name] = tokens[i + 1]
                break
    return found


def read_condition_table(path: str | Path) -> dict[str, dict[str, str]]:
    """Side table ``file name -> {condition: value}``.

    The table has a ``path`` or ``file_name`` column (matched on the file name only) and one
    column per condition; DCASE ``attributes_XX.csv`` pairs ``d1p, d1v, d2p, d2v, ...`` are
    expanded to ``{d1p value: d1v value, ...}``.

    Raises:
        DataError: missing file or key column.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"data.condition_table={path}: file not found; give a CSV/Parquet with a "
            "file_name (or path) column and one column per condition"
        )
    table = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    key = next((c for c in ("file_name", "path") if c in table.columns), None)
    if key is None:
        raise DataError(
            f"{path}: no 'file_name' or 'path' column (columns: {list(table.columns)}); "
            "add one naming each file"
        )
    out: dict[str, dict[str, str]] = {}
    for row in table.to_dict("records"):
        values = {k: v for k, v in row.items() if k != key and _present(v)}
        pairs = sorted(k[1:-1] for k in values if k[0] == "d" and k.endswith("p"))
        for p in pairs:
            name, value = values.pop(f"d{p}p"), values.pop(f"d{p}v", None)
            if value is not None:
                values[str(name)] = value
        out[Path(str(row[key])).name] = {k: str(v) for k, v in values.items()}
    return out


def attach_condition_table(items: Sequence, table: dict[str, dict[str, str]]) -> list:
    """Items with conditions from a side table added (values already on an item win)."""
    out = []
    for item in items:
        extra = table.get(Path(item.path).name, {})
        merged = {**extra, **dict(item.conditions)}
        out.append(replace(item, conditions=tuple(sorted(merged.items()))))
    return out


def condition_values(item, names: Sequence[str]) -> dict[str, str]:
    """Values of ``names`` for one item: its own conditions first, then its file name."""
    own = dict(item.conditions)
    missing = [n for n in names if n not in own]
    return {**filename_attributes(item.path, missing), **{n: own[n] for n in names if n in own}}


@dataclass(frozen=True)
class ConditionEncoder:
    """Fitted mapping from condition values to model inputs (saved with the model).

    Attributes:
        categorical: ``name -> known values``; value ``i`` encodes as ``i + 1`` (0 = unknown).
        numeric: ``name -> (mean, std)`` of the training values.
        presence: Numeric conditions carry a "known" flag beside the standardized value
            (``numeric_width = 2 n_num``), so that a missing value encodes as (0, 0), the
            unconditional fallback that condition dropout trains, not as (0, 1), a value at the
            training mean. Models saved before the flag have ``False`` (value only).
    """

    categorical: dict[str, list[str]] = field(default_factory=dict)
    numeric: dict[str, list[float]] = field(default_factory=dict)
    presence: bool = True

    @property
    def numeric_width(self) -> int:
        """Numeric model inputs: a value (and a known flag) per numeric condition."""
        return len(self.numeric) * (2 if self.presence else 1)

    @property
    def names(self) -> list[str]:
        return [*self.categorical, *self.numeric]

    @property
    def vocab_sizes(self) -> tuple[int, ...]:
        """Embedding sizes, unknown included."""
        return tuple(len(v) + 1 for v in self.categorical.values())

    @classmethod
    def fit(cls, items: Sequence, names: Sequence[str]) -> ConditionEncoder:
        """Learn each condition's values from the training items: numeric when every value
        parses as a number, categorical otherwise.

        Raises:
            DataError: a condition has no value on any training item.
        """
        categorical, numeric = {}, {}
        for name in names:
            values = [condition_values(it, [name]).get(name) for it in items]
            seen = [v for v in values if v is not None]
            if not seen:
                raise DataError(
                    f"data.conditions: no training file has a value for {name!r} (not in the "
                    "manifest, the condition table, nor as '<name>_<value>' in file names); "
                    "fix the name or remove it from data.conditions"
                )
            if len(seen) < len(values):
                logger.warning(
                    "condition %r missing on %d of %d training files: they train the "
                    "unconditional fallback",
                    name,
                    len(values) - len(seen),
                    len(values),
                )
            floats = [_as_float(v) for v in seen]
            if all(f is not None for f in floats):
                arr = np.asarray(floats, dtype=np.float64)
                numeric[name] = [float(arr.mean()), float(max(arr.std(), 1e-6))]
            else:
                categorical[name] = sorted(set(seen))
        return cls(categorical=categorical, numeric=numeric)

    def encode(self, items: Sequence) -> tuple[np.ndarray, np.ndarray]:
        """``(categorical (N, n_cat) int64, numeric (N, numeric_width) float32)``: unknown
        categories -> 0; numeric columns are the standardized values, then (``presence``)
        one known flag per condition; a missing numeric value is (0, 0)."""
        names = self.names
        n_num = len(self.numeric)
        cat = np.zeros((len(items), len(self.categorical)), dtype=np.int64)
        num = np.zeros((len(items), self.numeric_width), dtype=np.float32)
        lookup = {n: {v: i + 1 for i, v in enumerate(vs)} for n, vs in self.categorical.items()}
        for row, item in enumerate(items):
            values = condition_values(item, names)
            for j, name in enumerate(self.categorical):
                cat[row, j] = lookup[name].get(values.get(name), UNKNOWN)
            for j, (name, (mean, std)) in enumerate(self.numeric.items()):
                f = _as_float(values.get(name))
                num[row, j] = 0.0 if f is None else (f - mean) / std
                if self.presence:
                    num[row, n_num + j] = 0.0 if f is None else 1.0
        return cat, num

    def to_dict(self) -> dict:
        return {"categorical": self.categorical, "numeric": self.numeric, "presence": self.presence}

    @classmethod
    def from_dict(cls, data: dict | None) -> ConditionEncoder | None:
        if not data:
            return None
        unknown = set(data) - {"categorical", "numeric", "presence"}
        if unknown:
            raise ConfigError(f"conditions: unknown keys {sorted(unknown)} in the saved model")
        return cls(
            categorical=dict(data["categorical"]),
            numeric=dict(data["numeric"]),
            presence=bool(data.get("presence", False)),  # saved before the flag: value only
        )


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _as_float(value: object) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None
