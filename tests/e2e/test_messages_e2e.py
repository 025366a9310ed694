"""Error messages name what failed, where, and the fix: against the real services."""

from __future__ import annotations

import socket

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
