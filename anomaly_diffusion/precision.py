"""Arithmetic of the networks: ``float32``, ``bfloat16`` or ``auto`` (bfloat16 where the CPU
computes it natively, AVX512-BF16 or AMX, else float32).

Training runs bfloat16 under autocast (float32 master weights); scoring runs a bfloat16 *copy*
of the network (:class:`BFloat16Copy`): weights and activations in bfloat16 end to end, which is
about twice as fast as autocast on CPU (autocast keeps GroupNorm, SiLU and the residual adds in
float32 and spends a third of a forward pass casting between the two).
"""

from __future__ import annotations

import copy
import functools
import logging

import torch
from torch import nn

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


def resolved_precision(precision: str, *, field: str) -> str:
    """``float32`` or ``bfloat16``: what ``precision`` (``auto`` included) means on this CPU."""
    return "bfloat16" if use_bfloat16(precision, field=field) else "float32"


@functools.cache
def _warn_once(field: str) -> None:
    logger.warning(
        "%s=bfloat16: this CPU has no native bfloat16 (AVX512-BF16 / AMX), so it is slower "
        "than float32; set %s=float32 (or auto)",
        field,
        field,
    )


class BFloat16Copy(nn.Module):
    """A bfloat16 copy of a denoiser for inference with the denoiser's call signature:
    ``(x, t[, cond])`` with float32 ``x`` and numeric conditions cast in, float32 out
    (``forward`` and ``encode``). Timesteps stay integers (bfloat16 would round 999 to 1000);
    the networks cast their timestep embedding to the input's dtype."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = copy.deepcopy(net).to(torch.bfloat16).eval().requires_grad_(False)

    @staticmethod
    def _cond(cond):
        if cond is None:
            return ()
        return (tuple(c.to(torch.bfloat16) if c.is_floating_point() else c for c in cond),)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond=None) -> torch.Tensor:
        return self.net(x.to(torch.bfloat16), t, *self._cond(cond)).float()

    def encode(self, x: torch.Tensor, t: torch.Tensor, cond=None) -> list[torch.Tensor]:
        return [f.float() for f in self.net.encode(x.to(torch.bfloat16), t, *self._cond(cond))]
