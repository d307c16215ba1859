"""The vibration preset as shipped on CWRU: its threshold holds on the next stretch of the one
normal recording (issue #15). A file of its own so that pytest-xdist runs it beside the other
CWRU test instead of after it."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_cwru_vibration_preset_threshold_holds_on_the_next_stretch(train_cwru):
    # issue #15: the vibration preset as shipped (only the data's rate and channel given) set
    # its threshold from the 2 windows of 0.32 s in the last 0.6 s of the one normal recording,
    # and alarmed on 6-9 of the 12 normal test windows that follow it (target 1 %)
    # a fixed number of steps, not a wall-clock budget: a slower or loaded CI worker trains the
    # same model (1 min trained 1,390 steps here alone and about half that beside another test)
    log, metrics = train_cwru("training.max_steps=600", "training.max_minutes=20")
    assert "cut at hop 0.04 s instead" in log  # 8 held-out windows, not 2
    assert metrics["n_test_normal"] == 12
    # at most 2 of 12: the 95 % interval of the realised rate still reaches below 2 %
    assert metrics["false_alarm_rate"] <= 2 / 12
    assert metrics["recall"] >= 0.9  # and the threshold is not one nobody crosses
