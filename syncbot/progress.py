"""Progress of a batch (uploads, downloads) that reads well on a terminal and in CI logs.

On a terminal one line is rewritten in place (`\\r`) at each step; elsewhere a full line
is printed at most every `interval` seconds, and a last one at the end, so a log of a long
apply shows it moving without one line per item. A batch done within one interval
prints nothing in a log: the command's own result line says it all.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol, TextIO

Clock = Callable[[], float]
DEFAULT_INTERVAL_S = 5.0


class Counter(Protocol):
    def step(self, ok: bool = True) -> None: ...

    def close(self) -> None: ...


Track = Callable[[str, int], Counter]


class NoProgress:
    def step(self, ok: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


class ProgressReporter:
    """Counts done and failed items of `total`; thread-safe (uploads run concurrently)."""

    def __init__(
        self,
        label: str,
        total: int,
        stream: TextIO,
        *,
        live: bool,
        clock: Clock = time.monotonic,
        interval: float | None = None,
    ) -> None:
        self.label, self.total, self.stream, self.live, self.clock = (
            label,
            total,
            stream,
            live,
            clock,
        )
        self.interval = DEFAULT_INTERVAL_S if interval is None else interval
        self.done = self.failed = 0
        self.shown_at_done: int | None = None  # the count of the last log line, if any
        self.started = self.last_shown = clock()
        self.closed = False
        self._lock = threading.Lock()

    def step(self, ok: bool = True) -> None:
        with self._lock:
            self.done += 1
            self.failed += 0 if ok else 1
            now = self.clock()
            if self.live:
                self._write(f"\r{self.line(now)}")
            elif now - self.last_shown >= self.interval:
                self.last_shown, self.shown_at_done = now, self.done
                self._write(self.line(now) + "\n")

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            line = self.line(self.clock())
            if self.live:
                self._write(f"\r{line}\n")
            elif self.shown_at_done is not None and self.shown_at_done != self.done:
                self._write(line + "\n")

    def line(self, now: float) -> str:
        """`uploads 37/200, 0 failed, ~12 s left` (`in 4 s` once every item is done)."""
        elapsed = now - self.started
        counts = f"{self.label} {self.done}/{self.total}, {self.failed} failed"
        if self.done >= self.total:
            return f"{counts}, in {elapsed:.0f} s"
        if self.done == 0:
            return counts
        left = elapsed / self.done * (self.total - self.done)
        return f"{counts}, ~{math.ceil(left)} s left"

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
