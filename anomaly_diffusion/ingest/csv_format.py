"""CSV dialect of sensor-table exports: separator, decimal mark, encoding, time column name."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

TIME_NAMES = ("timestamp", "time", "datetime", "date", "ts")
_SNIFF_BYTES = 64 * 1024
_SEPARATORS = ("\t", ";", "|", ",")  # preference order when several split every line evenly
_COMMA_DECIMAL = re.compile(r"^\s*[+-]?\d*,\d+(?:[eE][+-]?\d+)?\s*$")
_DOT_DECIMAL = re.compile(r"^\s*[+-]?\d*\.\d+(?:[eE][+-]?\d+)?\s*$")


def sniff(path: Path) -> tuple[str, str, str]:
    """Separator, decimal mark and encoding of a CSV file, from its first bytes."""
    with path.open("rb") as f:
        raw = f.read(_SNIFF_BYTES)
    full = len(raw) < _SNIFF_BYTES
    encoding = "utf-8"
    if raw.startswith(b"\xef\xbb\xbf"):
        encoding, raw = "utf-8-sig", raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not full and exc.start >= len(raw) - 3:  # a character cut by the sample's end
            text = raw[: exc.start].decode("utf-8", "replace")
        else:
            encoding, text = "latin-1", raw.decode("latin-1")
    lines = text.splitlines()
    if not full and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    lines = [ln for ln in lines[:200] if ln.strip()]
    if not lines:
        return ",", ".", encoding
    sep = _pick_separator(lines)
    decimal = "."
    if sep != ",":
        fields = [f for ln in lines[1:] for f in ln.split(sep)]
        commas = sum(bool(_COMMA_DECIMAL.match(f)) for f in fields)
        dots = sum(bool(_DOT_DECIMAL.match(f)) for f in fields)
        if commas > dots:
            decimal = ","
    return sep, decimal, encoding


def _pick_separator(lines: list[str]) -> str:
    counts = {sep: [ln.count(sep) for ln in lines] for sep in _SEPARATORS}
    even = [sep for sep, c in counts.items() if c[0] > 0 and len(set(c)) == 1]
    if even:
        return even[0]
    # Ragged lines (quoted fields, trailing separators): the most frequent separator.
    best = max(_SEPARATORS, key=lambda sep: (float(np.median(counts[sep])), sep == ","))
    return best if np.median(counts[best]) > 0 else ","


LABEL_NAMES = ("label", "labels", "fault", "anomaly", "is_anomaly", "attack")
"""Column names read as the 0/1 row label when ``source.label_column`` is not given: a label
read as a sensor would leak the answer into the model's input (TEP's ``fault`` column is 0 in
every training row and 1 in the faulty test rows)."""

SECONDS_SUFFIXES = ("_s", "_sec", "_secs", "_seconds", "(s)", "[s]")
"""Unit suffixes a time column's name may carry (``time_s``, ``timestamp [s]``)."""


def guess_time(columns) -> str | None:
    """The first column named like a time: one of :data:`TIME_NAMES`, optionally followed by a
    seconds suffix (:data:`SECONDS_SUFFIXES`, with or without a space); ``None`` if none."""
    for column in columns:
        name = str(column).strip().lower()
        for suffix in ("", *SECONDS_SUFFIXES):
            base = name[: len(name) - len(suffix)].rstrip() if suffix else name
            if name.endswith(suffix) and base in TIME_NAMES:
                return column
    return None


def guess_label(columns) -> str | None:
    """The first column named like a row label (:data:`LABEL_NAMES`, any case), else ``None``."""
    return next((c for c in columns if str(c).strip().lower() in LABEL_NAMES), None)
