"""bench/targets.py: verdicts come from this run's figures and their intervals only."""

from __future__ import annotations

from types import SimpleNamespace

from bench_modules import load_bench_module

targets = load_bench_module("targets")


def _row(method: str, auroc: float, ci=None, **extra) -> dict:
    base = {"pixel_auroc": 0.96, "aupro": 0.82, "recall": 0.4, "far": 0.0, "n_normal": 150}
    base |= {"train_s": 240.0, "ms_per_item": 8.0, "evals": 1, "pauc": 0.9}
    return {**base, "method": method, "auroc": auroc, "ci": ci, **extra}


def _camera_result(preset: dict, *others: dict) -> dict:
    case = SimpleNamespace(
        name="Magnetic-Tile",
        public=True,
        variants=False,
        detector=SimpleNamespace(features=SimpleNamespace(backbone="mobilenet_v2")),
    )
    return {"case": case, "rows": [preset, *others], "n": (480, 120, 439)}


def test_a_goal_inside_the_interval_is_unresolved_not_met():
    assert targets._against(0.968, (0.955, 0.979), 0.97).startswith("**unresolved**")
    assert targets._against(0.985, (0.975, 0.992), 0.97) == "met"
    assert targets._against(0.95, (0.93, 0.965), 0.97) == "**missed**"
    assert targets._against(0.99, None, 0.97) == "met (point estimate)"
    assert targets._against(None, None, 0.97) == "**not measured**"


def test_only_the_shipped_preset_is_judged_and_no_prose_with_fixed_figures():
    preset = _row("diffusion preset", 0.968, (0.955, 0.979), aupro=0.83)
    tuned = _row("diffusion, label-free tuned", 0.99, (0.985, 0.995), aupro=0.95)
    core = _row("PatchCore (same backbone)", 0.951, (0.93, 0.966))
    res = _camera_result(preset, tuned, core)
    lines = targets.targets_section([res], None, ("PatchCore",))
    text = "\n".join(lines)
    # the issue-#3 AUPRO row: the tuned 0.95 is shown beside, the preset's 0.83 is judged
    aupro = next(line for line in lines if "AUPRO >= 0.7 " in line)
    assert "0.830" in aupro and "label-free tuned 0.950" in aupro
    assert aupro.endswith("| met (point estimate) |")
    assert next(line for line in lines if "AUPRO >= 0.9 " in line).endswith(
        "**missed** (point estimate) |"
    )
    image = next(line for line in lines if "image AUROC >= 0.97 " in line)
    assert "**unresolved**" in image
    ahead = next(line for line in lines if "ahead of model=patchcore" in line)
    assert ahead.endswith("met |")  # 0.955 > 0.951: the interval lies above PatchCore's AUROC
    # no pasted figures: the notes carry this run's sample size and nothing typed in
    assert "150 normal test items, so one false alarm is 0.7 %" in text
    assert "4.6 GFLOP" not in text and "0.055" not in text
    worse = _camera_result(_row("diffusion preset", 0.94, (0.92, 0.955)), tuned, core)
    ahead = next(
        line
        for line in targets.targets_section([worse], None, ("PatchCore",))
        if "ahead of model=" in line
    )
    assert "**unresolved**" in ahead
