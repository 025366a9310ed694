"""targets/admin: a schema prepared (or recreated) and a key prefix emptied, against the
real PostgreSQL and Redis; driver errors become one-line TargetErrors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
import redis
from psycopg import sql

from syncbot.errors import TargetError
from syncbot.targets.admin import drop_keys, prepare_database, prepare_schema, with_search_path

UNREACHABLE_PG = "postgresql://root@127.0.0.1:1/test"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def server(pg_url: str) -> str:
    """The test database's URL without the fixture schema's search_path."""
    return pg_url.partition("?")[0]


@pytest.fixture
def schema(server: str) -> Iterator[str]:
    name = f't_admin_{uuid.uuid4().hex[:12]}"odd'  # a quote: the name must be quoted safely
    yield name
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def _tables(server: str, schema: str) -> list[str]:
    with psycopg.connect(server) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    return sorted(row[0] for row in rows)


def test_prepare_schema_creates_keeps_and_recreates(server: str, schema: str) -> None:
    prepare_schema(server, schema, fresh=False, what="the test schema")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {}.kept (id int)").format(sql.Identifier(schema)))
    prepare_schema(server, schema, fresh=False, what="the test schema")
    assert _tables(server, schema) == ["kept"]
    prepare_schema(server, schema, fresh=True, what="the test schema")
    assert _tables(server, schema) == []


def test_with_search_path_connects_into_the_schema(server: str) -> None:
    url = with_search_path(server, "syncbot_demo_staging")
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW search_path").fetchone()
    assert row == ("syncbot_demo_staging",)
    assert with_search_path("postgresql://h/db?sslmode=disable", "s").endswith(
        "?sslmode=disable&options=-csearch_path%3Ds"
    )


def test_prepare_schema_unreachable_is_one_line_target_error() -> None:
    with pytest.raises(TargetError) as caught:
        prepare_schema(UNREACHABLE_PG, "s", fresh=True, what="the demo schema")
    assert caught.value.target == "database"
    assert caught.value.message.startswith("database: cannot prepare the demo schema: ")
    assert "\n" not in caught.value.message
    assert isinstance(caught.value.__cause__, psycopg.Error)


def test_drop_keys_removes_only_the_prefix(redis_url: str, redis_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    outside = f"{redis_prefix[:-1]}-other:key"
    try:
        client.set(f"{redis_prefix}a", "1")
        client.hset(f"{redis_prefix}b:c", "f", "v")
        client.set(outside, "kept")
        assert drop_keys(redis_url, redis_prefix, what="the test keys") == 2
        assert list(client.scan_iter(match=f"{redis_prefix}*")) == []
        assert client.get(outside) == b"kept"
        assert drop_keys(redis_url, redis_prefix, what="the test keys") == 0
    finally:
        client.delete(outside)
        client.close()


def test_drop_keys_unreachable_is_target_error() -> None:
    with pytest.raises(TargetError) as caught:
        drop_keys(UNREACHABLE_REDIS, "p:", what="the demo keys")
    assert caught.value.target == "cache"
    assert caught.value.message.startswith("cache: cannot prepare the demo keys: ")
    assert isinstance(caught.value.__cause__, redis.RedisError)


def test_prepare_database_creates_keeps_and_recreates() -> None:
    name = f"t_admin_db_{uuid.uuid4().hex[:12]}"
    url = f"postgresql://127.0.0.1:5432/{name}"
    try:
        assert prepare_database(url, fresh=False, what="the test database") is True
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (id int)")
        assert prepare_database(url, fresh=False, what="the test database") is False
        assert _tables(url, "public") == ["kept"]
        with psycopg.connect(url):  # an open connection does not stop --reset
            assert prepare_database(url, fresh=True, what="the test database") is True
        assert _tables(url, "public") == []
    finally:
        with psycopg.connect("postgresql://127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_prepare_database_refuses_a_url_without_a_database() -> None:
    with pytest.raises(TargetError) as caught:
        prepare_database(
            "postgresql://127.0.0.1:5432/postgres", fresh=True, what="the demo database"
        )
    assert (
        caught.value.message
        == "database: cannot prepare the demo database: the URL names no database"
    )
