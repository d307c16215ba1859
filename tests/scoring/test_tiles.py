"""Tile scoring: tiles cover the input and stitched maps equal whole-input maps for a local map."""

from __future__ import annotations

import itertools

import torch

from anomaly_diffusion.scoring.tiles import tile_starts, tiled


def test_tile_starts_cover_with_half_overlap():
    assert tile_starts(64, 64) == [0] and tile_starts(30, 64) == [0]
    starts = tile_starts(100, 32)
    assert starts[0] == 0 and starts[-1] == 100 - 32
    assert all(b - a <= 16 for a, b in itertools.pairwise(starts))
    covered = torch.zeros(100)
    for s in starts:
        covered[s : s + 32] += 1
    assert (covered >= 1).all()


def _local(x, noise, cond):
    """A per-pixel map (what a residual is, up to the network's receptive field)."""
    return (x + noise.mean(dim=0)).pow(2).mean(dim=1, keepdim=True)


def test_tiled_equals_whole_for_a_local_map_and_keeps_cond_rows():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((3, 2, 70, 90), generator=gen)
    noise = torch.randn((2, 3, 2, 70, 90), generator=gen)
    whole = _local(x, noise, None)
    parts = tiled(_local, x, noise, None, tile=(32, 40))
    torch.testing.assert_close(parts, whole)
    assert tiled(_local, x, noise, None, tile=None) is not None
    seen = []

    def record(xs, nz, cond):
        seen.append((xs.shape, nz.shape, cond[0].shape))
        return _local(xs, nz, cond)

    cond = (torch.tensor([[1], [2], [3]]), torch.zeros(3, 0))
    tiled(record, x, noise, cond, tile=(32, 40))
    (xs, nz, c), n_boxes = seen[0], len(tile_starts(70, 32)) * len(tile_starts(90, 40))
    assert xs == (3 * n_boxes, 2, 32, 40) and nz == (2, 3 * n_boxes, 2, 32, 40)
    assert c == (3 * n_boxes, 1)
