"""Baseline fixtures: the ImageNet MobileNetV2 weights PatchCore and PaDiM run on."""

from __future__ import annotations

import os

import pytest

from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.features.backbone.weights import resolve_weights


@pytest.fixture(scope="session")
def imagenet_weights() -> None:
    """Skip without the ImageNet weights (``make weights``), except under CI=true."""
    try:
        resolve_weights()
    except ConfigError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
