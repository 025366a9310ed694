"""Semantic versions (semver.org 2.0.0): the format check and precedence ordering."""

from __future__ import annotations

import re

SEMVER_PATTERN = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_SEMVER = re.compile(SEMVER_PATTERN, re.ASCII)

PrecedenceKey = tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]


def is_semver(text: str) -> bool:
    return _SEMVER.match(text) is not None


def precedence(text: str) -> PrecedenceKey:
    """A sort key with semver precedence: 1.0.0-rc.1 < 1.0.0 < 1.0.1; build metadata ignored.

    Raises ValueError for a string that is not a semantic version.
    """
    match = _SEMVER.match(text)
    if match is None:
        raise ValueError(f"not a semantic version: {text!r}")
    major, minor, patch, pre = match.group(1, 2, 3, 4)
    # A release sorts above every pre-release of the same version.
    identifiers = tuple(_identifier(part) for part in pre.split(".")) if pre else ()
    return int(major), int(minor), int(patch), 0 if pre else 1, identifiers


def _identifier(part: str) -> tuple[int, int, str]:
    # Numeric identifiers compare numerically and sort below alphanumeric ones.
    return (0, int(part), "") if part.isdigit() else (1, 0, part)


def is_higher(new: str, old: str) -> bool:
    return precedence(new) > precedence(old)
