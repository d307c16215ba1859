"""Tests for the synthetic plant generator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from anomaly_diffusion.data.synthetic import (
    AUDIO_RATE,
    VIBRATION_RATE,
    acoustic_clip,
    camera_image,
    make_plant,
)
from anomaly_diffusion.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EXPECTED = {
    "vibration": {"train/good": 24, "test/good": 8, "test/bearing_fault": 8},
    "acoustic": {"train/good": 24, "test/good": 8, "test/rattle": 4, "test/pitch_shift": 4},
    "camera": {"train/good": 30, "test/good": 8, "test/scratch": 6, "test/spot": 6},
}
SUFFIX = {"vibration": ".npz", "acoustic": ".wav", "camera": ".png"}


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_plant(tmp_path_factory.mktemp("plant"), seed=0)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _band_fraction(x: np.ndarray, rate: int, lo: float, hi: float) -> float:
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / rate)
    return float(power[(freqs >= lo) & (freqs <= hi)].sum() / power.sum())


def _fundamental(x: np.ndarray, rate: int, lo: float = 80.0, hi: float = 200.0) -> float:
    power = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / rate)
    band = (freqs >= lo) & (freqs <= hi)
    return float(freqs[band][np.argmax(power[band])])


def test_layout_and_counts(plant: dict[str, Path]) -> None:
    assert list(plant) == ["vibration", "acoustic", "camera"]
    for modality, counts in EXPECTED.items():
        ds = plant[modality]
        assert ds.name == modality
        for rel, n in counts.items():
            kind = rel.split("/")[1]
            names = sorted(p.name for p in (ds / rel).iterdir())
            assert names == [f"{kind}_{i:04d}{SUFFIX[modality]}" for i in range(n)]
        marker = json.loads((ds / "plant.json").read_text())
        assert marker["seed"] == 0 and marker["scale"] == 1.0 and marker["counts"] == counts
        assert not list(ds.rglob("*.tmp"))
    assert not (plant["vibration"] / "ground_truth").exists()
    for kind in ("scratch", "spot"):
        masks = sorted(p.name for p in (plant["camera"] / "ground_truth" / kind).iterdir())
        assert masks == [f"{kind}_{i:04d}_mask.png" for i in range(6)]


def test_determinism(tmp_path: Path) -> None:
    a = make_plant(tmp_path / "a", seed=3, scale=0.1)
    b = make_plant(tmp_path / "b", seed=3, scale=0.1)
    c = make_plant(tmp_path / "c", seed=4, scale=0.1)
    for modality in a:
        files_a, files_c = _files(a[modality]), _files(c[modality])
        assert files_a == _files(b[modality])
        assert files_a.keys() == files_c.keys()
        differing = [k for k in files_a if k != "plant.json" and files_a[k] != files_c[k]]
        assert len(differing) == len(files_a) - 1


def test_idempotent_and_regenerates_on_new_params(tmp_path: Path) -> None:
    ds = make_plant(tmp_path, seed=1, scale=0.1, modalities=["camera"])["camera"]
    probe = ds / "train" / "good" / "good_0000.png"
    before = {p: p.stat().st_mtime_ns for p in ds.rglob("*")}
    assert make_plant(tmp_path, seed=1, scale=0.1, modalities=["camera"])["camera"] == ds
    assert {p: p.stat().st_mtime_ns for p in ds.rglob("*")} == before
    (ds / "train" / "good" / "stale.png").write_bytes(b"x")
    make_plant(tmp_path, seed=1, scale=0.2, modalities=["camera"])
    assert not (ds / "train" / "good" / "stale.png").exists()
    assert len(list((ds / "train" / "good").iterdir())) == 6
    assert json.loads((ds / "plant.json").read_text())["scale"] == 0.2
    assert probe.exists()


def test_scale_minimum_two_and_single_modality_string(tmp_path: Path) -> None:
    ds = make_plant(tmp_path, scale=0.01, modalities="acoustic")["acoustic"]
    for rel in EXPECTED["acoustic"]:
        assert len(list((ds / rel).iterdir())) == 2


def _load_vib(path: Path) -> np.ndarray:
    with np.load(path) as data:
        assert int(data["sample_rate"]) == VIBRATION_RATE and data["sample_rate"].shape == ()
        accel = data["accel"]
    assert accel.dtype == np.float32 and accel.shape == (VIBRATION_RATE,)
    return accel.astype(np.float64)


def test_vibration_normal_spectrum(plant: dict[str, Path]) -> None:
    for path in sorted((plant["vibration"] / "train" / "good").iterdir())[:6]:
        x = _load_vib(path)
        assert 0.04 < np.std(x - np.convolve(x, np.ones(5) / 5, "same")) < 0.1
        power = np.abs(np.fft.rfft(x * np.hanning(x.size), 8 * x.size)) ** 2
        freqs = np.fft.rfftfreq(8 * x.size, 1.0 / VIBRATION_RATE)
        shaft = freqs[np.argmax(power)]
        assert 24.4 <= shaft <= 25.6  # 25 Hz +- 2 %
        floor = np.median(power)
        for k in (1, 2, 3, 4, 5, 20):  # shaft harmonics and the gear mesh
            near = np.abs(freqs - k * shaft) <= 1.0
            assert power[near].max() > 100 * floor
        off = (freqs > 40) & (np.abs(freqs / shaft - np.round(freqs / shaft)) * shaft > 3.0)
        assert power[off].max() < 0.01 * power.max()


def test_vibration_fault_is_visible(plant: dict[str, Path]) -> None:
    def stats(kind: str, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
        xs = [_load_vib(p) for p in sorted((plant["vibration"] / split / kind).iterdir())]
        band = np.array([_band_fraction(x, VIBRATION_RATE, 2500, 3500) for x in xs])
        kurt = np.array([np.mean((x - x.mean()) ** 4) / np.var(x) ** 2 for x in xs])
        return band, kurt

    band_good, kurt_good = stats("good")
    band_fault, kurt_fault = stats("bearing_fault")
    assert band_fault.min() > 5 * band_good.max()
    assert kurt_fault.mean() > kurt_good.mean() + 0.3


def _load_wav(path: Path) -> np.ndarray:
    info = sf.info(path)
    assert info.samplerate == AUDIO_RATE and info.channels == 1 and info.subtype == "PCM_16"
    x, _ = sf.read(path, dtype="float64")
    assert x.shape == (2 * AUDIO_RATE,)
    return x


def test_acoustic_levels(plant: dict[str, Path]) -> None:
    for path in sorted((plant["acoustic"]).rglob("*.wav")):
        peak = np.max(np.abs(_load_wav(path)))
        assert -7.0 < 20 * np.log10(peak) < -5.0


def test_acoustic_pitch_shift_and_rattle(plant: dict[str, Path]) -> None:
    test = plant["acoustic"] / "test"
    clips = {k: [_load_wav(p) for p in sorted((test / k).iterdir())] for k in ("good", "rattle")}
    clips["pitch_shift"] = [_load_wav(p) for p in sorted((test / "pitch_shift").iterdir())]
    f_good = np.array([_fundamental(x, AUDIO_RATE) for x in clips["good"]])
    f_shift = np.array([_fundamental(x, AUDIO_RATE) for x in clips["pitch_shift"]])
    assert np.all(np.abs(f_good - 120.0) <= 2.0)
    assert f_shift.mean() / f_good.mean() == pytest.approx(1.08, abs=0.015)
    band_good = [_band_fraction(x, AUDIO_RATE, 2000, 5000) for x in clips["good"]]
    band_rattle = [_band_fraction(x, AUDIO_RATE, 2000, 5000) for x in clips["rattle"]]
    assert min(band_rattle) > 3 * max(band_good)


def test_acoustic_function_pitch_shift_same_draws() -> None:
    good = acoustic_clip(np.random.default_rng(7))
    shifted = acoustic_clip(np.random.default_rng(7), defect="pitch_shift")
    ratio = _fundamental(shifted, AUDIO_RATE) / _fundamental(good, AUDIO_RATE)
    assert ratio == pytest.approx(1.08, abs=0.01)


def test_camera_images_and_masks(plant: dict[str, Path]) -> None:
    cam = plant["camera"]
    good = np.asarray(Image.open(cam / "train" / "good" / "good_0000.png"))
    assert good.dtype == np.uint8 and good.shape == (64, 64)
    assert 100 < good.mean() < 156 and good.std() > 10
    for kind in ("scratch", "spot"):
        for path in sorted((cam / "test" / kind).iterdir()):
            image = Image.open(path)
            mask_img = Image.open(cam / "ground_truth" / kind / f"{path.stem}_mask.png")
            assert image.mode == "L" and mask_img.mode == "L" and mask_img.size == image.size
            mask = np.asarray(mask_img)
            assert set(np.unique(mask)) == {0, 255}
            assert 10 <= (mask == 255).sum() < 0.1 * mask.size


@pytest.mark.parametrize("defect", ["scratch", "spot"])
def test_camera_defect_lies_inside_mask(defect: str) -> None:
    for s in range(10):
        clean, clean_mask = camera_image(np.random.default_rng(s))
        image, mask = camera_image(np.random.default_rng(s), defect=defect)
        assert not clean_mask.any()
        diff = np.abs(image.astype(float) - clean.astype(float))
        inside = mask == 255
        assert diff[inside].sum() / diff.sum() > 0.85
        assert diff[inside].mean() > 25


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"modalities": ["vibration", "lidar"]}, "modalities"),
        ({"modalities": "lidar"}, "modalities"),
        ({"modalities": []}, "modalities"),
        ({"scale": 0}, "scale"),
        ({"scale": -1.0}, "scale"),
        ({"scale": float("nan")}, "scale"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict, name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        make_plant(tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())


def test_cli(tmp_path: Path) -> None:
    script = REPO / "data" / "make_synthetic_plant.py"
    cmd = [sys.executable, str(script), str(tmp_path), "--seed", "2", "--scale", "0.1"]
    done = subprocess.run([*cmd, "--modality", "camera"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "camera" / "plant.json").read_text())["seed"] == 2
    assert not (tmp_path / "vibration").exists()
    bad = subprocess.run(
        [sys.executable, str(script), str(tmp_path), "--scale", "0"], text=True, capture_output=True
    )
    assert bad.returncode == 2 and "scale" in bad.stderr
