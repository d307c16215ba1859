"""Envelope spectrum and bearing diagnosis: known answers, then the real CWRU fault files."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly_diffusion.diagnosis.bearing import (
    BearingGeometry,
    diagnose,
    fault_frequencies,
    harmonic_match,
)
from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.features.envelope import envelope_spectrum, impulsive_band

SKF_6205 = BearingGeometry(9, 7.94, 39.04)
SHAFT_HZ = 1797 / 60
FS = 48_000


def impacts(rate_hz: float, *, seconds: float = 1.0, resonance_hz: float = 3000.0, seed: int = 0):
    """Decaying resonance bursts repeating at ``rate_hz`` plus white noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FS)) / FS
    x = 0.3 * rng.standard_normal(t.size)
    ring = np.exp(-t[:400] * 2000) * np.sin(2 * np.pi * resonance_hz * t[:400])
    for start in np.arange(0, seconds, 1 / rate_hz):
        i = int(start * FS)
        x[i : i + 400] += ring[: max(0, min(400, t.size - i))]
    return x


def test_skf_6205_characteristic_frequencies_match_the_cwru_readme():
    hz = fault_frequencies(SHAFT_HZ, SKF_6205.orders())
    assert hz["BPFI"] == pytest.approx(162.2, rel=0.01)
    assert hz["BPFO"] == pytest.approx(107.4, rel=0.01)
    assert hz["BSF"] == pytest.approx(70.6, rel=0.01)
    assert hz["FTF"] == pytest.approx(11.9, rel=0.01)
    with pytest.raises(ConfigError, match="n_elements >= 3"):
        BearingGeometry(9, 40.0, 39.0)
    with pytest.raises(ConfigError, match="rpm / 60"):
        fault_frequencies(0.0, SKF_6205.orders())


def test_envelope_spectrum_peaks_at_the_impact_rate():
    freqs, amp = envelope_spectrum(impacts(100.0), sample_rate=FS, band_hz=(2000, 4000))
    peak = freqs[np.argmax(amp[freqs > 20]) + np.sum(freqs <= 20)]
    assert peak == pytest.approx(100.0, abs=2.0)
    count, _ = harmonic_match(freqs, amp, 100.0)
    assert count >= 4
    with pytest.raises(ConfigError, match="0 < low < high"):
        envelope_spectrum(np.zeros(100), sample_rate=FS, band_hz=(5000, 30_000))


def test_diagnose_names_the_fault_and_says_unknown_for_noise():
    faults = fault_frequencies(SHAFT_HZ, SKF_6205.orders())
    freqs, amp = envelope_spectrum(impacts(faults["BPFI"]), sample_rate=FS, band_hz=(2000, 4000))
    found = diagnose(freqs, amp, faults)
    assert found is not None and found.name == "BPFI" and found.harmonics >= 3
    assert found.describe().startswith("inner race (BPFI 162.")
    noise = np.random.default_rng(1).standard_normal(FS)
    freqs, amp = envelope_spectrum(noise, sample_rate=FS, band_hz=(2000, 4000))
    assert diagnose(freqs, amp, faults) is None


def test_impulsive_band_finds_the_excited_resonance():
    low, high = impulsive_band(impacts(100.0, resonance_hz=6000.0), sample_rate=FS)
    assert low <= 6000 <= high


def test_cwru_inner_and_outer_race_files_are_diagnosed(cwru):
    """Inner- and outer-race faults are the envelope-analysis classics (Smith & Randall 2015);
    ball faults on CWRU often are not diagnosable this way, so they are reported, not asserted."""
    faults = fault_frequencies(SHAFT_HZ, SKF_6205.orders())
    expected = {"inner_race": "BPFI", "outer_race_at6": "BPFO"}
    for folder, name in expected.items():
        for path in sorted((cwru / "fault" / folder).glob("*.npz")):
            signal = np.load(path)["DE"][:FS, 0]
            band = impulsive_band(signal, sample_rate=FS)
            freqs, amp = envelope_spectrum(signal, sample_rate=FS, band_hz=band)
            found = diagnose(freqs, amp, faults)
            assert found is not None and found.name == name, (path.name, band, found)
