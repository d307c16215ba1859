"""The CLI entry point: help texts and one-line errors with exit code 2 (no traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).parent / "anomaly-diffusion")


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_help_lists_every_command(tmp_path):
    out = run_cli("--help", cwd=tmp_path)
    assert out.returncode == 0
    for command in ("train", "evaluate", "score", "report", "demo"):
        assert f"  {command}" in out.stdout


def test_command_help_shows_config_and_groups(tmp_path):
    out = run_cli("train", "--help", cwd=tmp_path)
    assert out.returncode == 0
    assert "scoring:" in out.stdout and "t_start: 100" in out.stdout
    assert "config groups:" in out.stdout and "preset" in out.stdout
    assert "camera" in out.stdout and "vibration" in out.stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        (["train", "data.root=/nonexistent"], "data.root=/nonexistent"),
        (["train", "data.root=/nonexistent", "preset=teapot"], "preset=teapot"),
        (
            ["train", "data.root=/nonexistent", "preset=camera", "scoring.t_start=0"],
            "scoring.t_start=0",
        ),
        (["score", "input=x"], "model= is required"),
        (
            ["score", "model=/no/such/model", "input=x", "tracking.enabled=false"],
            "model=/no/such/model",
        ),
        (["report", "input=/no/such.parquet", "tracking.enabled=false"], "/no/such.parquet"),
        (["frobnicate"], "unknown command"),
    ],
)
def test_bad_arguments_print_one_line_and_exit_2(tmp_path, args, needle):
    out = run_cli(*args, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert needle in lines[0]
    assert "Traceback" not in out.stderr


def test_unreachable_tracking_store_fails_before_work(tmp_path, plant):
    out = run_cli(
        "train",
        f"data.root={plant['camera']}",
        f"run_dir={tmp_path / 'run'}",
        "tracking.uri=http://127.0.0.1:9",
        cwd=tmp_path,
    )
    assert out.returncode == 2
    assert "tracking store unreachable" in out.stderr
    assert "tracking.uri=http://127.0.0.1:9" in out.stderr
    assert not (tmp_path / "run" / "model").exists()
