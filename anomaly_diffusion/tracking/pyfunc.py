"""The saved model as an MLflow pyfunc: a DataFrame of paths in, score rows out."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow.pyfunc
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

from anomaly_diffusion import __version__
from anomaly_diffusion.scoring.result import SCORE_COLUMNS

DETECTOR_ARTIFACT = "detector"
ONSET_K = 3
"""Default consecutive alarming recordings for the onset columns (the score job's ``onset_k``)."""
_DOUBLE_OUT = (
    "start_s",
    "end_s",
    "score",
    "threshold",
    "severity",
    "peak_time_s",
    "peak_freq_hz",
    "peak_x",
    "peak_y",
)


class DetectorPyfunc(mlflow.pyfunc.PythonModel):
    """Scores the files named in the input's ``path`` column (optional ``start_s``/``end_s``,
    ``asset``, ``recorded_at``), exactly as the in-process detector does; one output row per
    window, with each asset's persistent-alarm onset over the input's recordings
    (``unit_time``, ``alarm_run``, ``onset``; param ``onset_k``, 0: none)."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        from anomaly_diffusion.detector import DiffusionAnomalyDetector
        from anomaly_diffusion.heap import configure_allocator

        configure_allocator()

        self.detector = DiffusionAnomalyDetector.load(context.artifacts[DETECTOR_ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from anomaly_diffusion.inference import items_from_frame, score_items, with_recorded_at
        from anomaly_diffusion.trend.onset import check_k, onsets_of_rows

        items = items_from_frame(model_input)
        frame = score_items(self.detector, items).drop(columns=["map_path"])
        k = int((params or {}).get("onset_k", ONSET_K))
        if k == 0 or frame.empty:
            return frame
        rows, *_ = onsets_of_rows(with_recorded_at(frame, items), k=check_k(k))
        return rows.drop(columns=["recorded_at"], errors="ignore")


def signature(conditions: tuple[str, ...] = ()) -> ModelSignature:
    """Input: ``path`` (+ optional segment/asset and the model's operating-condition columns,
    as text); output: the score-output contract."""
    inputs = Schema(
        [
            ColSpec("string", "path"),
            ColSpec("double", "start_s", required=False),
            ColSpec("double", "end_s", required=False),
            ColSpec("string", "asset", required=False),
            ColSpec("string", "recorded_at", required=False),
            *(ColSpec("string", name, required=False) for name in conditions),
        ]
    )
    outputs = []
    for name in SCORE_COLUMNS:
        if name == "map_path":
            continue
        kind = "double" if name in _DOUBLE_OUT else "boolean" if name == "is_anomaly" else "string"
        outputs.append(ColSpec(kind, name, required=name in ("path", "is_anomaly")))
    outputs.append(ColSpec("string", "diagnosis", required=False))
    outputs.append(ColSpec("string", "unit_time", required=False))
    outputs.append(ColSpec("double", "alarm_run", required=False))
    outputs.append(ColSpec("boolean", "onset", required=False))
    params = ParamSchema([ParamSpec("onset_k", "long", ONSET_K)])
    return ModelSignature(inputs=inputs, outputs=Schema(outputs), params=params)


def requirements() -> list[str]:
    """Pinned explicitly: MLflow's requirement inference would import and time the model."""
    return [
        f"anomaly_diffusion=={__version__}",
        "torch",
        "numpy",
        "pandas",
        "safetensors",
        "librosa",
        "soundfile",
        "pillow",
        "scipy",
        "scikit-learn",
    ]


def save_pyfunc(detector_dir: str | Path, path: str | Path) -> Path:
    """Write an MLflow pyfunc model folder at ``path`` around a saved detector folder."""
    mlflow.pyfunc.save_model(
        path=str(path),
        python_model=DetectorPyfunc(),
        artifacts={DETECTOR_ARTIFACT: str(detector_dir)},
        signature=signature(condition_names(detector_dir)),
        pip_requirements=requirements(),
    )
    return Path(path)


def condition_names(detector_dir: str | Path) -> tuple[str, ...]:
    """Operating-condition columns a saved detector reads (its pyfunc input columns)."""
    meta = json.loads((Path(detector_dir) / "detector.json").read_text())
    conditions = meta.get("conditions") or {}
    return (*conditions.get("categorical", {}), *conditions.get("numeric", {}))


def detector_dir_of(model_dir: str | Path) -> Path:
    """The detector folder inside a pyfunc model folder (or the folder itself)."""
    model_dir = Path(model_dir)
    inner = model_dir / "artifacts" / DETECTOR_ARTIFACT
    return inner if inner.is_dir() else model_dir
