"""``anomaly-diffusion <command> [Hydra overrides]``: the command-line entry point.

Exit codes: 0 success; 2 bad argument or input (one line on stderr, no traceback); 3 a batch job
finished but some inputs failed (see the ``error`` column).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from anomaly_diffusion.errors import AnomalyDiffusionError
from anomaly_diffusion.heap import configure_allocator

COMMANDS: dict[str, str] = {
    "train": "fit a model on normal data, calibrate, evaluate, save and log it",
    "evaluate": "metrics of a saved model on a labelled dataset (writes run_dir/metrics.json)",
    "score": "score files/folders/globs/manifests to a Parquet table with maps",
    "report": "write a self-contained HTML report from a score table",
    "recalibrate": "refit a model's threshold for other scoring settings on held-out normals",
    "promote": "point a registry alias (champion) at a model version, metrics compared",
    "demo": "synthetic plant end to end: train per modality, score, report",
}
USAGE = """usage: anomaly-diffusion <command> [key=value ...]   (Hydra overrides)

commands:
{commands}

examples:
  anomaly-diffusion train data.root=DIR run_dir=OUT [preset=camera] [training.max_minutes=5]
  anomaly-diffusion evaluate model=OUT/model data.root=DIR run_dir=EVAL
  anomaly-diffusion score model=models:/anomaly_diffusion_camera@champion input=DIR output=s.parquet
  anomaly-diffusion report input=s.parquet output=report.html
  anomaly-diffusion recalibrate model=OUT/model scoring.t_start=50 output=OUT2/model
  anomaly-diffusion promote model=anomaly_diffusion_camera version=2 alias=champion
  anomaly-diffusion demo

'anomaly-diffusion <command> --help' shows that command's configuration and config groups.
"""


def _setup_runtime() -> None:
    """Threads: ``OMP_NUM_THREADS`` when set, else the CPUs this process may use (affinity and
    container quota, :func:`~anomaly_diffusion.cpus.available_cpus`). ``OMP_WAIT_POLICY`` is left to
    the user: measured on 2 cores, PASSIVE halves a lone job's training speed (12 vs 26 steps/s)
    and only helps when two jobs share the cores (7.6 vs 5.3 steps/s each); there,
    ``OMP_NUM_THREADS=1`` per job is better still. Third-party logs are quieted."""
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "mlflow", "urllib3", "numba", "matplotlib", "PIL", "py4j"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import torch

    threads = os.environ.get("OMP_NUM_THREADS")
    from anomaly_diffusion.cpus import available_cpus

    torch.set_num_threads(int(threads) if threads and threads.isdigit() else available_cpus())


def main(argv: list[str] | None = None) -> int:
    """Parse the command, compose the config, run the job, map errors to exit codes."""
    configure_allocator()  # long batch loops: reuse freed memory, never let it pile up
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE.format(commands="\n".join(f"  {k:<11} {v}" for k, v in COMMANDS.items())))
        return 0 if argv else 2
    command, overrides = argv[0], argv[1:]
    if command not in COMMANDS:
        print(
            f"anomaly-diffusion: unknown command {command!r}; use one of "
            f"{', '.join(COMMANDS)} (see --help)",
            file=sys.stderr,
        )
        return 2
    try:
        if any(o in ("-h", "--help") for o in overrides):
            from anomaly_diffusion.cli.help import command_help

            print(command_help(command, [o for o in overrides if o not in ("-h", "--help")]))
            return 0
        _setup_runtime()
        return _runner(command)(overrides)
    except AnomalyDiffusionError as exc:
        print(f"anomaly-diffusion {command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"anomaly-diffusion {command}: interrupted", file=sys.stderr)
        return 130


def _runner(command: str) -> Callable[[list[str]], int]:
    from anomaly_diffusion.cli import commands

    return getattr(commands, f"cmd_{command}")


if __name__ == "__main__":
    sys.exit(main())
