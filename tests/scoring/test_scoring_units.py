"""Map aggregation, smoothing, re-projection with an oracle network, peaks and result tables."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.diffusion.scheduler import NoiseScheduler
from anomaly_diffusion.diffusion.schedules import linear_betas
from anomaly_diffusion.scoring.aggregate import aggregate_map
from anomaly_diffusion.scoring.maps import peak_of, rows_are_neighbours, smooth_map
from anomaly_diffusion.scoring.reconstruct import reproject, residual_maps
from anomaly_diffusion.scoring.result import (
    SCORE_COLUMNS,
    ScoreResult,
    failure_rows,
    peak_location,
    result_frame,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ---------------------------------------------------------------- aggregate


def _sparse_map() -> np.ndarray:
    amap = np.zeros((100, 100), np.float32)
    amap.reshape(-1)[::100] = 10.0  # exactly 1 % of the cells
    return amap


def test_aggregate_known_answers():
    amap = _sparse_map()
    assert aggregate_map(amap, method="topk", topk_fraction=0.01) == pytest.approx(10.0)
    assert aggregate_map(amap, method="mean") == pytest.approx(0.1)
    assert aggregate_map(amap, method="max") == pytest.approx(10.0)
    # top 2 %: half of the cells are 10, half 0
    assert aggregate_map(amap, method="topk", topk_fraction=0.02) == pytest.approx(5.0)
    assert aggregate_map(amap, method="topk", topk_fraction=1.0) == pytest.approx(0.1)


def test_aggregate_topk_at_least_one_cell():
    amap = np.array([[1.0, 2.0], [3.0, 7.0]])
    assert aggregate_map(amap, method="topk", topk_fraction=0.01) == pytest.approx(7.0)
    assert aggregate_map(amap, method="topk", topk_fraction=0.5) == pytest.approx(5.0)
    assert isinstance(aggregate_map(amap), float)


def test_row_max_ranks_a_sensor_off_for_the_whole_window_above_a_spike():
    rng = np.random.default_rng(0)
    noise = rng.exponential(1.0, size=(2, 52, 20))  # squared residuals of normal sensors
    spike, drift = noise[0].copy(), noise[1].copy()
    spike[7, 3] += 12.0  # one cell far off
    drift[30] += 2.0  # one sensor moderately off at every time step
    # cell statistics prefer the spike; the row mean names the persistent sensor
    assert aggregate_map(spike, method="max") > aggregate_map(drift, method="max")
    assert aggregate_map(drift, method="row_max") > aggregate_map(spike, method="row_max")
    assert aggregate_map(drift, method="row_max") == pytest.approx(drift.mean(axis=1).max())
    assert int(np.argmax(drift.mean(axis=1))) == 30


# ---------------------------------------------------------------- maps


def test_smooth_map_sigma_zero_is_a_copy():
    amap = np.arange(12, dtype=np.float64).reshape(3, 4)
    out = smooth_map(amap, sigma=0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, amap.astype(np.float32))
    out[0, 0] = 99.0
    assert amap[0, 0] == 0.0


def test_smooth_map_spreads_a_delta_and_keeps_the_sum():
    amap = np.zeros((31, 31), np.float32)
    amap[15, 15] = 1.0
    out = smooth_map(amap, sigma=2.0)
    assert out.shape == amap.shape
    assert out.sum() == pytest.approx(1.0, rel=1e-3)
    assert out[15, 15] < 0.1
    assert out[15, 16] > 0 and out[13, 15] > 0
    assert peak_of(out) == (15, 15)
    np.testing.assert_allclose(out, out.T, atol=1e-7)  # isotropic
    assert amap[15, 15] == 1.0  # input untouched


def test_sensor_maps_are_smoothed_along_time_only():
    """A fault on one sensor beside two sensors that move with it: smoothing across the rows
    hands the peak to the middle neighbour (the measured failure of the correlated-pair plant);
    along time it stays on the faulty sensor."""
    amap = np.zeros((6, 40), np.float32)
    amap[2, 10:30] = 3.0  # the faulty sensor
    amap[3:5, 5:35] = 2.2  # the next two columns of the table, smaller residuals
    iso = smooth_map(amap, sigma=2.0)
    along = smooth_map(amap, sigma=2.0, across_rows=False)
    assert peak_of(iso)[0] == 3
    assert peak_of(along)[0] == 2
    np.testing.assert_array_equal(along[[0, 1, 5]], 0.0)  # nothing leaks into other sensors
    np.testing.assert_allclose(along.sum(axis=1), amap.sum(axis=1), rtol=1e-3)
    assert not rows_are_neighbours("sensor_window")
    assert rows_are_neighbours("spectrogram") and rows_are_neighbours("frame")


def test_peak_of():
    amap = np.zeros((5, 7))
    amap[3, 6] = 2.0
    amap[1, 1] = 1.0
    assert peak_of(amap) == (3, 6)
    assert all(isinstance(v, int) for v in peak_of(amap))


# ---------------------------------------------------------------- re-projection


class NoiseOracle(nn.Module):
    """Returns the exact noise implied by ``x_t`` for a known ``x_0`` (a perfect eps-model)."""

    def __init__(self, scheduler: NoiseScheduler, x_0: torch.Tensor) -> None:
        super().__init__()
        self.scheduler, self.x_0, self.calls = scheduler, x_0, []

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        self.calls.append(t.clone())
        abar = self.scheduler.alphas_cumprod[t].reshape(-1, 1, 1, 1).double()
        eps = (x_t.double() - abar.sqrt() * self.x_0.double()) / (1 - abar).sqrt()
        return eps.to(x_t.dtype)


class FixedNoise(nn.Module):
    """Returns the one noise tensor it holds, whatever the input."""

    def __init__(self, noise: torch.Tensor) -> None:
        super().__init__()
        self.noise = noise

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.noise


def _data(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 1, 6, 5, generator=g), torch.randn(2, 1, 6, 5, generator=g)


@pytest.mark.parametrize("n_steps", [1, 5])
def test_reproject_with_true_noise_returns_x0(n_steps):
    sched = NoiseScheduler(linear_betas(1000))
    x_0, noise = _data()
    x_hat = reproject(FixedNoise(noise), sched, x_0, noise=noise, t_start=200, n_steps=n_steps)
    assert x_hat.shape == x_0.shape
    assert torch.allclose(x_hat, x_0, atol=1e-5)


def test_reproject_with_wrong_noise_differs_and_counts_steps():
    sched = NoiseScheduler(linear_betas(1000))
    x_0, noise = _data()
    oracle = NoiseOracle(sched, x_0)
    x_hat = reproject(oracle, sched, x_0, noise=noise, t_start=100, n_steps=4)
    assert torch.allclose(x_hat, x_0, atol=1e-5)
    assert [c.tolist() for c in oracle.calls] == [[100, 100], [75, 75], [50, 50], [25, 25]]
    # a network that predicts zero noise: one-step residual = sqrt((1-abar)/abar) * noise
    zero = FixedNoise(torch.zeros_like(noise))
    x_hat = reproject(zero, sched, x_0, noise=noise, t_start=100, n_steps=1)
    abar = sched.alphas_cumprod[100]
    assert torch.allclose(x_hat - x_0, ((1 - abar) / abar).sqrt() * noise, atol=1e-5)


def test_residual_maps_shape_and_oracle_zero():
    sched = NoiseScheduler(linear_betas(1000))
    x_0 = torch.randn(3, 2, 8, 6, generator=torch.Generator().manual_seed(1))
    noise = torch.randn(4, *x_0.shape, generator=torch.Generator().manual_seed(2))
    maps = residual_maps(NoiseOracle(sched, x_0), sched, x_0, noise=noise, t_start=150, n_steps=3)
    assert maps.shape == (3, 8, 6)
    assert maps.dtype == torch.float32
    assert maps.abs().max() < 1e-9


def test_residual_maps_known_value_for_zero_model():
    sched = NoiseScheduler(linear_betas(1000))
    x_0 = torch.zeros(1, 2, 4, 4)
    noise = torch.ones(2, 1, 2, 4, 4)
    zero = FixedNoise(torch.zeros(1, 2, 4, 4))
    maps = residual_maps(zero, sched, x_0, noise=noise, t_start=100, n_steps=1)
    abar = sched.alphas_cumprod[100].item()
    torch.testing.assert_close(maps, torch.full((1, 4, 4), (1 - abar) / abar))


# ---------------------------------------------------------------- results


def _spec_window(path: str = "pump.wav", start_s: float = 2.0) -> Window:
    return Window(
        features=np.zeros((1, 5, 10), np.float32),
        item=Item(path, asset="pump"),
        start_s=start_s,
        end_s=start_s + 1.0,
        freqs_hz=np.array([0.0, 100.0, 200.0, 300.0, 400.0]),
        frame_s=0.1,
        sample_rate=1000.0,
    )


def _image_window(path: str = "part.png") -> Window:
    return Window(
        features=np.zeros((1, 64, 64), np.float32),
        item=Item(path, asset="cam"),
        source_size=(128, 256),
    )


def test_peak_location_spectrogram():
    amap = np.zeros((5, 10))
    amap[3, 7] = 1.0
    loc = peak_location(_spec_window(), amap)
    assert loc["peak_time_s"] == pytest.approx(2.0 + 7 * 0.1)
    assert loc["peak_freq_hz"] == pytest.approx(300.0)
    assert loc["peak_x"] is None and loc["peak_y"] is None


def test_peak_location_image():
    amap = np.zeros((64, 64))
    amap[10, 20] = 1.0
    loc = peak_location(_image_window(), amap)
    assert loc["peak_x"] == pytest.approx(20.5 * 256 / 64)
    assert loc["peak_y"] == pytest.approx(10.5 * 128 / 64)
    assert loc["peak_time_s"] is None and loc["peak_freq_hz"] is None


def test_peak_location_table_names_the_sensor():
    window = Window(
        features=np.zeros((1, 3, 20), np.float32),
        item=Item("plant.csv", asset="unit_1"),
        start_s=600.0,
        end_s=4200.0,
        frame_s=180.0,
        channels=("level", "flow", "temp"),
    )
    amap = np.zeros((3, 20))
    amap[1, 12] = 1.0  # the flow sensor, row 12 of the window
    loc = peak_location(window, amap)
    assert loc["peak_sensor"] == "flow"
    assert loc["peak_time_s"] == pytest.approx(600.0 + 12 * 180.0)
    assert loc["peak_freq_hz"] is None
    assert peak_location(_image_window(), np.ones((64, 64)))["peak_sensor"] is None


def test_result_frame():
    windows = [_spec_window("a.wav", 0.0), _spec_window("a.wav", 1.0), _image_window()]
    maps = [np.zeros((5, 10)), np.zeros((5, 10)), np.zeros((64, 64))]
    maps[1][4, 2] = 1.0
    result = ScoreResult(
        scores=np.array([0.5, 3.0, 2.0]),
        maps=maps,
        threshold=2.0,
        network_evals_per_item=4,
        severity=np.array([0.25, 0.999, 0.99]),
    )
    frame = result_frame(windows, result)
    assert tuple(frame.columns) == SCORE_COLUMNS
    assert len(frame) == 3
    assert frame["path"].tolist() == ["a.wav", "a.wav", "part.png"]
    assert frame["asset"].tolist() == ["pump", "pump", "cam"]
    assert frame["score"].tolist() == [0.5, 3.0, 2.0]
    assert frame["severity"].tolist() == pytest.approx([0.25, 0.999, 0.99])
    # strictly greater than the threshold: a score equal to it is no alarm
    assert frame["is_anomaly"].tolist() == [False, True, False]
    assert frame["threshold"].tolist() == [2.0, 2.0, 2.0]
    assert frame.loc[1, "peak_time_s"] == pytest.approx(1.0 + 2 * 0.1)
    assert frame.loc[1, "peak_freq_hz"] == pytest.approx(400.0)
    assert frame.loc[2, "peak_x"] == pytest.approx(0.5 * 256 / 64)
    assert frame["error"].isna().all() and frame["map_path"].isna().all()


def test_result_without_threshold():
    result = ScoreResult(
        scores=np.array([5.0]), maps=[np.zeros((5, 10))], threshold=None, network_evals_per_item=1
    )
    assert result.is_anomaly.tolist() == [False]
    frame = result_frame([_spec_window()], result)
    assert frame.loc[0, "severity"] is None or np.isnan(frame.loc[0, "severity"])
    assert not frame.loc[0, "is_anomaly"]


def test_result_frame_length_mismatch():
    result = ScoreResult(
        scores=np.array([1.0, 2.0]),
        maps=[np.zeros((2, 2))] * 2,
        threshold=1.0,
        network_evals_per_item=1,
    )
    with pytest.raises(ValueError):
        result_frame([_spec_window()], result)


def test_failure_rows():
    frame = failure_rows([(Item("bad.wav", asset="m", start_s=1.0), "bad.wav: file is empty")])
    assert tuple(frame.columns) == SCORE_COLUMNS
    assert frame.loc[0, "path"] == "bad.wav"
    assert frame.loc[0, "error"] == "bad.wav: file is empty"
    assert frame.loc[0, "start_s"] == 1.0
    assert not frame.loc[0, "is_anomaly"]
    assert np.isnan(frame.loc[0, "score"])
