"""Per-file baseline of process tables (``source.baseline_s``): every sensor centred on its
mean over the file's first ``baseline_s`` seconds.

Normal operation drifts between runs of a plant (catalyst age, ambient, set points): one run's
normal is another's offset, and a threshold set on one run alarms on the next (Tennessee
Eastman: PCA Q's threshold from the training run lets 23 % of another normal run through). When
each run starts with a stretch known to be normal, comparing every run with its own start
removes that offset; what remains is the departure the model should judge.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from anomaly_diffusion.config import SourceConfig
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest import read_recording
from anomaly_diffusion.ingest.recording import Recording

MIN_BASELINE_ROWS = 2
"""Rows the baseline needs (one row is no mean)."""


def baseline_means(head: np.ndarray) -> np.ndarray:
    """``(C, 1)`` per-sensor mean of ``head`` ``(C, M)`` (rows that are gaps, NaN, skipped)."""
    with warnings.catch_warnings():  # a sensor without values: NaN, refused by the caller
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(head, axis=1, keepdims=True)


def centred_on_baseline(rec: Recording, item: Item, *, source: SourceConfig) -> Recording:
    """``rec`` (a table, whole file or a segment of it) minus the per-sensor mean of its
    file's first ``source.baseline_s`` seconds.

    Raises:
        DataError: the file's first ``baseline_s`` seconds hold fewer than
            :data:`MIN_BASELINE_ROWS` rows, or a sensor has no value there.
    """
    baseline_s = float(source.baseline_s)
    if not item.start_s:  # the recording starts where the file does
        head = rec.data[:, : round(baseline_s * rec.rate)]
    else:
        head = read_recording(item.path, source=source, end_s=baseline_s, asset=item.asset).data
    if head.shape[1] < MIN_BASELINE_ROWS:
        raise DataError(
            f"{item.path}: source.baseline_s={baseline_s:g} holds {head.shape[1]} row(s) of a "
            f"table with a row every {1 / rec.rate:g} s; use at least "
            f"{MIN_BASELINE_ROWS / rec.rate:g} s (a stretch of normal operation at the start of "
            "every file), or baseline_s=null"
        )
    means = baseline_means(head)
    empty = [rec.channels[i] for i in np.flatnonzero(np.isnan(means[:, 0]))]
    if empty:
        raise DataError(
            f"{item.path}: sensor(s) {empty} have no value in the first {baseline_s:g} s "
            "(source.baseline_s); lengthen the baseline or leave those sensors out "
            "(source.exclude_columns)"
        )
    data = (rec.data - means).astype(rec.data.dtype, copy=False)
    return dataclasses.replace(rec, data=data)
