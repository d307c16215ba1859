"""The small UNet and the DDPM training loss."""

from __future__ import annotations

import pytest
import torch

from anomaly_diffusion.config import SchedulerConfig
from anomaly_diffusion.diffusion.losses import diffusion_loss
from anomaly_diffusion.diffusion.scheduler import NoiseScheduler
from anomaly_diffusion.diffusion.unet import UNet, UNetConfig, timestep_embedding
from anomaly_diffusion.errors import ConfigError

SMALL = {"base_channels": 8, "channel_mults": (1, 2, 2), "groups": 4}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _perturb_output_layer(model: UNet) -> None:
    """Give the zero-initialised output conv non-zero weights so shapes/flows are visible."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        w = model.out_conv.weight
        w.copy_(0.1 * torch.randn(w.shape, generator=g))


@pytest.mark.parametrize(
    ("shape", "extra"),
    [
        ((2, 1, 64, 64), {}),
        ((2, 1, 129, 65), {}),
        ((1, 3, 40, 72), {"in_channels": 3}),
        ((2, 1, 30, 17), {"attention": True}),
        ((1, 1, 5, 3), {}),
    ],
)
def test_output_shape_equals_input_shape(shape, extra):
    torch.manual_seed(0)
    model = UNet(UNetConfig(**SMALL, **extra)).eval()
    _perturb_output_layer(model)
    x = torch.randn(shape)
    with torch.no_grad():
        y = model(x, torch.full((shape[0],), 50))
    assert y.shape == x.shape
    assert torch.isfinite(y).all()
    assert y.abs().max() > 0


def test_output_is_zero_at_init():
    torch.manual_seed(0)
    model = UNet(UNetConfig(**SMALL, attention=True)).eval()
    x = torch.randn(2, 1, 24, 40)
    with torch.no_grad():
        y = model(x, torch.tensor([1, 900]))
    assert y.shape == x.shape
    assert torch.count_nonzero(y) == 0


def test_output_depends_on_timestep():
    torch.manual_seed(0)
    model = UNet(UNetConfig(**SMALL)).eval()
    _perturb_output_layer(model)
    x = torch.randn(1, 1, 16, 16)
    with torch.no_grad():
        a, b = model(x, torch.tensor([1])), model(x, torch.tensor([800]))
    assert not torch.allclose(a, b)


def test_timestep_embedding_shape_and_distinct_rows():
    t = torch.tensor([0, 1, 2, 10, 500, 999])
    emb = timestep_embedding(t, 32)
    assert emb.shape == (6, 32)
    # t = 0: cos part all ones, sin part all zeros
    assert torch.allclose(emb[0, :16], torch.ones(16))
    assert torch.allclose(emb[0, 16:], torch.zeros(16))
    dists = torch.cdist(emb, emb)
    off_diag = dists[~torch.eye(6, dtype=torch.bool)]
    assert off_diag.min() > 1e-3
    assert emb.abs().max() <= 1.0 + 1e-6


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_channels": 12, "groups": 8},
        {"base_channels": 32, "channel_mults": (1, 3), "groups": 64},
        {"base_channels": 16, "channel_mults": (1, 2), "groups": 5},
    ],
)
def test_groups_must_divide_widths(kwargs):
    with pytest.raises(ConfigError, match=r"network\.groups"):
        UNetConfig(**kwargs)


def test_bad_res_blocks_and_channels():
    with pytest.raises(ConfigError, match="num_res_blocks"):
        UNetConfig(num_res_blocks=0)
    with pytest.raises(ConfigError, match="in_channels"):
        UNetConfig(in_channels=0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_channels": 9, "channel_mults": (1, 2), "groups": 1},
        {"base_channels": 4, "channel_mults": (2, 4), "groups": 8},
    ],
)
def test_validated_config_either_rejected_or_runs(kwargs):
    try:
        cfg = UNetConfig(**kwargs)
    except ConfigError:
        return
    model = UNet(cfg).eval()
    x = torch.randn(1, 1, 8, 8)
    with torch.no_grad():
        assert model(x, torch.tensor([3])).shape == x.shape


def test_diffusion_loss_at_init_is_noise_power():
    torch.manual_seed(0)
    model = UNet(UNetConfig(**SMALL))
    sched = NoiseScheduler.from_config(SchedulerConfig(num_train_timesteps=100))
    x_0 = torch.randn(4, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    loss = diffusion_loss(model, sched, x_0, generator=g1)
    # zero output => loss = mean(noise ** 2) for exactly the noise drawn by the loss
    torch.randint(1, 101, (4,), generator=g2)
    noise = torch.randn(x_0.shape, generator=g2)
    assert loss.item() == pytest.approx(noise.pow(2).mean().item(), rel=1e-5)


def test_few_adamw_steps_reduce_the_loss():
    torch.manual_seed(0)
    model = UNet(UNetConfig(**SMALL))
    sched = NoiseScheduler.from_config(SchedulerConfig(num_train_timesteps=100))
    x_0 = torch.randn(4, 1, 16, 16, generator=torch.Generator().manual_seed(1))

    def eval_loss() -> float:
        with torch.no_grad():
            total = sum(
                diffusion_loss(model, sched, x_0, generator=torch.Generator().manual_seed(s)).item()
                for s in range(4)
            )
        return total / 4

    before = eval_loss()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(123)
    for _ in range(15):
        opt.zero_grad()
        loss = diffusion_loss(model, sched, x_0, generator=gen)
        loss.backward()
        opt.step()
    after = eval_loss()
    assert after < 0.9 * before


def test_conditions_change_the_output_and_unknown_equals_unconditional(one_torch_thread):
    torch.manual_seed(0)
    cfg = UNetConfig(
        base_channels=8, channel_mults=(1, 2), groups=4, cond_vocab_sizes=(3,), cond_numeric=1
    )
    model = UNet(cfg).eval()
    torch.nn.init.normal_(model.out_conv.weight)  # zero-initialized: make outputs informative
    x, t = torch.randn(2, 1, 16, 12), torch.tensor([10, 10])
    with torch.no_grad():
        plain = model(x, t)
        unknown = model(x, t, (torch.zeros(2, 1, dtype=torch.long), torch.zeros(2, 1)))
        known = model(x, t, (torch.tensor([[1], [2]]), torch.tensor([[0.5], [-1.0]])))
    torch.testing.assert_close(unknown, plain)  # absent conditions fall back to unconditional
    assert (known - plain).abs().mean() > 1e-3
    assert not torch.allclose(known[0], known[1])


def test_encode_gives_one_feature_map_per_level_plus_middle(one_torch_thread):
    model = UNet(UNetConfig(base_channels=8, channel_mults=(1, 2, 2), groups=4)).eval()
    with torch.no_grad():
        feats = model.encode(torch.randn(2, 1, 30, 20), torch.tensor([1, 1]))
    assert [f.shape[-2:] for f in feats] == [(32, 20), (16, 10), (8, 5), (8, 5)]
    assert [f.shape[1] for f in feats] == [8, 16, 16, 16]
