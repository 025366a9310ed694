"""What the Skills API client did: attempts, retries and uploads, counted across threads."""

from __future__ import annotations

import threading
from typing import Any


class ApiStats:
    """Thread-safe counters: HTTP attempts, retries, successful creates, attempts per endpoint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._retries = 0
        self._uploads = 0
        self._by_endpoint: dict[str, int] = {}

    @property
    def requests(self) -> int:
        return self._requests

    @property
    def retries(self) -> int:
        return self._retries

    @property
    def uploads(self) -> int:
        return self._uploads

    @property
    def by_endpoint(self) -> dict[str, int]:
        with self._lock:
            return dict(self._by_endpoint)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self._requests,
                "retries": self._retries,
                "uploads": self._uploads,
                "by_endpoint": dict(sorted(self._by_endpoint.items())),
            }

    def _count_request(self, endpoint: str) -> None:
        with self._lock:
            self._requests += 1
            self._by_endpoint[endpoint] = self._by_endpoint.get(endpoint, 0) + 1

    def _count_retry(self) -> None:
        with self._lock:
            self._retries += 1

    def _count_upload(self) -> None:
        with self._lock:
            self._uploads += 1
