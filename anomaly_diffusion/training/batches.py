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
) -> torch.Tensor:
    """A batch ``(B, C, h, w)`` of random items, each randomly cropped to ``crop`` (clipped to
    the smallest item); ``crop=None`` stacks whole items (they must share one shape)."""
    idx = torch.randint(len(data), (batch_size,), generator=generator).tolist()
    if crop is None:
        return torch.from_numpy(np.stack([data[i] for i in idx]))
    h = min(crop[0], min(d.shape[1] for d in data))
    w = min(crop[1], min(d.shape[2] for d in data))
    out = []
    for i in idx:
        item = data[i]
        top = int(torch.randint(item.shape[1] - h + 1, (1,), generator=generator))
        left = int(torch.randint(item.shape[2] - w + 1, (1,), generator=generator))
        out.append(item[:, top : top + h, left : left + w])
    return torch.from_numpy(np.stack(out))
