"""Dense autoencoder baseline: frame vectors and detection on toy data."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from anomaly_diffusion.baselines import dense_autoencoder
from anomaly_diffusion.baselines.dense_ae import frame_vectors


def test_frame_vectors_stack_consecutive_frames():
    item = np.arange(2 * 3 * 6, dtype=np.float32).reshape(2, 3, 6)
    vec = frame_vectors(item, 5)
    assert vec.shape == (2, 2 * 3 * 5)
    np.testing.assert_array_equal(vec[1].reshape(2, 3, 5), item[:, :, 1:6])


def _spectra(rng, n, anomalous=False):
    """Low-rank 'machine' spectra (2 harmonics with random gains); anomalies add a new tone."""
    base = np.zeros((1, 16, 40), dtype=np.float32)
    out = []
    for _ in range(n):
        x = base.copy()
        x[0, 3] += rng.uniform(1, 2)
        x[0, 7] += rng.uniform(1, 2)
        if anomalous:
            x[0, 12, 10:30] += 3.0
        out.append(x + 0.05 * rng.standard_normal(x.shape).astype(np.float32))
    return out


def test_dense_ae_flags_a_new_tone_and_maps_it(one_torch_thread):
    rng = np.random.default_rng(0)
    train = _spectra(rng, 40)
    test = _spectra(rng, 10) + _spectra(rng, 10, anomalous=True)
    scores, maps = dense_autoencoder(train, test, spectrogram=True, epochs=30, batch_size=64)
    assert roc_auc_score([0] * 10 + [1] * 10, scores) > 0.95
    assert maps[-1].shape == (16, 40)
    assert np.unravel_index(np.argmax(maps[-1]), maps[-1].shape)[0] == 12  # the new tone's row


def test_dense_ae_on_frames_returns_pixel_maps(one_torch_thread):
    rng = np.random.default_rng(1)
    train = [rng.random((1, 8, 8)).astype(np.float32) * 0.1 for _ in range(30)]
    spot = rng.random((1, 8, 8)).astype(np.float32) * 0.1
    spot[0, 2, 5] = 3.0
    scores, maps = dense_autoencoder(
        train, [train[0], spot], spectrogram=False, epochs=30, batch_size=16, smoothing_sigma=0
    )
    assert scores[1] > scores[0] and maps[1].shape == (8, 8)
    assert np.unravel_index(np.argmax(maps[1]), (8, 8)) == (2, 5)
