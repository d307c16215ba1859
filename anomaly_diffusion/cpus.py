"""How many CPUs this process may really use: its affinity mask, capped by a container's CPU
quota (cgroup v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``). ``os.cpu_count()`` counts the host's
cores, so a job pinned to 2 of 64 cores (taskset, Kubernetes, Docker ``--cpus=2``) would start
64 threads that fight over 2."""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")


def _quota_cpus(root: Path) -> float | None:
    """CPUs allowed by the cgroup quota under ``root``, or ``None`` when unlimited/unknown."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]  # v2: "max 100000"
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:  # v1
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota <= 0 or period <= 0 else quota / period
    except (OSError, ValueError):
        return None


def available_cpus(cgroup_root: Path = CGROUP) -> int:
    """CPUs for worker threads: ``len(os.sched_getaffinity(0))`` (``os.cpu_count()`` where the
    platform has no affinity), capped by the cgroup quota rounded up; at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = _quota_cpus(cgroup_root)
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)
