"""Synthetic anomaly injectors for choosing scoring settings without labelled faults.

Users usually have normal data only. To pick scoring settings (aggregation, smoothing, thresholds,
...) we inject synthetic anomalies into *held-out normal* feature arrays and keep the settings that
separate injected from clean arrays best. Everything here is pure numpy and deterministic for a
given ``np.random.Generator`` state.

Inputs are normalized feature arrays ``x`` of shape ``(C, H, W)`` (float32, roughly zero mean and
unit variance). For signals (``stft``, ``log_mel``, ``sensor_window``) axis ``H`` is the frequency
bin (row 0 = lowest) or the sensor and axis ``W`` the time frame; for camera frames ``H, W`` are
image rows and columns. Arrays may be non-square and as small as 8 x 8.

Every injector returns ``(y, mask)``:

* ``y``: a new float32 array of the same shape (``x`` is never modified in place);
* ``mask``: an ``(H, W)`` bool array, never empty, marking the anomalous cells. Cells outside the
  mask are bit-identical to ``x`` (as float32); the same mask applies to every channel.

Amplitudes are in units of the array's standard deviation (``strength``, typically 1.5-4); a
constant array counts as having standard deviation 1.

This module is the public entry point: the kind registry, :func:`inject`, :func:`kinds_for` and
:func:`synthetic_anomalies`. The injectors themselves live in
:mod:`anomaly_diffusion.data.signal_anomalies` and :mod:`anomaly_diffusion.data.frame_anomalies`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from anomaly_diffusion.data.frame_anomalies import cutpaste, perlin, scratch, spot
from anomaly_diffusion.data.signal_anomalies import band_noise, dropout, impulse, tone
from anomaly_diffusion.errors import ConfigError, DataError

__all__ = [
    "FRAME_KINDS",
    "INJECTORS",
    "SIGNAL_KINDS",
    "band_noise",
    "cutpaste",
    "dropout",
    "impulse",
    "inject",
    "kinds_for",
    "perlin",
    "scratch",
    "spot",
    "synthetic_anomalies",
    "tone",
]

SIGNAL_KINDS = ("impulse", "tone", "band_noise", "dropout")
FRAME_KINDS = ("scratch", "spot", "cutpaste", "perlin")

_FEATURE_KIND_MAP = {
    "stft": SIGNAL_KINDS,
    "log_mel": SIGNAL_KINDS,
    "sensor_window": SIGNAL_KINDS,
    "frame": FRAME_KINDS,
}

Injector = Callable[[np.ndarray, np.random.Generator, float], tuple[np.ndarray, np.ndarray]]


INJECTORS: dict[str, Injector] = {
    "impulse": impulse,
    "tone": tone,
    "band_noise": band_noise,
    "dropout": dropout,
    "scratch": scratch,
    "spot": spot,
    "cutpaste": cutpaste,
    "perlin": perlin,
}


def inject(
    x: np.ndarray, kind: str, rng: np.random.Generator, strength: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """Inject one synthetic anomaly of ``kind`` into ``x`` (C, H, W); see the injectors.

    Returns ``(y, mask)``: float32 (C, H, W) and bool (H, W). Raises ``ConfigError`` for an
    unknown ``kind``.
    """
    try:
        fn = INJECTORS[kind]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown synthetic anomaly kind {kind!r}; allowed kinds: {', '.join(INJECTORS)}"
        ) from None
    return fn(x, rng, strength)


def kinds_for(feature_kind: str) -> tuple[str, ...]:
    """Anomaly kinds suited to a ``features.kind``.

    ``'frame'`` -> ``FRAME_KINDS``; ``'stft'``, ``'log_mel'``, ``'sensor_window'`` ->
    ``SIGNAL_KINDS``. Anything else raises ``ConfigError``.
    """
    try:
        return _FEATURE_KIND_MAP[feature_kind]
    except (KeyError, TypeError):
        raise ConfigError(
            f"features.kind={feature_kind!r} has no synthetic anomaly kinds; "
            f"use one of {', '.join(_FEATURE_KIND_MAP)}"
        ) from None


def synthetic_anomalies(
    arrays: Sequence[np.ndarray],
    feature_kind: str,
    rng: np.random.Generator,
    *,
    per_kind: int = 8,
    strength: float = 3.0,
) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """Build a labelled synthetic anomaly set from held-out normal arrays.

    For every kind in ``kinds_for(feature_kind)`` (in that order), ``per_kind`` anomalies are
    injected, each into an array drawn with replacement from ``arrays`` (each (C, H, W)).

    Returns:
        ``per_kind * len(kinds)`` triples ``(y, mask, kind)``: float32 (C, H, W), bool (H, W), str.

    Raises:
        DataError: ``arrays`` is empty.
        ConfigError: unknown ``feature_kind``, ``per_kind < 1`` or bad ``strength``.
    """
    kinds = kinds_for(feature_kind)
    if isinstance(per_kind, bool) or not isinstance(per_kind, int | np.integer) or per_kind < 1:
        raise ConfigError(f"per_kind={per_kind!r} must be a positive integer")
    if len(arrays) == 0:
        raise DataError(
            "synthetic anomalies: no normal arrays to inject into; hold out at least one normal "
            "file (e.g. a validation split of train/good) and pass its feature arrays"
        )
    out: list[tuple[np.ndarray, np.ndarray, str]] = []
    for kind in kinds:
        for _ in range(per_kind):
            base = arrays[int(rng.integers(0, len(arrays)))]
            y, mask = inject(base, kind, rng, strength)
            out.append((y, mask, kind))
    return out
