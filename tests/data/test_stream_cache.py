"""Block-wise reading of long recordings and the on-disk feature cache."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from anomaly_diffusion.config import FeatureConfig, SourceConfig
from anomaly_diffusion.data import stream
from anomaly_diffusion.data.cache import FeatureCache
from anomaly_diffusion.data.dataset import Item, discover
from anomaly_diffusion.data.stream import chunked, item_windows, iter_windows, load_windows
from anomaly_diffusion.data.windows import extract_windows
from anomaly_diffusion.errors import DataError

MEL = FeatureConfig(
    kind="log_mel", window_seconds=0.5, hop_seconds=0.25, n_fft=256, hop_length=128, n_mels=16
)


def _wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.3 * np.sin(2 * np.pi * (200 + 50 * t) * t)  # a chirp: every window differs
    sf.write(path, tone.astype(np.float32), rate, subtype="FLOAT")
    return path


def test_streamed_windows_equal_a_whole_read(tmp_path):
    item = Item(str(_wav(tmp_path / "long.wav", 10.0)))
    whole = extract_windows(item, source=SourceConfig(), features=MEL)
    # blocks of 1.3 s: many reads, windows must not straddle them
    streamed = list(item_windows(item, source=SourceConfig(), features=MEL, block_samples=10_400))
    assert len(streamed) == len(whole) == 39
    for a, b in zip(whole, streamed, strict=True):
        assert a.start_s == b.start_s and a.end_s == b.end_s
        assert b.item is item
        np.testing.assert_allclose(a.features, b.features, atol=1e-4)


def test_npy_streams_in_blocks_at_the_given_rate(tmp_path, monkeypatch):
    """A ``.npy`` vector (no rate in the file) is read block by block at ``source.sample_rate``
    and gives the windows of a whole read; without a rate it is one clear error."""
    rate = 8000
    t = np.arange(10 * rate) / rate
    path = tmp_path / "long accel.npy"
    np.save(path, (0.3 * np.sin(2 * np.pi * (200 + 50 * t) * t)).astype(np.float32))
    stft = FeatureConfig(
        kind="stft", window_seconds=0.5, hop_seconds=0.25, n_fft=256, hop_length=128
    )
    source = SourceConfig(sample_rate=rate)
    item = Item(str(path))
    whole = extract_windows(item, source=source, features=stft)
    reads: list[tuple[float, float]] = []
    real_read = stream.read_recording

    def spy(path, **kw):
        reads.append((kw["start_s"], kw["end_s"]))
        return real_read(path, **kw)

    monkeypatch.setattr(stream, "read_recording", spy)
    streamed = list(item_windows(item, source=source, features=stft, block_samples=10_400))
    assert len(reads) >= 7 and all(b - a <= 10_400 / rate + 1e-9 for a, b in reads)
    assert len(streamed) == len(whole) == 39
    for a, b in zip(whole, streamed, strict=True):
        assert a.start_s == b.start_s and a.end_s == b.end_s
        np.testing.assert_allclose(a.features, b.features, atol=1e-4)
    with pytest.raises(DataError, match=r"long accel\.npy: no sample rate.*sample_rate=<Hz>"):
        list(item_windows(item, source=SourceConfig(), features=stft, block_samples=10_400))


def test_other_modality_is_refused_before_reading(tmp_path):
    """A camera model refuses a WAV (and a signal model a PNG) from its type alone: the file's
    bytes (here not even valid) are never read, so a 2 GB recording costs nothing."""
    wav, png = tmp_path / "big.WAV", tmp_path / "frame.png"
    wav.write_bytes(b"not audio")
    png.write_bytes(b"not an image")
    frame = FeatureConfig(kind="frame", image_size=(32, 32))
    with pytest.raises(DataError, match=r"big\.WAV: a signal file, but the model expects images"):
        list(item_windows(Item(str(wav)), source=SourceConfig(), features=frame))
    with pytest.raises(DataError, match=r"frame\.png: an image file, but the model expects sound"):
        list(item_windows(Item(str(png)), source=SourceConfig(), features=MEL))


def test_streamed_segment_keeps_file_times(tmp_path):
    item = Item(str(_wav(tmp_path / "long.wav", 10.0)), start_s=2.0, end_s=6.0)
    streamed = list(item_windows(item, source=SourceConfig(), features=MEL, block_samples=8000))
    assert streamed[0].start_s == 2.0
    assert streamed[-1].end_s <= 6.0
    assert len(streamed) == 15


def test_iter_windows_is_lazy_and_reports_failures(tmp_path):
    good = Item(str(_wav(tmp_path / "a.wav", 2.0)))
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    failures: list = []
    stream = iter_windows(
        [good, Item(str(text)), good], source=SourceConfig(), features=MEL, failures=failures
    )
    first = next(stream)
    assert first.item is good and failures == []
    rest = list(stream)
    assert len(rest) == 2 * 7 - 1
    assert len(failures) == 1 and "notes.wav" in failures[0][1]
    assert "not a readable audio file" in failures[0][1]


def test_chunked():
    assert [len(c) for c in chunked(iter(range(10)), 4)] == [4, 4, 2]
    assert list(chunked(iter([]), 3)) == []


def test_feature_cache_hits_and_invalidates(tmp_path, plant):
    items = [it for it in discover(plant["camera"]) if it.split == "test"][:6]
    features = FeatureConfig(kind="frame", image_size=(32, 32))
    cache = FeatureCache(tmp_path / "cache")
    first, _ = load_windows(items, source=SourceConfig(), features=features, cache=cache)
    assert (cache.hits, cache.misses) == (0, 6)
    again, _ = load_windows(items, source=SourceConfig(), features=features, cache=cache)
    assert (cache.hits, cache.misses) == (6, 6)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.features, b.features)
        assert a.item is b.item and a.label == b.label and a.source_size == b.source_size
        assert (a.mask is None) == (b.mask is None)
        if a.mask is not None:
            np.testing.assert_array_equal(a.mask, b.mask)
    # another feature setting is another entry
    other = FeatureConfig(kind="frame")
    load_windows(items[:1], source=SourceConfig(), features=other, cache=cache)
    assert cache.misses == 7
    # a modified file is recomputed
    target = Path(items[0].path)
    later = time.time() + 5
    os.utime(target, (later, later))
    load_windows(items[:1], source=SourceConfig(), features=features, cache=cache)
    assert cache.misses == 8


def test_feature_cache_of_signal_windows(tmp_path, plant):
    items = [it for it in discover(plant["vibration"]) if it.split == "train"][:2]
    features = FeatureConfig(kind="stft", window_seconds=0.32, n_fft=256, hop_length=64)
    cache = FeatureCache(tmp_path / "cache")
    first, _ = load_windows(items, source=SourceConfig(), features=features, cache=cache)
    again, _ = load_windows(items, source=SourceConfig(), features=features, cache=cache)
    assert cache.hits == 2
    for a, b in zip(first, again, strict=True):
        assert (a.start_s, a.end_s, a.frame_s, a.sample_rate) == (
            b.start_s,
            b.end_s,
            b.frame_s,
            b.sample_rate,
        )
        np.testing.assert_array_equal(a.freqs_hz, b.freqs_hz)
