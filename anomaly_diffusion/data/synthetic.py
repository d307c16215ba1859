"""Deterministic built-in "synthetic plant": small vibration, acoustic and camera datasets.

Per modality: ``train/good/``, ``test/good/``, ``test/<defect>/`` (files ``<kind>_0000.<ext>``),
``ground_truth/<defect>/<stem>_mask.png`` (camera only) and ``plant.json`` (written last). Each
file has its own generator seeded by ``(seed, crc32("<modality>/<split>/<kind>"), index)``.
"""

from __future__ import annotations

import io
import json
import logging
import math
import shutil
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image
from scipy import signal

from anomaly_diffusion.atomic import atomic_path
from anomaly_diffusion.errors import ConfigError

logger = logging.getLogger(__name__)

VIBRATION_RATE = 12_800  # Hz
VIBRATION_SECONDS = 1.0
AUDIO_RATE = 16_000  # Hz
AUDIO_SECONDS = 2.0
IMAGE_SIZE = 64  # pixels per side
PLANT_VERSION = 1
MARKER = "plant.json"

EXTENSIONS = {"vibration": ".npz", "acoustic": ".wav", "camera": ".png"}
# modality -> {"<split>/<kind>": number of files at scale 1.0}
COUNTS: dict[str, dict[str, int]] = {
    "vibration": {"train/good": 24, "test/good": 8, "test/bearing_fault": 8},
    "acoustic": {"train/good": 24, "test/good": 8, "test/rattle": 4, "test/pitch_shift": 4},
    "camera": {"train/good": 30, "test/good": 8, "test/scratch": 6, "test/spot": 6},
}
MODALITIES = tuple(COUNTS)


def vibration_signal(
    rng: np.random.Generator,
    *,
    defect: str | None = None,
    speed: float = 1.0,
    gain: float = 1.0,
    fault_peak: float | None = None,
) -> np.ndarray:
    """Accelerometer trace: shaft ~25 Hz (1x..5x), gear mesh 20x, noise 0.05 g.

    ``defect="bearing_fault"`` adds outer-race impulses at BPFO = 3.58 x shaft, each ringing a
    ~3 kHz resonance (~2 ms decay) with a peak of ``fault_peak`` g (default: 0.5-1.0 g).
    ``speed`` scales the shaft speed, ``gain`` the machine's vibration (not the sensor noise):
    the slow drift of load and temperature. Returns float32 shape (12800,), units g, 1.0 s at
    12 800 Hz.
    """
    n = int(VIBRATION_RATE * VIBRATION_SECONDS)
    t = np.arange(n) / VIBRATION_RATE
    f_shaft = 25.0 * (1.0 + rng.uniform(-0.02, 0.02)) * speed
    x = np.zeros(n)
    for k, amp in enumerate((0.30, 0.15, 0.08, 0.05, 0.03), start=1):
        x += amp * np.sin(2 * np.pi * k * f_shaft * t + rng.uniform(0, 2 * np.pi))
    x += 0.10 * np.sin(2 * np.pi * 20 * f_shaft * t + rng.uniform(0, 2 * np.pi))
    x *= gain
    x += rng.normal(0.0, 0.05, n)
    if defect == "bearing_fault":
        period = 1.0 / (3.58 * f_shaft)
        tk = np.arange(int(0.01 * VIBRATION_RATE)) / VIBRATION_RATE
        ring = np.exp(-tk / 0.002) * np.sin(2 * np.pi * 3000.0 * tk)
        peak = rng.uniform(0.5, 1.0) if fault_peak is None else fault_peak
        for t0 in np.arange(rng.uniform(0, period), VIBRATION_SECONDS, period):
            i0 = round((t0 + rng.normal(0.0, 0.01 * period)) * VIBRATION_RATE)
            i0 = min(max(i0, 0), n - 1)
            seg = ring[: n - i0] * peak * rng.uniform(0.8, 1.2)
            x[i0 : i0 + seg.size] += seg
    elif defect not in (None, "good"):
        raise ConfigError(f"defect={defect!r} is not a vibration defect; use 'bearing_fault'")
    return x.astype(np.float32)


def _rattle(rng: np.random.Generator, n: int, level: float) -> np.ndarray:
    """Band-limited (2-5 kHz) click bursts, 5-20 ms, a few per second; shape (n,)."""
    sos = signal.butter(4, [2000.0, 5000.0], btype="bandpass", fs=AUDIO_RATE, output="sos")
    out = np.zeros(n)
    for _ in range(int(rng.integers(6, 13))):
        length = int(rng.uniform(0.005, 0.020) * AUDIO_RATE)
        burst = signal.sosfilt(sos, rng.normal(size=length + 256))[256:]
        burst = burst / np.max(np.abs(burst)) * np.hanning(length)
        start = int(rng.integers(0, n - length))
        out[start : start + length] += level * rng.uniform(2.5, 4.0) * burst
    return out


def acoustic_clip(rng: np.random.Generator, *, defect: str | None = None) -> np.ndarray:
    """Motor hum (fundamental ~120 Hz + harmonics) with pink-ish noise, peak -6 dBFS.

    ``defect`` is ``None``/``"good"``, ``"rattle"`` (2-5 kHz clicks) or ``"pitch_shift"`` (hum
    +8 %). Returns float32 shape (32000,), full scale 1.0, 2.0 s at 16 000 Hz.
    """
    if defect not in (None, "good", "rattle", "pitch_shift"):
        raise ConfigError(f"defect={defect!r} is not an acoustic defect; use rattle/pitch_shift")
    n = int(AUDIO_RATE * AUDIO_SECONDS)
    t = np.arange(n) / AUDIO_RATE
    f0 = 120.0 * (1.0 + rng.uniform(-0.01, 0.01)) * (1.08 if defect == "pitch_shift" else 1.0)
    hum = np.zeros(n)
    for k in range(1, 11):
        hum += k**-1.2 * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi))
    freqs = np.fft.rfftfreq(n, 1.0 / AUDIO_RATE)
    spectrum = np.fft.rfft(rng.normal(size=n)) / np.sqrt(np.maximum(freqs, 20.0))
    noise = np.fft.irfft(spectrum, n)
    hum_rms = float(np.sqrt(np.mean(hum**2)))
    x = hum + noise * (0.15 * hum_rms / np.sqrt(np.mean(noise**2)))
    if defect == "rattle":
        x += _rattle(rng, n, level=hum_rms)
    return (x * (10 ** (-6 / 20) / np.max(np.abs(x)))).astype(np.float32)


def _texture(rng: np.random.Generator) -> np.ndarray:
    """Mid-gray grating texture with jittered phase/orientation; shape (64, 64), gray levels."""
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float64)
    img = np.full((IMAGE_SIZE, IMAGE_SIZE), 128.0)
    for base, freq, amp in ((0.0, 1 / 8, 22.0), (np.pi / 2, 1 / 6, 16.0)):
        theta = base + rng.uniform(-0.05, 0.05)
        proj = xx * np.cos(theta) + yy * np.sin(theta)
        img += amp * np.sin(2 * np.pi * freq * proj + rng.uniform(0, 2 * np.pi))
    return img + rng.normal(0.0, 3.0, img.shape)


def _scratch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Thin line segment, 1-2 px wide, 15-35 px long; returns (offset, bool mask), (64, 64)."""
    length, angle = rng.uniform(15, 35), rng.uniform(0, np.pi)
    half_width = 0.5 * int(rng.integers(1, 3)) + 0.2
    margin = length / 2 + 1
    centre = rng.uniform(margin, IMAGE_SIZE - 1 - margin, size=2)
    half = 0.5 * length * np.array([np.cos(angle), np.sin(angle)])
    p0, d = centre - half, 2 * half
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float64)
    rel = np.stack([xx - p0[0], yy - p0[1]], axis=-1)
    s = np.clip(rel @ d / (d @ d), 0.0, 1.0)
    dist = np.linalg.norm(rel - s[..., None] * d, axis=-1)
    mask = dist <= half_width
    return mask * rng.choice([-1.0, 1.0]) * rng.uniform(60, 90), mask


def _spot(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Soft-edged blob, radius 3-7 px; returns (offset, bool mask), (64, 64)."""
    radius = rng.uniform(3, 7)
    cx, cy = rng.uniform(radius + 2, IMAGE_SIZE - 3 - radius, size=2)
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float64)
    profile = 1.0 / (1.0 + np.exp((np.hypot(xx - cx, yy - cy) - radius) / 0.7))
    offset = profile * rng.choice([-1.0, 1.0]) * rng.uniform(50, 80)
    return offset, profile >= 0.25


def camera_image(
    rng: np.random.Generator, *, defect: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Textured surface, optionally with ``defect`` ``"scratch"`` or ``"spot"``.

    The texture is drawn first, so the same generator state with ``defect=None`` gives the clean
    image. Returns (image, mask): uint8 shape (64, 64); mask 0/255 (all 0 when clean).
    """
    img = _texture(rng)
    mask = np.zeros(img.shape, dtype=bool)
    if defect in ("scratch", "spot"):
        offset, mask = (_scratch if defect == "scratch" else _spot)(rng)
        img = img + offset
    elif defect not in (None, "good"):
        raise ConfigError(f"defect={defect!r} is not a camera defect; use 'scratch' or 'spot'")
    image = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return image, mask.astype(np.uint8) * 255


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it onto ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)


def write_npz(tmp: Path, arrays: dict[str, np.ndarray]) -> None:
    """Uncompressed ``.npz`` with fixed zip timestamps (``np.savez`` stamps the current time)."""
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
            zf.writestr(
                zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buf.getvalue()
            )


def _write_png(tmp: Path, arr: np.ndarray) -> None:
    """8-bit grayscale PNG without metadata chunks; ``arr`` uint8 shape (H, W)."""
    Image.fromarray(arr).save(tmp, format="PNG")


def _write_sample(ds: Path, modality: str, rel: str, index: int, seed: int) -> None:
    """Generate and atomically write file ``index`` of folder ``ds/rel`` (+ camera mask)."""
    rng = np.random.default_rng([seed, zlib.crc32(f"{modality}/{rel}".encode()), index])
    kind = rel.split("/")[1]
    stem = f"{kind}_{index:04d}"
    path = ds / rel / f"{stem}{EXTENSIONS[modality]}"
    if modality == "vibration":
        accel = vibration_signal(rng, defect=kind)
        arrays = {"accel": accel, "sample_rate": np.int64(VIBRATION_RATE)}
        _atomic(path, lambda p: write_npz(p, arrays))
    elif modality == "acoustic":
        clip = acoustic_clip(rng, defect=kind)
        _atomic(path, lambda p: sf.write(p, clip, AUDIO_RATE, subtype="PCM_16", format="WAV"))
    else:
        image, mask = camera_image(rng, defect=kind)
        _atomic(path, lambda p: _write_png(p, image))
        if kind != "good":
            mask_dir = ds / "ground_truth" / kind
            mask_dir.mkdir(parents=True, exist_ok=True)
            _atomic(mask_dir / f"{stem}_mask.png", lambda p: _write_png(p, mask))


def _params(modality: str, seed: int, scale: float) -> dict[str, object]:
    return {"version": PLANT_VERSION, "modality": modality, "seed": seed, "scale": scale}


def _is_current(ds: Path, params: dict[str, object]) -> bool:
    """True if ``ds/plant.json`` exists and records exactly ``params``."""
    try:
        marker = json.loads((ds / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and all(marker.get(k) == v for k, v in params.items())


def _build(ds: Path, modality: str, seed: int, scale: float) -> None:
    """Remove any stale/partial plant content under ``ds`` and write the dataset afresh."""
    (ds / MARKER).unlink(missing_ok=True)
    for name in ("train", "test", "ground_truth"):
        if (ds / name).is_dir():
            shutil.rmtree(ds / name)
    counts: dict[str, int] = {}
    for rel, base in COUNTS[modality].items():
        counts[rel] = max(2, round(base * scale))
        (ds / rel).mkdir(parents=True, exist_ok=True)
        for index in range(counts[rel]):
            _write_sample(ds, modality, rel, index, seed)
    marker = {**_params(modality, seed, scale), "counts": counts}
    text = json.dumps(marker, indent=2, sort_keys=True) + "\n"
    _atomic(ds / MARKER, lambda p: p.write_text(text, encoding="utf-8"))


def _check_args(seed: int, modalities: Sequence[str], scale: float) -> list[str]:
    """Validate ``make_plant`` options; returns the de-duplicated modality list."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed={seed!r} is invalid; pass a non-negative integer, e.g. seed=0")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < math.inf:
        raise ConfigError(f"scale={scale!r} is invalid; pass a finite number > 0, e.g. 1.0")
    chosen = [modalities] if isinstance(modalities, str) else list(dict.fromkeys(modalities))
    unknown = [m for m in chosen if m not in COUNTS]
    if unknown or not chosen:
        raise ConfigError(
            f"modalities={modalities!r} has unknown/no entries {unknown}; pick from {MODALITIES}"
        )
    return chosen


def make_plant(
    root: str | Path,
    *,
    seed: int = 0,
    modalities: Sequence[str] = ("vibration", "acoustic", "camera"),
    scale: float = 1.0,
) -> dict[str, Path]:
    """Write the synthetic plant datasets under ``root/<modality>/`` (idempotent).

    A modality folder whose ``plant.json`` records the same seed/scale/modality is left untouched;
    otherwise its ``train``, ``test``, ``ground_truth`` folders and marker are replaced.

    Args:
        root: Output folder (created if missing).
        seed: Non-negative integer; the same seed gives byte-identical files.
        modalities: Any of ``"vibration"``, ``"acoustic"``, ``"camera"``.
        scale: Multiplies the number of files per split (at least 2 each).

    Returns:
        Mapping modality -> dataset root folder.

    Raises:
        ConfigError: If ``seed``, ``modalities`` or ``scale`` is invalid.
    """
    chosen = _check_args(seed, modalities, scale)
    seed, scale = int(seed), float(scale)
    out: dict[str, Path] = {}
    for modality in chosen:
        ds = Path(root) / modality
        if _is_current(ds, _params(modality, seed, scale)):
            logger.info("synthetic %s dataset at %s is up to date; skipping", modality, ds)
        else:
            ds.mkdir(parents=True, exist_ok=True)
            logger.info("writing synthetic %s to %s (seed=%d, scale=%g)", modality, ds, seed, scale)
            _build(ds, modality, seed, scale)
        out[modality] = ds
    return out
