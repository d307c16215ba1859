"""Dataset discovery, manifests, input resolution, validation split and window extraction."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anomaly_diffusion.config import FeatureConfig, SourceConfig
from anomaly_diffusion.data.dataset import (
    Item,
    discover,
    load_items,
    read_manifest,
    resolve_inputs,
    split_validation,
)
from anomaly_diffusion.data.stream import load_windows
from anomaly_diffusion.data.synthetic import VIBRATION_RATE
from anomaly_diffusion.data.windows import extract_windows
from anomaly_diffusion.errors import DataError

STFT = FeatureConfig(kind="stft", window_seconds=0.32, hop_seconds=0.16, n_fft=256, hop_length=64)


def _npz(path: Path, n: int = 1000, rate: int = 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        np.savez(f, accel=np.zeros(n, np.float32), sample_rate=np.int64(rate))
    return path


# ---------------------------------------------------------------- discover


def test_discover_camera(plant):
    items = discover(plant["camera"])
    train = [it for it in items if it.split == "train"]
    test = [it for it in items if it.split == "test"]
    assert len(train) == 30 and len(test) == 20
    assert all(it.label == 0 and it.defect == "good" for it in train)
    assert all(it.asset == "camera" for it in items)
    defects = {d: sum(it.defect == d for it in test) for d in ("good", "scratch", "spot")}
    assert defects == {"good": 8, "scratch": 6, "spot": 6}
    for it in test:
        assert it.label == (0 if it.defect == "good" else 1)
        if it.label == 1:
            assert it.mask_path is not None
            assert Path(it.mask_path).is_file()
            assert Path(it.mask_path).name == Path(it.path).stem + "_mask.png"
            assert Path(it.mask_path).parent.name == it.defect
        else:
            assert it.mask_path is None
    assert all(it.mask_path is None for it in train)


def test_discover_vibration(plant):
    items = discover(plant["vibration"])
    assert sum(it.split == "train" for it in items) == 24
    test = [it for it in items if it.split == "test"]
    assert len(test) == 16
    assert sum(it.label == 1 and it.defect == "bearing_fault" for it in test) == 8
    assert all(it.path.endswith(".npz") for it in items)
    assert all(it.mask_path is None for it in items)
    assert all(it.start_s is None and it.end_s is None for it in items)


def test_discover_missing_folder(tmp_path):
    with pytest.raises(DataError, match=r"data\.root"):
        discover(tmp_path / "nope")
    (tmp_path / "empty" / "train" / "good").mkdir(parents=True)
    with pytest.raises(DataError, match="no supported files"):
        discover(tmp_path / "empty")


def test_load_items_needs_a_source():
    with pytest.raises(DataError, match=r"data\.root"):
        load_items(root=None, manifest=None)


# ---------------------------------------------------------------- manifests


def _manifest_dir(tmp_path: Path) -> Path:
    base = tmp_path / "site"
    _npz(base / "rec" / "a.npz")
    _npz(base / "rec" / "b.npz")
    return base


def test_read_manifest(tmp_path):
    base = _manifest_dir(tmp_path)
    manifest = base / "manifest.csv"
    pd.DataFrame(
        {
            "path": ["rec/a.npz", "rec/a.npz", "rec/b.npz"],
            "split": ["train", "train", "test"],
            "label": [0, 0, 1],
            "defect": ["good", "good", "crack"],
            "start_s": [0.0, 5.0, 1.5],
            "end_s": [5.0, 10.0, 4.0],
            "asset": ["m1", "m1", "m2"],
        }
    ).to_csv(manifest, index=False)
    items = read_manifest(manifest)
    assert len(items) == 3
    assert items[0].path == str((base / "rec" / "a.npz").resolve())
    assert Path(items[2].path).name == "b.npz"
    assert [it.split for it in items] == ["train", "train", "test"]
    assert [it.label for it in items] == [0, 0, 1]
    assert [it.defect for it in items] == ["good", "good", "crack"]
    assert [(it.start_s, it.end_s) for it in items] == [(0.0, 5.0), (5.0, 10.0), (1.5, 4.0)]
    assert [it.asset for it in items] == ["m1", "m1", "m2"]
    assert load_items(root=None, manifest=str(manifest)) == items


def test_read_manifest_only_paths(tmp_path):
    base = _manifest_dir(tmp_path)
    manifest = base / "m.csv"
    manifest.write_text("path\nrec/a.npz\n")
    (item,) = read_manifest(manifest)
    assert item.split == "test"
    assert item.label is None
    assert item.asset == "site"
    assert item.start_s is None and item.end_s is None


def test_read_manifest_blank_cells_use_defaults(tmp_path):
    base = _manifest_dir(tmp_path)
    manifest = base / "m.csv"
    manifest.write_text(
        "path,split,label,defect,asset\nrec/a.npz,,0,,\nrec/b.npz,train,1,crack,m1\n"
    )
    first, second = read_manifest(manifest)
    assert (second.split, second.defect, second.asset) == ("train", "crack", "m1")
    assert first.split == "test"
    assert first.defect == "good"
    assert first.asset == "site"


def test_manifest_path_escaping_the_folder(tmp_path):
    base = _manifest_dir(tmp_path)
    manifest = base / "m.csv"
    manifest.write_text("path,split\nrec/a.npz,train\n../../etc/passwd,train\n")
    good, bad = read_manifest(manifest)
    assert good.problem is None
    assert bad.path == "../../etc/passwd"
    assert "row 3" in bad.problem and "escapes the manifest folder" in bad.problem
    windows, failures = load_windows(
        [good, bad],
        source=SourceConfig(),
        features=FeatureConfig(kind="stft", n_fft=64, hop_length=32),
    )
    assert windows and [it for it, _ in failures] == [bad]
    assert "escapes" in failures[0][1]


def test_manifest_missing_file_row(tmp_path):
    base = _manifest_dir(tmp_path)
    manifest = base / "m.csv"
    manifest.write_text("path\nrec/a.npz\nrec/b.npz\nrec/missing.npz\n")
    *_, missing = read_manifest(manifest)
    assert "row 4: file 'rec/missing.npz' not found" in missing.problem


def test_manifest_problems(tmp_path):
    with pytest.raises(DataError, match=r"data\.manifest"):
        read_manifest(tmp_path / "none.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("file,split\na.npz,train\n")
    with pytest.raises(DataError, match="no 'path' column"):
        read_manifest(bad)


# ---------------------------------------------------------------- resolve_inputs


def test_resolve_inputs(tmp_path):
    base = _manifest_dir(tmp_path)
    _npz(base / "rec" / "deep" / "c.npz")
    (base / "rec" / "notes.txt").write_text("ignored")

    (single,) = resolve_inputs(str(base / "rec" / "a.npz"))
    assert single.path == str(base / "rec" / "a.npz")
    assert single.asset == "rec"
    assert single.label is None

    folder = resolve_inputs(str(base / "rec"))
    assert [Path(it.path).name for it in folder] == ["a.npz", "b.npz", "c.npz"]

    globbed = resolve_inputs(str(base / "rec" / "*.npz"))
    assert [Path(it.path).name for it in globbed] == ["a.npz", "b.npz"]
    recursive = resolve_inputs(str(base / "**" / "*.npz"))
    assert len(recursive) == 3

    manifest = base / "m.csv"
    manifest.write_text("path,label\nrec/b.npz,1\n")
    (from_manifest,) = resolve_inputs(str(manifest))
    assert Path(from_manifest.path).name == "b.npz"
    assert from_manifest.label == 1


def test_resolve_inputs_nothing_matches(tmp_path):
    with pytest.raises(DataError, match="no supported files"):
        resolve_inputs(str(tmp_path / "*.wav"))
    (tmp_path / "only.txt").write_text("x")
    with pytest.raises(DataError, match="input="):
        resolve_inputs(str(tmp_path))


# ---------------------------------------------------------------- split_validation


def test_split_validation_keeps_files_apart():
    items = [Item(f"f{i}.npz", "train", 0) for i in range(10)]
    items += [Item("f3.npz", "train", 0, start_s=1.0, end_s=2.0)]  # a second segment of f3
    train, val = split_validation(items, fraction=0.2, rng=np.random.default_rng(0))
    assert train and val
    assert len(train) + len(val) == len(items)
    assert not {it.path for it in train} & {it.path for it in val}
    assert len({it.path for it in val}) == 2
    # both segments of f3 end up on the same side
    sides = {("train" if it in train else "val") for it in items if it.path == "f3.npz"}
    assert len(sides) == 1


def test_split_validation_two_files_and_tiny_fraction():
    items = [Item("a.npz", "train", 0), Item("b.npz", "train", 0)]
    train, val = split_validation(items, fraction=0.01, rng=np.random.default_rng(1))
    assert len(train) == 1 and len(val) == 1
    assert train[0].path != val[0].path


def test_split_validation_single_file_splits_time():
    item = Item("long.wav", "train", 0, start_s=10.0, end_s=110.0)
    train, val = split_validation([item], fraction=0.2, rng=np.random.default_rng(0))
    assert len(train) == 1 and len(val) == 1
    assert (train[0].start_s, train[0].end_s) == (10.0, pytest.approx(90.0))
    assert (val[0].start_s, val[0].end_s) == (pytest.approx(90.0), 110.0)
    assert train[0].end_s <= val[0].start_s


def test_split_validation_single_file_without_end():
    with pytest.raises(DataError, match="end_s"):
        split_validation([Item("long.wav", "train", 0)], fraction=0.2, rng=np.random.default_rng())


def test_split_validation_single_file_keeps_all_segments():
    items = [Item("one.wav", "train", 0, start_s=s, end_s=s + 10.0) for s in (0.0, 10.0, 20.0)]
    train, val = split_validation(items, fraction=0.2, rng=np.random.default_rng(0))
    covered = sum(it.end_s - it.start_s for it in train + val)
    assert covered == pytest.approx(30.0)


def test_split_validation_overlapping_segments_never_straddle_the_cut():
    # manifest segments of one file overlapping by half: [0, 10), [5, 15), ... [25, 35)
    items = [Item("one.wav", "train", 0, start_s=s, end_s=s + 10.0) for s in range(0, 30, 5)]
    train, val = split_validation(items, fraction=0.34, rng=np.random.default_rng(0))
    assert [(it.start_s, it.end_s) for it in val] == [(20.0, 30.0), (25.0, 35.0)]
    assert max(it.end_s for it in train) == 20.0  # [15, 25) clipped to [15, 20)
    assert len(train) == 4
    for a in train:
        for b in val:
            assert a.end_s <= b.start_s


# ---------------------------------------------------------------- windows


def _vibration_item(plant) -> Item:
    items = discover(plant["vibration"])
    return next(it for it in items if it.split == "test" and it.label == 1)


def test_extract_stft_windows(plant):
    item = _vibration_item(plant)
    windows = extract_windows(
        item, source=SourceConfig(), features=STFT, expected_rate=VIBRATION_RATE
    )
    # 1.0 s at 12 800 Hz: 4096-sample windows every 2048 samples -> 5 windows
    assert len(windows) == 5
    for i, w in enumerate(windows):
        assert w.features.shape == (1, 129, 1 + 4096 // 64)
        assert w.features.dtype == np.float32
        assert w.start_s == pytest.approx(0.16 * i)
        assert w.end_s == pytest.approx(0.16 * i + 0.32)
        assert len(w.freqs_hz) == w.features.shape[1]
        assert w.freqs_hz[-1] == pytest.approx(VIBRATION_RATE / 2)
        assert w.frame_s == pytest.approx(64 / VIBRATION_RATE)
        assert w.sample_rate == VIBRATION_RATE
        assert w.label == 1
        assert w.item is item
        assert w.mask is None


def test_extract_windows_of_a_segment(plant):
    item = _vibration_item(plant)
    seg = Item(item.path, "test", 1, start_s=0.5, end_s=1.0)
    windows = extract_windows(seg, source=SourceConfig(), features=STFT)
    # 0.5 s = 6400 samples -> windows at 0, 2048 (4096 + 2048 = 6144 <= 6400)
    assert [round(w.start_s, 6) for w in windows] == [0.5, 0.66]


def test_extract_windows_rate_mismatch_and_resample(plant):
    item = _vibration_item(plant)
    with pytest.raises(DataError, match=r"source\.resample=true") as info:
        extract_windows(item, source=SourceConfig(), features=STFT, expected_rate=16_000)
    assert "12800 Hz" in str(info.value)
    windows = extract_windows(
        item, source=SourceConfig(resample=True), features=STFT, expected_rate=16_000
    )
    # 16 000 samples after resampling: 5120-sample windows every 2560 -> 5 windows
    assert len(windows) == 5
    assert all(w.sample_rate == 16_000 for w in windows)
    assert windows[0].features.shape == (1, 129, 1 + 5120 // 64)
    assert windows[0].freqs_hz[-1] == pytest.approx(8000.0)
    assert windows[-1].end_s == pytest.approx(0.96)


def test_extract_windows_too_short(plant):
    item = _vibration_item(plant)
    cfg = FeatureConfig(kind="stft", window_seconds=2.0, n_fft=256, hop_length=64)
    with pytest.raises(DataError, match="shorter than one window"):
        extract_windows(item, source=SourceConfig(), features=cfg)


def test_extract_log_mel_window_from_wav(plant):
    item = discover(plant["acoustic"])[0]
    cfg = FeatureConfig(kind="log_mel", n_fft=512, hop_length=256, n_mels=32)
    (w,) = extract_windows(item, source=SourceConfig(), features=cfg, expected_rate=16_000)
    assert w.features.shape == (1, 32, 1 + 32_000 // 256)
    assert len(w.freqs_hz) == 32
    assert (w.start_s, w.end_s) == (0.0, pytest.approx(2.0))


def test_extract_camera_windows(plant):
    items = discover(plant["camera"])
    bad = next(it for it in items if it.label == 1)
    good = next(it for it in items if it.split == "test" and it.label == 0)
    (w,) = extract_windows(bad, source=SourceConfig(), features=FeatureConfig(kind="frame"))
    assert w.features.shape == (1, 64, 64)
    assert w.mask is not None
    assert w.mask.dtype == bool and w.mask.shape == (64, 64)
    assert 0 < w.mask.sum() < 64 * 64
    assert tuple(w.source_size) == (64, 64)
    assert w.label == 1
    assert w.start_s is None and w.freqs_hz is None
    (g,) = extract_windows(good, source=SourceConfig(), features=FeatureConfig(kind="frame"))
    assert g.mask is None
    cfg = FeatureConfig(kind="frame", image_size=(32, 48))
    (small,) = extract_windows(bad, source=SourceConfig(), features=cfg)
    assert small.features.shape == (1, 32, 48)
    assert small.mask.shape == (32, 48)
    assert tuple(small.source_size) == (64, 64)


def test_signal_file_with_frame_features(plant):
    item = _vibration_item(plant)
    with pytest.raises(DataError, match=r"features\.kind=frame"):
        extract_windows(item, source=SourceConfig(), features=FeatureConfig(kind="frame"))


def test_load_windows_collects_failures(plant, tmp_path):
    good = [it for it in discover(plant["vibration"]) if it.split == "train"][:2]
    corrupt = tmp_path / "corrupt.npz"
    shutil.copy(good[0].path, corrupt)
    corrupt.write_bytes(corrupt.read_bytes()[:50])
    bad = Item(str(corrupt), "test")
    windows, failures = load_windows(
        [good[0], bad, good[1]], source=SourceConfig(), features=STFT, expected_rate=VIBRATION_RATE
    )
    assert len(windows) == 10
    assert len(failures) == 1
    failed_item, message = failures[0]
    assert failed_item is bad
    assert "corrupt.npz" in message
    assert {w.item.path for w in windows} == {good[0].path, good[1].path}


def _masked_part(folder: Path, raw: np.ndarray) -> Item:
    from PIL import Image

    image, mask = folder / f"part{raw.shape[0]}.png", folder / f"part{raw.shape[0]}_mask.png"
    Image.fromarray(np.full(raw.shape, 128, dtype=np.uint8)).save(image)
    Image.fromarray(raw).save(mask)
    return Item(str(image), "test", 1, "spot", mask_path=str(mask))


def test_masks_are_resized_nearest_neighbour(tmp_path):
    cfg = FeatureConfig(kind="frame", image_size=(8, 8))
    small = np.zeros((4, 4), dtype=np.uint8)
    small[0, 0] = 255  # one defect pixel
    small[3, :] = 255  # a one-pixel line along the bottom
    (w,) = extract_windows(_masked_part(tmp_path, small), source=SourceConfig(), features=cfg)
    # upsampled: each source pixel becomes a 2 x 2 block, no blur, no threshold effects
    np.testing.assert_array_equal(w.mask, np.kron(small > 0, np.ones((2, 2), dtype=bool)))
    large = np.zeros((16, 16), dtype=np.uint8)
    large[1, :] = 255  # sampled: output row i takes source row 2 i + 1
    large[4, :] = 255  # never sampled
    (w,) = extract_windows(_masked_part(tmp_path, large), source=SourceConfig(), features=cfg)
    expected = np.zeros((8, 8), dtype=bool)
    expected[0] = True
    np.testing.assert_array_equal(w.mask, expected)


def test_table_at_another_interval_is_refused_without_a_resample_hint(tmp_path):
    """Tables are never resampled, so the fix is to export at the model's interval (not the
    audio advice ``resample=true``, which would change nothing)."""
    path = tmp_path / "line 3.csv"
    t = np.arange(200) * 0.5
    pd.DataFrame({"time_s": t, "temp": np.sin(t)}).to_csv(path, index=False)
    sensor = FeatureConfig(kind="sensor_window", window_seconds=10.0, hop_seconds=5.0)
    source = SourceConfig(timestamp_column="time_s", resample=True)
    with pytest.raises(
        DataError,
        match=r"line 3\.csv: rows every 0\.5 s \(2 Hz\), the model "
        r"expects 1 Hz; export the table at the model's interval",
    ):
        extract_windows(Item(str(path)), source=source, features=sensor, expected_rate=1.0)
