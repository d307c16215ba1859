"""Operating conditions: where values come from and how they are encoded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly_diffusion.data.conditions import (
    ConditionEncoder,
    attach_condition_table,
    condition_values,
    filename_attributes,
    read_condition_table,
)
from anomaly_diffusion.data.dataset import Item, load_items, read_manifest
from anomaly_diffusion.errors import DataError

DCASE = "section_00_source_train_normal_0001_car_B1_spd_31V_mic_1.wav"


def test_filename_attributes_read_the_token_after_each_name():
    assert filename_attributes(f"/x/{DCASE}", ["car", "spd", "mic"]) == {
        "car": "B1",
        "spd": "31V",
        "mic": "1",
    }
    assert filename_attributes("/x/pump_7.wav", ["car"]) == {}
    assert filename_attributes("/x/ends_with_car.wav", ["car"]) == {}  # no value after it


def test_dcase_attribute_table_pairs_are_expanded(tmp_path):
    table = tmp_path / "attributes_00.csv"
    table.write_text(
        "file_name,d1p,d1v,d2p,d2v\n"
        "ToyCar/train/a.wav,car,B1,spd,31V\n"
        "ToyCar/train/b.wav,car,C2,spd,40V\n"
    )
    read = read_condition_table(table)
    assert read == {"a.wav": {"car": "B1", "spd": "31V"}, "b.wav": {"car": "C2", "spd": "40V"}}
    items = attach_condition_table(
        [Item("/d/a.wav"), Item("/d/b.wav", conditions=(("car", "own"),)), Item("/d/c.wav")],
        read,
    )
    assert dict(items[0].conditions) == {"car": "B1", "spd": "31V"}
    assert dict(items[1].conditions)["car"] == "own"  # the item's own value wins
    assert items[2].conditions == ()


def test_condition_table_errors_name_the_file_and_fix(tmp_path):
    with pytest.raises(DataError, match=r"data.condition_table=.*not found"):
        read_condition_table(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,speed\na.wav,3\n")
    with pytest.raises(DataError, match="no 'file_name' or 'path' column"):
        read_condition_table(bad)


def test_manifest_extra_columns_become_conditions(tmp_path):
    (tmp_path / "a.npy").write_bytes(b"")
    pd.DataFrame(
        [{"path": "a.npy", "split": "train", "label": 0, "speed": 1500, "load": "high"}]
    ).to_csv(tmp_path / "m.csv", index=False)
    (item,) = read_manifest(tmp_path / "m.csv")
    assert dict(item.conditions) == {"load": "high", "speed": "1500"}
    table = tmp_path / "side.csv"
    pd.DataFrame([{"path": "a.npy", "mic": 2, "load": "low"}]).to_csv(table, index=False)
    (item,) = load_items(root=None, manifest=str(tmp_path / "m.csv"), condition_table=str(table))
    assert dict(item.conditions) == {"load": "high", "mic": "2", "speed": "1500"}


def test_encoder_categorical_numeric_unknown_and_missing():
    items = [
        Item(f"/d/x_car_{car}.wav", conditions=(("speed", str(speed)),))
        for car, speed in [("A", 10), ("B", 20), ("A", 30)]
    ]
    enc = ConditionEncoder.fit(items, ["car", "speed"])
    assert enc.categorical == {"car": ["A", "B"]} and enc.vocab_sizes == (3,)
    mean, std = enc.numeric["speed"]
    assert mean == pytest.approx(20.0) and std == pytest.approx(np.std([10, 20, 30]))
    new = [Item("/d/y_car_B.wav", conditions=(("speed", "40"),)), Item("/d/z_car_Q.wav")]
    cat, num = enc.encode(new)
    assert cat.tolist() == [[2], [0]]  # B -> 2; unseen Q -> 0 (unknown = unconditional)
    assert num.shape == (2, 2) and enc.numeric_width == 2  # value, known flag
    assert num[0].tolist() == pytest.approx([(40 - mean) / std, 1.0])
    # issue #15: a missing value was encoded as 0, the training mean; now it is "unknown",
    # (0, 0), what condition dropout trains, and differs from a value at the mean
    assert num[1].tolist() == [0.0, 0.0]
    at_mean = enc.encode([Item("/d/m_car_A.wav", conditions=(("speed", "20"),))])[1]
    assert at_mean[0].tolist() == pytest.approx([0.0, 1.0])
    assert ConditionEncoder.from_dict(enc.to_dict()) == enc
    assert condition_values(new[0], ["car", "speed"]) == {"car": "B", "speed": "40"}
    # a model saved before the flag keeps its one numeric input per condition
    old = ConditionEncoder.from_dict({"categorical": enc.categorical, "numeric": enc.numeric})
    assert not old.presence and old.numeric_width == 1 and old.encode(new)[1].shape == (2, 1)


def test_missing_numeric_condition_is_the_unconditional_fallback_in_the_network():
    import torch

    from anomaly_diffusion.diffusion.unet import UNet, UNetConfig

    items = [Item(f"/d/x_{i}.wav", conditions=(("speed", str(v)),)) for i, v in enumerate([10, 30])]
    enc = ConditionEncoder.fit(items, ["speed"])
    torch.manual_seed(0)
    net = UNet(UNetConfig(base_channels=8, channel_mults=(1,), groups=4, cond_numeric=2))
    torch.nn.init.normal_(net.cond_numeric.weight)
    both = [Item("/d/q.wav"), Item("/d/r.wav", conditions=(("speed", "20"),))]  # missing, mean
    cat, num = enc.encode(both)
    emb = net._embed_conditions(torch.from_numpy(cat), torch.from_numpy(num))
    assert torch.count_nonzero(emb[0]) == 0  # as dropped conditions: the unconditional model
    assert torch.count_nonzero(emb[1]) > 0  # a known value at the mean is a condition


def test_encoder_refuses_a_condition_no_file_has():
    with pytest.raises(DataError, match="no training file has a value for 'load'"):
        ConditionEncoder.fit([Item("/d/a.wav")], ["load"])
