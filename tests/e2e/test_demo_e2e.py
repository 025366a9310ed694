"""`syncbot demo` keeps to its own database (created if missing) and key prefix; a second
run finds no changes; --reset starts again from empty."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from psycopg import sql

from syncbot import cli as cli_module

ROOT = Path(__file__).resolve().parents[2]
SERVER = "postgresql://127.0.0.1:5432/postgres"


@pytest.fixture
def demo_db() -> Iterator[str]:
    name = f"syncbot_demo_t{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def databases() -> set[str]:
    with psycopg.connect(SERVER) as conn:
        return {str(row[0]) for row in conn.execute("SELECT datname FROM pg_database")}


def keys(redis_url: str, prefix: str) -> list[bytes]:
    with redis.Redis.from_url(redis_url) as client:
        return list(client.scan_iter(match=f"{prefix}*"))


def test_demo_uses_its_own_database_and_prefix_and_reset_starts_again(
    demo_db: str,
    redis_url: str,
    redis_prefix: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [
        "--repo",
        str(ROOT),
        "demo",
        "-e",
        "staging",
        "--database-url",
        f"postgresql://127.0.0.1:5432/{demo_db}",
        "--redis-url",
        redis_url,
        "--key-prefix",
        redis_prefix,
        "--state-dir",
        str(tmp_path / "state"),
    ]
    assert demo_db not in databases()
    assert cli_module.run(args) == 0
    first = capsys.readouterr().out
    assert f"demo database {demo_db} created (empty)" in first
    assert "Applied " in first
    assert demo_db in databases()
    assert keys(redis_url, f"{redis_prefix}staging:")

    assert cli_module.run(args) == 0
    second = capsys.readouterr().out
    assert "Nothing to do." in second and "created" not in second

    with redis.Redis.from_url(redis_url) as client:
        client.set(f"{redis_prefix}stray", "x")
    assert cli_module.run([*args, "--reset"]) == 0
    third = capsys.readouterr().out
    assert f"demo database {demo_db} created (empty)" in third and "Applied " in third
    assert not keys(redis_url, f"{redis_prefix}stray")
