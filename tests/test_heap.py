"""Freed heap pages go back to the OS in long batch loops (glibc malloc_trim)."""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import pytest

from anomaly_diffusion import heap


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="malloc_trim is glibc's; elsewhere release_free_memory does nothing",
)
def test_freed_pages_between_kept_blocks_are_returned():
    # a scoring loop's pattern: keep a small result, free larger temporaries, many times over;
    # blocks under glibc's mmap threshold land on the heap and stay resident once freed
    heap.release_free_memory()
    kept, temps = [], []
    for _ in range(300):
        temps.append(np.ones(250_000))  # 2 MB, touched
        kept.append(np.ones(1_000))
    before = _rss_mb()
    del temps
    freed = _rss_mb()
    assert heap.release_free_memory() is True
    after = _rss_mb()
    assert before - after > 300, (before, freed, after)  # ~600 MB were freed
    assert len(kept) == 300 and kept[-1].sum() == 1_000


def test_trimmer_trims_every_n_items(monkeypatch):
    calls = []
    monkeypatch.setattr(heap, "release_free_memory", lambda: calls.append(1) or True)
    trimmer = heap.HeapTrimmer(every=10)
    for _ in range(7):
        trimmer.done(3)  # trims once 12 have passed; 9 are pending after 21
    assert len(calls) == 1
    trimmer.done(1)  # the 10th since the last trim
    assert len(calls) == 2
    trimmer.done(9)
    assert len(calls) == 2
    trimmer.done(25)  # one call per done(), however many items it reports
    assert len(calls) == 3


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="mallopt is glibc's",
)
def test_allocator_is_configured_once_per_process():
    assert heap.configure_allocator() is True
    assert heap.configure_allocator() is True  # cached: a second call changes nothing
