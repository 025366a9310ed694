"""Fault-injection suite: its own configuration repository and actor. The shared
fixtures (`repo`, `emulator`, `live_env`, `cli`) are in tests/conftest.py; `pg_url`,
`redis_url` and `redis_prefix` give each test a fresh schema and key prefix."""

from __future__ import annotations

import pytest

from .support import base_files


@pytest.fixture
def repo_files() -> dict[str, str]:
    return base_files()


@pytest.fixture
def extra_env() -> dict[str, str]:
    return {"GITHUB_ACTOR": "fault-suite"}
