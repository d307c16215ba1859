"""Parity gate: the saved MLflow pyfunc must score golden inputs exactly as the in-process
detector does before the model may be registered."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd

from anomaly_diffusion.errors import TrackingError

TOLERANCE = 1e-5


def parity_check(model_dir: str | Path, expected: pd.DataFrame, inputs: pd.DataFrame) -> float:
    """Largest absolute score difference between ``mlflow.pyfunc.load_model(model_dir)`` on
    ``inputs`` and the ``expected`` in-process table.

    Raises:
        TrackingError: no golden input was scored (a gate that compared nothing proves
            nothing), the pyfunc gives other rows, or a difference above :data:`TOLERANCE`.
    """
    scored = expected[expected["error"].isna()]
    if scored.empty:
        first = expected["error"].dropna().iloc[0] if len(expected) else "no golden inputs"
        raise TrackingError(
            f"{model_dir}: parity gate compared nothing: none of the {len(expected)} golden "
            f"input(s) could be scored (first error: {first}); the model is not registered. "
            "Fix or remove the unreadable training files and train again"
        )
    got = mlflow.pyfunc.load_model(str(model_dir)).predict(inputs)
    key = ["path", "start_s"]
    left = scored.sort_values(key, na_position="first")
    right = got[got["error"].isna()].sort_values(key, na_position="first")
    if len(left) != len(right) or list(left["path"]) != list(right["path"]):
        raise TrackingError(
            f"{model_dir}: parity gate failed: the pyfunc scored {len(right)} window(s), the "
            f"detector {len(left)}; the model is not registered (report this as a bug)"
        )
    diff = float(np.max(np.abs(left["score"].to_numpy() - right["score"].to_numpy()), initial=0))
    if diff > TOLERANCE:
        raise TrackingError(
            f"{model_dir}: parity gate failed: pyfunc and detector scores differ by {diff:.3g} "
            f"(tolerance {TOLERANCE}); the model is not registered (report this as a bug)"
        )
    return diff
