"""The tracker contract: jobs log through it and never import mlflow themselves."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol


class Tracker(Protocol):
    """What a job may record about itself."""

    def run(self, name: str, *, tags: Mapping[str, str] | None = None) -> Any:
        """Context manager around one job's run."""

    def log_params(self, params: Mapping[str, Any]) -> None: ...

    def log_metrics(
        self, metrics: Mapping[str, float | None], *, step: int | None = None
    ) -> None: ...

    def log_artifact(self, path: str | Path, *, folder: str | None = None) -> None: ...

    def log_config(self, config: Mapping[str, Any]) -> None:
        """Store the resolved job configuration as ``config.yaml``."""

    def log_model(
        self, detector_dir: str | Path, *, registered_name: str | None, card: str | None = None
    ) -> str | None:
        """Log a saved detector as a pyfunc model (registered with ``card`` as the version's
        description); returns its model URI."""

    def run_link(self) -> str | None:
        """A link to the current run (or ``None``)."""


class NullTracker:
    """Records nothing (``tracking.enabled=false``)."""

    @contextmanager
    def run(self, name: str, *, tags: Mapping[str, str] | None = None) -> Iterator[None]:
        yield None

    def log_params(self, params: Mapping[str, Any]) -> None:
        return None

    def log_metrics(self, metrics: Mapping[str, float | None], *, step: int | None = None) -> None:
        return None

    def log_artifact(self, path: str | Path, *, folder: str | None = None) -> None:
        return None

    def log_config(self, config: Mapping[str, Any]) -> None:
        return None

    def log_model(
        self, detector_dir: str | Path, *, registered_name: str | None, card: str | None = None
    ) -> str | None:
        return None

    def run_link(self) -> str | None:
        return None
