"""Request counters, for tests and benchmarks that bound how many calls a command makes."""

from __future__ import annotations

import threading
from collections import Counter


class Stats:
    """Thread-safe counters. Read them through the properties (copies), zero with reset()."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests = 0
            self._uploads = 0
            self._connections = 0
            self._by_route: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()

    def record_request(self, method: str, template: str | None) -> None:
        """Count a request under "METHOD /route/{template}" ("METHOD <unknown>" if unrouted)."""
        with self._lock:
            self._requests += 1
            self._by_route[f"{method} {template or '<unknown>'}"] += 1

    def record_connection(self) -> None:
        with self._lock:
            self._connections += 1

    def record_upload(self) -> None:
        with self._lock:
            self._uploads += 1

    def record_fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    @property
    def requests(self) -> int:
        with self._lock:
            return self._requests

    @property
    def uploads(self) -> int:
        """Successful create-skill and create-version calls (including lost responses)."""
        with self._lock:
            return self._uploads

    @property
    def connections(self) -> int:
        """TCP connections accepted: with keep-alive, far fewer than requests."""
        with self._lock:
            return self._connections

    @property
    def by_route(self) -> dict[str, int]:
        with self._lock:
            return dict(self._by_route)

    @property
    def faults(self) -> dict[str, int]:
        """Injected faults by kind: "latency", "status:<code>", "lost"."""
        with self._lock:
            return dict(self._faults)

    def count(self, method: str, template: str) -> int:
        with self._lock:
            return self._by_route[f"{method} {template}"]

    def __repr__(self) -> str:
        return f"Stats(requests={self.requests}, uploads={self.uploads}, by_route={self.by_route})"
