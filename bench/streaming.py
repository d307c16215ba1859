"""Peak memory of the ``score`` job on inputs too large to hold whole: a 10-million-row sensor
table (CSV), a 2 GB vibration ``.npy`` and a 2 GB WAV, the WAV scored by every preset's model
(issue #14: the acoustic clip model used to turn it into one spectrogram; the camera and process
models must refuse it without reading it). Each job runs as its own process through the real
CLI; its peak resident memory is read with GNU ``time -f %M``. Target (issue #4): under 1.5 GB.

Run alone: ``python bench/streaming.py`` (used by ``bench/run.py`` for BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import soundfile as sf
from PIL import Image

CLI = str(Path(sys.executable).parent / "anomaly-diffusion")
MEMORY_TARGET_MB = 1536.0
TABLE_RATE = 10.0  # rows per second of the sensor table
SENSORS = ("temp", "pressure", "flow", "vibration_rms")
WAV_RATE = 16_000
TABLE_JOB = (
    "preset=process",
    "network=tiny",
    "features.window_seconds=102.4",
    "features.hop_seconds=102.4",
    "training.crop=[4,64]",
)
WAV_JOB = (
    "preset=vibration",
    "network=tiny",
    "features.window_seconds=8.192",
    "features.hop_seconds=8.192",
    "features.n_fft=256",
    "features.hop_length=256",
    "features.max_freq_hz=500",
    "training.crop=[8,64]",
)


CLIP_JOB = ("preset=acoustic", "network=tiny")
"""The acoustic preset as shipped (whole 10-s clips), a tiny network."""
CAMERA_JOB = ("preset=camera", "features.image_size=[64,64]", "tune.enabled=false")
PROCESS_JOB = (
    "preset=process",
    "network=tiny",
    "features.window_seconds=102.4",
    "training.crop=[4,64]",
)


def _table(rows: int, seed: int, start: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    t = (start + np.arange(rows)) / TABLE_RATE
    cols = {"timestamp": t}
    for k, name in enumerate(SENSORS):
        cols[name] = (np.sin(2 * np.pi * t / (600 + 97 * k)) + 0.1 * rng.normal(size=rows)).astype(
            np.float32
        )
    return pa.table(cols)


def write_big_table(path: Path, rows: int, *, chunk: int = 1_000_000) -> Path:
    """A CSV of ``rows`` rows (timestamp + 4 sensors), written chunk by chunk."""
    with pacsv.CSVWriter(path, _table(1, 0).schema) as writer:
        for start in range(0, rows, chunk):
            writer.write_table(_table(min(chunk, rows - start), start, start))
    return path


def write_big_wav(path: Path, n_bytes: int, *, block: int = 1 << 24) -> Path:
    """A 16-bit mono WAV of ``n_bytes`` of samples: a 120 Hz shaft line plus noise."""
    n = n_bytes // 2
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", WAV_RATE, 1, subtype="PCM_16") as f:
        for start in range(0, n, block):
            t = (start + np.arange(min(block, n - start))) / WAV_RATE
            f.write(0.3 * np.sin(2 * np.pi * 120 * t) + 0.05 * rng.normal(size=t.size))
    return path


def write_big_npy(path: Path, n_bytes: int, *, block: int = 1 << 24) -> Path:
    """A float32 ``.npy`` vector of ``n_bytes``: the same shaft line plus noise, written
    block by block through a memory map (no rate in the file: score with ``sample_rate=``)."""
    n = n_bytes // 4
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n,))
    rng = np.random.default_rng(0)
    for start in range(0, n, block):
        t = (start + np.arange(min(block, n - start))) / WAV_RATE
        out[start : start + t.size] = 0.3 * np.sin(2 * np.pi * 120 * t) + 0.05 * rng.normal(
            size=t.size
        )
    out.flush()
    del out
    return path


def _train_data(root: Path) -> dict[str, Path]:
    """Small normal training sets in the dataset layout: tables, 2-min WAVs, 10-s WAV clips,
    gray PNG frames."""
    folders = {k: root / k / "train" / "good" for k in ("tables", "wavs", "clips", "frames")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for i in range(10):
        _table(6000, 100 + i, 6000 * i).to_pandas().to_csv(
            folders["tables"] / f"t{i}.csv", index=False
        )
        write_big_wav(folders["wavs"] / f"w{i}.wav", 2 * WAV_RATE * 60)
    for i in range(20):  # per-pixel map statistics need >= 4 held-out items (20 %)
        write_big_wav(folders["clips"] / f"c{i}.wav", 2 * WAV_RATE * 10)
        frame = (128 + 20 * rng.normal(size=(64, 64))).clip(0, 255).astype(np.uint8)
        Image.fromarray(frame).save(folders["frames"] / f"f{i}.png")
    return {k: root / k for k in folders}


def _peak_mb(args: list[str], cwd: Path) -> tuple[float, float, str]:
    """Peak RSS (MB) and wall time (s) of a CLI run; its stdout's last line."""
    start = time.perf_counter()
    out = subprocess.run(
        ["/usr/bin/time", "-f", "PEAK_KB %M", CLI, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if out.returncode not in (0, 3):  # 3: the job ran, some inputs were refused
        raise RuntimeError(f"{' '.join(args)} failed ({out.returncode}): {out.stderr[-2000:]}")
    kb = next(line for line in out.stderr.splitlines() if line.startswith("PEAK_KB"))
    lines = out.stdout.strip().splitlines()
    return float(kb.split()[1]) / 1024.0, seconds, lines[-1] if lines else ""


def measure(rows: int = 10_000_000, wav_bytes: int = 2 * 1024**3) -> list[dict]:
    """Train two tiny models, then score a ``rows``-row CSV and a ``wav_bytes`` WAV."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = _train_data(work / "train")
        table = write_big_table(work / "big.csv", rows)
        wav = write_big_wav(work / "big.wav", wav_bytes)
        npy = write_big_npy(work / "big.npy", wav_bytes)
        rate = (f"sample_rate={WAV_RATE}",)
        cases = (
            ("sensor table (CSV), process model", data["tables"], TABLE_JOB, table, ()),
            ("vibration `.npy` (float32), vibration model", data["wavs"], WAV_JOB, npy, rate),
            ("WAV (16-bit, 16 kHz), vibration model (8-s windows)", data["wavs"], WAV_JOB, wav, ()),
            ("same WAV, acoustic preset (a model of 10-s clips)", data["clips"], CLIP_JOB, wav, ()),
            ("same WAV, camera preset (refused)", data["frames"], CAMERA_JOB, wav, ()),
            ("same WAV, process model (refused)", data["tables"], PROCESS_JOB, wav, ()),
        )
        for k, (name, train_root, job, big, extra) in enumerate(cases):
            run_dir = work / f"run_{k}"
            _peak_mb(
                [
                    "train",
                    f"data.root={train_root}",
                    f"run_dir={run_dir}",
                    *job,
                    "tracking.enabled=false",
                    "training.max_steps=100",
                    "data.cache_dir=null",
                ],
                work,
            )
            (work / "scores.parquet").unlink(missing_ok=True)
            peak, seconds, line = _peak_mb(
                [
                    "score",
                    f"model={run_dir / 'model'}",
                    f"input={big}",
                    "maps=none",
                    f"output={work / 'scores.parquet'}",
                    "tracking.enabled=false",
                    *extra,
                ],
                work,
            )
            scored = pd.read_parquet(work / "scores.parquet")
            results.append(
                {
                    "input": name,
                    "size_mb": big.stat().st_size / 1024**2,
                    "rows": rows if big.suffix == ".csv" else None,
                    "duration_h": _duration_s(big, rows, wav_bytes) / 3600,
                    "windows": int(scored["error"].isna().sum()),
                    "failed": int(scored["error"].notna().sum()),
                    "refusal": next(iter(scored["error"].dropna()), None),
                    "peak_mb": peak,
                    "seconds": seconds,
                    "summary": line,
                }
            )
    return results


def _duration_s(path: Path, rows: int, n_bytes: int) -> float:
    """Signal length (s) of a bench input: table rows, 16-bit WAV or float32 ``.npy``."""
    per_sample = {".csv": None, ".wav": 2, ".npy": 4}[path.suffix]
    return rows / TABLE_RATE if per_sample is None else n_bytes / per_sample / WAV_RATE


def streaming_section(results: list[dict]) -> list[str]:
    """Markdown lines for BENCHMARKS.md."""
    lines = [
        "## Streaming: peak memory of `score` on large inputs",
        "",
        "Each input is scored by the CLI in its own process (`score ... maps=none`, a tiny "
        "model trained for 100 steps on normal data of the same kind); peak resident memory "
        f"from GNU `time -f %M`. Target: < {MEMORY_TARGET_MB:.0f} MB.",
        "",
        "| input | size | signal length | windows scored | failed | peak memory | target | "
        "wall time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| failed: {r['error'].splitlines()[-1]} | | | | | | **missed** | |")
            continue
        status = "met" if r["peak_mb"] < MEMORY_TARGET_MB else "**missed**"
        size = f"{r['size_mb']:,.0f} MB" + (f" ({r['rows']:,} rows)" if r["rows"] else "")
        lines.append(
            f"| {r['input']} | {size} | {r['duration_h']:.1f} h | {r['windows']:,} | "
            f"{r['failed']} | {r['peak_mb']:,.0f} MB | {status} | {r['seconds']:.0f} s |"
        )
    refusals = [r for r in results if r.get("refusal")]
    if refusals:
        lines += ["", "Refusals (the job's `error` column):", ""]
        lines += [f"- {r['input']}: `{r['refusal'][:240]}`" for r in refusals]
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--wav-mb", type=float, default=2048.0)
    args = ap.parse_args()
    results = measure(args.rows, int(args.wav_mb * 1024**2))
    print("\n".join(streaming_section(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
