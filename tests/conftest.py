"""Shared fixtures: the synthetic plant, the public datasets, an isolated MLflow store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).parent / "anomaly-diffusion")


def shared_data_root() -> Path:
    """``$ANOMALY_DIFFUSION_DATA`` or ``../shared/data`` beside the repository."""
    env = os.environ.get("ANOMALY_DIFFUSION_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def require_dataset(name: str) -> Path:
    """Path of a public dataset; skip when absent, except under CI=true where absence fails."""
    path = shared_data_root() / name
    if path.is_dir():
        return path
    _absent(
        f"public dataset {name!r} not found at {path}; set ANOMALY_DIFFUSION_DATA to the "
        "folder holding it (see ../shared/data/README.md)"
    )


def _absent(reason: str) -> None:
    """Skip, except under CI=true where a missing prerequisite is a failure."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a Chromium binary (Debian's ``chromium``, installed by ``make test``)."""
    import shutil

    found = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not found:
        _absent("chromium not found: apt-get install chromium (make test does it) or set CHROMIUM")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _absent("playwright (Python) not installed: pip install -e '.[dev]'")
    return found


@pytest.fixture(scope="session")
def plant(tmp_path_factory) -> dict[str, Path]:
    """The built-in synthetic plant (vibration, acoustic, camera), generated once per session."""
    from anomaly_diffusion.data.synthetic import make_plant

    return make_plant(tmp_path_factory.mktemp("plant"), seed=0)


@pytest.fixture
def mlflow_uri(tmp_path, monkeypatch) -> str:
    """A fresh SQLite MLflow store for one test (also set as MLFLOW_TRACKING_URI)."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture(scope="session")
def cwru() -> Path:
    return require_dataset("cwru_bearing")


@pytest.fixture
def train_cwru(cwru: Path, tmp_path: Path):
    """``train_cwru(*overrides)``: ``anomaly-diffusion train`` on the CWRU manifest (48 kHz,
    drive end) with the vibration preset and ``overrides`` in ``tmp_path``; returns (its
    stderr, metrics.json)."""
    import json

    def run(*overrides: str) -> tuple[str, dict]:
        cli = str(Path(sys.executable).parent / "anomaly-diffusion")
        args = [
            cli,
            "train",
            f"data.manifest={cwru / 'manifest.csv'}",
            "run_dir=run",
            "source.sample_rate=48000",
            "source.channel=DE",
            "tracking.enabled=false",
            *overrides,
        ]
        out = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=900)
        assert out.returncode == 0, out.stderr[-3000:]
        return out.stderr, json.loads((tmp_path / "run" / "metrics.json").read_text())

    return run


@pytest.fixture(scope="session")
def toycar() -> Path:
    return require_dataset("dcase2023_toycar")


@pytest.fixture(scope="session")
def magnetic_tile() -> Path:
    return require_dataset("magnetic_tile")


@pytest.fixture
def one_torch_thread():
    """Run a test on one torch thread (small tensors: threads only add overhead)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_cli(
    *args: str, cwd: Path, ok: tuple[int, ...] = (0,), timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run ``anomaly-diffusion *args`` in ``cwd``; assert its exit code is one of ``ok``."""
    out = subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert out.returncode in ok, f"exit {out.returncode}\n{out.stdout}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="session")
def cli():
    """:func:`run_cli`: the real CLI in a subprocess, exit code checked."""
    return run_cli


@pytest.fixture(scope="session")
def imagenet_weights() -> None:
    """The ImageNet MobileNetV2 weights (``make weights``): skip without them, except under
    CI=true where their absence fails."""
    from anomaly_diffusion.errors import ConfigError
    from anomaly_diffusion.features.backbone.weights import resolve_weights

    try:
        resolve_weights()
    except ConfigError as exc:
        _absent(str(exc))
