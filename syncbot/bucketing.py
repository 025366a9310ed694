"""Deterministic, monotonic rollout bucketing (docs/algorithms.md).

A unit (user, tenant ...) gets a bucket in 0..9999 from a salted SHA-256; it is in a
rollout of `basis_points` (percentage × 100) iff its bucket is below that number. The
bucket does not depend on the percentage, so raising 5% to 25% only adds units. Integer
arithmetic only, so every language gets the same answer: docs/algorithms.md and the test
vectors in docs/rollout-test-vectors.json let other implementations check themselves.
"""

from __future__ import annotations

import hashlib

from syncbot.desired import Rollout

BUCKETS = 10_000


def bucket(salt: str, unit_id: str) -> int:
    """First 8 bytes of sha256(f"{salt}:{unit_id}") as a big-endian integer, scaled to 0..9999."""
    digest = hashlib.sha256(f"{salt}:{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") * BUCKETS >> 64


def in_rollout(basis_points: int, bucket: int) -> bool:
    """True iff the unit in `bucket` is in a rollout of `basis_points` (25.5% is 2550)."""
    return bucket < basis_points


def flip_share(before: Rollout | None, after: Rollout | None) -> float:
    """Expected share of units whose in/out state changes from `before` to `after`.

    With the same salt the cohorts are nested, so only the difference flips. With a new
    salt the two memberships are independent: a unit flips if it is in exactly one of
    them. None is a 0% rollout, which has no members under any salt.
    """
    p1 = _share(before)
    p2 = _share(after)
    if before is None or after is None or before.salt == after.salt:
        return abs(p2 - p1)
    return p1 + p2 - 2 * p1 * p2


def _share(rollout: Rollout | None) -> float:
    return 0.0 if rollout is None else rollout.basis_points / BUCKETS
