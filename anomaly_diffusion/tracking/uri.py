"""Which MLflow store a job talks to (imported by the tracker, the registry and the watermark,
so that none of them imports another for it)."""

from __future__ import annotations

import os

DEFAULT_URI = "sqlite:///mlflow.db"


def resolve_uri(uri: str | None) -> str:
    """``tracking.uri``, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI
