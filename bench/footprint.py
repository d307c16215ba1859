"""Saved size and job memory of a trained detector, measured as a user meets them: the model
folder on disk, and the peak RSS of separate ``anomaly-diffusion score`` and ``train`` processes
(each reports its own ``VmHWM`` from ``/proc/self/status`` when it exits; ``ru_maxrss`` would
not do: Linux carries it over ``fork`` + ``exec``, so a child of the multi-GB bench process
would report the bench's peak)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

logger = logging.getLogger("bench")
TRAIN_MINUTES = 0.5
"""Training budget of the memory run: the peak comes after training (tuning, calibration,
evaluation, figures), which a shorter budget does not change."""

# runs the CLI's own entry point, then writes this process's peak RSS (MB) to argv[1]
_CHILD = (
    "import atexit, json, sys\n"
    "out = sys.argv.pop(1)\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            return int(line.split()[1]) / 1024\n"
    "atexit.register(lambda: open(out, 'w').write(json.dumps(peak())))\n"
    "from anomaly_diffusion.cli.main import main\n"
    "sys.argv[0] = 'anomaly-diffusion'\n"
    "sys.exit(main())\n"
)


def folder_mb(path: Path) -> float:
    """Total size of the files under ``path`` in MB (10^6 bytes)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def _peak_rss(args: list[str], cwd: str) -> tuple[float | None, int]:
    """Run ``anomaly-diffusion *args`` in a fresh process: (its peak RSS in MB, exit code)."""
    rss_file = Path(cwd) / "rss.json"
    rss_file.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(rss_file), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        logger.warning(
            "anomaly-diffusion %s: exit %d: %s", args[0], done.returncode, done.stderr[-500:]
        )
    rss = json.loads(rss_file.read_text()) if rss_file.exists() else None
    return rss, done.returncode


def measure(det, root: Path) -> dict:
    """``{"model_mb", "score_rss_mb", "train_rss_mb", ...}``: ``det`` saved to a temporary
    folder and scored on ``root/test`` by ``anomaly-diffusion score`` (no map PNGs), and a
    ``train`` job on ``root`` with the preset as shipped but ``training.max_minutes`` =
    :data:`TRAIN_MINUTES`; throw-away MLflow stores."""
    root = Path(root).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        model = det.save(Path(tmp) / "model")
        tracking = f"tracking.uri=sqlite:///{Path(tmp) / 'mlflow.db'}"
        score_rss, score_exit = _peak_rss(
            [
                "score",
                f"model={model}",
                f"input={root / 'test'}",
                f"output={Path(tmp) / 'scores.parquet'}",
                "maps=none",
                tracking,
            ],
            tmp,
        )
        train_rss, train_exit = _peak_rss(
            [
                "train",
                f"data.root={root}",
                f"run_dir={Path(tmp) / 'run'}",
                f"training.max_minutes={TRAIN_MINUTES}",
                tracking,
            ],
            tmp,
        )
        return {
            "model_mb": folder_mb(model),
            "score_rss_mb": score_rss if score_exit == 0 else None,
            "train_rss_mb": train_rss if train_exit == 0 else None,
        }
