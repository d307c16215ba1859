"""Beta schedules and the DDIM noise scheduler: known answers from DDPM/DDIM algebra."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from anomaly_diffusion.config import SchedulerConfig
from anomaly_diffusion.diffusion.scheduler import NoiseScheduler
from anomaly_diffusion.diffusion.schedules import alphas_cumprod_from, cosine_betas, linear_betas

T = 1000


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(3, 1, 8, 6, generator=g), torch.randn(3, 1, 8, 6, generator=g)


def test_linear_betas_endpoints_and_monotonic():
    betas = linear_betas(T, beta_start=1e-4, beta_end=0.02)
    assert betas.shape == (T,)
    assert betas.dtype == torch.float64
    assert betas[0].item() == pytest.approx(1e-4)
    assert betas[-1].item() == pytest.approx(0.02)
    assert bool((betas[1:] > betas[:-1]).all())


def test_cosine_betas_range():
    betas = cosine_betas(T)
    assert betas.shape == (T,)
    assert bool((betas > 0).all())
    assert bool((betas <= 0.999).all())
    # the last step of the cosine schedule hits the clamp
    assert betas[-1].item() == pytest.approx(0.999)
    # small at the start (Nichol & Dhariwal: beta_1 is tiny)
    assert betas[0].item() < 1e-3


def test_cosine_schedule_reproduces_improved_ddpm_alpha_bar_values():
    """Known answers from the paper's formula, written out independently:
    abar(t) = f(t) / f(0), f(t) = cos^2(((t / T) + s) / (1 + s) * pi / 2), s = 0.008."""

    def f(t: float) -> float:
        return math.cos((t / T + 0.008) / 1.008 * math.pi / 2) ** 2

    abar = alphas_cumprod_from(cosine_betas(T))
    for t in (1, 10, 100, 250, 500, 750, 900, 990):
        assert abar[t].item() == pytest.approx(f(t) / f(0), rel=1e-9), t
    assert abar[500].item() == pytest.approx(0.4938, abs=1e-4)  # half way: about one half
    # the linear schedule of DDPM (1e-4 .. 0.02) keeps far less signal at t = 500
    assert alphas_cumprod_from(linear_betas(T))[500].item() == pytest.approx(0.0786, abs=1e-3)


@pytest.mark.parametrize("betas", [linear_betas(T), cosine_betas(T), linear_betas(10)])
def test_alphas_cumprod_from(betas):
    abar = alphas_cumprod_from(betas)
    assert abar.shape == (betas.shape[0] + 1,)
    assert abar[0].item() == 1.0
    assert bool((abar[1:] < abar[:-1]).all())
    assert abar[1].item() == pytest.approx(1 - betas[0].item())
    assert abar[-1].item() == pytest.approx(torch.prod(1 - betas).item())


def test_add_noise_t0_is_identity():
    sched = NoiseScheduler(linear_betas(T))
    x_0, noise = _batch()
    assert torch.equal(sched.add_noise(x_0, noise, 0), x_0)
    assert torch.allclose(sched.add_noise(x_0, noise, torch.zeros(3, dtype=torch.long)), x_0)


def test_add_noise_at_T_has_unit_variance_for_zero_input():
    sched = NoiseScheduler(linear_betas(T))
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(4, 1, 64, 64, generator=g)
    x_t = sched.add_noise(torch.zeros_like(noise), noise, T)
    assert x_t.var().item() == pytest.approx(1.0, abs=0.03)
    assert abs(x_t.mean().item()) < 0.03


def test_add_noise_per_item_timesteps():
    sched = NoiseScheduler(linear_betas(T))
    x_0, noise = _batch()
    t = torch.tensor([0, 10, 500])
    x_t = sched.add_noise(x_0, noise, t)
    for i, ti in enumerate(t.tolist()):
        abar = sched.alphas_cumprod[ti]
        expected = abar.sqrt() * x_0[i] + (1 - abar).sqrt() * noise[i]
        assert torch.allclose(x_t[i], expected, atol=1e-6)


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
@pytest.mark.parametrize("t", [1, 100, 700])
def test_predict_x0_eps_with_true_target(prediction_type, t):
    sched = NoiseScheduler(linear_betas(T), prediction_type=prediction_type)
    x_0, noise = _batch(2)
    tt = torch.full((3,), t)
    x_t = sched.add_noise(x_0, noise, tt)
    target = sched.training_target(x_0, noise, tt)
    if prediction_type == "epsilon":
        assert torch.equal(target, noise)
    else:
        assert not torch.allclose(target, noise)
    x0_hat, eps_hat = sched.predict_x0_eps(target, x_t, tt)
    assert torch.allclose(x0_hat, x_0, atol=1e-4)
    assert torch.allclose(eps_hat, noise, atol=1e-4)


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_ddim_step_to_zero_recovers_x0(prediction_type):
    sched = NoiseScheduler(linear_betas(T), prediction_type=prediction_type)
    x_0, noise = _batch(3)
    t = 100
    tt = torch.full((3,), t)
    x_t = sched.add_noise(x_0, noise, t)
    out = sched.training_target(x_0, noise, tt)
    x_prev, x0_hat = sched.step(out, t, x_t, t_prev=0, eta=0.0)
    assert torch.allclose(x_prev, x_0, atol=1e-5)
    assert torch.allclose(x0_hat, x_0, atol=1e-5)


def test_ddim_intermediate_step_stays_on_the_same_trajectory():
    sched = NoiseScheduler(linear_betas(T))
    x_0, noise = _batch(4)
    x_t = sched.add_noise(x_0, noise, 300)
    x_prev, _ = sched.step(noise, 300, x_t, t_prev=150)
    assert torch.allclose(x_prev, sched.add_noise(x_0, noise, 150), atol=1e-5)


def test_ddpm_step_eta1_is_seeded_and_stochastic():
    sched = NoiseScheduler(linear_betas(T))
    x_0, noise = _batch(5)
    x_t = sched.add_noise(x_0, noise, 300)
    a, _ = sched.step(
        noise, 300, x_t, t_prev=150, eta=1.0, generator=torch.Generator().manual_seed(0)
    )
    b, _ = sched.step(
        noise, 300, x_t, t_prev=150, eta=1.0, generator=torch.Generator().manual_seed(0)
    )
    c, _ = sched.step(noise, 300, x_t, t_prev=150, eta=0.0)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_set_timesteps():
    sched = NoiseScheduler(linear_betas(T))
    assert sched.set_timesteps(1, t_start=100) == [100]
    steps = sched.set_timesteps(4, t_start=100)
    assert steps == [100, 75, 50, 25]
    assert all(a > b for a, b in itertools.pairwise(steps))
    assert all(s > 0 for s in steps)
    assert sched.set_timesteps(1) == [T]
    full = sched.set_timesteps(10, t_start=10)
    assert full == list(range(10, 0, -1))


@pytest.mark.parametrize(("n_steps", "t_start"), [(101, 100), (0, 100), (1, T + 1)])
def test_set_timesteps_rejects_bad_arguments(n_steps, t_start):
    sched = NoiseScheduler(linear_betas(T))
    with pytest.raises(ValueError, match="n_steps"):
        sched.set_timesteps(n_steps, t_start=t_start)


def test_from_config_cosine_and_linear():
    cos = NoiseScheduler.from_config(
        SchedulerConfig(
            num_train_timesteps=50, beta_schedule="cosine", prediction_type="v_prediction"
        )
    )
    assert cos.num_train_timesteps == 50
    assert cos.prediction_type == "v_prediction"
    assert torch.allclose(cos.alphas_cumprod, alphas_cumprod_from(cosine_betas(50)).float())
    lin = NoiseScheduler.from_config(
        SchedulerConfig(num_train_timesteps=50, beta_start=1e-3, beta_end=0.05)
    )
    expected = alphas_cumprod_from(linear_betas(50, beta_start=1e-3, beta_end=0.05)).float()
    assert torch.allclose(lin.alphas_cumprod, expected)
    assert lin.prediction_type == "epsilon"
    assert not torch.allclose(cos.alphas_cumprod, lin.alphas_cumprod)


def test_guided_step_pulls_toward_the_noised_input():
    sched = NoiseScheduler.from_config(SchedulerConfig())
    gen = torch.Generator().manual_seed(3)
    x_0, noise = torch.randn((2, 1, 8, 8), generator=gen), torch.randn((2, 1, 8, 8), generator=gen)
    x_t = sched.add_noise(x_0, noise, 300)
    wrong = torch.randn((2, 1, 8, 8), generator=gen)  # a poor noise estimate
    plain, _ = sched.step(wrong, 300, x_t, t_prev=200)
    zero, _ = sched.guided_step(wrong, 300, x_t, t_prev=200, y_t=x_t + 1.0, weight=0.0)
    torch.testing.assert_close(zero, plain)  # weight 0 = plain DDIM
    # drifted away from the input's trajectory: guidance brings the next state closer to it
    drifted = x_t + 0.5 * torch.randn((2, 1, 8, 8), generator=gen)
    target = sched.add_noise(x_0, noise, 200)
    out_plain, _ = sched.step(noise, 300, drifted, t_prev=200)
    out_guided, _ = sched.guided_step(noise, 300, drifted, t_prev=200, y_t=x_t, weight=1.0)
    assert (out_guided - target).norm() < (out_plain - target).norm()
    same, _ = sched.guided_step(noise, 300, x_t, t_prev=200, y_t=x_t, weight=2.0)
    torch.testing.assert_close(same, target, atol=1e-4, rtol=1e-4)  # on trajectory: unchanged


def test_scheduler_noise_kind_is_used_for_sampling():
    simplex = NoiseScheduler.from_config(SchedulerConfig(noise="simplex"))
    n = simplex.sample_noise((2, 1, 32, 32), generator=torch.Generator().manual_seed(0))
    lag1 = torch.corrcoef(torch.stack([n[..., :-1].flatten(), n[..., 1:].flatten()]))[0, 1]
    assert lag1 > 0.5  # spatially correlated, unlike Gaussian noise
    with pytest.raises(ValueError, match=r"scheduler\.noise"):
        SchedulerConfig(noise="perlin")
