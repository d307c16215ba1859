"""Every bad input of a batch becomes a row with a clear ``error`` (file, problem, fix) while the
other inputs are still scored; a missing or escaping manifest path is never read."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from PIL import Image

from anomaly_diffusion.config import FeatureConfig, ScoringConfig, SourceConfig, TrainingConfig
from anomaly_diffusion.data.dataset import Item, discover, read_manifest
from anomaly_diffusion.data.stream import load_windows
from anomaly_diffusion.detector import DetectorConfig, DiffusionAnomalyDetector
from anomaly_diffusion.diffusion.unet import UNetConfig
from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.inference import score_items

TINY = UNetConfig(base_channels=8, channel_mults=(1, 2))
QUICK = TrainingConfig(max_steps=2, batch_size=4, warmup_steps=1, checkpoint_every=0)
SCORING = ScoringConfig(n_repeats=1)
RATE = 8000
MEL = FeatureConfig(kind="log_mel", window_seconds=0.5, n_fft=256, hop_length=128, n_mels=16)
TABLE = FeatureConfig(kind="sensor_window", window_seconds=1.6, hop_length=1)


def _fit(modality: str, features: FeatureConfig, items: list[Item], source=None):
    source = source or SourceConfig()
    windows, failures = load_windows(items, source=source, features=features)
    assert windows and not failures
    cfg = DetectorConfig(
        modality, source=source, features=features, network=TINY, training=QUICK, scoring=SCORING
    )
    return DiffusionAnomalyDetector(cfg).fit(windows, seed=0)


def _tone(path: Path, seconds: float = 2.0, rate: int = RATE, channels: int = 1) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    signal = 0.2 * np.sin(2 * np.pi * 440 * t).astype(np.float32)
    sf.write(path, np.stack([signal] * channels, axis=1) if channels > 1 else signal, rate)
    return path


@pytest.fixture(scope="module")
def acoustic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("acoustic")
    train = [Item(str(_tone(folder / f"train_{i}.wav"))) for i in range(3)]
    return _fit("acoustic", MEL, train), folder


def _batch(detector, folder: Path, bad: dict[str, Path]) -> pd.DataFrame:
    """Score two good clips around the bad inputs; return the table, checking the good ones."""
    good = [_tone(folder / "good_a.wav"), _tone(folder / "good_b.wav")]
    items = [Item(str(good[0])), *(Item(str(p)) for p in bad.values()), Item(str(good[1]))]
    table = score_items(detector, items)
    scored = table[table["error"].isna()]
    assert set(scored["path"]) == {str(p) for p in good}, table[["path", "error"]]
    assert len(scored) == 2 * 4  # 2 s clips, 0.5 s windows
    assert np.isfinite(scored["score"]).all()
    failed = table[table["error"].notna()].set_index("path")["error"]
    assert set(failed.index) == {str(p) for p in bad.values()}
    return failed


def _error(failed: pd.Series, path: Path) -> str:
    message = failed[str(path)]
    assert path.name in message  # every error names its file
    return message


def test_signal_files_that_cannot_be_scored(acoustic, tmp_path):
    detector, _ = acoustic
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "readme.wav"
    text.write_text("recorded on line 3, see the log book\n")
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(_tone(tmp_path / "full.wav").read_bytes()[:30])
    nan = tmp_path / "nan.wav"
    signal = np.zeros(2 * RATE, np.float32)
    signal[1234] = np.nan
    sf.write(nan, signal, RATE, subtype="FLOAT")
    rate = _tone(tmp_path / "rate.wav", rate=16_000)
    stereo = _tone(tmp_path / "stereo.wav", channels=2)
    short = _tone(tmp_path / "short.wav", seconds=0.2)
    bad = {
        "empty": empty,
        "text": text,
        "truncated": truncated,
        "nan": nan,
        "rate": rate,
        "short": short,
    }
    failed = _batch(detector, tmp_path, bad)
    assert "file is empty (0 bytes)" in _error(failed, empty)
    assert "not a readable audio file" in _error(failed, text)
    assert "re-export it" in _error(failed, text)
    assert "not a readable audio file" in _error(failed, truncated)
    assert "1 NaN/inf value(s), first at index (0, 1234)" in _error(failed, nan)
    message = _error(failed, rate)
    assert "16000 Hz, model expects 8000 Hz" in message and "source.resample=true" in message
    message = _error(failed, short)
    assert "shorter than one window (0.5 s)" in message
    assert "features.window_seconds" in message
    # a stereo file is mixed to mono by default: scored like the others
    assert str(stereo) not in failed.index


def test_wrong_channel_count(acoustic, tmp_path):
    detector, _ = acoustic
    stereo = _tone(tmp_path / "stereo.wav", channels=2)
    keep = DiffusionAnomalyDetector(detector.config)
    keep.__dict__.update(detector.__dict__)
    keep.config = DetectorConfig(**{**detector.config.__dict__, "source": SourceConfig(mono=False)})
    failed = _batch(keep, tmp_path, {"stereo": stereo})
    message = _error(failed, stereo)
    assert "2 channel(s), the model expects 1" in message
    assert "source.mono=true" in message


def test_other_sample_rate_is_resampled_when_allowed(acoustic, tmp_path):
    detector, _ = acoustic
    resampling = DiffusionAnomalyDetector(detector.config)
    resampling.__dict__.update(detector.__dict__)
    resampling.config = DetectorConfig(
        **{**detector.config.__dict__, "source": SourceConfig(resample=True)}
    )
    clip = _tone(tmp_path / "rate.wav", rate=16_000)
    table = score_items(resampling, [Item(str(clip))])
    assert table["error"].isna().all() and len(table) == 4


@pytest.fixture(scope="module")
def camera(plant):
    train = [it for it in discover(plant["camera"]) if it.split == "train"][:6]
    return _fit("camera", FeatureConfig(kind="frame", image_size=(32, 32)), train), plant


def test_image_files_that_cannot_be_scored(camera, tmp_path, caplog):
    detector, plant = camera
    good = sorted((plant["camera"] / "test" / "good").glob("*.png"))[:2]
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good[0].read_bytes()[:200])
    large = tmp_path / "large.png"
    Image.open(good[0]).resize((256, 64)).save(large)
    items = [Item(str(p)) for p in (good[0], empty, text, truncated, large, good[1])]
    with caplog.at_level(logging.WARNING):
        table = score_items(detector, items)
    scored = table[table["error"].isna()]
    assert set(scored["path"]) == {str(good[0]), str(large), str(good[1])}
    failed = table[table["error"].notna()].set_index("path")["error"]
    assert "file is empty (0 bytes)" in _error(failed, empty)
    assert "not a readable image" in _error(failed, text)
    assert "not a readable image" in _error(failed, truncated)
    # an image of unexpected size is resized and scored, with a warning naming it
    warning = next(r.getMessage() for r in caplog.records if "large.png" in r.getMessage())
    assert "image is 64x256 px, the model was trained on 64-64 x 64-64 px" in warning
    assert "resized to 32x32" in warning


def test_manifest_rows_with_missing_or_escaping_paths(camera, tmp_path):
    detector, plant = camera
    base = tmp_path / "site"
    shutil.copytree(plant["camera"] / "test" / "good", base)
    secret = tmp_path / "secret.png"
    shutil.copy(next(base.glob("*.png")), secret)  # readable, but outside the manifest's folder
    names = sorted(p.name for p in base.glob("*.png"))[:2]
    manifest = base / "manifest.csv"
    manifest.write_text(f"path\n{names[0]}\ngone.png\n../secret.png\n{names[1]}\n")
    table = score_items(detector, read_manifest(manifest))
    scored = table[table["error"].isna()]
    assert sorted(Path(p).name for p in scored["path"]) == names
    errors = table.loc[table["error"].notna(), "error"].tolist()
    assert len(errors) == 2
    assert "row 3: file 'gone.png' not found" in errors[0] and "manifest.csv" in errors[0]
    assert "row 4: path '../secret.png' escapes the manifest folder" in errors[1]


def _sensor_table(path: Path, rows: int = 64, *, sep: str = ",") -> Path:
    t = np.arange(rows) * 0.1
    frame = pd.DataFrame(
        {
            "timestamp": t,
            "temp": 20 + np.sin(t),
            "pressure": 3 + 0.1 * np.cos(t),
            "flow": 1 + 0.01 * t,
            "speed": 1500 + np.zeros(rows),
        }
    )
    frame.to_csv(path, index=False, sep=sep)
    return path


def test_sensor_tables_that_cannot_be_scored(tmp_path):
    train = [Item(str(_sensor_table(tmp_path / f"train_{i}.csv"))) for i in range(2)]
    detector = _fit("process", TABLE, train)
    good = [_sensor_table(tmp_path / "good_a.csv"), _sensor_table(tmp_path / "good_b.csv")]
    text = _sensor_table(tmp_path / "text.csv").read_text().splitlines()
    text[10] = text[10].replace(text[10].split(",")[2], "n/a (sensor offline)")
    non_numeric = tmp_path / "non_numeric.csv"
    non_numeric.write_text("\n".join(text) + "\n")
    dup = _sensor_table(tmp_path / "dup.csv").read_text().splitlines()
    dup[21] = dup[20]
    duplicate = tmp_path / "duplicate.csv"
    duplicate.write_text("\n".join(dup) + "\n")
    backwards = _sensor_table(tmp_path / "backwards.csv").read_text().splitlines()
    backwards[30], backwards[31] = backwards[31], backwards[30]
    unordered = tmp_path / "unordered.csv"
    unordered.write_text("\n".join(backwards) + "\n")
    items = [Item(str(p)) for p in (good[0], non_numeric, duplicate, unordered, good[1])]
    table = score_items(detector, items)
    scored = table[table["error"].isna()]
    assert set(scored["path"]) == {str(p) for p in good}
    assert len(scored) == 2 * 4  # 6.4 s tables, 1.6 s windows
    failed = table[table["error"].notna()].set_index("path")["error"]
    message = _error(failed, non_numeric)
    assert "row 11, column 'pressure': non-numeric value 'n/a (sensor offline)'" in message
    assert "row 22" in _error(failed, duplicate)
    assert "duplicate or non-monotonic timestamp" in failed[str(duplicate)]
    assert "row 32" in _error(failed, unordered)
    assert "sort the table" in failed[str(unordered)]


CLIP_MEL = FeatureConfig(kind="log_mel", n_fft=256, hop_length=128, n_mels=16)  # whole clips


@pytest.fixture(scope="module")
def clip_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    train = [Item(str(_tone(folder / f"clip_{i}.wav", seconds=2.0))) for i in range(3)]
    return _fit("acoustic", CLIP_MEL, train)


def test_truncated_wav_and_an_image_for_a_sound_model(acoustic, tmp_path):
    """Issue #14, item 2: both used to be scored like normal clips."""
    detector, _ = acoustic
    full = _tone(tmp_path / "full.wav", seconds=2.0)
    cut = tmp_path / "cut copy.wav"  # a name with a space, as exported
    cut.write_bytes(full.read_bytes()[:300])
    half = tmp_path / "half.wav"
    half.write_bytes(full.read_bytes()[: 44 + 16000])  # 8000 of 16000 frames
    png = tmp_path / "FRAME_01.PNG"
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(png)
    failed = _batch(detector, tmp_path, {"cut": cut, "half": half, "png": png})
    message = _error(failed, cut)
    assert "truncated: the header declares 16000 frames (2.000 s), the file holds" in message
    assert "copy the file again" in message
    assert "16000 frames (2.000 s), the file holds 8000 (1.000 s)" in _error(failed, half)
    assert "an image file, but the model expects sound recordings" in _error(failed, png)


def test_clip_shorter_than_the_model_input_is_refused(clip_model, tmp_path):
    """A 64-sample WAV used to get an ordinary score from a model of 2-s clips."""
    tiny = tmp_path / "tiny.wav"
    sf.write(tiny, np.zeros(64, np.float32), RATE)
    short = _tone(tmp_path / "short.wav", seconds=0.8)
    fine = _tone(tmp_path / "fine.wav", seconds=1.5)
    for detector in (clip_model, DiffusionAnomalyDetector.load(clip_model.save(tmp_path / "m"))):
        table = score_items(detector, [Item(str(p)) for p in (tiny, short, fine)])
        errors = table.set_index("path")["error"]
        assert "tiny.wav: too short: 1 column(s)" in errors[str(tiny)]
        assert "it needs at least 63" in errors[str(tiny)]
        assert "too short" in errors[str(short)]
        assert pd.isna(errors[str(fine)])
        assert np.isfinite(table.set_index("path").loc[str(fine), "score"])


def test_table_columns_are_chosen_saved_and_checked(tmp_path):
    """Issue #14, item 5: a second label column is not a sensor; the saved model reads the
    sensors it learned, by name, and a table missing one is an error naming it."""
    train = []
    for i in range(2):
        frame = pd.read_csv(_sensor_table(tmp_path / f"train_{i}.csv"))
        frame["changepoint"] = 0
        frame["batch_id"] = "B-17"  # text: would be refused as a sensor
        frame.to_csv(tmp_path / f"train_{i}.csv", index=False)
        train.append(Item(str(tmp_path / f"train_{i}.csv")))
    sensors = [c for c in frame.columns if c not in ("timestamp", "changepoint", "batch_id")]
    source = SourceConfig(exclude_columns=("changepoint", "batch_id"))
    detector = _fit("process", TABLE, train, source=source)
    assert detector.config.source.columns == tuple(sensors)  # pinned at fit time
    loaded = DiffusionAnomalyDetector.load(detector.save(tmp_path / "model"))
    assert loaded.config.source.columns == tuple(sensors)

    base = pd.read_csv(train[0].path)
    shuffled = base[["timestamp", "batch_id", *reversed(sensors), "changepoint"]]
    shuffled.to_csv(tmp_path / "shuffled.csv", index=False)
    base.drop(columns=[sensors[1]]).to_csv(tmp_path / "missing.csv", index=False)
    items = [
        Item(train[0].path),
        Item(str(tmp_path / "shuffled.csv")),
        Item(str(tmp_path / "missing.csv")),
    ]
    table = score_items(loaded, items).set_index("path")
    # other column order: the same sensors by name, the same model input
    assert table.loc[[str(tmp_path / "shuffled.csv")], "error"].isna().all()
    read = {"source": loaded.config.source, "features": TABLE}
    (same, _), (base_w, _) = (
        load_windows([Item(str(tmp_path / "shuffled.csv"))], **read),
        load_windows([Item(train[0].path)], **read),
    )
    for a, b in zip(same, base_w, strict=True):
        np.testing.assert_array_equal(a.features, b.features)
    error = table.loc[str(tmp_path / "missing.csv"), "error"]
    assert f"source.columns names ['{sensors[1]}'], which the table does not have" in error
    assert "missing.csv" in error

    _, failures = load_windows(
        train[:1], source=SourceConfig(exclude_columns=("status",)), features=TABLE
    )
    assert (
        "source.exclude_columns names ['status'], which the table does not have" in (failures[0][1])
    )
    with pytest.raises(ConfigError, match=r"both name \['changepoint'\]"):
        SourceConfig(columns=("changepoint",), exclude_columns=("changepoint",))


def test_long_recording_for_a_clip_model_is_scored_in_clip_windows(clip_model, tmp_path):
    """Issue #14, item 1: a clip model turned a 17-hour WAV into one spectrogram (OOM)."""
    assert clip_model.clip_seconds_ == pytest.approx((2.0, 2.0))
    long = _tone(tmp_path / "shift recording.wav", seconds=10.0)
    as_trained = _tone(tmp_path / "clip.wav", seconds=2.5)  # within 1.5x: one window, whole
    table = score_items(clip_model, [Item(str(long)), Item(str(as_trained))])
    assert table["error"].isna().all(), table["error"]
    rows = table[table["path"] == str(long)]
    assert list(rows["start_s"]) == pytest.approx([0.0, 2.0, 4.0, 6.0, 8.0])
    assert list(rows["end_s"]) == pytest.approx([2.0, 4.0, 6.0, 8.0, 10.0])
    assert np.isfinite(rows["score"]).all()
    assert (table["path"] == str(as_trained)).sum() == 1
    hop = score_items(clip_model, [Item(str(long))], clip_hop_s=1.0)
    assert list(hop["start_s"]) == pytest.approx([float(s) for s in range(9)])
    reloaded = DiffusionAnomalyDetector.load(clip_model.save(tmp_path / "m"))
    assert reloaded.clip_seconds_ == clip_model.clip_seconds_
