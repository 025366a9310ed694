"""The connection plumbing of the database target: errors translated at the edge,
timeouts, statement counting, transactions, and the schema migrations."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib import resources
from typing import Self

import psycopg
from psycopg import errors as pg_errors
from psycopg.abc import ConnParam, Params, QueryNoTemplate
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row

from syncbot.errors import TargetError
from syncbot.redact import connection_secrets, redact_text, redact_url
from syncbot.settings import check_url
from syncbot.targets import pg_failures
from syncbot.targets.postgres import sql

Connection = psycopg.Connection[DictRow]

CONNECT_TIMEOUT_S = 5
_MIGRATION_NAME = re.compile(r"\d{4}_[a-z0-9_]+\.sql")
_NOT_MIGRATED = (pg_errors.UndefinedTable, pg_errors.UndefinedColumn)


@dataclass
class DbStats:
    round_trips: int = 0


@functools.cache
def migrations() -> tuple[tuple[str, str], ...]:
    """The packaged migrations as (file name, SQL text), in the order they apply."""
    folder = resources.files("syncbot.targets").joinpath("migrations")
    names = sorted(p.name for p in folder.iterdir() if _MIGRATION_NAME.fullmatch(p.name))
    return tuple((name, folder.joinpath(name).read_text("utf-8")) for name in names)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _url_secrets(url: str) -> tuple[str, ...]:
    """The password of a URL or keyword conninfo, raw and percent-decoded, to mask."""
    found = connection_secrets(url)
    with suppress(psycopg.Error):
        found.add(str(conninfo_to_dict(url).get("password") or ""))
    return tuple(sorted(s for s in found if s))


def _display_url(url: str) -> str:
    if "://" in url:
        return redact_url(url)
    return re.sub(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", "password=***", url)


class Connected:
    """A connection to one database, opened on first use, and the migrations."""

    def __init__(
        self, url: str, *, statement_timeout_ms: int = 30_000, lock_timeout_ms: int = 5_000
    ) -> None:
        check_url("DATABASE_URL", url)  # before libpq, whose own words are about parsing
        self._url = url
        self._secrets = _url_secrets(url)
        self._statement_timeout_ms = statement_timeout_ms
        self._lock_timeout_ms = lock_timeout_ms
        self._conn: Connection | None = None
        self._lock_pid: int | None = None
        self.stats = DbStats()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- plumbing

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn a psycopg failure into one clear, password-free line."""
        try:
            yield
        except psycopg.Error as exc:
            text = redact_text(" ".join(str(exc).split()), self._secrets) or type(exc).__name__
            if isinstance(exc, _NOT_MIGRATED):
                text += " (is the database migrated? run `syncbot db migrate`)"
            text += pg_failures.fix_for(exc, self._url)
            raise TargetError("database", f"{doing}: {text}") from exc

    def _connect(self, application_name: str, statement_ms: int, lock_ms: int) -> Connection:
        with self._errors(f"cannot connect to {_display_url(self._url)}"):
            extra: dict[str, ConnParam] = {"application_name": application_name}
            if "connect_timeout" not in conninfo_to_dict(self._url):
                extra["connect_timeout"] = CONNECT_TIMEOUT_S  # fail fast when the server is down
            conninfo = make_conninfo(self._url, **extra)
            conn = psycopg.connect(conninfo, autocommit=True, row_factory=dict_row)
        try:
            self._configure(conn, statement_ms, lock_ms, local=False)
        except BaseException:
            conn.close()
            raise
        return conn

    def _configure(
        self, conn: Connection, statement_ms: int, lock_ms: int, *, local: bool, **extra: str
    ) -> None:
        """Set the timeouts (and `extra` settings) for the session, or the transaction."""
        settings = {"statement_timeout": f"{statement_ms}ms", "lock_timeout": f"{lock_ms}ms"}
        settings |= {f"syncbot.{k}": v for k, v in extra.items()}
        query = "SELECT set_config(k, v, %s) FROM unnest(%s::text[], %s::text[]) AS t(k, v)"
        with self._errors("cannot configure the session"):
            self._exec(query, (local, list(settings), list(settings.values())), conn=conn)

    @property
    def _connection(self) -> Connection:
        if self._conn is not None and self._conn.closed:
            self.close()  # lost (server restart): reconnect once, between operations only
        if self._conn is None:
            self._conn = self._connect("syncbot", self._statement_timeout_ms, self._lock_timeout_ms)
        return self._conn

    def _exec(
        self,
        query: QueryNoTemplate,
        params: Params | None = None,
        *,
        conn: Connection | None = None,
    ) -> psycopg.Cursor[DictRow]:
        self.stats.round_trips += 1
        return (conn if conn is not None else self._connection).execute(query, params)

    def _fetchone(self, query: QueryNoTemplate, params: Params | None = None) -> DictRow:
        row = self._exec(query, params).fetchone()
        assert row is not None, "the query returns exactly one row"
        return row

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        conn = self._connection
        self.stats.round_trips += 2  # BEGIN, then COMMIT or ROLLBACK
        with conn.transaction():
            yield

    # -- migrations

    def applied_migrations(self) -> dict[str, str]:
        """Recorded migrations: name -> SHA-256 of the file that was applied."""
        with self._errors("cannot read the migrations"):
            row = self._fetchone("SELECT to_regclass('syncbot_migrations') IS NOT NULL AS ok")
            if not row["ok"]:
                return {}
            rows = self._exec("SELECT name, sha256 FROM syncbot_migrations").fetchall()
        return {r["name"]: r["sha256"] for r in rows}

    def pending_migrations(self) -> list[str]:
        """Migrations not yet applied; refuses a database whose applied files were edited."""
        applied = self.applied_migrations()
        for name, text in migrations():
            if name in applied and applied[name] != _sha256(text):
                raise TargetError(
                    "database",
                    f"migration {name} was edited after it was applied: restore it and "
                    "add a new numbered migration instead",
                )
        return [name for name, _ in migrations() if name not in applied]

    def migrate(self) -> list[str]:
        """Apply pending migrations, each in its own transaction; returns their names."""
        if not self.pending_migrations():
            return []
        return [name for name, text in migrations() if self._apply_migration(name, text)]

    def _apply_migration(self, name: str, text: str) -> bool:
        # The xact lock serialises concurrent migrators; each re-checks under the lock.
        with self._errors(f"migration {name} failed"), self._transaction():
            self._exec(sql.MIGRATIONS_TABLE)
            query = "SELECT 1 FROM syncbot_migrations WHERE name = %s"
            if self._exec(query, (name,)).fetchone() is not None:
                return False
            self._exec(text.encode("utf-8"))
            query = "INSERT INTO syncbot_migrations (name, sha256) VALUES (%s, %s)"
            self._exec(query, (name, _sha256(text)))
        return True

    def ensure_migrated(self) -> None:
        pending = self.pending_migrations()
        if pending:
            raise TargetError(
                "database",
                f"{len(pending)} migration(s) pending ({', '.join(pending)}): "
                "run `syncbot db migrate`",
            )
