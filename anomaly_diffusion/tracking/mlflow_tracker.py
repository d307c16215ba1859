"""MLflow tracker: the only module (with :mod:`.pyfunc`) that imports mlflow."""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
from mlflow.tracking import MlflowClient

from anomaly_diffusion.errors import ConfigError, TrackingError
from anomaly_diffusion.tracking.pyfunc import (
    DETECTOR_ARTIFACT,
    DetectorPyfunc,
    condition_names,
    detector_dir_of,
    requirements,
    signature,
)
from anomaly_diffusion.tracking.registry import claim_first_alias, describe_version
from anomaly_diffusion.tracking.uri import resolve_uri

logger = logging.getLogger(__name__)
MODEL_URI_PREFIXES = ("models:/", "runs:/", "mlflow-artifacts:/")


FIRST_ALIAS = "champion"
"""Alias the first registered version of a name gets, so ``models:/<name>@champion`` works from
the first training on (later versions take it only by ``promote``)."""


class MlflowTracker:
    """Logs one job as one MLflow run. Checks the store is reachable on construction."""

    def __init__(self, uri: str | None = None, *, experiment: str = "anomaly_diffusion") -> None:
        self.uri = resolve_uri(uri)
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        _quiet_mlflow()
        _check_sqlite_folder(self.uri)
        mlflow.set_tracking_uri(self.uri)
        try:
            MlflowClient(self.uri).search_experiments(max_results=1)
            mlflow.set_experiment(experiment)
        except Exception as exc:  # mlflow raises many types for an unreachable store
            raise TrackingError(
                f"tracking.uri={self.uri}: tracking store unreachable ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200]}); start the server, fix tracking.uri, or set "
                "tracking.enabled=false"
            ) from exc
        self._run = None

    @contextmanager
    def run(self, name: str, *, tags: Mapping[str, str] | None = None) -> Iterator[Any]:
        with mlflow.start_run(run_name=name, tags=dict(tags or {})) as run:
            self._run = run
            try:
                yield run
            finally:
                self._run = None

    def log_params(self, params: Mapping[str, Any]) -> None:
        clean = {k: ("null" if v is None else str(v))[:6000] for k, v in params.items()}
        mlflow.log_params(clean)

    def log_metrics(self, metrics: Mapping[str, float | None], *, step: int | None = None) -> None:
        values = {
            k: float(v)
            for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        if values:
            mlflow.log_metrics(values, step=step)

    def log_artifact(self, path: str | Path, *, folder: str | None = None) -> None:
        path = Path(path)
        if path.is_dir():
            mlflow.log_artifacts(str(path), artifact_path=folder)
        elif path.is_file():
            mlflow.log_artifact(str(path), artifact_path=folder)

    def log_config(self, config: Mapping[str, Any]) -> None:
        mlflow.log_dict(dict(config), "config.yaml")

    def log_model(
        self, detector_dir: str | Path, *, registered_name: str | None, card: str | None = None
    ) -> str | None:
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=DetectorPyfunc(),
            artifacts={DETECTOR_ARTIFACT: str(detector_dir)},
            signature=signature(condition_names(detector_dir)),
            pip_requirements=requirements(),
            registered_model_name=registered_name,
        )
        if registered_name and self._run is not None:
            run_id = self._run.info.run_id
            if card:
                describe_version(registered_name, run_id, card, tracking_uri=self.uri)
            claim_first_alias(registered_name, run_id, FIRST_ALIAS, tracking_uri=self.uri)
        logger.info(
            "logged model %s%s",
            info.model_uri,
            f" registered as {registered_name}" if registered_name else "",
        )
        return info.model_uri

    def run_link(self) -> str | None:
        if self._run is None:
            return None
        info = self._run.info
        return f"http://127.0.0.1:5000/#/experiments/{info.experiment_id}/runs/{info.run_id}"


def _quiet_mlflow() -> None:
    """Hide MLflow notices that do not apply here (cloudpickle advice, input-example hint,
    artifact download bars)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow.pyfunc").setLevel(logging.ERROR)
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*input example was not provided.*")


def _check_sqlite_folder(uri: str) -> None:
    if uri.startswith("sqlite:///"):
        folder = Path(uri[len("sqlite:///") :]).expanduser().parent
        if not folder.is_dir():
            raise TrackingError(
                f"tracking.uri={uri}: folder {folder} does not exist; create it or "
                "use the default sqlite:///mlflow.db"
            )


def is_model_uri(model: str) -> bool:
    """True for MLflow model URIs (``models:/...``, ``runs:/...``)."""
    return model.startswith(MODEL_URI_PREFIXES)


def fetch_model(model: str, *, tracking_uri: str | None = None) -> Path:
    """Local detector folder for ``model=``: a local folder, or an MLflow URI downloaded.

    Raises:
        ConfigError: the folder does not exist or the URI cannot be resolved.
    """
    if not is_model_uri(model):
        path = Path(model)
        if not path.is_dir():
            raise ConfigError(
                f"model={model}: folder not found; give a run_dir/model folder or an "
                "MLflow URI (models:/name@alias, models:/<id>, runs:/<run>/model)"
            )
        return detector_dir_of(path)
    _quiet_mlflow()
    mlflow.set_tracking_uri(resolve_uri(tracking_uri))
    target = Path(tempfile.mkdtemp(prefix="anomaly_diffusion_model_"))
    try:
        local = mlflow.artifacts.download_artifacts(artifact_uri=model, dst_path=str(target))
    except Exception as exc:  # MlflowException, RestException, OSError ...
        raise ConfigError(
            f"model={model}: cannot load from the tracking store "
            f"{resolve_uri(tracking_uri)} ({str(exc).splitlines()[0][:200]}); check "
            "the name/alias with 'make ui' or set tracking.uri"
        ) from exc
    return detector_dir_of(local)
