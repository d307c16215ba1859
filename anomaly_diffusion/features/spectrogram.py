"""Time-frequency features of signals: pure functions, arrays in, arrays out."""

from __future__ import annotations

import librosa
import numpy as np

_EPS = 1e-10


def stft_log_power(
    signal: np.ndarray,
    *,
    sample_rate: float,
    n_fft: int = 256,
    hop_length: int = 64,
    max_freq_hz: float | None = None,
) -> np.ndarray:
    """Log power spectrogram on a linear frequency axis (the vibration view).

    Args:
        signal: ``(C, N)`` samples.
        sample_rate: Hz.
        max_freq_hz: Keep bins up to this frequency (Hz); ``None``: up to Nyquist.

    Returns:
        ``(C, F, T)`` float32 in dB (``10 log10(|STFT|^2 + 1e-10)``), row 0 = 0 Hz.
    """
    spec = np.abs(librosa.stft(signal, n_fft=n_fft, hop_length=hop_length, center=True)) ** 2
    n_bins = len(stft_frequencies(sample_rate=sample_rate, n_fft=n_fft, max_freq_hz=max_freq_hz))
    return (10.0 * np.log10(spec[:, :n_bins] + _EPS)).astype(np.float32)


def stft_frequencies(
    *, sample_rate: float, n_fft: int, max_freq_hz: float | None = None
) -> np.ndarray:
    """Centre frequency (Hz) of each row of :func:`stft_log_power`."""
    freqs = librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft)
    return freqs if max_freq_hz is None else freqs[freqs <= max_freq_hz]


def log_mel(
    signal: np.ndarray,
    *,
    sample_rate: float,
    n_fft: int = 1024,
    hop_length: int = 512,
    n_mels: int = 128,
    max_freq_hz: float | None = None,
) -> np.ndarray:
    """Log-mel spectrogram as in the DCASE baseline: ``10 log10(mel + 1e-10)``.

    Args:
        signal: ``(C, N)`` samples.

    Returns:
        ``(C, n_mels, T)`` float32 dB, row 0 = lowest band.
    """
    mel = librosa.feature.melspectrogram(
        y=signal,
        sr=sample_rate,
        n_fft=n_fft,
        hop_length=hop_length,
        n_mels=n_mels,
        fmax=max_freq_hz,
        power=2.0,
    )
    return (10.0 * np.log10(mel + _EPS)).astype(np.float32)


def mel_frequencies(
    *, sample_rate: float, n_mels: int, max_freq_hz: float | None = None
) -> np.ndarray:
    """Centre frequency (Hz) of each row of :func:`log_mel`."""
    fmax = max_freq_hz if max_freq_hz is not None else sample_rate / 2
    return librosa.mel_frequencies(n_mels=n_mels + 2, fmin=0.0, fmax=fmax)[1:-1]
