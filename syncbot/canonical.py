"""Canonical JSON and hashing, so equal values give byte-identical output and fingerprints."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def fingerprint(value: Any) -> str:
    """A short stable hash of a JSON-able value; `None` (absent) has its own fingerprint."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:16]
