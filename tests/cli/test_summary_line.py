"""The one-line metrics summary that train / evaluate / demo print."""

from __future__ import annotations

from anomaly_diffusion.cli.commands import _metrics_line
from anomaly_diffusion.metrics import detection_metrics


def test_false_alarm_rate_shows_its_count_and_interval():
    m = detection_metrics([0] * 8 + [1] * 4, [0.1] * 8 + [0.9] * 4, threshold=0.5)
    line = _metrics_line(m)
    assert "auroc=1.000" in line
    assert "false_alarm_rate=0.000 (0 of 8, 95 % <= 0.369)" in line  # 8 normals say little


def test_without_normal_items_there_is_no_rate():
    line = _metrics_line(detection_metrics([1, 1], [0.2, 0.9], threshold=0.5))
    assert "false_alarm_rate" not in line
    assert _metrics_line({}) == "no test metrics"
