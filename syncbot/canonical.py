"""Canonical JSON and hashing, so equal values give byte-identical output and fingerprints."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def fingerprint(value: Any) -> str:
    """A short stable hash of a JSON-able value; `None` (absent) has its own fingerprint."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:16]


def framed_sha256(entries: Iterable[tuple[str, int, Iterable[bytes]]]) -> str:
    """SHA-256 over (path, size, bytes) entries, in the order given.

    Each path and each content is preceded by its length as 8 big-endian bytes, so no two
    different file sets give the same byte stream. The bytes come in chunks: a file is
    hashed as it is read, never held whole for the hash.
    """
    digest = hashlib.sha256()
    for path, size, chunks in entries:
        name = path.encode("utf-8")
        digest.update(len(name).to_bytes(8, "big"))
        digest.update(name)
        digest.update(size.to_bytes(8, "big"))
        for chunk in chunks:
            digest.update(chunk)
    return digest.hexdigest()
