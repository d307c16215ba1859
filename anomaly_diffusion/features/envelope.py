"""Envelope spectrum: the standard bearing-diagnosis view (Randall & Antoni 2011, "Rolling
element bearing diagnostics - a tutorial", MSSP 25). Impacts from a local bearing fault excite a
structural resonance at every pass; band-pass around the resonance, take the envelope (Hilbert
magnitude) and its spectrum shows the fault's repetition frequency and harmonics."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, hilbert, sosfiltfilt

from anomaly_diffusion.errors import ConfigError


def envelope_spectrum(
    signal: np.ndarray,
    *,
    sample_rate: float,
    band_hz: tuple[float, float] | None = None,
    max_freq_hz: float = 1000.0,
    order: int = 4,
) -> tuple[np.ndarray, np.ndarray]:
    """Amplitude spectrum of the band-passed signal's envelope.

    Args:
        signal: ``(N,)`` or ``(C, N)`` samples (channels averaged after demodulation), e.g. g.
        sample_rate: Hz.
        band_hz: ``(low, high)`` demodulation band in Hz (``None``: the whole signal, no filter).
        max_freq_hz: Highest envelope frequency returned (Hz).
        order: Butterworth order of the (zero-phase) band-pass.

    Returns:
        ``(freqs_hz (K,), amplitude (K,))`` of the mean-removed, Hann-windowed envelope, in the
        signal's units.

    Raises:
        ConfigError: a band outside ``(0, sample_rate / 2)`` or with ``low >= high``.
    """
    x = np.atleast_2d(np.asarray(signal, dtype=np.float64))
    if band_hz is not None:
        low, high = band_hz
        nyquist = sample_rate / 2
        if not 0 < low < high < nyquist:
            raise ConfigError(
                f"diagnosis band {band_hz} Hz must satisfy 0 < low < high < {nyquist:g} Hz "
                "(half the sample rate); choose a band around the structural resonance"
            )
        sos = butter(order, [low, high], btype="bandpass", fs=sample_rate, output="sos")
        x = sosfiltfilt(sos, x, axis=-1)
    env = np.abs(hilbert(x, axis=-1)).mean(axis=0)
    env = (env - env.mean()) * np.hanning(env.size)
    amplitude = 2 * np.abs(np.fft.rfft(env)) / max(np.hanning(env.size).sum(), 1e-12)
    freqs = np.fft.rfftfreq(env.size, d=1.0 / sample_rate)
    keep = freqs <= max_freq_hz
    return freqs[keep], amplitude[keep]


def impulsive_band(
    signal: np.ndarray,
    *,
    sample_rate: float,
    bands_hz: tuple[tuple[float, float], ...] | None = None,
    order: int = 4,
) -> tuple[float, float]:
    """The band whose band-passed signal is most impulsive (largest kurtosis): a coarse
    kurtogram (Antoni 2007) that finds the resonance bearing impacts excite.

    Args:
        signal: ``(N,)`` samples.
        bands_hz: Candidates (default: half-octave bands from 500 Hz to 0.45 x sample rate).

    Returns:
        ``(low, high)`` in Hz.
    """
    x = np.asarray(signal, dtype=np.float64).ravel()
    if bands_hz is None:
        edges = 500.0 * 2 ** (np.arange(0, 12) / 2)
        edges = edges[edges * 2 < 0.9 * sample_rate / 2]
        bands_hz = tuple((float(lo), float(2 * lo)) for lo in edges)
    best, best_kurt = bands_hz[0], -np.inf
    for low, high in bands_hz:
        sos = butter(order, [low, high], btype="bandpass", fs=sample_rate, output="sos")
        y = sosfiltfilt(sos, x)
        y = y - y.mean()
        kurt = float(np.mean(y**4) / max(np.mean(y**2) ** 2, 1e-24))
        if kurt > best_kurt:
            best, best_kurt = (low, high), kurt
    return best
