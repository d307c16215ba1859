"""anomaly_diffusion: industrial anomaly detection on sensor signals with small diffusion models.

Public API: :class:`DiffusionAnomalyDetector`, :func:`load_detector`, ``__version__``
(imported lazily so that ``anomaly-diffusion --help`` does not load torch).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["DiffusionAnomalyDetector", "__version__", "load_detector"]


def __getattr__(name: str) -> Any:
    if name == "DiffusionAnomalyDetector":
        from anomaly_diffusion.detector import DiffusionAnomalyDetector

        return DiffusionAnomalyDetector
    if name == "load_detector":
        from anomaly_diffusion.detector import load_detector

        return load_detector
    raise AttributeError(f"module 'anomaly_diffusion' has no attribute {name!r}")
