"""Error messages name what failed, where, and the fix: against the real services."""

from __future__ import annotations

import json
import re
import socket
from urllib.parse import urlsplit, urlunsplit

import pytest
from live_support import Cli


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_wrong_api_port_names_the_url_and_the_setting(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    monkeypatch.setenv("SKILLS_MAX_RETRIES", "5")
    result = cli("plan")
    assert result.code == 1, result
    line = result.err.strip().splitlines()[-1]
    assert url in line and "ANTHROPIC_BASE_URL" in line, line
    assert "Traceback" not in result.err


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}", query=""))


def test_doctor_without_an_api_key_still_checks_postgres_and_redis(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    result = cli("doctor")
    assert result.code == 1
    assert re.search(r"FAIL ANTHROPIC_API_KEY", result.out), result.out
    assert re.search(r"ok +PostgreSQL", result.out), result.out
    assert re.search(r"ok +Redis", result.out), result.out


@pytest.mark.parametrize(
    ("host_port", "expected"),
    [
        (None, r"database 'syncbot_no_such_db' does not exist.*createdb syncbot_no_such_db"),
        ("127.0.0.1:{closed}", r"nothing is listening at 127\.0\.0\.1:\d+: start PostgreSQL"),
        ("no-such-host.invalid:5432", r"host 'no-such-host\.invalid:5432' is unknown"),
    ],
)
def test_doctor_says_why_postgres_failed_and_the_fix(
    cli: Cli, pg_url: str, monkeypatch: pytest.MonkeyPatch, host_port: str | None, expected: str
) -> None:
    url = with_database(pg_url, "syncbot_no_such_db")
    if host_port is not None:
        netloc = host_port.format(closed=closed_port())
        url = urlunsplit(urlsplit(url)._replace(netloc=f"root@{netloc}"))
    monkeypatch.setenv("DATABASE_URL", url)
    result = cli("doctor")
    assert result.code == 1
    fail = next(line for line in result.out.splitlines() if "PostgreSQL" in line)
    assert fail.startswith("FAIL"), result.out
    assert re.search(expected, result.out), result.out
    assert not re.search(r"^\S+ +migrations", result.out, re.M), result.out
    assert re.search(r"ok +Redis", result.out), result.out


def test_an_unknown_role_says_to_fix_the_user(
    cli: Cli, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = urlunsplit(urlsplit(pg_url)._replace(netloc="nosuchrole_xyz@127.0.0.1:5432"))
    monkeypatch.setenv("DATABASE_URL", url)
    result = cli("plan")
    assert result.code == 1
    assert "fix the user in DATABASE_URL" in result.err, result.err


def test_an_environment_missing_from_syncbot_yaml_is_unhealthy(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCBOT_ENV", "qa")
    status = cli("status")
    assert status.code == 1, status
    assert "not defined in syncbot.yaml" in status.out and "SYNCBOT_ENV" in status.out
    doc = json.loads(cli("status", "--format", "json").out)
    assert doc["healthy"] is False and doc["environment_check"]["healthy"] is False
    doctor = cli("doctor")
    assert doctor.code == 1
    assert re.search(r"FAIL environment 'qa' +not defined in syncbot.yaml", doctor.out)


def test_a_database_of_another_environment_is_unhealthy(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("apply").code == 0
    monkeypatch.setenv("SYNCBOT_ENV", "production")
    result = cli("doctor")
    assert result.code == 1
    assert "this database serves 'staging', not 'production'" in result.out, result.out


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DATABASE_URL", "notaurl", "DATABASE_URL is not a PostgreSQL URL"),
        ("DATABASE_URL", "mysql://app:s3cretPW@db:3306/x", "DATABASE_URL is not a PostgreSQL URL"),
        ("REDIS_URL", "app:s3cretPW@cache:6379", "REDIS_URL is not a Redis URL"),
        ("ANTHROPIC_BASE_URL", "api.anthropic.com", "ANTHROPIC_BASE_URL is not an HTTP(S) URL"),
    ],
)
def test_a_malformed_url_is_named_with_the_expected_form(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    for command in ("plan", "status"):
        result = cli(command)
        assert result.code == 1, result
        assert expected in result.err and "(expected " in result.err, result.err
        assert "s3cretPW" not in result.err + result.out
    doctor = cli("doctor")
    assert doctor.code == 1
    assert re.search(rf"FAIL {name} +{re.escape(expected)}", doctor.out), doctor.out
    assert "s3cretPW" not in doctor.out + doctor.err


def test_routes_test_names_an_unknown_category_or_type(cli: Cli) -> None:
    result = cli("routes", "test", "review this contract", "--category", "nonsense")
    assert result.code == 1
    assert "--category 'nonsense' is not one of syncbot.yaml's categories: " in result.err
    assert "analysis, drafting, research, compliance" in result.err, result.err
    result = cli("routes", "test", "review this contract", "--type", "script")
    assert result.code == 1
    assert "--type 'script' is not one of the skill types: code, prompt" in result.err
    assert cli("routes", "test", "review this contract", "--category", "analysis").code == 0
