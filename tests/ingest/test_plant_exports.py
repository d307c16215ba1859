"""Issue #14, item 2: what plants actually export. Each file is either read correctly or refused
with a DataError naming it; never a traceback, never a silently wrong recording."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from PIL import Image

from anomaly_diffusion.config import SourceConfig
from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest import read_recording

RATE = 8000
TONE = 0.5 * np.sin(2 * np.pi * 440 * np.arange(RATE) / RATE)


@pytest.mark.parametrize(
    ("subtype", "tolerance"),
    [
        ("PCM_U8", 1 / 64),
        ("PCM_16", 1e-4),
        ("PCM_24", 1e-6),
        ("PCM_32", 1e-6),
        ("FLOAT", 1e-7),
        ("DOUBLE", 1e-7),
    ],
)
def test_audio_bit_depths(tmp_path, subtype, tolerance):
    path = tmp_path / f"Pumpe Überdruck {subtype}.WAV"  # upper case, space, non-ASCII
    sf.write(path, TONE, RATE, subtype=subtype)
    rec = read_recording(path, source=SourceConfig())
    assert rec.data.shape == (1, RATE) and rec.rate == RATE
    np.testing.assert_allclose(rec.data[0], TONE, atol=tolerance)


def test_audio_four_channels_mixed_or_kept(tmp_path):
    path = tmp_path / "array.flac"
    sf.write(path, np.stack([TONE * k / 4 for k in range(1, 5)], axis=1), RATE)
    mixed = read_recording(path, source=SourceConfig())
    np.testing.assert_allclose(mixed.data[0], TONE * 2.5 / 4, atol=1e-3)
    kept = read_recording(path, source=SourceConfig(mono=False))
    assert kept.data.shape == (4, RATE)
    third = read_recording(path, source=SourceConfig(channel="2"))
    np.testing.assert_allclose(third.data[0], TONE * 3 / 4, atol=1e-3)


def test_images_with_alpha_and_16_bits(tmp_path):
    gray = np.tile(np.linspace(0, 1, 32), (16, 1))
    rgba = np.zeros((16, 32, 4), np.uint8)
    rgba[..., :3] = (gray * 255).astype(np.uint8)[..., None]
    rgba[..., 3] = 128  # half transparent: the alpha is dropped, the gray kept
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    rec = read_recording(tmp_path / "alpha.png", source=SourceConfig())
    np.testing.assert_allclose(rec.data[0], gray, atol=1 / 255)
    wide = (gray * 65535).astype(np.uint16)
    Image.fromarray(wide).save(tmp_path / "camera16.png")
    Image.fromarray(wide).save(tmp_path / "CAMERA16.TIF")
    for name in ("camera16.png", "CAMERA16.TIF"):
        rec = read_recording(tmp_path / name, source=SourceConfig())
        assert rec.data.shape == (1, 16, 32)
        np.testing.assert_allclose(rec.data[0], gray, atol=1e-4)  # scaled, not clipped at 255
        rgb = read_recording(tmp_path / name, source=SourceConfig(grayscale=False))
        assert rgb.data.shape == (3, 16, 32)
        np.testing.assert_allclose(rgb.data[1], gray, atol=1e-4)


def _table(rows: int = 20) -> pd.DataFrame:
    t = np.arange(rows) * 0.5
    return pd.DataFrame({"timestamp": t, "temp": 20 + np.sin(t), "flow": 1 + 0.1 * t})


def test_csv_with_bom_and_windows_line_endings(tmp_path):
    frame = _table()
    path = tmp_path / "historian export.CSV"
    path.write_bytes(("\ufeff" + frame.to_csv(index=False).replace("\n", "\r\n")).encode("utf-8"))
    rec = read_recording(path, source=SourceConfig())
    assert rec.channels == ("temp", "flow")
    np.testing.assert_allclose(rec.data[0], frame["temp"], rtol=1e-6)
    assert rec.rate == pytest.approx(2.0)


def test_blank_column_and_one_row_tables_are_refused_by_name(tmp_path):
    frame = _table()
    frame["spare"] = np.nan
    blank = tmp_path / "blank.csv"
    frame.to_csv(blank, index=False)
    with pytest.raises(DataError, match=r"blank\.csv.*spare"):
        read_recording(blank, source=SourceConfig())
    # ... unless that column is declared not a sensor
    rec = read_recording(blank, source=SourceConfig(exclude_columns=("spare",)))
    assert rec.channels == ("temp", "flow")
    one = tmp_path / "one_row.csv"
    _table(1).to_csv(one, index=False)
    with pytest.raises(DataError, match=r"one_row\.csv: only one data row"):
        read_recording(one, source=SourceConfig())
