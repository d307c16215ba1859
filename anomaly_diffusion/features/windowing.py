"""Cutting signals into windows that never cross a segment boundary."""

from __future__ import annotations


def window_bounds(
    n_samples: int,
    *,
    sample_rate: float,
    window_seconds: float | None,
    hop_seconds: float | None = None,
) -> list[tuple[int, int]]:
    """Start/stop sample indices of the windows of a segment of ``n_samples``.

    Windows are ``window_seconds`` long and ``hop_seconds`` apart (default: no overlap); a tail
    shorter than one window is dropped. ``window_seconds=None`` gives the whole segment.

    Returns:
        List of ``(start, stop)``; empty when the segment is shorter than one window.
    """
    if window_seconds is None:
        return [(0, n_samples)] if n_samples > 0 else []
    width = round(window_seconds * sample_rate)
    hop = round((hop_seconds or window_seconds) * sample_rate)
    return [(s, s + width) for s in range(0, n_samples - width + 1, max(hop, 1))]
