"""Arithmetic of the networks: ``float32``, ``bfloat16`` (autocast) or ``auto`` (bfloat16 where
the CPU computes it natively, AVX512-BF16 or AMX, else float32)."""

from __future__ import annotations

import functools
import logging

import torch

logger = logging.getLogger(__name__)
PRECISIONS = ("float32", "bfloat16", "auto")


@functools.cache
def native_bfloat16() -> bool:
    """Whether this CPU has native bfloat16 matrix arithmetic (oneDNN's check)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def use_bfloat16(precision: str, *, field: str = "scoring.precision") -> bool:
    """Whether to run under bfloat16 autocast; ``bfloat16`` on a CPU without native support
    warns once (it works, only slower than float32)."""
    if precision == "auto":
        return native_bfloat16()
    if precision != "bfloat16":
        return False
    if not native_bfloat16():
        _warn_once(field)
    return True


@functools.cache
def _warn_once(field: str) -> None:
    logger.warning(
        "%s=bfloat16: this CPU has no native bfloat16 (AVX512-BF16 / AMX), so it is slower "
        "than float32; set %s=float32 (or auto)",
        field,
        field,
    )
