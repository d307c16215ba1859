"""bench/tep.py: the Tennessee Eastman protocol's per-fault figures, known answers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from bench_modules import load_bench_module

tep = load_bench_module("tep")


def _windows(path: str, labels: np.ndarray, width: int = 4, hop: int = 2) -> list:
    return [
        SimpleNamespace(
            item=SimpleNamespace(path=path), row_start=s, row_labels=labels[s : s + width]
        )
        for s in range(0, labels.size - width + 1, hop)
    ]


def test_row_scores_fdr_far_and_auroc_known_answers():
    normal = _windows("test/good/d00_te.csv", np.zeros(12, int))  # 5 windows
    fault_labels = np.r_[np.zeros(4, int), np.ones(8, int)]  # the fault from row 4
    fault = _windows("test/fault_01/d01_te.csv", fault_labels)
    hard = _windows("test/fault_03/d03_te.csv", fault_labels)  # left out of the means
    windows = normal + fault + hard
    # d00_te: one window of five above the threshold 1.0 -> rows 4-7 alarmed (max over cover)
    s_normal = [0.1, 0.2, 2.0, 0.3, 0.4]
    s_fault = [0.5, 3.0, 3.0, 3.0, 3.0]  # every window covering a faulty row alarms
    s_hard = [0.5] * 5
    res = tep.evaluate(lambda ws: (np.r_[s_normal, s_fault, s_hard], 1.0), windows)
    assert res["n_d00te"] == 12
    assert res["far_d00te"] == pytest.approx(4 / 12)
    assert res["faults"][1]["fdr"] == 1.0 and res["faults"][1]["auroc"] == 1.0
    assert res["faults"][3]["fdr"] == 0.0
    # fault 3's rows (0.5) against d00_te's row scores (0.1 0.1 0.2 0.2 2 2 2 2 0.4 0.4 0.4 0.4):
    # above 8 of the 12
    assert res["faults"][3]["auroc"] == pytest.approx(8 / 12)
    # the means leave out 3 (and 9, 15): fault 1 alone
    assert res["mean_fdr"] == 1.0 and res["mean_auroc"] == 1.0
    # matched threshold: the 99th percentile of d00_te's rows (2.0): fault 1's 3.0 all exceed
    assert res["faults"][1]["fdr_at_1pct"] == 1.0
    assert tep.fault_number("x/test/fault_21/d21_te.csv") == 21
    assert tep.fault_number("x/test/good/d00_te.csv") is None


def test_section_says_met_only_when_every_fault_reaches_pca_q():
    def res(auroc_01, fdr, far):
        faults = {
            1: {"auroc": auroc_01, "fdr": fdr, "fdr_at_1pct": fdr},
            3: {"auroc": 0.5, "fdr": 0.0, "fdr_at_1pct": 0.0},
        }
        return {
            "far_d00te": far,
            "n_d00te": 960,
            "faults": faults,
            "mean_auroc": auroc_01,
            "mean_fdr": fdr,
            "mean_fdr_at_1pct": fdr,
        }

    text = "\n".join(tep.section({"diffusion": res(0.97, 0.9, 0.01), "PCA Q": res(0.96, 0.8, 0.2)}))
    assert "| diffusion | 0.010 | 0.970 | 0.900 | 0.900 |" in text
    assert "| 01 | 0.970 / 0.90 | 0.960 / 0.80 |" in text
    assert "| 03 (left out) |" in text
    assert "FAR <= 2 % on d00_te — **met** (0.900 at 1.0%)" in text
    assert "every fault — **met** (1 of 1)" in text
    text = "\n".join(tep.section({"diffusion": res(0.95, 0.9, 0.03), "PCA Q": res(0.96, 0.8, 0.2)}))
    assert "d00_te — **not met**" in text and "every fault — **not met** (0 of 1)" in text
    assert "Ablation without sensor whitening" not in text
    # the recipe is judged beside both Q's, and said not to be the CLI defaults
    results = {
        "diffusion": res(0.95, 0.9, 0.03),
        "PCA Q": res(0.96, 0.8, 0.2),
        tep.RECIPE_LABEL: res(0.97, 0.88, 0.0),
    }
    text = "\n".join(tep.section(results))
    assert "**not** the CLI defaults: features.sensor_whitening=none scoring.t_start=100" in text
    assert "mean FDR 0.880 at 0.0% false alarms" in text
    assert "row AUROC >= PCA Q's on 1 of 1 faults." in text
    cfg = tep.recipe_config(preset_detector_config())
    assert (cfg.features.sensor_whitening, cfg.scoring.t_start) == ("none", 100)


def preset_detector_config():
    from anomaly_diffusion.config import FeatureConfig
    from anomaly_diffusion.detector_config import DetectorConfig

    return DetectorConfig(features=FeatureConfig(kind="sensor_window"))
