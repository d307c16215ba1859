"""Inpainting diffusion (issue #16 item 1): masks, the loss restricted to the hole, filling with
the context given clean, the maps' known values, and a fault that breaks the sensors' agreement
found by the inpainting model where it lies."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from anomaly_diffusion.diffusion.inpainting import (
    inpaint,
    inpainting_loss,
    masked_input,
    scoring_masks,
    training_masks,
)
from anomaly_diffusion.diffusion.scheduler import NoiseScheduler
from anomaly_diffusion.diffusion.schedules import linear_betas
from anomaly_diffusion.diffusion.unet import UNet, UNetConfig
from anomaly_diffusion.scoring.inpaint import inpainting_maps


def test_training_masks_leave_context_unless_full():
    masks = training_masks(400, 10, 16, generator=torch.Generator().manual_seed(0))
    assert masks.shape == (400, 1, 10, 16)
    assert set(masks.unique().tolist()) == {0.0, 1.0}
    share = masks.mean(dim=(1, 2, 3))
    full = share == 1
    assert 0.04 < full.float().mean() < 0.18  # FULL_MASK_SHARE = 0.1
    partial = masks[~full, 0]
    rows = (partial.amax(dim=2) == partial.amin(dim=2)).all(dim=1)  # whole rows masked
    cols = (partial.amax(dim=1) == partial.amin(dim=1)).all(dim=1)  # whole columns masked
    assert (rows | cols).all()  # sensor groups or time blocks, nothing else
    assert 0.35 < rows.float().mean() < 0.65  # both kinds, about equally often
    assert share[~full].min() > 0 and share[~full].max() < 1  # some context always
    assert 0.2 < share[~full].mean() < 0.4  # MASKED_SHARE: 0.1-0.5


def test_scoring_masks_partition_the_window_once_per_kind():
    masks = scoring_masks(10, 8, groups=4, kinds=("sensors", "time"))
    assert masks.shape == (8, 1, 10, 8)
    assert torch.equal(masks[:4].sum(0), torch.ones(1, 10, 8))  # each cell once
    assert torch.equal(masks[4:].sum(0), torch.ones(1, 10, 8))
    assert masks[1, 0, :, 0].tolist() == [0, 1, 0, 0, 0, 1, 0, 0, 0, 1]  # rows 1, 5, 9
    assert masks[5, 0, 0].tolist() == [0, 0, 1, 1, 0, 0, 0, 0]  # the second time block
    # more groups than sensors: one per sensor
    assert scoring_masks(3, 8, groups=4, kinds=("sensors",)).shape == (3, 1, 3, 8)


def test_masked_input_keeps_context_and_adds_the_mask():
    x_t, x_0 = torch.full((1, 2, 3, 4), 7.0), torch.zeros(1, 2, 3, 4)
    mask = torch.zeros(1, 1, 3, 4)
    mask[..., 1] = 1
    x_in = masked_input(x_t, x_0, mask)
    assert x_in.shape == (1, 3, 3, 4)
    assert torch.equal(x_in[:, 2:], mask)
    assert x_in[:, :2, :, 1].eq(7).all() and x_in[:, :2, :, [0, 2, 3]].eq(0).all()


def test_loss_is_the_ddpm_loss_over_the_masked_cells_only():
    sched = NoiseScheduler(linear_betas(1000))
    x_0 = torch.randn(5, 1, 6, 8, generator=torch.Generator().manual_seed(1))
    zero = UNet(UNetConfig(in_channels=2, out_channels=1, base_channels=8, channel_mults=(1,)))
    assert zero(masked_input(x_0, x_0, torch.ones(5, 1, 6, 8)), torch.ones(5).long()).eq(0).all()
    loss = inpainting_loss(zero, sched, x_0, generator=torch.Generator().manual_seed(3))
    # the same draws in the same order: t, noise, masks; a zero output's loss is mean(noise^2)
    g = torch.Generator().manual_seed(3)
    torch.randint(1, 1001, (5,), generator=g)
    noise = sched.sample_noise((5, 1, 6, 8), generator=g)
    mask = training_masks(5, 6, 8, generator=g)
    expected = (noise.pow(2) * mask).sum() / mask.sum()
    torch.testing.assert_close(loss, expected)
    assert not torch.isclose(loss, noise.pow(2).mean())  # not the whole-window loss


class ContextChecker(nn.Module):
    """A perfect noise model for a known ``x_0`` that checks its input: the context clean, the
    mask as the last channel."""

    def __init__(self, scheduler: NoiseScheduler, x_0: torch.Tensor) -> None:
        super().__init__()
        self.scheduler, self.x_0, self.calls = scheduler, x_0, 0

    def forward(self, x_in: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        x, mask = x_in[:, :-1], x_in[:, -1:]
        x_0 = self.x_0.repeat_interleave(x.shape[0] // self.x_0.shape[0], dim=0)
        context = (mask == 0).expand_as(x)
        assert torch.equal(x[context], x_0[context])
        abar = self.scheduler.alphas_cumprod[t].reshape(-1, 1, 1, 1)
        return (x - abar.sqrt() * x_0) / (1 - abar).sqrt()


def test_inpaint_fills_the_hole_and_keeps_the_context():
    sched = NoiseScheduler(linear_betas(1000))
    g = torch.Generator().manual_seed(0)
    x_0, noise = torch.randn(2, 1, 6, 5, generator=g), torch.randn(2, 1, 6, 5, generator=g)
    mask = scoring_masks(6, 5, groups=3, kinds=("sensors",))[:1]
    oracle = ContextChecker(sched, x_0)
    filled = inpaint(oracle, sched, x_0, mask, noise=noise, t_start=400, n_steps=4)
    assert oracle.calls == 4
    torch.testing.assert_close(filled, x_0, atol=1e-4, rtol=0)


def test_maps_known_values_for_a_perfect_and_a_zero_model():
    sched = NoiseScheduler(linear_betas(1000))
    g = torch.Generator().manual_seed(2)
    x_0 = torch.randn(3, 1, 8, 6, generator=g)
    noise = torch.randn(2, 3, 1, 8, 6, generator=g)
    kinds = ("sensors", "time")
    maps = inpainting_maps(
        ContextChecker(sched, x_0),
        sched,
        x_0,
        noise=noise,
        t_start=300,
        n_steps=2,
        groups=4,
        kinds=kinds,
    )
    assert maps.shape == (3, 1, 8, 6) and maps.abs().max() < 1e-8

    class Zero(nn.Module):
        def forward(self, x_in, t):
            return torch.zeros_like(x_in[:, :-1])

    maps = inpainting_maps(
        Zero(), sched, x_0, noise=noise, t_start=300, n_steps=1, groups=4, kinds=kinds
    )
    # one step with zero noise predicted: filled = x_t / sqrt(abar), error sqrt((1-abar)/abar) *
    # noise in every cell, whichever mask covered it; averaged over the draws
    abar = sched.alphas_cumprod[300]
    expected = ((1 - abar) / abar * noise.pow(2)).mean(dim=0)
    torch.testing.assert_close(maps, expected)


@pytest.mark.slow
def test_a_sensor_out_of_step_with_the_others_is_found_where_it_lies():
    """Six sensors that move together (a shared slow level); the fault shifts one sensor's
    trace in time, so each of its values is one it takes in normal operation (no level or
    scale change), only no longer in agreement with the others. The inpainting model ranks the
    faulty windows above the normal ones and its map peaks on that sensor (400 steps, seed 0:
    AUROC 0.99, 94 % of the faulty windows' peaks on it; t_start 500: 0.94, 83 %)."""
    from process_plants import out_of_step_plant, table_windows
    from sklearn.metrics import roc_auc_score

    from anomaly_diffusion.config import FeatureConfig, ScoringConfig, TrainingConfig
    from anomaly_diffusion.detector import DetectorConfig, DiffusionAnomalyDetector

    rng = np.random.default_rng(0)

    def plant(rows: int, *, shift: int = 0) -> np.ndarray:
        return out_of_step_plant(rows, rng, shift=shift)

    windows = table_windows
    cfg = DetectorConfig(
        modality="process",
        features=FeatureConfig(kind="sensor_window"),
        training=TrainingConfig(max_steps=400, batch_size=16, objective="inpaint"),
        scoring=ScoringConfig(t_start=100, n_repeats=2, smoothing_sigma=0.0, aggregation="max"),
    )
    det = DiffusionAnomalyDetector(cfg).fit(windows(plant(600), "train"), seed=0)
    normal = det.score(windows(plant(200), "normal"), seed=0)
    faulty = det.score(windows(plant(200, shift=12), "fault"), seed=0)
    labels = np.r_[np.zeros(len(normal.scores)), np.ones(len(faulty.scores))]
    assert roc_auc_score(labels, np.r_[normal.scores, faulty.scores]) >= 0.95
    assert np.mean(faulty.scores > normal.scores.max()) >= 0.75
    peak_rows = [int(np.argmax(m.max(axis=1))) for m in faulty.maps]
    assert np.mean(np.array(peak_rows) == 2) >= 0.85


def _tiny_inpainting_detector(tmp_path=None, **scoring):
    from anomaly_diffusion.config import FeatureConfig, ScoringConfig, TrainingConfig
    from anomaly_diffusion.data.dataset import Item
    from anomaly_diffusion.data.windows import Window
    from anomaly_diffusion.detector import DetectorConfig, DiffusionAnomalyDetector

    rng = np.random.default_rng(3)
    windows = [
        Window(
            features=rng.normal(size=(1, 5, 12)).astype(np.float32),
            item=Item(f"w{i}.csv"),
            start_s=0.0,
        )
        for i in range(12)
    ]
    cfg = DetectorConfig(
        modality="process",
        features=FeatureConfig(kind="sensor_window"),
        training=TrainingConfig(max_steps=5, batch_size=4, objective="inpaint"),
        scoring=ScoringConfig(n_repeats=2, **scoring),
    )
    return DiffusionAnomalyDetector(cfg).fit(windows[:8], seed=0), windows[8:]


def test_inpainting_model_counts_its_passes_and_reloads_the_same(tmp_path):
    from anomaly_diffusion.detector import DiffusionAnomalyDetector

    det, held = _tiny_inpainting_detector(mask_groups=3, mask_kinds=("sensors",))
    assert det.config.network.in_channels == 2 and det.config.network.out_channels == 1
    assert det.network_evals_per_item() == 2 * 1 * 3  # draws x steps x masks
    det.calibrate(held, seed=0)
    before = det.score(held, seed=0)
    assert before.network_evals_per_item == 6
    again = DiffusionAnomalyDetector.load(det.save(tmp_path / "model"))
    assert again.inpainting and again.config.scoring.mask_kinds == ("sensors",)
    after = again.score(held, seed=0)
    np.testing.assert_allclose(after.scores, before.scores, rtol=1e-5)
    assert after.threshold == pytest.approx(before.threshold)


def test_inpainting_refuses_what_it_cannot_do():
    from anomaly_diffusion.config import FeatureConfig, ScoringConfig, TrainingConfig
    from anomaly_diffusion.detector import DetectorConfig
    from anomaly_diffusion.errors import ConfigError

    inpaint_training = TrainingConfig(objective="inpaint")
    with pytest.raises(ConfigError, match=r"map_type=feature with training\.objective=inpaint"):
        DetectorConfig(training=inpaint_training, scoring=ScoringConfig(map_type="feature"))
    with pytest.raises(ConfigError, match="inpainting needs the pixel UNet"):
        DetectorConfig(training=inpaint_training, features=FeatureConfig(backbone="mobilenet_v2"))
    with pytest.raises(ConfigError, match=r"training\.objective='fill'"):
        TrainingConfig(objective="fill")
    with pytest.raises(ConfigError, match=r"scoring.mask_kinds=\['rows'\]"):
        ScoringConfig(mask_kinds=("rows",))
    with pytest.raises(ConfigError, match=r"scoring\.mask_groups=1 must be >= 2"):
        ScoringConfig(mask_groups=1)
