"""Training batches from variable-size items: random items, random crops."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def sample_batch(
    data: Sequence[np.ndarray],
    *,
    batch_size: int,
    crop: tuple[int, int] | None,
    generator: torch.Generator,
) -> tuple[torch.Tensor, list[int]]:
    """A batch ``(B, C, h, w)`` of random items, each randomly cropped to ``crop`` (clipped to
    the smallest item); ``crop=None`` stacks whole items (they must share one shape).

    Returns:
        ``(batch, indices)``: the indices of the items drawn (to look up their conditions).
    """
    idx = torch.randint(len(data), (batch_size,), generator=generator).tolist()
    if crop is None:
        return torch.from_numpy(np.stack([data[i] for i in idx])), idx
    h = min(crop[0], min(d.shape[1] for d in data))
    w = min(crop[1], min(d.shape[2] for d in data))
    out = []
    for i in idx:
        item = data[i]
        top = int(torch.randint(item.shape[1] - h + 1, (1,), generator=generator))
        left = int(torch.randint(item.shape[2] - w + 1, (1,), generator=generator))
        out.append(item[:, top : top + h, left : left + w])
    return torch.from_numpy(np.stack(out)), idx


def batch_conditions(
    cond: tuple[np.ndarray, np.ndarray], idx: list[int], *, dropout: float, generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Conditions ``(cat (B, n_cat), num (B, n_num))`` of the drawn items; each item's conditions
    are dropped (set to unknown = 0) with probability ``dropout`` (trains the fallback)."""
    cat = torch.from_numpy(cond[0][idx])
    num = torch.from_numpy(cond[1][idx])
    keep = (torch.rand((len(idx), 1), generator=generator) >= dropout).to(num.dtype)
    return cat * keep.long(), num * keep
