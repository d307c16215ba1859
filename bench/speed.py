"""CPU speed of the diffusion detector: how close the UNet gets to the machine's matmul
throughput, and how fast acoustic scoring runs compared with real time.

Targets: the UNet forward reaches >= 40 % of the GFLOP/s of a large float32 matmul, and acoustic
scoring runs >= 300x real time (1 h of 16 kHz audio in <= 12 s), end to end (read, features,
scoring). Used by ``bench/run.py`` for the speed section of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch.utils.flop_counter import FlopCounterMode

from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.windows import extract_windows

MATMUL_FRACTION_TARGET = 0.40  # UNet GFLOP/s / matmul GFLOP/s
REALTIME_TARGET = 300.0  # seconds of audio scored per wall-clock second
TIMESTEP = 100  # diffusion timestep fed to the UNet when counting / timing a forward


def _best_time(fn: Callable[[], object], repeats: int) -> float:
    """Best wall-clock time (s) of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    fn()
    best = math.inf
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s (1e9 floating-point operations per second) of a float32 ``(n x n) @ (n x n)``
    ``torch.matmul`` (``2 n^3`` FLOPs), best of ``repeats`` after one warm-up, under
    ``torch.inference_mode``."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=generator)
    b = torch.randn(n, n, generator=generator)
    with torch.inference_mode():
        seconds = _best_time(lambda: torch.matmul(a, b), repeats)
    return 2.0 * n**3 / seconds / 1e9


def _inputs(input_shape: tuple[int, int, int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """A random batch ``(B, C, H, W)`` and its timesteps ``(B,)`` (all ``TIMESTEP``)."""
    x = torch.randn(*input_shape, generator=torch.Generator().manual_seed(0))
    return x, torch.full((input_shape[0],), TIMESTEP, dtype=torch.long)


def unet_flops(model: torch.nn.Module, input_shape: tuple[int, int, int, int]) -> int:
    """FLOPs (floating-point operations, multiply-add = 2) of one forward pass ``model(x, t)``
    for a batch of ``input_shape`` ``(B, C, H, W)`` at ``t = 100``, counted with
    ``torch.utils.flop_counter.FlopCounterMode`` (convolutions, matmuls / linear layers,
    attention; element-wise ops, norms and activations are not counted)."""
    x, t = _inputs(input_shape)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(x, t)
    return int(counter.get_total_flops())


def unet_gflops(
    model: torch.nn.Module, input_shape: tuple[int, int, int, int], repeats: int = 5
) -> tuple[float, float]:
    """``(GFLOP/s achieved, seconds per forward)`` of ``model(x, t)`` on a batch of
    ``input_shape`` ``(B, C, H, W)`` at ``t = 100``: FLOPs from :func:`unet_flops`, time best of
    ``repeats`` after one warm-up, under ``torch.inference_mode``, model in ``eval()`` (its
    training mode is restored afterwards)."""
    flops = unet_flops(model, input_shape)
    x, t = _inputs(input_shape)
    weight = next((p for p in model.parameters() if p.dim() == 4), None)
    if weight is not None and weight.is_contiguous(memory_format=torch.channels_last):
        x = x.contiguous(memory_format=torch.channels_last)  # as the detector feeds it
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            seconds = _best_time(lambda: model(x, t), repeats)
    finally:
        model.train(was_training)
    return flops / seconds / 1e9, seconds


def realtime_factor(detector, wav_path: str | Path, *, repeat_to_s: float = 60.0) -> dict:
    """End-to-end acoustic scoring speed of a fitted ``detector`` on ``wav_path``.

    The WAV is read with soundfile, tiled to at least ``repeat_to_s`` seconds and written to a
    temporary WAV; that file is then cut into windows with ``extract_windows`` (which reads it
    again: reading counts as feature time) and scored with ``detector.score``. ``wall_s``
    includes preparing the long file (``prep_s``: read, tile, write); the real-time factor counts
    only ``feature_s + score_s``, the part a production scoring run pays.

    Returns:
        ``{"audio_s": seconds of audio scored, "wall_s": seconds of wall clock,
        "realtime_factor": audio_s / (feature_s + score_s), "windows": number of windows scored,
        "evals_per_item": UNet evaluations per window, "prep_s": s reading / tiling / writing,
        "feature_s": s building windows (read + features), "score_s": s scoring}``.
    """
    start = time.perf_counter()
    data, rate = sf.read(str(wav_path), dtype="float32", always_2d=True)  # (frames, channels)
    if len(data) == 0:
        raise ValueError(f"{wav_path}: empty audio file")
    reps = max(1, math.ceil(repeat_to_s * rate / len(data)))
    tiled = np.tile(data, (reps, 1))
    audio_s = len(tiled) / rate
    with tempfile.TemporaryDirectory() as tmp:
        long_wav = Path(tmp) / f"{Path(wav_path).stem}_x{reps}.wav"
        sf.write(str(long_wav), tiled, rate, subtype="FLOAT")
        del data, tiled
        t_prep = time.perf_counter()
        windows = extract_windows(
            Item(str(long_wav)),
            source=detector.config.source,
            features=detector.config.features,
            expected_rate=detector.sample_rate_,
        )
        t_features = time.perf_counter()
        detector.score(windows)
        t_score = time.perf_counter()
    wall_s = t_score - start
    return {
        "audio_s": audio_s,
        "wall_s": wall_s,
        "realtime_factor": audio_s / (t_score - t_prep),
        "windows": len(windows),
        "evals_per_item": detector.network_evals_per_item(),
        "prep_s": t_prep - start,
        "feature_s": t_features - t_prep,
        "score_s": t_score - t_features,
    }


def speed_section(results: dict) -> list[str]:
    """Markdown lines for ``BENCHMARKS.md`` from the dict :func:`measure` returns: a table (matmul
    GFLOP/s, UNet input shape, GFLOPs per forward, achieved GFLOP/s, % of matmul, s per forward,
    acoustic real-time factor with evaluations per item) and one line saying which targets
    (>= 40 % of matmul, >= 300x real time) are met or missed, computed from the numbers."""
    rt = results["realtime"]
    fraction = results["unet_gflops"] / results["matmul_gflops"]
    factor = rt["realtime_factor"]
    shape = " x ".join(str(d) for d in results["unet_input_shape"])
    hour_s = 3600.0 / factor
    efficiency_ok = fraction >= MATMUL_FRACTION_TARGET
    realtime_ok = factor >= REALTIME_TARGET
    return [
        "## Speed",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| float32 matmul (GFLOP/s) | {results['matmul_gflops']:.1f} | – |",
        f"| UNet input (B x C x H x W) | {shape} | – |",
        f"| UNet GFLOPs per forward | {results['unet_gflops_per_forward']:.3f} | – |",
        f"| UNet achieved GFLOP/s | {results['unet_gflops']:.1f} | – |",
        f"| UNet % of matmul | {100 * fraction:.1f} % | >= {100 * MATMUL_FRACTION_TARGET:.0f} % |",
        f"| UNet s per forward | {results['unet_s_per_forward']:.4f} | – |",
        f"| acoustic real-time factor ({rt['evals_per_item']} evaluations per item, "
        f"{rt['windows']} windows, {rt['audio_s']:.0f} s of audio in {rt['wall_s']:.2f} s) | "
        f"{factor:.0f}x | >= {REALTIME_TARGET:.0f}x |",
        *_fast_lines(results.get("realtime_fast", [])),
        "",
        f"Targets: UNet efficiency {'met' if efficiency_ok else 'missed'} "
        f"({100 * fraction:.1f} % of matmul, target >= {100 * MATMUL_FRACTION_TARGET:.0f} %); "
        f"acoustic real time {'met' if realtime_ok else 'missed'} "
        f"({factor:.0f}x, 1 h of audio in {hour_s:.1f} s; target >= {REALTIME_TARGET:.0f}x, "
        f"<= {3600.0 / REALTIME_TARGET:.0f} s).",
        "",
    ]


def _fast_lines(fast: list[dict]) -> list[str]:
    """One table row per cheaper scoring setting measured (``realtime_factor`` dicts with the
    ``settings`` they changed)."""
    return [
        f"| same, {' '.join(f'scoring.{k}={v}' for k, v in rt['settings'].items())} "
        f"({rt['evals_per_item']} evaluations per item, {rt['audio_s']:.0f} s of audio in "
        f"{rt['wall_s']:.2f} s) | {rt['realtime_factor']:.0f}x | >= {REALTIME_TARGET:.0f}x |"
        for rt in fast
    ]


def measure(
    detector_acoustic,
    wav_path: str | Path,
    *,
    unet_batch: int = 4,
    matmul_n: int = 2048,
    repeat_to_s: float = 60.0,
) -> dict:
    """All speed figures for a fitted acoustic detector and a WAV file.

    The UNet (``detector_acoustic.model_``) is measured on a batch ``(unet_batch, C, H, W)``, the
    shape of one acoustic window's features from ``wav_path``; the matmul reference is
    ``matmul_n x matmul_n``; the real-time factor tiles ``wav_path`` to ``repeat_to_s`` seconds.

    Returns:
        ``{"matmul_gflops": GFLOP/s, "unet_input_shape": (B, C, H, W),
        "unet_gflops_per_forward": GFLOPs (1e9 FLOPs), "unet_gflops": GFLOP/s,
        "unet_s_per_forward": s, "realtime": dict of realtime_factor}``; feeds
        :func:`speed_section`.
    """
    windows = extract_windows(
        Item(str(wav_path)),
        source=detector_acoustic.config.source,
        features=detector_acoustic.config.features,
        expected_rate=detector_acoustic.sample_rate_,
    )
    shape = (unet_batch, *windows[0].features.shape)
    model = detector_acoustic.model_
    flops = unet_flops(model, shape)
    achieved, seconds = unet_gflops(model, shape)
    return {
        "matmul_gflops": matmul_gflops(matmul_n),
        "unet_input_shape": shape,
        "unet_gflops_per_forward": flops / 1e9,
        "unet_gflops": achieved,
        "unet_s_per_forward": seconds,
        "realtime": realtime_factor(detector_acoustic, wav_path, repeat_to_s=repeat_to_s),
    }
