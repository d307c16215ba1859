"""Project exceptions.

Every error names the file, field or argument, the bad value and what to do about it, e.g.
``DataError("pump_07.wav: sample rate 8000 Hz, model expects 16000 Hz; set source.resample=true")``.
"""

from __future__ import annotations


class AnomalyDiffusionError(Exception):
    """Base class of every error raised on purpose by anomaly_diffusion."""


class ConfigError(AnomalyDiffusionError, ValueError):
    """A configuration value or argument is invalid (the CLI exits with code 2)."""


class DataError(AnomalyDiffusionError):
    """An input file or table cannot be read or used (batch jobs record it and go on)."""


class NotFittedError(AnomalyDiffusionError, RuntimeError):
    """A detector was used before ``fit`` or ``load``."""


class TrackingError(AnomalyDiffusionError):
    """The tracking store cannot be reached or written."""
