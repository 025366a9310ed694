"""Fixtures for the Skills API emulator tests: a running emulator and skill file sets."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import anthropic
import httpx
import pytest
from helpers import skill_md

from syncbot.emulator import EmulatorServer

LEGACY_HEADERS = {
    "x-api-key": "test-key",
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "skills-2025-10-02",
}
CURRENT_HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}

Files = list[tuple[str, bytes]]


@pytest.fixture
def make_files() -> Callable[..., Files]:
    """make_files("my-skill", helper=b"...") -> the multipart file tuples of a valid skill."""

    def make(name: str, *, description: str | None = None, helper: bytes | None = None) -> Files:
        text = skill_md(name, description or f"Does {name} work. Use when asked about {name}.")
        files = [(f"{name}/SKILL.md", text.encode())]
        if helper is not None:
            files.append((f"{name}/scripts/helper.py", helper))
        return files

    return make


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as emulator:
        yield emulator


@pytest.fixture
def client(server: EmulatorServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key="test", base_url=server.base_url, max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def http(server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as raw:
        yield raw
