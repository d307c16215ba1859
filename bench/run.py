"""Benchmarks -> BENCHMARKS.md: the diffusion detector against reference peers, same run, same
data, same features. Run alone (no other CPU jobs): ``make bench``.

Datasets: the built-in synthetic plant, and the public datasets in ``../shared/data`` (or
``$ANOMALY_DIFFUSION_DATA``) with the protocols of their README (skipped when absent).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import logging
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from anomaly_diffusion.cli.compose import build, compose_config, to_plain
from anomaly_diffusion.config import TuneConfig
from anomaly_diffusion.cpus import available_cpus
from anomaly_diffusion.data.dataset import discover, read_manifest, split_validation
from anomaly_diffusion.data.run_to_failure import RunToFailure
from anomaly_diffusion.data.stream import item_end_s, load_windows
from anomaly_diffusion.data.synthetic import make_plant
from anomaly_diffusion.data.windows import training_features
from anomaly_diffusion.detector import DetectorConfig, DiffusionAnomalyDetector
from anomaly_diffusion.heap import configure_allocator
from anomaly_diffusion.inference import read_held_out
from anomaly_diffusion.jobs.configs import TrainJobConfig
from anomaly_diffusion.jobs.evaluation import evaluate_windows
from anomaly_diffusion.metrics import bootstrap_auroc_ci
from anomaly_diffusion.scoring.chooser import tune_then_calibrate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from diagnosis_check import diagnosis_by_file, diagnosis_section
from footprint import TRAIN_MINUTES
from footprint import measure as measure_footprint
from peers import PEER_WORDS, peer_rows
from run_to_failure import run as run_to_failure
from run_to_failure import section as run_to_failure_section
from spark_speed import measure as measure_spark
from spark_speed import spark_section
from speed import measure, realtime_factor, speed_section
from streaming import measure as measure_streaming
from streaming import streaming_section
from targets import per_file_auroc, resampled_far, targets_section
from tep import run_protocol as tep_protocol
from tep import section as tep_section
from variants import FAST_SCORING, reference_rows, scoring_rows, tuned_row

REPO = Path(__file__).resolve().parents[1]
logger = logging.getLogger("bench")


@dataclass(frozen=True)
class Case:
    """One benchmark dataset: where, how it is read, and the detector settings used."""

    name: str
    root: Path
    manifest: bool
    detector: DetectorConfig
    protocol: str
    public: bool = True
    variants: bool = True  # also run the label-free tuned and the AnoDDPM reference rows
    tune: TuneConfig | None = None  # the preset's own label-free tuning (train runs it)


def shared_root() -> Path:
    env = os.environ.get("ANOMALY_DIFFUSION_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def preset_job(modality: str, *overrides: str) -> TrainJobConfig:
    """The job config ``anomaly-diffusion train preset=<modality> <overrides>`` would use."""
    plain = to_plain(
        compose_config("train", [f"preset={modality}", "data.root=unused", *overrides])
    )
    return build(TrainJobConfig, plain)


def preset_detector(modality: str, *overrides: str) -> DetectorConfig:
    """The detector config of :func:`preset_job`."""
    return preset_job(modality, *overrides).detector


def preset_tune(modality: str, *overrides: str) -> TuneConfig | None:
    """The preset's label-free tuning when it is on by default (``train`` runs it)."""
    tune = preset_job(modality, *overrides).tune
    return tune if tune.enabled else None


LOCALIZATION = (
    "scheduler.noise=simplex",
    "scoring.map_type=combined",
    "scoring.t_start=200",
    "scoring.smoothing_sigma=4",
    "scoring.aggregation=topk",
)
"""Measured on Magnetic-Tile (bench/results/mt_simplex64_maptypes.jsonl): best pixel AUROC."""

PIXEL_CAMERA = (
    "features.backbone=none",
    "features.image_size=[64,64]",
    "scoring.t_start=100",
    "scoring.n_repeats=4",
    "training.precision=float32",
    "scoring.precision=float32",
)
"""The camera preset of the previous release: diffusion on 64x64 pixels."""


def cases(minutes: float | None, plant: dict[str, Path]) -> list[Case]:
    """Each modality's preset as shipped: the CLI's training defaults unless ``minutes`` (a
    wall-clock budget instead of the step count) is given; only the data's own facts overridden."""
    budget = (
        [] if minutes is None else [f"training.max_minutes={minutes}", "training.max_steps=100000"]
    )
    demo = ["training.max_steps=400", "training.max_minutes=1.5"]
    cwru_w = 4096 / 48_000
    cwru = [
        "source.sample_rate=48000",
        "source.channel=DE",
        f"features.window_seconds={cwru_w}",
        f"features.hop_seconds={cwru_w / 2}",
        "scoring.n_repeats=2",
        "diagnosis=skf6205",
    ]
    data = shared_root()
    out = [
        Case(
            "synthetic vibration",
            plant["vibration"],
            False,
            preset_detector("vibration", *demo),
            "vibration preset, demo budget (400 steps)",
            public=False,
        ),
        Case(
            "synthetic acoustic",
            plant["acoustic"],
            False,
            preset_detector("acoustic", *demo),
            "acoustic preset, demo budget (400 steps)",
            public=False,
        ),
        Case(
            "synthetic camera",
            plant["camera"],
            False,
            preset_detector("camera", *demo),
            "camera preset, demo budget (400 steps)",
            public=False,
        ),
        Case(
            "CWRU bearing",
            data / "cwru_bearing",
            True,
            preset_detector("vibration", *budget, *cwru),
            "vibration preset; manifest; 4096-sample windows, hop 2048; window-level AUROC",
        ),
        Case(
            "CWRU bearing, vibration preset",
            data / "cwru_bearing",
            True,
            preset_detector("vibration", *budget, "source.sample_rate=48000", "source.channel=DE"),
            "vibration preset as shipped (0.32-s STFT windows, hop 0.16 s); manifest; only the "
            "data's rate and channel given; window-level AUROC",
            variants=False,
        ),
        Case(
            "DCASE 2023 ToyCar",
            data / "dcase2023_toycar",
            False,
            preset_detector("acoustic", *budget, "features.n_mels=128"),
            "acoustic preset; log-mel n_fft 1024 hop 512 128 mels; clip AUROC / pAUC(0.1)",
        ),
        Case(
            "Tennessee Eastman",
            data / "tennessee_eastman",
            False,
            preset_detector("process", *budget),
            "process preset as shipped (its 64-s windows adapt to 20 rows of 3 min, hop 10 "
            "rows; `fault` read as the row label); trained on train/good/d00.csv; window AUROC "
            "over all test files, a window anomalous when any of its rows is faulty, normal "
            "windows from d00_te.csv and the fault files' rows before the fault (the "
            "per-fault protocol: its own section below)",
            variants=False,
        ),
        Case(
            "Magnetic-Tile",
            data / "magnetic_tile",
            False,
            preset_detector("camera", *budget),
            "camera preset (feature-space diffusion on MobileNetV2 maps, scoring settings tuned "
            "label-free at train time as the CLI does); gray 224x224 bilinear; image AUROC; "
            "pixel AUROC / AUPRO over all test images at 224x224 (masks nearest-resized)",
            tune=preset_tune("camera", *budget),
        ),
        Case(
            "Magnetic-Tile, pixel-space model",
            data / "magnetic_tile",
            False,
            preset_detector("camera", *budget, *PIXEL_CAMERA),
            "camera preset + " + " ".join(PIXEL_CAMERA) + " (the model before the backbone)",
            variants=False,
        ),
        Case(
            "Magnetic-Tile, localization settings",
            data / "magnetic_tile",
            False,
            preset_detector("camera", *budget, *PIXEL_CAMERA, *LOCALIZATION),
            "camera preset + " + " ".join(PIXEL_CAMERA + LOCALIZATION) + "; same protocol",
            variants=False,
        ),
    ]
    return [c for c in out if c.root.exists()]


def run_case(case: Case, seed: int) -> dict:
    items = read_manifest(case.root / "manifest.csv") if case.manifest else discover(case.root)
    normal = [it for it in items if it.split == "train" and it.label in (0, None)]
    test = [it for it in items if it.split == "test"]
    cfg = case.detector
    fit_items, val_items = split_validation(
        normal,
        fraction=0.2,
        rng=np.random.default_rng(seed),
        end_of=lambda item: item_end_s(item, cfg.source),
    )
    read = {"source": cfg.source, "features": cfg.features}
    fit_w, _ = load_windows(fit_items, source=cfg.source, features=training_features(cfg.features))
    det = DiffusionAnomalyDetector(cfg).fit(fit_w, seed=seed)
    val_w, _ = read_held_out(det, val_items)  # as `train` reads them (denser when few)
    test_w, _ = load_windows(test, expected_rate=det.sample_rate_, **read)
    # what `train` does: with the preset's tuning, half the held-out files tune, half calibrate
    _, cal_w = tune_then_calibrate(det, val_w, case.tune, seed=seed)
    metrics, result = evaluate_windows(det, test_w, seed=seed)
    labels = np.array([w.label for w in test_w])
    ci = bootstrap_auroc_ci(labels, result.scores, n_boot=500, rng=np.random.default_rng(seed))
    rows = [
        {
            "method": "diffusion, preset (this commit)",
            "auroc": metrics["auroc"],
            "pauc": metrics["pauc"],
            "pixel_auroc": metrics["pixel_auroc"],
            "ci": ci,
            "train_s": det.train_result_.seconds,
            "ms_per_item": 1000 * metrics["score_seconds_per_item"],
            "by_defect": metrics["auroc_by_defect"],
            "far": metrics["false_alarm_rate"],
            "recall": metrics["recall"],
            "n_normal": metrics["n_test_normal"],
            "far_resampled": resampled_far(
                det.normal_tail_.scores,
                result.scores[labels == 0],
                target=cfg.threshold.false_alarm_rate,
            ),
            "n_pooled": len(det.normal_tail_.scores) + int(np.sum(labels == 0)),
            "steps": det.train_result_.steps,
            "aupro": metrics["aupro"],
            "evals": det.network_evals_per_item(),
            "note": None,
        }
    ]
    rows += peer_rows(det, fit_w, val_w, test_w, labels, seed)
    if case.variants:
        rows.append(tuned_row(det, val_w, test_w, labels, seed, rows[0]))
    if case.public and case.detector.modality == "acoustic":
        rows += scoring_rows(det, cal_w, test_w, labels, seed, rows[0])
    if case.public and case.variants:
        rows += reference_rows(det, test_w, labels, result.scores, seed, budget_s=150.0)
    tep = None
    if case.name == "Tennessee Eastman":
        try:
            tep = tep_protocol(
                det, fit_w, val_w, test_w, result, seed, items=(fit_items, val_items, test)
            )
        except Exception as exc:  # reported in BENCHMARKS.md instead of losing the run
            logger.exception("TEP protocol failed")
            tep = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    footprint = {}
    if cfg.features.backbone != "none":  # issue #13: model size and scoring-job memory
        footprint = {**measure_footprint(det, case.root), "train_minutes": TRAIN_MINUTES}
        logger.info("footprint: %s", footprint)
    return {
        **footprint,
        "case": case,
        "rows": rows,
        "n": (len(fit_w), len(val_w), len(test_w)),
        "detector": det,
        "val_windows": cal_w,  # to recalibrate for other scoring settings
        "per_file": per_file_auroc(test_w, result.scores) if case.manifest else None,
        "diagnosis": diagnosis_by_file(det, test_w, result) if case.manifest else None,
        "tep": tep,
    }


def time_demo() -> float:
    cli = str(Path(sys.executable).parent / "anomaly-diffusion")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run([cli, "demo"], cwd=tmp, check=True, capture_output=True)
        return time.perf_counter() - start


def _check_text(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _items_per_s(ms_per_item: float | None) -> str:
    return "–" if not ms_per_item else f"{1000.0 / ms_per_item:,.1f}"


def library_versions() -> str:
    """Versions of the libraries the figures depend on."""
    from importlib.metadata import PackageNotFoundError, version

    names = ("torch", "numpy", "scipy", "scikit-learn", "librosa", "pyod", "mlflow", "pandas")
    found = []
    for name in names:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def citations(root: Path) -> list[str]:
    """The '## Citation' paragraphs of each shared dataset's SOURCE.md."""
    lines = ["## Dataset citations", ""]
    for source in sorted(root.glob("*/SOURCE.md")):
        text = source.read_text().splitlines()
        start = next((i for i, ln in enumerate(text) if ln.startswith("## Citation")), None)
        if start is None:
            continue
        body = []
        for ln in text[start + 1 :]:
            if ln.startswith("## "):
                break
            if ln.strip():
                body.append(ln.strip().removeprefix("- "))
        lines += [f"- **{source.parent.name}**: " + " ".join(body)]
    return [*lines, ""]


def fmt(v, spec=".3f") -> str:
    return "–" if v is None else format(v, spec)


CAVEAT = (
    "Caveat: the acoustic preset's scoring settings (map normalization, t_start, smoothing, "
    "aggregation) were picked by a sweep on the ToyCar test split (`bench/sweep_scoring.py`, "
    "`bench/results/`), so that preset row is optimistic; the camera preset tunes its scoring "
    "settings label-free at train time (its preset row does the same, as the CLI). The "
    "'label-free tuning' rows choose the settings from held-out normal data and synthetic "
    "anomalies only (`tune.enabled=true`) and are the honest figure for a new machine."
)


def _best_peer(rows: list[dict]) -> dict:
    return max((r for r in rows if r["method"].startswith(PEER_WORDS)), key=lambda r: r["auroc"])


def summary(results: list[dict]) -> list[str]:
    """One line per dataset: diffusion vs the best peer of this run."""
    out = [
        "## Summary",
        "",
        "| dataset | diffusion preset AUROC | label-free tuned AUROC | best peer (AUROC) | "
        "ratio preset / peer | ratio tuned / peer |",
        "|---|---|---|---|---|---|",
    ]
    for res in results:
        diff, best = res["rows"][0], _best_peer(res["rows"])
        tuned = next(
            (r for r in res["rows"] if r["method"].startswith("diffusion, label-free")), diff
        )
        out.append(
            f"| {res['case'].name} | {diff['auroc']:.3f} | {tuned['auroc']:.3f} | "
            f"{best['method'].split(',')[0]} ({best['auroc']:.3f}) | "
            f"{diff['auroc'] / best['auroc']:.2f} | {tuned['auroc'] / best['auroc']:.2f} |"
        )
    return [*out, ""]


def render(
    results: list[dict],
    demo_s: float | None,
    args,
    speed: dict | None = None,
    streaming: list[dict] | None = None,
    spark: dict | None = None,
    failure: dict | None = None,
) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`bench/run.py`) on {dt.date.today()}, commit `{commit}`.",
        f"Machine: {os.cpu_count()} CPU cores ({cpu}), no GPU; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; Python {platform.python_version()}. "
        f"Libraries: {library_versions()}. Peak memory of the whole bench process: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB.",
        f"Diffusion training: {training_words(args.minutes)}, seed "
        f"{args.seed}. Peers run in the same process on the same windows and the same normalized "
        "features. AUROC intervals: 95 % stratified bootstrap (500 resamples).",
        "",
        CAVEAT,
        "",
    ]
    if demo_s is not None:
        lines += [
            f"`anomaly-diffusion demo` wall clock (3 models, scoring, report, MLflow): "
            f"**{demo_s:.0f} s** (target: about 5 minutes).",
            "",
        ]
    minutes = (time.perf_counter() - args.started) / 60
    lines += [
        f"Wall time of this `make bench` run: **{minutes:.0f} min** (target: <= 45 min; "
        f"{_check_text(minutes <= 45)}).",
        "",
    ]
    lines += summary(results)
    lines += targets_section(results, speed, PEER_WORDS)
    for res in results:
        case, rows = res["case"], res["rows"]
        best_peer = _best_peer(rows)["auroc"]
        n_fit, n_val, n_test = res["n"]
        lines += [
            f"## {case.name}",
            "",
            f"Protocol: {case.protocol}. Windows: {n_fit} train, "
            f"{n_val} held out for the threshold, {n_test} test. Peak memory of the bench "
            f"process so far: {res['peak_mb']:,.0f} MB.",
            "",
            "| method | AUROC (95 % CI) | pAUC 0.1 | pixel AUROC | AUPRO | AUROC / best peer | "
            "FAR at 1 % target | recall at threshold | train s (steps) | items/s | "
            "network evals/item |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        notes = []
        for r in rows:
            ci = f" ({r['ci'][0]:.3f}–{r['ci'][1]:.3f})" if r["ci"] else ""
            steps = f" ({r['steps']})" if r["steps"] else ""
            if r["note"]:
                notes.append(f"{r['method'].split('(')[0].strip()}: {r['note']}.")
            lines.append(
                f"| {r['method']} | {r['auroc']:.3f}{ci} | {fmt(r['pauc'])} | "
                f"{fmt(r['pixel_auroc'])} | {fmt(r['aupro'])} | {r['auroc'] / best_peer:.2f} | "
                f"{fmt(r['far'])} | {fmt(r.get('recall'))} | {r['train_s']:.1f}{steps} | "
                f"{_items_per_s(r['ms_per_item'])} | "
                f"{fmt(r['evals'], 'd')} |"
            )
        lines += ["", *notes] if notes else []
        diff = rows[0]
        if diff["by_defect"]:
            per = ", ".join(f"{k} {v:.3f}" for k, v in sorted(diff["by_defect"].items()))
            lines += [
                "",
                f"Diffusion AUROC per defect: {per}. False-alarm rate on normal test "
                f"data at the calibrated threshold: {fmt(diff['far'])}.",
            ]
        lines.append("")
    for res in results:
        if res.get("tep"):
            lines += _or_error("Tennessee Eastman: per-fault protocol", res["tep"], tep_section)
    if failure is not None:
        lines += _or_error("Synthetic run-to-failure", failure, run_to_failure_section)
    if speed is not None:
        lines += [*speed_section(speed), ""]
    if streaming:
        lines += [*streaming_section(streaming), ""]
    if spark:
        lines += spark_section(spark)
    for res in results:
        if res.get("diagnosis"):
            lines += diagnosis_section(res["diagnosis"])
    lines += [
        *citations(shared_root()),
        "## Reference figures",
        "",
        "`../shared/PEERS.md` lists peers measured on these datasets with the same protocols "
        "(anomalib, PyOD, DCASE dense AE, a diffusion prototype); those runs are not repeated "
        "here: "
        "the peers above are re-measured in this run.",
        "",
        "## Data sources and licenses",
        "",
        "- CWRU Bearing Data Center seeded-fault data (Case Western Reserve University), research "
        "use with attribution.",
        "- DCASE 2023 Task 2, ToyCar (Hitachi, NTT), CC BY-NC-SA 4.0: non-commercial research use.",
        "- Magnetic-Tile defect dataset (Huang, Qiu, Yuan, 2018), research use with citation.",
        "",
    ]
    return "\n".join(lines)


def _or_error(title: str, result: dict, render_section) -> list[str]:
    if "error" in result:
        return [f"## {title}", "", f"Failed in this run: `{result['error']}`", ""]
    return render_section(result)


def training_words(minutes: float | None) -> str:
    """How the bench trained, for the BENCHMARKS.md header."""
    if minutes is not None:
        return (
            f"**{minutes:g} min per public dataset, not the CLI's defaults** (`--minutes`): "
            "these figures are not what `anomaly-diffusion train` gives"
        )
    steps = {m: preset_detector(m).training for m in ("vibration", "acoustic", "camera", "process")}
    shown = ", ".join(f"{m} {t.max_steps} steps / {t.max_minutes:g} min" for m, t in steps.items())
    return (
        f"each preset's CLI defaults as shipped ({shown}, whichever comes first) on every public "
        "dataset: these are the figures `anomaly-diffusion train` gives"
    )


def main() -> int:
    configure_allocator()  # as the CLI does: its speeds and memory are what users get
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--output", default="BENCHMARKS.md")
    ap.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="wall-clock training budget per public dataset instead of the CLI's defaults "
        "(BENCHMARKS.md then says so: its figures are not what a user gets)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*", help="case names to run (substring match)")
    ap.add_argument("--cases", nargs="*", help="case names to run (exact names)")
    ap.add_argument("--no-demo", action="store_true", help="skip timing the demo")
    ap.add_argument(
        "--no-streaming", action="store_true", help="skip the large-input memory benchmark"
    )
    args = ap.parse_args()
    args.started = time.perf_counter()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", available_cpus())))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        plant = make_plant(Path(tmp) / "plant", seed=args.seed)
        for case in cases(args.minutes, plant):
            if args.only and not any(s.lower() in case.name.lower() for s in args.only):
                continue
            if args.cases and case.name not in args.cases:
                continue
            logger.info("benchmark: %s", case.name)
            results.append(run_case(case, args.seed))
            results[-1]["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    speed = None
    toycar = next((r for r in results if "ToyCar" in r["case"].name), None)
    if toycar is not None:
        wav = sorted((toycar["case"].root / "test" / "good").glob("*.wav"))[0]
        det = copy.deepcopy(toycar["detector"])  # a long recording cut into 12-s clip windows
        feats = replace(det.config.features, window_seconds=12.0, hop_seconds=12.0)
        det.config = replace(det.config, features=feats)
        speed = measure(det, wav, repeat_to_s=600.0)
        preset = det.config.scoring
        speed["realtime_fast"] = []
        for changes in FAST_SCORING:
            det.with_scoring(replace(preset, **changes))
            det.calibrate(toycar["val_windows"], seed=args.seed)  # a threshold for the settings
            rt = realtime_factor(det, wav, repeat_to_s=600.0)
            speed["realtime_fast"].append({**rt, "settings": changes})
    streaming = None
    if not args.no_streaming:
        try:
            streaming = measure_streaming()
        except RuntimeError as exc:  # report it in BENCHMARKS.md instead of losing the run
            logger.error("streaming benchmark failed: %s", exc)
            streaming = [{"error": str(exc)[-500:]}]
    spark = None
    if not args.no_streaming:
        try:
            spark = measure_spark()
        except (RuntimeError, ImportError) as exc:  # reported in BENCHMARKS.md, not fatal
            logger.error("spark benchmark failed: %s", exc)
            spark = {"error": str(exc).splitlines()[-1][:300]}
    failure = None
    wanted = " ".join(args.only or args.cases or []).lower()
    if not wanted or "failure" in wanted:
        with tempfile.TemporaryDirectory() as tmp:  # the CLI at its defaults, as users run it
            try:
                failure = run_to_failure(RunToFailure(), Path(tmp))
            except RuntimeError as exc:  # a failed CLI run: reported, the other figures kept
                logger.error("run-to-failure benchmark failed: %s", exc)
                failure = {"error": str(exc)[-300:]}
    demo_s = None if args.no_demo else time_demo()
    Path(args.output).write_text(render(results, demo_s, args, speed, streaming, spark, failure))
    logger.info("wrote %s", args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
