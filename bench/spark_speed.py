"""Throughput of ``score engine=spark`` on ``local[2]`` against the local engine on the same
input, through the real CLI, at 1x and 10x input size (issue #6 targets: Spark within 20 % of
local, and per-item cost independent of input size: time ratio 10x/1x = 10 +/- 2).

Run alone: ``python bench/spark_speed.py`` (used by ``bench/run.py`` for BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from streaming import CLI, _peak_mb

RATE = 16_000
CLIP_S = 10.0
JOB = (
    "preset=acoustic",
    "features.window_seconds=1.0",
    "features.hop_seconds=1.0",
    "training.crop=[64,16]",
    "training.max_steps=60",
    "tracking.enabled=false",
    "data.cache_dir=null",
)


def _clips(folder: Path, n: int, seed: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = np.arange(int(CLIP_S * RATE)) / RATE
    for i in range(n):
        hum = 0.2 * np.sin(2 * np.pi * (120 + 5 * rng.random()) * t)
        sf.write(folder / f"clip_{i:04d}.wav", hum + 0.02 * rng.normal(size=t.size), RATE)
    return folder


def measure(n_clips: int = 60) -> dict:
    """Seconds of ``score`` per engine at ``n_clips`` and ``10 * n_clips`` clips of 10 s."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _clips(work / "train" / "train" / "good", 8, 0)
        _peak_mb(["train", f"data.root={work / 'train'}", "run_dir=run", *JOB], work)
        sizes = {
            "fixed": _clips(work / "in0", 1, 3),
            "1x": _clips(work / "in1", n_clips, 1),
            "10x": _clips(work / "in10", 10 * n_clips, 2),
        }

        def score(engine: str, folder: Path, name: str) -> float:
            start = time.perf_counter()
            _peak_mb(
                [
                    "score",
                    f"model={work / 'run' / 'model'}",
                    f"input={folder}",
                    f"engine={engine}",
                    "maps=none",
                    "tracking.enabled=false",
                    f"output={work / f'{engine}_{name}.parquet'}",
                ],
                work,
            )
            return time.perf_counter() - start

        # The first JVM start after the files are written is ~4 s slower (cold class and page
        # caches); without this warm-up it would inflate 'fixed' and bias the 10x/1x ratio.
        score("spark", sizes["fixed"], "warmup")
        seconds = {
            (engine, size): score(engine, folder, size)
            for size, folder in sizes.items()
            for engine in ("local", "spark")
        }
    windows = {"fixed": int(CLIP_S), "1x": n_clips * int(CLIP_S), "10x": 10 * n_clips * int(CLIP_S)}
    return {"seconds": seconds, "windows": windows, "cli": CLI}


def spark_section(found: dict) -> list[str]:
    """Markdown lines for BENCHMARKS.md."""
    if "error" in found:
        return ["## Spark engine", "", f"Failed: {found['error']}", ""]
    s, w = found["seconds"], found["windows"]
    lines = [
        "## Spark engine (`score engine=spark`, `local[2]`) against the local engine",
        "",
        "Same acoustic model (preset network, 64 mels, 1-s windows) and the same 10-s WAV clips; "
        "each run is a fresh CLI process. 'fixed' scores one clip: its time is the start-up cost "
        "(Python imports, model load; for Spark also the JVM, the session and the workers). "
        "Steady-state throughput = extra windows / extra seconds over 'fixed'.",
        "",
        "| input | windows | local s | spark s | spark / local | local items/s | spark items/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in ("fixed", "1x", "10x"):
        loc, spk = s[("local", size)], s[("spark", size)]
        lines.append(
            f"| {size} | {w[size]:,} | {loc:.1f} | {spk:.1f} | {spk / loc:.2f} | "
            f"{w[size] / loc:.1f} | {w[size] / spk:.1f} |"
        )

    def net(engine: str, size: str) -> float:
        return s[(engine, size)] - s[(engine, "fixed")]

    def rate(engine: str) -> float:
        return (w["10x"] - w["fixed"]) / net(engine, "10x")

    slowdown = rate("local") / rate("spark") - 1  # > 0: Spark slower per window
    startup = s[("spark", "fixed")] - s[("local", "fixed")]
    wall = s[("spark", "10x")] / s[("local", "10x")] - 1
    lines += [
        "",
        f"- Spark throughput within 20 % of local: steady state {rate('spark'):.1f} vs "
        f"{rate('local'):.1f} windows/s, Spark {100 * abs(slowdown):.0f} % "
        f"{'slower' if slowdown > 0 else 'faster'} "
        f"({'met' if slowdown <= 0.2 else '**missed**'}). Spark's extra start-up: "
        f"{startup:.1f} s per job; wall time at 10x input: {100 * wall:+.0f} %.",
    ]
    for engine in ("spark", "local"):
        n1, n10 = net(engine, "1x"), net(engine, "10x")
        if n1 <= 0:
            lines.append(f"- {engine}: 1x input took no longer than start-up: not measurable.")
            continue
        ratio = n10 / n1
        verdict = "met" if 8 <= ratio <= 12 else "**missed**"
        target = f" (target 10 +/- 2: {verdict})" if engine == "spark" else ""
        lines.append(
            f"- Per-item cost independent of input size, {engine}: time beyond start-up at 10x / "
            f"1x input = {n10:.1f} s / {n1:.1f} s = **{ratio:.1f}**{target}; wall-time ratio "
            f"{s[(engine, '10x')] / s[(engine, '1x')]:.1f}."
        )
    return [*lines, ""]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clips", type=int, default=60)
    args = ap.parse_args()
    print("\n".join(spark_section(measure(args.clips))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
