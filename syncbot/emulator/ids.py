"""Identifiers and timestamps: random ids, strictly increasing epoch versions."""

from __future__ import annotations

import secrets
import string
import threading
import time
from datetime import UTC, datetime

_BASE62 = string.digits + string.ascii_letters

# emulator policy: the real id format is undocumented ("may change over time").
ID_LENGTH = 24


def random_id(prefix: str, length: int = ID_LENGTH) -> str:
    return prefix + "".join(secrets.choice(_BASE62) for _ in range(length))


def skill_id() -> str:
    return random_id("skill_")


def version_id() -> str:
    return random_id("skillver_")


def request_id() -> str:
    return random_id("req_")


def iso_from_micros(micros: int) -> str:
    """ISO 8601 with microseconds and `Z`, the API's timestamp style."""
    moment = datetime.fromtimestamp(micros / 1_000_000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class MicrosClock:
    """Microseconds since the epoch, strictly increasing across calls.

    The legacy dialect addresses versions by this value, so two uploads in the same
    microsecond (or a wall clock stepping back) must still get distinct, ordered stamps.
    """

    def __init__(self, last: int = 0) -> None:
        self._last = last
        self._lock = threading.Lock()

    @property
    def last(self) -> int:
        return self._last

    def next(self) -> int:
        with self._lock:
            self._last = max(time.time_ns() // 1000, self._last + 1)
            return self._last
