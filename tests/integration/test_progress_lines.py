"""Issue #14, item 6: progress in a log file is a few plain lines, not carriage returns."""

from __future__ import annotations

import io
import subprocess
import sys

from anomaly_diffusion.progress import LineProgress, clock_text, progress


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_line_progress_writes_one_line_per_interval(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr("anomaly_diffusion.progress.time.monotonic", clock)
    out = io.StringIO()
    bar = LineProgress(total=100, desc="training", unit="step", interval=10.0, stream=out)
    for _ in range(100):
        clock.t += 0.5  # 2 steps/s: 50 s in all
        bar.update(1)
        bar.set_postfix(loss="0.1234")
    bar.close()
    bar.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 6  # at 10, 20, 30, 40 and 50 s, and the final line
    assert (
        lines[0] == "training: 20/100 step (20 %), 2 step/s, 0:10 elapsed, 0:40 left, loss=0.1234"
    )
    assert lines[-1].startswith("training: 100/100 step (100 %)") and "done" in lines[-1]


def test_clock_text_carries_rounded_seconds_into_the_minute():
    # the training bar's budget_left once printed 539.6 s as "8:60"
    assert clock_text(539.6) == "9:00"
    assert clock_text(59.4) == "0:59"
    assert clock_text(3661) == "1:01:01"


def test_short_work_writes_nothing_and_iterables_work(monkeypatch):
    out = io.StringIO()
    assert list(LineProgress(range(5), desc="reading", stream=out)) == list(range(5))
    assert out.getvalue() == ""


def test_progress_is_a_bar_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(progress(total=3, file=io.StringIO()), LineProgress)
    assert not isinstance(progress(total=3, file=Tty()), LineProgress)


def test_a_training_job_log_has_no_carriage_returns(tmp_path):
    """A real (short) training loop whose stderr is a file, as under cron."""
    code = (
        "import torch\n"
        "from anomaly_diffusion.config import TrainingConfig\n"
        "from anomaly_diffusion.diffusion.scheduler import NoiseScheduler\n"
        "from anomaly_diffusion.diffusion.schedules import linear_betas\n"
        "from anomaly_diffusion.diffusion.unet import UNet, UNetConfig\n"
        "from anomaly_diffusion.training.loop import train_diffusion\n"
        "import numpy as np\n"
        "net = UNet(UNetConfig(base_channels=8, channel_mults=(1,), groups=4))\n"
        "data = [np.random.rand(1, 8, 8).astype('float32') for _ in range(4)]\n"
        "cfg = TrainingConfig(max_steps=40, batch_size=2, crop=None, warmup_steps=2,"
        " checkpoint_every=0)\n"
        "train_diffusion(net, NoiseScheduler(linear_betas(50)), data, cfg,"
        " generator=torch.Generator().manual_seed(0))\n"
    )
    log = tmp_path / "job.log"
    with log.open("w") as err:
        done = subprocess.run(
            [sys.executable, "-c", code],
            stderr=err,
            env={"ANOMALY_DIFFUSION_PROGRESS_SECONDS": "0", "PATH": "/usr/bin:/bin"},
            timeout=300,
        )
    text = log.read_text()
    assert done.returncode == 0, text
    assert "\r" not in text
    steps = [line for line in text.splitlines() if line.startswith("training: ")]
    assert 1 <= len(steps) <= 41 and "done" in steps[-1]
