"""Progress of long work, readable in a terminal and in a log file.

On a terminal, :func:`progress` is a ``tqdm`` bar. When the stream is not a terminal (``make demo >
log``, cron, CI, a Spark driver's log) a redrawn bar writes hundreds of carriage-return updates
into the file; there :class:`LineProgress` writes one plain line every
``ANOMALY_DIFFUSION_PROGRESS_SECONDS`` (default 30 s) and one when the work ends, e.g.::

    training: 640/2000 step (32 %), 6.4 step/s, 1:40 elapsed, 3:32 left, loss=0.1600
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from tqdm.auto import tqdm

INTERVAL_ENV = "ANOMALY_DIFFUSION_PROGRESS_SECONDS"
DEFAULT_INTERVAL_S = 30.0


def clock_text(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour) of a duration in seconds, rounded to the second."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class LineProgress:
    """The subset of ``tqdm`` this package uses (``update``, ``set_postfix``, ``total``,
    iteration, context manager, ``close``), as plain lines at most every ``interval`` seconds.

    Args:
        iterable: Items to iterate over (optional; else call :meth:`update`).
        total: Expected count (``len(iterable)`` when it has one); may be changed later.
        desc, unit: Label and unit of the count.
        initial: Count already done (a resumed run).
        interval: Seconds between lines; the end always gets a line when any was written or
            the work took at least ``interval``.
        stream: Where the lines go (standard error by default).
        disable: Write nothing.
    """

    def __init__(
        self,
        iterable: Iterable | None = None,
        *,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
        initial: int = 0,
        interval: float = DEFAULT_INTERVAL_S,
        stream: TextIO | None = None,
        disable: bool = False,
        **_: Any,
    ) -> None:
        self.iterable, self.desc, self.unit = iterable, desc, unit
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total, self.n, self.initial = total, initial, initial
        self.interval, self.stream, self.disable = interval, stream, disable
        self.start = self.last = time.monotonic()
        self.postfix = ""
        self.lines = 0
        self.closed = False

    def __iter__(self) -> Iterator:
        for item in self.iterable or ():
            yield item
            self.update(1)
        self.close()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_postfix(self, **values: Any) -> None:
        """Text after the counts, ``key=value`` pairs (shown on the next line written)."""
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def update(self, n: int = 1) -> None:
        """Count ``n`` more; write a line when ``interval`` has passed since the last one."""
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._write(now)

    def close(self) -> None:
        """Final line (when the work was long enough to report on); idempotent."""
        if self.closed:
            return
        self.closed = True
        now = time.monotonic()
        if self.lines or now - self.start >= self.interval:
            self._write(now, done=True)

    def line(self, now: float | None = None, *, done: bool = False) -> str:
        """The status line: count, share, rate, elapsed, time left (or ``done``), postfix."""
        now = time.monotonic() if now is None else now
        elapsed = now - self.start
        count = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        parts = [f"{self.desc}: {count} {self.unit}"]
        if self.total:
            parts[0] += f" ({100 * self.n / self.total:.0f} %)"
        rate = (self.n - self.initial) / elapsed if elapsed > 0 else 0.0
        parts.append(f"{rate:.3g} {self.unit}/s")
        parts.append(f"{clock_text(elapsed)} elapsed")
        if done:
            parts.append("done")
        elif self.total and rate > 0:
            parts.append(f"{clock_text(max(0, self.total - self.n) / rate)} left")
        if self.postfix:
            parts.append(self.postfix)
        return ", ".join(parts)

    def _write(self, now: float, *, done: bool = False) -> None:
        if self.disable:
            return
        stream = self.stream or sys.stderr
        stream.write(self.line(now, done=done) + "\n")
        stream.flush()
        self.lines += 1


def _interval() -> float:
    raw = os.environ.get(INTERVAL_ENV, "")
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_INTERVAL_S
    except ValueError:
        return DEFAULT_INTERVAL_S


def progress(iterable: Iterable | None = None, **kwargs: Any) -> Any:
    """A ``tqdm`` bar on a terminal, else a :class:`LineProgress` (same arguments as
    ``tqdm``: ``total``, ``desc``, ``unit``, ``initial``, ``disable``, ``leave``)."""
    stream = kwargs.get("file") or sys.stderr
    if getattr(stream, "isatty", lambda: False)():
        return tqdm(iterable, **kwargs)
    kwargs.pop("file", None)
    return LineProgress(iterable, stream=stream, interval=_interval(), **kwargs)
