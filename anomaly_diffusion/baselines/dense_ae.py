"""Dense autoencoder, the DCASE 2020 Task 2 baseline shape (Koizumi et al. 2020): fully connected
128-128-128-128-8-128-128-128-128 with BatchNorm and ReLU, trained with MSE on normal data.

Spectrograms ``(C, F, T)`` are cut into vectors of ``context`` consecutive frames (the DCASE
baseline uses 5 frames of 128 log-mel bands = 640-d); the clip score is the mean frame error.
Frames ``(C, H, W)`` are flattened whole; the score is the top-k mean of the smoothed squared-error
map, as for the PCA peer.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from anomaly_diffusion.scoring.aggregate import aggregate_map
from anomaly_diffusion.scoring.maps import smooth_map


def dense_ae_network(dim: int, *, hidden: int = 128, bottleneck: int = 8) -> nn.Sequential:
    """``dim -> 4 x hidden -> bottleneck -> 4 x hidden -> dim`` (BatchNorm + ReLU)."""
    sizes = [dim, hidden, hidden, hidden, hidden, bottleneck, hidden, hidden, hidden, hidden]
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU()]
    layers.append(nn.Linear(hidden, dim))
    return nn.Sequential(*layers)


def frame_vectors(item: np.ndarray, context: int) -> np.ndarray:
    """``(C, F, T)`` -> ``(T - context + 1, C * F * context)`` vectors of consecutive frames."""
    c, f, t = item.shape
    if t < context:
        raise ValueError(f"an item of {t} frames is shorter than the context of {context} frames")
    idx = np.arange(context)[None, :] + np.arange(t - context + 1)[:, None]  # (V, context)
    return item[:, :, idx].transpose(2, 0, 1, 3).reshape(len(idx), c * f * context)


def _fit(x: np.ndarray, *, epochs: int, batch_size: int, lr: float, seed: int, max_s: float):
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = dense_ae_network(x.shape[1])
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    data = torch.from_numpy(x.astype(np.float32))
    start = time.monotonic()
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(data), generator=generator)
        for i in range(0, len(data), batch_size):
            batch = data[order[i : i + batch_size]]
            if len(batch) < 2:
                continue  # BatchNorm needs two samples
            loss = nn.functional.mse_loss(net(batch), batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if time.monotonic() - start > max_s:
            break
    return net.eval()


@torch.no_grad()
def _errors(net: nn.Module, x: np.ndarray) -> np.ndarray:
    data = torch.from_numpy(x.astype(np.float32))
    return (net(data) - data).pow(2).numpy()


def fit_dense_ae(
    train: Sequence[np.ndarray],
    *,
    spectrogram: bool,
    context: int = 5,
    epochs: int = 100,
    batch_size: int = 512,
    lr: float = 1e-3,
    seed: int = 0,
    max_minutes: float = 3.0,
) -> nn.Module:
    """Train the autoencoder on normalized normal items (frame vectors of spectrograms, or whole
    flattened frames); returns it in eval mode."""
    if spectrogram:
        x = np.concatenate([frame_vectors(np.asarray(it), context) for it in train])
    else:
        x = np.stack([np.asarray(it, dtype=np.float32).reshape(-1) for it in train])
    return _fit(x, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, max_s=60.0 * max_minutes)


def dense_ae_scores(
    net: nn.Module,
    test: Sequence[np.ndarray],
    *,
    spectrogram: bool,
    context: int = 5,
    smoothing_sigma: float = 1.0,
    topk_fraction: float = 0.01,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Scores and maps of test items with a fitted autoencoder.

    Returns:
        ``(scores (N_test,), maps)``; maps ``(F, T)`` (mean error of every frame vector covering
        a cell) or ``(H, W)`` (squared error, mean over channels, smoothed).
    """
    scores, maps = [], []
    for item in test:
        item = np.asarray(item, dtype=np.float32)
        if spectrogram:
            err = _errors(net, frame_vectors(item, context))  # (V, C * F * context)
            c, f, t = item.shape
            cells = err.reshape(len(err), c, f, context).mean(axis=1)  # (V, F, context)
            total, count = np.zeros((f, t)), np.zeros((1, t))
            for k in range(context):
                total[:, k : k + len(err)] += cells[:, :, k].T
                count[:, k : k + len(err)] += 1
            maps.append(total / count)
            scores.append(float(err.mean()))
        else:
            err = _errors(net, item.reshape(1, -1)).reshape(item.shape).mean(axis=0)
            amap = smooth_map(err, sigma=smoothing_sigma)
            maps.append(amap)
            scores.append(aggregate_map(amap, method="topk", topk_fraction=topk_fraction))
    return np.asarray(scores), maps


def dense_autoencoder(
    train: Sequence[np.ndarray],
    test: Sequence[np.ndarray],
    *,
    spectrogram: bool,
    context: int = 5,
    smoothing_sigma: float = 1.0,
    topk_fraction: float = 0.01,
    **fit_options: float,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Train on normalized normal items, score the test items: :func:`fit_dense_ae` (which
    takes ``fit_options``: ``epochs``, ``batch_size``, ``lr``, ``seed``, ``max_minutes``), then
    :func:`dense_ae_scores`."""
    net = fit_dense_ae(train, spectrogram=spectrogram, context=context, **fit_options)
    return dense_ae_scores(
        net,
        test,
        spectrogram=spectrogram,
        context=context,
        smoothing_sigma=smoothing_sigma,
        topk_fraction=topk_fraction,
    )
