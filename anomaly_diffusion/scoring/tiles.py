"""Tile scoring for large frames and long spectrograms: cut half-overlapping tiles, score them as
one batch, and average the tiles' maps where they overlap. Memory then depends on the tile, not
on the frame, and the model sees inputs the size it was trained on (random crops)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from anomaly_diffusion.diffusion.unet import Conditions


def tile_starts(size: int, tile: int) -> list[int]:
    """Start offsets of tiles of length ``tile`` covering ``0..size`` with stride ``tile // 2``;
    the last tile ends exactly at ``size``. ``size <= tile`` gives ``[0]``."""
    if size <= tile:
        return [0]
    stride = max(1, tile // 2)
    starts = list(range(0, size - tile, stride))
    return [*starts, size - tile]


def tiled(
    maps_of: Callable[[torch.Tensor, torch.Tensor, Conditions | None], torch.Tensor],
    x_0: torch.Tensor,
    noise: torch.Tensor,
    cond: Conditions | None,
    *,
    tile: tuple[int, int] | None,
) -> torch.Tensor:
    """Apply ``maps_of(x, noise, cond) -> (B, K, h, w)`` whole or tile by tile.

    Args:
        x_0: ``(B, C, H, W)``.
        noise: ``(R, B, C, H, W)``; each tile uses its own cut of it, so a pixel's noise does not
            depend on the tiling.
        tile: ``(h, w)`` or ``None`` (whole items).

    Returns:
        ``(B, K, H, W)``; overlapping tile maps averaged.
    """
    b, _, height, width = x_0.shape
    if tile is None or (height <= tile[0] and width <= tile[1]):
        return maps_of(x_0, noise, cond)
    th, tw = min(tile[0], height), min(tile[1], width)
    boxes = [(r, c) for r in tile_starts(height, th) for c in tile_starts(width, tw)]
    xs = torch.cat([x_0[..., r : r + th, c : c + tw] for r, c in boxes])
    nz = torch.cat([noise[..., r : r + th, c : c + tw] for r, c in boxes], dim=1)
    conds = None if cond is None else tuple(torch.cat([t] * len(boxes)) for t in cond)
    parts = maps_of(xs, nz, conds)  # (n_boxes * B, K, th, tw), box-major
    total = torch.zeros(b, parts.shape[1], height, width)
    count = torch.zeros(1, 1, height, width)
    for i, (r, c) in enumerate(boxes):
        total[..., r : r + th, c : c + tw] += parts[i * b : (i + 1) * b]
        count[..., r : r + th, c : c + tw] += 1
    return total / count
