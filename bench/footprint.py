"""Saved size and scoring-job memory of a trained detector, measured as a user meets them: the
model folder on disk, and the peak RSS of a separate ``anomaly-diffusion score`` process over a
folder of files (the process reports its own ``ru_maxrss`` when it exits)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

# runs the CLI's own entry point, then writes this process's peak RSS (MB) to argv[1]
_CHILD = (
    "import atexit, json, resource, sys\n"
    "out = sys.argv.pop(1)\n"
    "atexit.register(lambda: open(out, 'w').write(json.dumps("
    "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))\n"
    "from anomaly_diffusion.cli.main import main\n"
    "sys.argv[0] = 'anomaly-diffusion'\n"
    "sys.exit(main())\n"
)


def folder_mb(path: Path) -> float:
    """Total size of the files under ``path`` in MB (10^6 bytes)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def measure(det, inputs: Path) -> dict:
    """``{"model_mb", "score_rss_mb", "score_exit"}``: ``det`` saved to a temporary folder, then
    scored on ``inputs`` by ``anomaly-diffusion score`` (no map PNGs, a throw-away MLflow
    store)."""
    with tempfile.TemporaryDirectory() as tmp:
        model = det.save(Path(tmp) / "model")
        rss_file = Path(tmp) / "rss.json"
        cmd = [
            sys.executable,
            "-c",
            _CHILD,
            str(rss_file),
            "score",
            f"model={model}",
            f"input={inputs}",
            f"output={Path(tmp) / 'scores.parquet'}",
            "maps=none",
            f"tracking.uri=sqlite:///{Path(tmp) / 'mlflow.db'}",
        ]
        done = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
        rss = json.loads(rss_file.read_text()) if rss_file.exists() else None
        return {"model_mb": folder_mb(model), "score_rss_mb": rss, "score_exit": done.returncode}
