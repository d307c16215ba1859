"""Readers on real files written to tmp_path: round trips and every bad-input path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from PIL import Image

from anomaly_diffusion.config import SourceConfig
from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest import SUPPORTED_SUFFIXES, modality_of, read_recording
from anomaly_diffusion.ingest.audio import read_audio
from anomaly_diffusion.ingest.image import read_image
from anomaly_diffusion.ingest.table import read_table
from anomaly_diffusion.ingest.vibration import read_vibration

SR = 8000


def _signal(n: int = SR, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.5 * rng.uniform(-1, 1, n)).astype(np.float32)


def _write_npz(path: Path, **arrays: np.ndarray) -> Path:
    with path.open("wb") as f:  # np.savez would append .npz to an unusual suffix
        np.savez(f, **arrays)
    return path


# ---------------------------------------------------------------- audio


def test_wav_round_trip(tmp_path):
    x = _signal()
    path = tmp_path / "clip.wav"
    sf.write(path, x, SR, subtype="FLOAT")
    rec = read_audio(path, asset="pump")
    assert rec.rate == SR
    assert rec.data.shape == (1, SR)
    assert rec.data.dtype == np.float32
    assert rec.kind == "signal"
    assert rec.channels == ("mono",)
    assert rec.asset == "pump"
    assert rec.path == str(path)
    assert rec.duration_s == pytest.approx(1.0)
    np.testing.assert_allclose(rec.data[0], x, atol=1e-6)


def test_wav_pcm16_round_trip_close(tmp_path):
    x = _signal()
    path = tmp_path / "clip16.wav"
    sf.write(path, x, SR, subtype="PCM_16")
    rec = read_recording(path, source=SourceConfig())
    np.testing.assert_allclose(rec.data[0], x, atol=1 / 2**14)


def test_wav_segment(tmp_path):
    x = _signal()
    path = tmp_path / "clip.wav"
    sf.write(path, x, SR, subtype="FLOAT")
    rec = read_audio(path, start_s=0.25, end_s=0.5)
    assert rec.data.shape == (1, SR // 4)
    assert rec.offset_s == 0.25
    np.testing.assert_allclose(rec.data[0], x[SR // 4 : SR // 2], atol=1e-6)
    via_dispatch = read_recording(path, source=SourceConfig(), start_s=0.5)
    assert via_dispatch.data.shape == (1, SR // 2)
    np.testing.assert_allclose(via_dispatch.data[0], x[SR // 2 :], atol=1e-6)


def test_wav_segment_past_the_end(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, _signal(), SR, subtype="FLOAT")
    with pytest.raises(DataError, match=r"short\.wav.*start_s"):
        read_audio(path, start_s=5.0)


def test_stereo_is_mixed_to_mono(tmp_path):
    left, right = _signal(seed=1), _signal(seed=2)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="FLOAT")
    rec = read_recording(path, source=SourceConfig(mono=True))
    assert rec.data.shape == (1, SR)
    np.testing.assert_allclose(rec.data[0], (left + right) / 2, atol=1e-6)
    both = read_recording(path, source=SourceConfig(mono=False))
    assert both.data.shape == (2, SR)
    assert both.channels == ("ch0", "ch1")
    np.testing.assert_allclose(both.data[1], right, atol=1e-6)


# ---------------------------------------------------------------- vibration


def test_npz_with_sample_rate(tmp_path):
    x = _signal(1000)
    path = _write_npz(tmp_path / "vib.npz", accel=x, sample_rate=np.int64(12_800))
    rec = read_recording(path, source=SourceConfig())
    assert rec.rate == 12_800.0
    assert rec.data.shape == (1, 1000)
    assert rec.channels == ("accel",)
    assert rec.units == "g"
    np.testing.assert_array_equal(rec.data[0], x)


def test_npz_segment(tmp_path):
    x = np.arange(1000, dtype=np.float32)
    path = _write_npz(tmp_path / "vib.npz", accel=x, fs=np.float64(100.0))
    rec = read_vibration(path, start_s=2.0, end_s=3.5)
    assert rec.rate == 100.0
    np.testing.assert_array_equal(rec.data[0], x[200:350])
    assert rec.offset_s == 2.0
    with pytest.raises(DataError, match="is empty"):
        read_vibration(path, start_s=20.0, end_s=30.0)


def test_npz_missing_rate(tmp_path):
    path = _write_npz(tmp_path / "norate.npz", accel=_signal(100))
    with pytest.raises(DataError, match=r"source\.sample_rate") as info:
        read_recording(path, source=SourceConfig())
    assert "norate.npz" in str(info.value)
    rec = read_recording(path, source=SourceConfig(sample_rate=500))
    assert rec.rate == 500.0


def test_npz_channel_selection_and_unknown_channel(tmp_path):
    de, fe = _signal(200, seed=1), _signal(200, seed=2)
    path = _write_npz(tmp_path / "cwru.npz", DE=de, FE=fe, sample_rate=np.int64(12_000))
    assert read_recording(path, source=SourceConfig()).channels == ("DE",)
    rec = read_recording(path, source=SourceConfig(channel="FE"))
    assert rec.channels == ("FE",)
    np.testing.assert_array_equal(rec.data[0], fe)
    with pytest.raises(DataError, match=r"cwru\.npz") as info:
        read_recording(path, source=SourceConfig(channel="BA"))
    message = str(info.value)
    assert "'BA'" in message
    assert "'DE'" in message and "'FE'" in message
    assert "sample_rate" not in message.split("available:")[1].split(";")[0]


def test_npy(tmp_path):
    x = _signal(300)
    path = tmp_path / "trace.npy"
    np.save(path, x)
    rec = read_recording(path, source=SourceConfig(sample_rate=1000))
    assert rec.data.shape == (1, 300)
    assert rec.rate == 1000.0
    np.testing.assert_array_equal(rec.data[0], x)
    with pytest.raises(DataError, match=r"source\.sample_rate"):
        read_recording(path, source=SourceConfig())


def test_upper_case_npz_suffix(tmp_path):
    x = _signal(100)
    path = _write_npz(tmp_path / "VIB.NPZ", accel=x, sample_rate=np.int64(1000))
    assert modality_of(path) == "vibration"
    rec = read_recording(path, source=SourceConfig())
    np.testing.assert_array_equal(rec.data[0], x)


# ---------------------------------------------------------------- images


def test_png_gray(tmp_path):
    arr = np.arange(20 * 30, dtype=np.uint16).reshape(20, 30) % 256
    path = tmp_path / "part.png"
    Image.fromarray(arr.astype(np.uint8)).save(path)
    rec = read_recording(path, source=SourceConfig())
    assert rec.kind == "image"
    assert rec.rate is None and rec.duration_s is None
    assert rec.data.shape == (1, 20, 30)
    assert rec.data.dtype == np.float32
    assert rec.channels == ("gray",)
    assert rec.data.min() == 0.0 and rec.data.max() == 1.0
    np.testing.assert_allclose(rec.data[0], arr / 255.0, atol=1e-6)


def test_png_rgb(tmp_path):
    rgb = np.zeros((10, 12, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 255, 128, 0
    path = tmp_path / "color.png"
    Image.fromarray(rgb).save(path)
    rec = read_recording(path, source=SourceConfig(grayscale=False))
    assert rec.data.shape == (3, 10, 12)
    assert rec.channels == ("r", "g", "b")
    np.testing.assert_allclose(rec.data[:, 0, 0], [1.0, 128 / 255, 0.0], atol=1e-6)
    gray = read_image(path, grayscale=True)
    assert gray.data.shape == (1, 10, 12)


# ---------------------------------------------------------------- tables


def test_csv_table(tmp_path):
    n = 50
    frame = pd.DataFrame(
        {
            "timestamp": np.arange(n) * 0.1,
            "pressure": np.linspace(1.0, 2.0, n),
            "temp": np.linspace(20.0, 30.0, n),
        }
    )
    path = tmp_path / "line.csv"
    frame.to_csv(path, index=False)
    rec = read_recording(path, source=SourceConfig())
    assert rec.kind == "table"
    assert rec.data.shape == (2, n)
    assert rec.channels == ("pressure", "temp")
    assert rec.rate == pytest.approx(10.0)
    np.testing.assert_allclose(rec.data[1], frame["temp"], rtol=1e-6)


def test_csv_datetime_timestamps_and_labels(tmp_path):
    stamps = pd.date_range("2024-01-01", periods=6, freq="2s")
    frame = pd.DataFrame({"time": stamps, "flow": np.arange(6.0), "y": [0, 0, 1, 0, 0, 0]})
    path = tmp_path / "dt.csv"
    frame.to_csv(path, index=False)
    rec = read_table(path, label_column="y")
    assert rec.rate == pytest.approx(0.5)
    assert rec.data.shape == (1, 6)
    assert rec.channels == ("flow",)
    np.testing.assert_array_equal(rec.labels, [0, 0, 1, 0, 0, 0])


def test_table_non_numeric_value(tmp_path):
    path = tmp_path / "dirty.csv"
    path.write_text("timestamp,a,b\n0,1.0,2.0\n1,1.5,oops\n2,1.7,2.2\n")
    with pytest.raises(DataError) as info:
        read_recording(path, source=SourceConfig())
    message = str(info.value)
    assert "dirty.csv" in message
    assert "row 3" in message  # header is line 1, the bad value is on line 3
    assert "'b'" in message
    assert "oops" in message


def test_table_duplicate_timestamps(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("timestamp,a\n0,1\n1,2\n1,3\n2,4\n")
    with pytest.raises(DataError, match=r"dup\.csv: row 4: duplicate"):
        read_recording(path, source=SourceConfig())


def test_table_without_timestamp(tmp_path):
    path = tmp_path / "notime.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(DataError, match=r"source\.timestamp_column"):
        read_recording(path, source=SourceConfig())
    rec = read_recording(path, source=SourceConfig(timestamp_column="a"))
    assert rec.channels == ("b",)


# ---------------------------------------------------------------- dispatch and bad input


@pytest.mark.parametrize(
    ("name", "modality"),
    [
        ("a.wav", "acoustic"),
        ("a.flac", "acoustic"),
        ("a.ogg", "acoustic"),
        ("a.png", "camera"),
        ("a.JPG", "camera"),
        ("a.jpeg", "camera"),
        ("a.bmp", "camera"),
        ("a.tif", "camera"),
        ("a.tiff", "camera"),
        ("a.npz", "vibration"),
        ("a.npy", "vibration"),
        ("a.mat", "vibration"),
        ("a.csv", "process"),
        ("a.parquet", "process"),
        ("a.xyz", None),
        ("noext", None),
    ],
)
def test_modality_of(name, modality):
    assert modality_of(name) == modality


def test_supported_suffixes_all_have_a_modality():
    assert all(modality_of("x" + s) is not None for s in SUPPORTED_SUFFIXES)


def _truncated_png(path: Path) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _nan_npz(path: Path) -> Path:
    x = _signal(100)
    x[17] = np.nan
    return _write_npz(path, accel=x, sample_rate=np.int64(1000))


BAD_INPUTS = {
    "empty.wav": lambda p: p.write_bytes(b""),
    "empty.png": lambda p: p.write_bytes(b""),
    "empty.npz": lambda p: p.write_bytes(b""),
    "text.wav": lambda p: p.write_text("this is not audio\n" * 20),
    "text.png": lambda p: p.write_text("this is not an image\n" * 20),
    "text.npz": lambda p: p.write_text("this is not an archive\n" * 20),
    "truncated.png": _truncated_png,
    "nan.npz": _nan_npz,
    "data.xyz": lambda p: p.write_text("1,2,3\n"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_raises_data_error_naming_the_file(tmp_path, name):
    path = tmp_path / name
    BAD_INPUTS[name](path)
    with pytest.raises(DataError) as info:
        read_recording(path, source=SourceConfig(sample_rate=1000))
    message = str(info.value)
    assert name in message
    if name.startswith("empty"):
        assert "empty" in message
    if name == "nan.npz":
        assert "NaN" in message
        assert "(0, 17)" in message
    if name == "data.xyz":
        assert "unsupported" in message and ".wav" in message


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"gone\.wav: file not found"):
        read_recording(tmp_path / "gone.wav", source=SourceConfig())
