"""Set-up and tear-down of the places a run writes to: a PostgreSQL database and schema, a
Redis prefix.

Used by `syncbot demo` to keep to a database of its own and give each environment a
schema and key prefix of its own; the
drivers' exceptions become `TargetError` here, like everywhere else at the targets' edge.
"""

from __future__ import annotations

import psycopg
import redis
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from syncbot.errors import TargetError

CONNECT_TIMEOUT_S = 5
REDIS_TIMEOUT_S = 2


def prepare_schema(database_url: str, schema: str, *, fresh: bool, what: str) -> None:
    """Create `schema` if missing; `fresh` drops it (and everything in it) first.
    `what` names it in the error ("the demo schema")."""
    name = sql.Identifier(schema)
    try:
        with psycopg.connect(
            database_url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True
        ) as conn:
            if fresh:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(name))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
    except psycopg.Error as exc:
        raise TargetError("database", f"cannot prepare {what}: {exc}".splitlines()[0]) from exc


def prepare_database(database_url: str, *, fresh: bool, what: str) -> bool:
    """Create the database `database_url` names if it is missing; `fresh` drops it first
    (closing its connections). True when it was created now. Works through the server's
    `postgres` maintenance database, as createdb does."""
    try:
        name = str(conninfo_to_dict(database_url).get("dbname") or "")
        if not name or name == "postgres":
            raise TargetError("database", f"cannot prepare {what}: the URL names no database")
        with psycopg.connect(
            make_conninfo(database_url, dbname="postgres"),
            connect_timeout=CONNECT_TIMEOUT_S,
            autocommit=True,
        ) as conn:
            ident = sql.Identifier(name)
            if fresh:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is not None:
                return False
            conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
            return True
    except psycopg.Error as exc:
        raise TargetError("database", f"cannot prepare {what}: {exc}".splitlines()[0]) from exc


def with_search_path(database_url: str, schema: str) -> str:
    """The URL whose connections work in `schema`, as DATABASE_URL would carry it."""
    sep = "&" if "?" in database_url else "?"
    return f"{database_url}{sep}options=-csearch_path%3D{schema}"


def drop_keys(redis_url: str, prefix: str, *, what: str) -> int:
    """Delete every key under `prefix`; returns how many. `what` names them in the error."""
    try:
        with redis.Redis.from_url(redis_url, socket_timeout=REDIS_TIMEOUT_S) as client:
            keys = list(client.scan_iter(match=f"{prefix}*", count=500))
            if keys:
                client.unlink(*keys)
            return len(keys)
    except redis.RedisError as exc:
        raise TargetError("cache", f"cannot prepare {what}: {exc}") from exc
