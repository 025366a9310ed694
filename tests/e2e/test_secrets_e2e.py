"""Secrets are masked by value everywhere: every command, with -v (the cause chain), and
the run records stored in the database, for each shape a secret can take in the
environment: a password in a URL's userinfo, in its query string or in a keyword
connection string (quoted), and an API key with stray whitespace or of another shape."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

import psycopg
import pytest
from live_support import API_KEY, Cli

from syncbot.redact import redact_text

COMMANDS = (
    ("doctor",),
    ("status",),
    ("plan",),
    ("apply",),
    ("history",),
    ("history", "show", "1"),  # the first run's plan and journal
    ("history", "--format", "json"),
    ("plan", "--format", "json"),
)


def _keyword_dsn(pg_url: str, password: str) -> str:
    """The test database as a keyword connection string with a quoted password."""
    parts = urlsplit(pg_url)
    options = dict(parse_qsl(parts.query))["options"]
    return (
        f"host={parts.hostname} port={parts.port or 5432} dbname={parts.path.lstrip('/')} "
        f"user={parts.username} password='{password}' options='{options}'"
    )


# name -> (secret that must never show, environment overrides given the test's URLs)
Shape = Callable[[str, str], dict[str, str]]
SHAPES: dict[str, tuple[str, Shape]] = {
    "database query password": (
        "Qu3ryPassw0rd-db",
        lambda pg, rd: {"DATABASE_URL": pg + "&password=Qu3ryPassw0rd-db"},
    ),
    "database keyword password": (
        "Kw Passw0rd-db",
        lambda pg, rd: {"DATABASE_URL": _keyword_dsn(pg, "Kw Passw0rd-db")},
    ),
    "redis query password": (
        "Qu3ryPassw0rd-redis",
        lambda pg, rd: {"REDIS_URL": rd + "?password=Qu3ryPassw0rd-redis"},
    ),
    "redis userinfo password": (
        "Us3rPassw0rd-redis",
        lambda pg, rd: {"REDIS_URL": rd.replace("redis://", "redis://:Us3rPassw0rd-redis@")},
    ),
    "api key with a trailing newline": (
        API_KEY,
        lambda pg, rd: {"ANTHROPIC_API_KEY": API_KEY + "\n"},
    ),
    "api key of another shape, broken by a newline": (
        "xk-0ther-sh\nape-9f8e7d",
        lambda pg, rd: {"ANTHROPIC_API_KEY": "xk-0ther-sh\nape-9f8e7d"},
    ),
}


def _stored_runs(pg_url: str) -> str:
    """Every column of every recorded run, as text (empty when nothing was migrated)."""
    with psycopg.connect(pg_url) as conn:
        exists = conn.execute("SELECT to_regclass('sync_runs') IS NOT NULL").fetchone()
        if not (exists and exists[0]):
            return ""
        rows = conn.execute("SELECT r::text FROM sync_runs r").fetchall()
    return "\n".join(str(row[0]) for row in rows)


def _fragments(secret: str) -> set[str]:
    """The secret and its halves split at whitespace: none of them may show."""
    return {secret, *(part for part in secret.split() if len(part) >= 6)}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_no_command_prints_or_stores_the_secret(
    shape: str,
    cli: Cli,
    pg_url: str,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret, make = SHAPES[shape]
    for name, value in make(pg_url, redis_url).items():
        monkeypatch.setenv(name, value)
    cli("db", "migrate")
    seen = []
    for command in COMMANDS:
        result = cli(*command, "-v")
        seen.append(f"$ {' '.join(command)} -> {result.code}\n{result.out}\n{result.err}")
    output = "\n".join(seen)
    stored = _stored_runs(pg_url)
    for fragment in _fragments(secret):
        assert fragment not in output, output
        assert fragment not in stored, stored
    assert "$ doctor" in output and len(output) > 500  # the commands did run and print


def test_the_stripped_key_works_and_doctor_says_it_was_stripped(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY + "\n")
    assert cli("db", "migrate").code == 0
    result = cli("doctor")
    assert result.code == 0, result.out + result.err
    assert "whitespace" in result.out and "trailing newline" in result.out
    assert cli("apply").code == 0


def test_a_key_broken_by_a_newline_fails_on_one_line_without_the_key(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "xk-0ther-sh\nape-9f8e7d")
    result = cli("plan")
    assert result.code == 1
    assert len(result.err.strip().splitlines()) == 1
    assert "xk-0ther" not in result.err and "ape-9f8e7d" not in result.err


def test_redact_masks_every_form_a_value_takes() -> None:
    key = "xk-other-key-123\n"
    text = (
        "Illegal header value b'xk-other-key-123\\n'; "
        'json "xk-other-key-123\\n"; encoded xk-other-key-123%0A'
    )
    assert "xk-other" not in redact_text(text, (key,))
