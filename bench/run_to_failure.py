"""Synthetic run-to-failure (:mod:`anomaly_diffusion.data.run_to_failure`): the onset of a
persistent alarm of the diffusion model, trained and scored through the CLI at its defaults,
against an RMS and a kurtosis threshold (mean + 3 sd of the training snapshots) under the same
persistence rule (``k`` alarming snapshots in a row).

Per method: the onset's time, its delay after the defect's start, the lead time before the
defect's peak reaches 1 g ("failure"), the defect's peak at the onset, and the alarms and
persistent alarms during the drift-only period (the monitored snapshots before the defect).

Run alone: ``python bench/run_to_failure.py`` (writes ``bench/results/run_to_failure_<date>.md``);
``make bench`` adds the same rows to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly_diffusion.data.run_to_failure import (
    SCENARIO_FILE,
    RunToFailure,
    write_run_to_failure,
)
from anomaly_diffusion.trend.indicators import INDICATORS, indicator, three_sigma_threshold
from anomaly_diffusion.trend.onset import DEFAULT_K, alarm_runs, first_persistent

logger = logging.getLogger(__name__)
CLI = str(Path(sys.executable).parent / "anomaly-diffusion")


def _truth(folder: Path) -> tuple[dict, pd.DataFrame]:
    meta = json.loads((folder / SCENARIO_FILE).read_text())
    snaps = pd.DataFrame(meta["snapshots"])
    start = pd.Timestamp(meta["start"])
    snaps["time"] = (start + pd.to_timedelta(snaps["day"], unit="D")).dt.round("s")
    return meta, snaps


def _monitored(snaps: pd.DataFrame) -> pd.DataFrame:
    return snaps.loc[~snaps["train"]].reset_index(drop=True)


def onset_row(
    method: str, alarms: np.ndarray, monitored: pd.DataFrame, meta: dict, *, k: int
) -> dict:
    """One result row from a method's alarm per monitored snapshot (time order)."""
    defect = pd.Timestamp(meta["defect_start"])
    before = (monitored["time"] < defect).to_numpy()
    failure = monitored.loc[monitored["fault_peak"] >= 1.0, "time"]
    first = first_persistent(alarms, k=k)
    onset = None if first is None else monitored["time"].iloc[first]
    runs = alarm_runs(alarms[before])
    hours = pd.Timedelta(hours=1)
    return {
        "method": method,
        "onset": onset,
        "delay_h": None if onset is None else (onset - defect) / hours,
        "lead_h": None if onset is None or failure.empty else (failure.iloc[0] - onset) / hours,
        "peak_g": None if first is None else float(monitored["fault_peak"].iloc[first]),
        "drift_alarms": int(alarms[before].sum()),
        "drift_persistent": int(np.sum(runs == k)),  # runs that reached k before the defect
        "n_drift": int(before.sum()),
    }


def indicator_rows(folder: Path, *, k: int = DEFAULT_K) -> list[dict]:
    """The RMS and kurtosis peers: threshold from the training snapshots, alarm per snapshot."""
    meta, snaps = _truth(folder)
    asset = meta["scenario"]["asset"]
    values = {name: [] for name in INDICATORS}
    for snap in snaps.itertuples():
        sub = "train/good" if snap.train else f"monitor/{asset}"
        accel = np.load(folder / sub / snap.file)["accel"]
        for name in INDICATORS:
            values[name].append(indicator(accel, name))
    train = snaps["train"].to_numpy(bool)
    monitored = _monitored(snaps)
    rows = []
    for name in INDICATORS:
        v = np.asarray(values[name])
        alarms = v[~train] > three_sigma_threshold(v[train])
        rows.append(onset_row(f"{name} > mean + 3 sd", alarms, monitored, meta, k=k))
    return rows


def diffusion_row(folder: Path, work: Path, *overrides: str, k: int = DEFAULT_K) -> dict:
    """Train on ``train/good`` and score ``monitor/`` through the CLI (``overrides`` beside the
    defaults); the onset from the score job's ``<stem>_assets.csv``, the per-snapshot alarms
    from its rows."""
    common = ["tracking.enabled=false"]
    started = time.perf_counter()
    _cli(work, "train", f"data.root={folder}", "run_dir=run", *common, *overrides)
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    _cli(
        work,
        "score",
        "model=run/model",
        f"input={folder / 'monitor'}",
        "output=scores.parquet",
        "maps=none",
        f"onset_k={k}",
        *common,
    )
    score_s = time.perf_counter() - started
    meta, snaps = _truth(folder)
    monitored = _monitored(snaps)
    rows = pd.read_parquet(work / "scores.parquet")
    rows["file"] = rows["path"].map(lambda p: Path(p).name)
    per_file = rows.groupby("file").agg(score=("score", "median"), thr=("threshold", "median"))
    per_file = per_file.reindex(monitored["file"])
    alarms = (per_file["score"] > per_file["thr"]).to_numpy(bool)
    row = onset_row("diffusion (CLI defaults)", alarms, monitored, meta, k=k)
    assets = pd.read_csv(work / "scores_assets.csv")
    job_onset = assets["onset_time"].iloc[0]
    row["job_onset"] = None if pd.isna(job_onset) else pd.Timestamp(job_onset)
    row["train_s"], row["score_s"] = train_s, score_s
    return row


def _cli(cwd: Path, *args: str) -> None:
    out = subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"anomaly-diffusion {args[0]} failed:\n{out.stderr[-3000:]}")


def run(scenario: RunToFailure, work: Path, *overrides: str, k: int = DEFAULT_K) -> dict:
    """Write the scenario under ``work``, run the three methods; rows + the scenario."""
    folder = write_run_to_failure(work / "data", scenario)
    rows = [diffusion_row(folder, work, *overrides, k=k), *indicator_rows(folder, k=k)]
    return {"scenario": scenario, "k": k, "rows": rows, "overrides": overrides}


def _h(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def section(result: dict) -> list[str]:
    """BENCHMARKS.md lines for one :func:`run`."""
    sc: RunToFailure = result["scenario"]
    rows, k = result["rows"], result["k"]
    diff = rows[0]
    peers = [r for r in rows[1:] if r["onset"] is not None]
    earlier = diff["onset"] is not None and all(diff["onset"] < r["onset"] for r in peers)
    clean = diff["drift_persistent"] == 0
    settings = " ".join(result["overrides"]) or "none"
    lines = [
        "## Synthetic run-to-failure: onset and lead time",
        "",
        f"One bearing, a 1-s snapshot every {sc.every_minutes:g} min for {sc.days:g} days; "
        f"train on the first {sc.train_days:g} days; daily level cycle ±{sc.level_cycle:.0%} "
        f"plus {sc.level_trend:.0%}/day rise, speed cycle ±{sc.speed_cycle:.1%}; outer-race "
        f"defect from day {sc.defect_day:g}, peak {sc.defect_peak_start:g} g growing "
        f'×e every {sc.growth_days:g} days up to 1 g ("failure"). Onset: first of {k} '
        f"alarming snapshots in a row. Diffusion: `train` and `score` at the CLI defaults "
        f"(overrides: {settings}).",
        "",
        "| method | onset | delay after defect start (h) | lead time before 1 g (h) | "
        "defect peak at onset (g) | alarms in the drift-only period | persistent |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        onset = "none" if r["onset"] is None else r["onset"].strftime("%Y-%m-%d %H:%M")
        peak = "—" if r["peak_g"] is None else f"{r['peak_g']:.3f}"
        lines.append(
            f"| {r['method']} | {onset} | {_h(r['delay_h'])} | {_h(r['lead_h'])} | {peak} | "
            f"{r['drift_alarms']} of {r['n_drift']} | {r['drift_persistent']} |"
        )
    lines += [
        "",
        f"Targets: onset earlier than both peers — **{'met' if earlier else 'not met'}**; no "
        f"persistent false alarm during the drift — **{'met' if clean else 'not met'}**. "
        f"The score job's own onset (`scores_assets.csv`): {diff.get('job_onset')}; training "
        f"{diff.get('train_s', 0):.0f} s, scoring {diff.get('score_s', 0):.0f} s.",
        "",
    ]
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--output", help="default: bench/results/run_to_failure_<date>.md")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        result = run(RunToFailure(), Path(tmp))
    output = args.output or (
        Path(__file__).parent / "results" / f"run_to_failure_{dt.date.today()}.md"
    )
    Path(output).write_text("\n".join(["# Run-to-failure", "", *section(result)]))
    logger.info("wrote %s", output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
