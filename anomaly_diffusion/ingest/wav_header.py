"""What a WAV file's RIFF header declares, checked against what the file holds.

libsndfile reads a truncated WAV (a copy cut short, a recorder that lost power) without a word:
it returns the frames that are there. The file's ``data`` chunk says how many there should be;
:func:`wav_truncation` compares the two.
"""

from __future__ import annotations

import struct
from pathlib import Path

STREAMING_SIZES = (0, 0xFFFFFFFF)
"""``data`` sizes recorders write while still recording (unknown length): not checked."""


def _secs(frames: int, rate: int | None) -> str:
    return f" ({frames / rate:.3f} s)" if rate else ""


def wav_truncation(path: Path) -> str | None:
    """Why a RIFF/WAVE file is shorter than its header says, else ``None`` (also for RF64,
    non-WAV files and headers that leave the size open).

    Returns:
        e.g. ``"truncated: the header declares 192000 frames (12.000 s), the file holds 128
        (0.008 s)"``.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align, rate, offset = None, None, 12
        while True:
            f.seek(offset)
            chunk = f.read(8)
            if len(chunk) < 8:
                return None  # no data chunk: libsndfile will say what is wrong
            cid, csize = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                fmt = f.read(16)
                if len(fmt) == 16:
                    _, _, rate, _, block_align, _ = struct.unpack("<HHIIHH", fmt)
            elif cid == b"data":
                if csize in STREAMING_SIZES or not block_align:
                    return None
                present = max(0, size - (offset + 8))
                if present >= csize:
                    return None
                declared, held = csize // block_align, present // block_align
                return (
                    f"truncated: the header declares {declared} frames{_secs(declared, rate)}, "
                    f"the file holds {held}{_secs(held, rate)}"
                )
            offset += 8 + csize + (csize & 1)  # chunks are padded to even sizes
