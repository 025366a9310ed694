"""Fixtures of the fault-injection suite (copied from tests/e2e, not shared with it).

`pg_url`, `redis_url` and `redis_prefix` come from tests/conftest.py: a fresh schema and
a fresh key prefix per test, on the real PostgreSQL and Redis of the machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from syncbot import cli as cli_module
from syncbot.emulator.server import EmulatorServer

from .support import API_KEY, ENVIRONMENT, Repo, Result, init_repo

Cli = Callable[..., Result]


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    r = init_repo(tmp_path / "config")
    yield r
    r.git.close()


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def live_env(
    emulator: EmulatorServer,
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    env = {
        "ANTHROPIC_API_KEY": API_KEY,
        "ANTHROPIC_BASE_URL": emulator.base_url,
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "SYNCBOT_REDIS_PREFIX": redis_prefix,
        "SYNCBOT_ENV": ENVIRONMENT,
        "SKILLS_UPLOAD_TIMEOUT": "5000",
        "GITHUB_ACTOR": "fault-suite",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ANTHROPIC_SKILLS_BETA_VERSION", raising=False)
    monkeypatch.delenv("ANTHROPIC_SKILLS_ENABLED", raising=False)
    return env


@pytest.fixture
def cli(repo: Repo, live_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> Cli:
    """The CLI in this process, through its real top-level handler."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = cli_module.run(["--repo", str(repo.path), *args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
