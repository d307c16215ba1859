"""Training checkpoints: weights, EMA, optimizer state and RNG state in one safetensors file,
so that a run killed at any moment resumes to exactly the weights of an uninterrupted run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from anomaly_diffusion.atomic import atomic_path
from anomaly_diffusion.errors import DataError

FORMAT = "anomaly_diffusion.checkpoint.v1"


@dataclass(frozen=True)
class TrainState:
    """Loop counters saved beside the tensors.

    Attributes:
        step: Optimizer steps completed.
        running_loss: Exponential moving average of the loss.
        elapsed_s: Training seconds spent before the checkpoint (counts toward the budget).
        lr_horizon: Step at which the cosine LR reaches its floor, fixed once the speed was
            timed (``None``: not fixed yet, the cosine spans ``max_steps``).
    """

    step: int
    running_loss: float
    elapsed_s: float
    lr_horizon: int | None = None


def save_checkpoint(
    path: str | Path,
    *,
    model: torch.nn.Module,
    ema: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    state: TrainState,
) -> Path:
    """Write a checkpoint atomically (a kill during the write leaves the previous one intact)."""
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    tensors |= {f"ema.{k}": v.detach().contiguous() for k, v in ema.state_dict().items()}
    optim = optimizer.state_dict()
    for index, slots in optim["state"].items():
        for name, value in slots.items():
            tensors[f"optim.{index}.{name}"] = torch.as_tensor(value).detach().contiguous()
    tensors["rng.generator"] = generator.get_state()
    meta = {
        "format": FORMAT,
        "step": state.step,
        "running_loss": state.running_loss,
        "elapsed_s": state.elapsed_s,
        "lr_horizon": state.lr_horizon,
        "param_groups": optim["param_groups"],
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"meta": json.dumps(meta)})
    return Path(path)


def load_checkpoint(
    path: str | Path,
    *,
    model: torch.nn.Module,
    ema: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
) -> TrainState:
    """Restore everything :func:`save_checkpoint` wrote, in place; returns the loop counters.

    Raises:
        DataError: the file is not a checkpoint of this format or does not fit the model.
    """
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads((handle.metadata() or {}).get("meta", "{}"))
        tensors = load_file(str(path))
        if meta.get("format") != FORMAT:
            raise ValueError(f"format {meta.get('format')!r}")
        model.load_state_dict(_section(tensors, "model."))
        ema.load_state_dict(_section(tensors, "ema."))
    except (OSError, ValueError, RuntimeError, KeyError, SafetensorError) as exc:
        raise DataError(
            f"{path}: cannot resume from this checkpoint ({exc}); delete it or start "
            "without resume=true"
        ) from exc
    optimizer.load_state_dict(
        {"state": _optimizer_slots(tensors), "param_groups": meta["param_groups"]}
    )
    generator.set_state(tensors["rng.generator"])
    return TrainState(
        step=int(meta["step"]),
        running_loss=float(meta["running_loss"]),
        elapsed_s=float(meta["elapsed_s"]),
        lr_horizon=None if meta.get("lr_horizon") is None else int(meta["lr_horizon"]),
    )


def _section(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def _optimizer_slots(tensors: dict[str, torch.Tensor]) -> dict[int, dict[str, torch.Tensor]]:
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in _section(tensors, "optim.").items():
        index, name = key.split(".", 1)
        slots.setdefault(int(index), {})[name] = value
    return slots
