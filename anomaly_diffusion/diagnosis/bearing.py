"""Rolling-bearing fault diagnosis: which characteristic frequency an envelope spectrum matches.

The four characteristic frequencies as multiples of shaft speed (Randall & Antoni 2011, eq. 1-4),
for ``n`` rolling elements of diameter ``d`` on pitch diameter ``D`` at contact angle ``phi``:
``BPFO = n/2 (1 - d/D cos phi)``, ``BPFI = n/2 (1 + d/D cos phi)``,
``BSF = D/(2d) (1 - (d/D cos phi)^2)``, ``FTF = 1/2 (1 - d/D cos phi)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from anomaly_diffusion.errors import ConfigError

FAULT_NAMES = {"BPFO": "outer race", "BPFI": "inner race", "BSF": "ball", "FTF": "cage"}


@dataclass(frozen=True)
class BearingGeometry:
    """Bearing geometry (any one length unit, used as ratios).

    Example: SKF 6205-2RS (CWRU drive end): 9 balls, d 7.94 mm, D 39.04 mm, 0 degrees.
    """

    n_elements: int
    element_diameter: float
    pitch_diameter: float
    contact_angle_deg: float = 0.0

    def __post_init__(self) -> None:
        if self.n_elements < 3 or not 0 < self.element_diameter < self.pitch_diameter:
            raise ConfigError(
                "bearing geometry: need n_elements >= 3 and 0 < element_diameter < "
                f"pitch_diameter, got {self}"
            )

    def orders(self) -> dict[str, float]:
        """Characteristic frequencies as multiples of the shaft frequency."""
        r = (
            self.element_diameter
            / self.pitch_diameter
            * math.cos(math.radians(self.contact_angle_deg))
        )
        n = self.n_elements
        return {
            "BPFO": n / 2 * (1 - r),
            "BPFI": n / 2 * (1 + r),
            "BSF": self.pitch_diameter / (2 * self.element_diameter) * (1 - r**2),
            "FTF": 0.5 * (1 - r),
        }


def fault_frequencies(shaft_hz: float, orders: dict[str, float]) -> dict[str, float]:
    """``{name: Hz}`` from shaft speed (Hz) and orders (e.g. :meth:`BearingGeometry.orders`)."""
    if shaft_hz <= 0:
        raise ConfigError(f"shaft speed {shaft_hz} Hz must be > 0 (rpm / 60)")
    return {name: shaft_hz * order for name, order in orders.items()}


@dataclass(frozen=True)
class Match:
    """How well one characteristic frequency explains an envelope spectrum."""

    name: str
    freq_hz: float
    harmonics: int
    strength: float

    def describe(self) -> str:
        """E.g. ``inner race (BPFI 162.2 Hz, 3 harmonics)``."""
        word = "harmonic" if self.harmonics == 1 else "harmonics"
        label = FAULT_NAMES.get(self.name, self.name)
        return f"{label} ({self.name} {self.freq_hz:.1f} Hz, {self.harmonics} {word})"


def harmonic_match(
    freqs: np.ndarray,
    amplitude: np.ndarray,
    freq_hz: float,
    *,
    n_harmonics: int = 5,
    tolerance: float = 0.02,
    min_ratio: float = 3.0,
) -> tuple[int, float]:
    """Harmonics of ``freq_hz`` standing out of the envelope spectrum.

    Harmonic ``k`` counts when the largest amplitude within ``k * freq_hz * (1 +- tolerance)``
    exceeds ``min_ratio`` times the median amplitude of the surrounding band
    (``k * freq_hz +- freq_hz / 2``), i.e. a clear line above the local noise floor.

    Returns:
        ``(harmonics matched among the first n_harmonics, summed peak-to-floor ratio)``.
    """
    count, strength = 0, 0.0
    for k in range(1, n_harmonics + 1):
        centre = k * freq_hz
        near = np.abs(freqs - centre) <= max(tolerance * centre, freqs[1] - freqs[0])
        around = np.abs(freqs - centre) <= freq_hz / 2
        if not near.any() or around.sum() < 5:
            break
        ratio = amplitude[near].max() / max(float(np.median(amplitude[around])), 1e-12)
        if ratio >= min_ratio:
            count += 1
            strength += ratio
    return count, strength


def diagnose(
    freqs: np.ndarray,
    amplitude: np.ndarray,
    faults: dict[str, float],
    *,
    min_harmonics: int = 2,
    **match_options,
) -> Match | None:
    """The characteristic frequency with the most matched harmonics (ties: the stronger), or
    ``None`` ("unknown") when none reaches ``min_harmonics``.

    Args:
        freqs, amplitude: An envelope spectrum (:func:`~anomaly_diffusion.features.envelope.
            envelope_spectrum`).
        faults: ``{name: Hz}`` (:func:`fault_frequencies`).
    """
    best: Match | None = None
    for name, hz in faults.items():
        count, strength = harmonic_match(freqs, amplitude, hz, **match_options)
        cand = Match(name, hz, count, strength)
        if best is None or (count, strength) > (best.harmonics, best.strength):
            best = cand
    if best is None or best.harmonics < min_harmonics:
        return None
    return best
