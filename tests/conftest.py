"""Fixtures shared by the whole suite.

The real PostgreSQL and Redis of the machine (CI starts them): each test gets its own
schema and its own key prefix, so tests can run in parallel and leave nothing behind.
A service that does not answer FAILS the test: CI must exercise them, never skip them.
Override the servers with SYNCBOT_TEST_DATABASE_URL and SYNCBOT_TEST_REDIS_URL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
import redis
from live_support import API_KEY, Cli, Repo, Result, init_repo, live_environment
from psycopg import sql

from syncbot import cli as cli_module
from syncbot.emulator.server import EmulatorServer

TEST_DATABASE_URL = os.environ.get(
    "SYNCBOT_TEST_DATABASE_URL", "postgresql://root@127.0.0.1:5432/test"
)
TEST_REDIS_URL = os.environ.get("SYNCBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


# --- PostgreSQL ---------------------------------------------------------------------


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(TEST_DATABASE_URL, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        pytest.fail(
            f"PostgreSQL is not answering at {TEST_DATABASE_URL} ({exc}); start it "
            "(CI: .ci/run) or set SYNCBOT_TEST_DATABASE_URL",
            pytrace=False,
        )


def with_search_path(url: str, schema: str) -> str:
    """The URL with `options=-csearch_path=<schema>`, as DATABASE_URL would carry it."""
    parts = urlsplit(url)
    option = "options=" + quote(f"-csearch_path={schema}", safe="")
    query = f"{parts.query}&{option}" if parts.query else option
    return urlunsplit(parts._replace(query=query))


@pytest.fixture
def make_pg_url() -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty schemas (for tests that need more than one)."""
    schemas: list[str] = []

    def make() -> str:
        schema = f"t_{uuid.uuid4().hex}"
        with _admin() as admin:
            admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        schemas.append(schema)
        return with_search_path(TEST_DATABASE_URL, schema)

    yield make
    with _admin() as admin:
        # a connection a failed test left open must not make the teardown hang
        admin.execute("SET lock_timeout = '10s'")
        for schema in schemas:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def pg_url(make_pg_url: Callable[[], str]) -> str:
    """DATABASE_URL of a fresh schema in database `test`, dropped after the test."""
    return make_pg_url()


# --- Redis --------------------------------------------------------------------------


def _redis_client() -> redis.Redis:
    return redis.Redis.from_url(TEST_REDIS_URL, socket_timeout=5, socket_connect_timeout=5)


@pytest.fixture
def redis_url() -> str:
    client = _redis_client()
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(
            f"Redis is not answering at {TEST_REDIS_URL} ({exc}); start it "
            "(CI: .ci/run) or set SYNCBOT_TEST_REDIS_URL",
            pytrace=False,
        )
    finally:
        client.close()
    return TEST_REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test only; every key under it is removed afterwards."""
    prefix = f"test:{uuid.uuid4().hex}:"
    yield prefix
    client = _redis_client()
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=500))
        for start in range(0, len(keys), 500):
            client.unlink(*keys[start : start + 500])
    finally:
        client.close()


# --- the live-system suites (tests/e2e, tests/faults) ---------------------------------
# Each suite defines `repo_files` (its configuration repository) and may extend `extra_env`.


@pytest.fixture
def extra_env() -> dict[str, str]:
    return {}


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
    extra_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    env = live_environment(emulator.base_url, pg_url, redis_url, redis_prefix) | extra_env
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ANTHROPIC_SKILLS_BETA_VERSION", raising=False)
    monkeypatch.delenv("ANTHROPIC_SKILLS_ENABLED", raising=False)
    return env


@pytest.fixture
def repo(tmp_path: Path, repo_files: dict[str, str]) -> Iterator[Repo]:
    created = init_repo(tmp_path / "config", repo_files)
    yield created
    created.git.close()


@pytest.fixture
def cli(repo: Repo, live_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> Cli:
    """The CLI in this process, through its real top-level handler."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = cli_module.run(["--repo", str(repo.path), *args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
