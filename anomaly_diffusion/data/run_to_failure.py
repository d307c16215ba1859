"""Synthetic run-to-failure: days of vibration snapshots of one bearing with slow normal drift,
then an outer-race defect that grows (the known answer for onset and lead time).

Layout written under ``folder``::

    train/good/snap_<ISO time>.npz     the first ``train_days`` (normal, drift included)
    monitor/<asset>/snap_<ISO time>.npz  every later snapshot, in time order by name
    scenario.json                      the settings, the defect's start and each snapshot's truth

Drift (normal): the machine's vibration level follows a daily load/temperature cycle
(``±level_cycle``) plus a slow rise (``level_trend`` per day), and the shaft speed a daily
``±speed_cycle``. The defect starts at ``defect_day``: BPFO impulses ringing the ~3 kHz
resonance (:func:`~anomaly_diffusion.data.synthetic.vibration_signal`) whose peak grows
exponentially, ``defect_peak_start * exp((day - defect_day) / growth_days)``, up to 1 g.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly_diffusion.atomic import atomic_path
from anomaly_diffusion.data.synthetic import VIBRATION_RATE, vibration_signal, write_npz
from anomaly_diffusion.errors import ConfigError

SCENARIO_FILE = "scenario.json"
START = pd.Timestamp("2026-11-01T00:00:00")


@dataclass(frozen=True)
class RunToFailure:
    """Settings of the scenario (times in days from :data:`START`)."""

    days: float = 4.0
    every_minutes: float = 10.0
    train_days: float = 1.5
    defect_day: float = 2.5
    defect_peak_start: float = 0.02  # g
    growth_days: float = 0.3
    level_cycle: float = 0.12
    level_trend: float = 0.03  # per day
    speed_cycle: float = 0.015
    asset: str = "bearing_1"
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.train_days < self.defect_day < self.days:
            raise ConfigError(
                f"run-to-failure: need 0 < train_days ({self.train_days}) < defect_day "
                f"({self.defect_day}) < days ({self.days})"
            )
        if self.every_minutes <= 0:
            raise ConfigError(f"every_minutes={self.every_minutes}: use a positive interval")


def snapshot_days(scenario: RunToFailure) -> np.ndarray:
    """``(N,)`` snapshot times in days from the start, every ``every_minutes``."""
    step = scenario.every_minutes / (24 * 60)
    return np.arange(0.0, scenario.days, step)


def operating_point(day: float, scenario: RunToFailure) -> dict[str, float]:
    """Gain, speed factor and defect peak (g, 0 before the defect) of the snapshot at ``day``."""
    cycle = 2 * math.pi * day
    peak = 0.0
    if day >= scenario.defect_day:
        growth = math.exp((day - scenario.defect_day) / scenario.growth_days)
        peak = min(1.0, scenario.defect_peak_start * growth)
    return {
        "gain": 1.0 + scenario.level_cycle * math.sin(cycle) + scenario.level_trend * day,
        "speed": 1.0 + scenario.speed_cycle * math.sin(cycle + 1.0),
        "fault_peak": peak,
    }


def snapshot(day: float, scenario: RunToFailure, index: int) -> np.ndarray:
    """The accelerometer snapshot at ``day``: float32 ``(12800,)`` g, 1 s at 12.8 kHz."""
    rng = np.random.default_rng([scenario.seed, 7_919, index])
    point = operating_point(day, scenario)
    peak = point["fault_peak"]
    return vibration_signal(
        rng,
        defect="bearing_fault" if peak > 0 else None,
        speed=point["speed"],
        gain=point["gain"],
        fault_peak=peak or None,
    )


def snapshot_name(day: float) -> str:
    """``snap_2026-11-01T00-10-00.npz``: the acquisition time in the name, as loggers write."""
    when = START + pd.Timedelta(days=float(day))
    return f"snap_{when.round('s').strftime('%Y-%m-%dT%H-%M-%S')}.npz"


def write_run_to_failure(folder: str | Path, scenario: RunToFailure | None = None) -> Path:
    """Write the scenario under ``folder`` (see the module doc); returns ``folder``."""
    scenario = scenario or RunToFailure()
    folder = Path(folder)
    truth = []
    for index, day in enumerate(snapshot_days(scenario)):
        train = bool(day < scenario.train_days)
        sub = folder / ("train/good" if train else f"monitor/{scenario.asset}")
        sub.mkdir(parents=True, exist_ok=True)
        name = snapshot_name(day)
        arrays = {"accel": snapshot(day, scenario, index), "sample_rate": np.int64(VIBRATION_RATE)}
        with atomic_path(sub / name) as tmp:
            write_npz(tmp, arrays)
        truth.append(
            {"file": name, "day": float(day), "train": train, **operating_point(day, scenario)}
        )
    meta = {
        "scenario": asdict(scenario),
        "start": START.isoformat(),
        "defect_start": (START + pd.Timedelta(days=scenario.defect_day)).isoformat(),
        "snapshots": truth,
    }
    with atomic_path(folder / SCENARIO_FILE) as tmp:
        tmp.write_text(json.dumps(meta, indent=1))
    return folder
