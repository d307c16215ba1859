"""Diagnosis of anomalous vibration windows: re-read the window's samples, take the envelope
spectrum in its most impulsive band and name the bearing fault frequency it matches."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from anomaly_diffusion.config import SourceConfig, _check
from anomaly_diffusion.data.conditions import condition_values
from anomaly_diffusion.diagnosis.bearing import BearingGeometry, diagnose, fault_frequencies
from anomaly_diffusion.errors import DataError
from anomaly_diffusion.features.envelope import envelope_spectrum, impulsive_band
from anomaly_diffusion.ingest import read_recording

logger = logging.getLogger(__name__)
UNKNOWN = "unknown"


@dataclass(frozen=True)
class DiagnosisConfig:
    """Rotating-machinery diagnosis settings (saved with the model).

    Shaft speed comes from ``shaft_hz`` or, per file, from a ``shaft_hz`` / ``rpm`` manifest or
    condition-table column. The fault frequencies come from ``orders`` (multiples of shaft speed,
    keys ``BPFO``, ``BPFI``, ``BSF``, ``FTF``) or from the bearing ``geometry``
    ``[n_elements, element_diameter, pitch_diameter, contact_angle_deg]``. Without both a speed
    and frequencies, no diagnosis is made (the column stays empty).

    Attributes:
        band_hz: Demodulation band ``[low, high]`` (Hz); ``None``: the most impulsive band.
        context_s: Seconds of signal around the window's centre that are analysed (a short
            window holds too few fault impacts for a clean envelope spectrum).
        max_freq_hz: Envelope spectrum range searched (Hz).
        n_harmonics, min_harmonics, tolerance, min_ratio: See
            :func:`~anomaly_diffusion.diagnosis.bearing.harmonic_match`.
    """

    shaft_hz: float | None = None
    orders: dict[str, float] | None = None
    geometry: tuple[float, float, float, float] | None = None
    band_hz: tuple[float, float] | None = None
    context_s: float = 1.0
    max_freq_hz: float = 1000.0
    n_harmonics: int = 5
    min_harmonics: int = 2
    tolerance: float = 0.02
    min_ratio: float = 3.0

    def __post_init__(self) -> None:
        _check(
            self.geometry is None or len(self.geometry) == 4,
            f"diagnosis.geometry={self.geometry}: give [n_elements, element_diameter, "
            "pitch_diameter, contact_angle_deg]",
        )
        _check(
            1 <= self.min_harmonics <= self.n_harmonics,
            "diagnosis.min_harmonics must be in [1, diagnosis.n_harmonics]",
        )

    def fault_orders(self) -> dict[str, float] | None:
        if self.orders:
            return dict(self.orders)
        if self.geometry:
            n, d, pitch, angle = self.geometry
            return BearingGeometry(int(n), d, pitch, angle).orders()
        return None


def shaft_speed(item, cfg: DiagnosisConfig) -> float | None:
    """Shaft frequency (Hz) of one item: its ``shaft_hz`` / ``rpm`` condition, else the config."""
    values = condition_values(item, ["shaft_hz", "rpm"])
    try:
        if "shaft_hz" in values:
            return float(values["shaft_hz"])
        if "rpm" in values:
            return float(values["rpm"]) / 60.0
    except ValueError:
        logger.warning("%s: shaft speed %s is not a number; using the config's", item.path, values)
    return cfg.shaft_hz


def diagnose_windows(
    windows: Sequence, flags: Sequence[bool], cfg: DiagnosisConfig, *, source: SourceConfig
) -> list[str | None]:
    """One entry per window: ``None`` when not anomalous or diagnosis is not configured, else a
    description such as ``inner race (BPFI 162.2 Hz, 3 harmonics)`` or ``unknown``."""
    orders = cfg.fault_orders()
    out: list[str | None] = []
    for window, flagged in zip(windows, flags, strict=True):
        shaft = shaft_speed(window.item, cfg) if orders else None
        if not flagged or shaft is None or window.freqs_hz is None:
            out.append(None)
            continue
        try:
            out.append(_diagnose_one(window, cfg, source, fault_frequencies(shaft, orders)))
        except DataError as exc:
            logger.warning("diagnosis skipped: %s", exc)
            out.append(UNKNOWN)
    return out


def _diagnose_one(window, cfg: DiagnosisConfig, source: SourceConfig, faults) -> str:
    centre = 0.5 * (window.start_s + window.end_s)
    half = max(cfg.context_s, window.end_s - window.start_s) / 2
    lo = max(window.item.start_s or 0.0, centre - half)
    hi = centre + half if window.item.end_s is None else min(window.item.end_s, centre + half)
    rec = read_recording(window.item.path, source=source, start_s=lo, end_s=hi)
    signal = np.asarray(rec.data[0], dtype=np.float64)
    band = cfg.band_hz or impulsive_band(signal, sample_rate=rec.rate)
    freqs, amp = envelope_spectrum(
        signal, sample_rate=rec.rate, band_hz=band, max_freq_hz=cfg.max_freq_hz
    )
    found = diagnose(
        freqs,
        amp,
        faults,
        min_harmonics=cfg.min_harmonics,
        n_harmonics=cfg.n_harmonics,
        tolerance=cfg.tolerance,
        min_ratio=cfg.min_ratio,
    )
    return UNKNOWN if found is None else found.describe()
