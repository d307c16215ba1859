"""Camera videos (MP4/AVI/MOV/MKV through OpenCV): frames sampled at a fixed rate."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest.checks import check_file
from anomaly_diffusion.ingest.recording import Recording

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")


def read_video(
    path: str | Path,
    *,
    fps: float | None,
    grayscale: bool,
    start_s: float | None = None,
    end_s: float | None = None,
    asset: str = "",
) -> Recording:
    """Read a video (or its ``[start_s, end_s)`` segment) as float32 ``(N, C, H, W)`` in [0, 1].

    Frame ``k`` of the result is the file's frame nearest ``start_s + k / fps``; ``fps=None``
    keeps every frame at the file's own rate. The recording's ``rate`` is the effective frame
    rate and ``offset_s`` the time of frame 0.

    Raises:
        DataError: a file OpenCV cannot open, no frame rate in the file, no frame in the
            requested segment.
    """
    import cv2

    path = Path(path)
    check_file(path)
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise DataError(
                f"{path}: OpenCV cannot open this video; re-encode it (e.g. H.264 in .mp4) "
                "or remove it"
            )
        native = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        if not math.isfinite(native) or native <= 0:
            raise DataError(
                f"{path}: the video does not state its frame rate; re-encode it with a "
                "constant frame rate"
            )
        rate = native if fps is None else float(fps)
        frames, notes = _sample_frames(capture, native, rate, start_s or 0.0, end_s, grayscale)
    finally:
        capture.release()
    if not frames:
        where = "" if start_s is None and end_s is None else f" in [{start_s}, {end_s}] s"
        raise DataError(
            f"{path}: no frame could be read{where}; check start_s/end_s or re-encode the video"
        )
    data = np.stack(frames)  # (N, H, W) or (N, H, W, 3), uint8
    data = data[:, None] if data.ndim == 3 else np.moveaxis(data, -1, 1)
    scale = float(np.iinfo(data.dtype).max) if data.dtype.kind in "ui" else 1.0
    out = data.astype(np.float32)
    out /= scale
    return Recording(
        data=np.ascontiguousarray(out),
        rate=rate,
        channels=("gray",) if grayscale else ("r", "g", "b"),
        path=str(path),
        asset=asset,
        kind="video",
        offset_s=float(start_s or 0.0),
        notes=tuple(notes),
    )


def _sample_frames(
    capture, native: float, rate: float, start_s: float, end_s: float | None, grayscale: bool
) -> tuple[list[np.ndarray], list[str]]:
    """Decode sequentially; keep the frame nearest each target time ``start_s + k / rate``."""
    import cv2

    code = cv2.COLOR_BGR2GRAY if grayscale else cv2.COLOR_BGR2RGB

    def target_time(k: int) -> float:
        return start_s + k / rate

    def nearest(k: int) -> int:
        return math.floor(target_time(k) * native + 0.5)

    frames: list[np.ndarray] = []
    notes: list[str] = []
    k, i = 0, 0
    previous: np.ndarray | None = None  # frame i - 1, decoded when a target may round past it
    while end_s is None or target_time(k) < end_s - 1e-9:
        if not capture.grab():
            break
        want = nearest(k)
        if want == i or want == i + 1:
            ok, raw = capture.retrieve()
            if not ok:
                break
            if raw.ndim == 3:
                frame = cv2.cvtColor(raw, code)
            else:  # a decoder that returns gray frames
                frame = raw if grayscale else cv2.cvtColor(raw, cv2.COLOR_GRAY2RGB)
            while nearest(k) == i and (end_s is None or target_time(k) < end_s - 1e-9):
                frames.append(frame)
                k += 1
            previous = frame
        i += 1
    # Targets before the end of the last frame that round to the frame after it: use it.
    n_read = i
    while (
        previous is not None
        and nearest(k) == n_read
        and target_time(k) < n_read / native
        and (end_s is None or target_time(k) < end_s - 1e-9)
    ):
        frames.append(previous)
        k += 1
    if rate > native * (1 + 1e-6) and frames:
        notes.append(
            f"source.video_fps={rate:g} is above the file's {native:g} fps: frames are repeated"
        )
    return frames, notes
