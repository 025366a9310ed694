"""The rehearsal's world: two live environments (staging and production, each with its own
emulator, PostgreSQL schema and Redis prefix), the local GitHub API, a git `origin` with
the shipped configuration, and the GitHub environments holding their secrets."""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from live_support import API_KEY
from test_github_cli import REPO, TOKEN, FakeGitHub, _Handler, _Server

from rehearsal.forge import Forge, git
from rehearsal.runner import GitHubEnvironment, Rehearsal
from syncbot import cli as cli_module
from syncbot.emulator.server import EmulatorServer

ENVIRONMENTS = ("staging", "production")
# Where a Redis that is down is: the discard port refuses connections at once.
DEAD_REDIS_URL = "redis://127.0.0.1:9/0"


@dataclass
class Live:
    """One environment's live systems."""

    name: str
    emulator: EmulatorServer
    database_url: str
    redis_url: str
    redis_prefix: str

    def secrets(self, prefix: str = "") -> dict[str, str]:
        return {
            f"{prefix}ANTHROPIC_API_KEY": API_KEY,
            f"{prefix}DATABASE_URL": self.database_url,
            f"{prefix}REDIS_URL": self.redis_url,
        }

    def variables(self, prefix: str = "") -> dict[str, str]:
        # ANTHROPIC_SKILLS_BETA_VERSION is left unset, as most repositories will: the
        # expression then gives '' and the step sees an empty variable.
        return {
            f"{prefix}ANTHROPIC_BASE_URL": self.emulator.base_url,
            f"{prefix}SYNCBOT_REDIS_PREFIX": self.redis_prefix,
        }

    def env(self) -> dict[str, str]:
        """The variables a person on call would export to run syncbot by hand."""
        return {**self.secrets(), **self.variables(), "SYNCBOT_ENV": self.name}


@pytest.fixture
def github_api() -> Iterator[FakeGitHub]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = FakeGitHub(url=f"http://127.0.0.1:{server.server_address[1]}", page_size=30)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def live(make_pg_url: Callable[[], str], redis_url: str) -> Iterator[dict[str, Live]]:
    emulators = [EmulatorServer(api_key=API_KEY).start() for _ in ENVIRONMENTS]
    found = {
        name: Live(name, emulator, make_pg_url(), redis_url, f"test:{uuid.uuid4().hex}:")
        for name, emulator in zip(ENVIRONMENTS, emulators, strict=True)
    }
    try:
        yield found
    finally:
        for emulator in emulators:
            emulator.stop()
        client = redis.Redis.from_url(redis_url)
        for item in found.values():
            keys = list(client.scan_iter(match=item.redis_prefix + "*", count=500))
            if keys:
                client.unlink(*keys)
        client.close()


def github_environments(live: dict[str, Live]) -> dict[str, GitHubEnvironment]:
    """The GitHub environments as the README's set-up section asks for them."""
    found = {}
    for name, item in live.items():
        scoped = GitHubEnvironment(item.secrets(), item.variables())
        found[name] = scoped
        found[f"{name}-readonly"] = scoped
    prefixed = [(item, f"{name.upper()}_") for name, item in live.items()]
    found["plan-readonly"] = GitHubEnvironment(
        {k: v for item, p in prefixed for k, v in item.secrets(p).items()},
        {k: v for item, p in prefixed for k, v in item.variables(p).items()},
    )
    return found


@pytest.fixture
def forge(tmp_path: Path) -> Forge:
    return Forge(tmp_path / "git", REPO)


@pytest.fixture
def rehearsal(
    forge: Forge, github_api: FakeGitHub, live: dict[str, Live], tmp_path: Path
) -> Rehearsal:
    venv_bin = Path(sys.executable).parent
    assert (venv_bin / "syncbot").exists(), f"syncbot is not installed in {venv_bin}"
    return Rehearsal(
        origin=forge.origin,
        workdir=tmp_path / "runner",
        repository=REPO,
        api_url=github_api.url,
        token=TOKEN,
        venv_bin=venv_bin,
        environments=github_environments(live),
    )


SeedMain = Callable[[], None]


@pytest.fixture
def seed_main(
    forge: Forge,
    live: dict[str, Live],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> SeedMain:
    """Apply main to both environments, in this process, as a person on call would by hand:
    the state a story starts from (a quicker way to it than a whole apply.yml run)."""

    def seed() -> None:
        git(forge.dev, "checkout", "-q", "main")
        for item in live.values():
            with monkeypatch.context() as patch:
                for key, value in item.env().items():
                    patch.setenv(key, value)
                patch.delenv("ANTHROPIC_SKILLS_BETA_VERSION", raising=False)
                code = cli_module.run(["--repo", str(forge.dev), "apply", "--prune"])
            assert code == 0, capsys.readouterr()

    return seed
