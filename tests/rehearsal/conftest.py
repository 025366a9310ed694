"""The rehearsal's world: two live environments (staging and production, each with its own
emulator, PostgreSQL schema and Redis prefix), the local GitHub API, a git `origin` with
the shipped configuration, and the GitHub environments holding their secrets."""

from __future__ import annotations

import os
import secrets
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import psycopg
import pytest
import redis
from live_support import API_KEY
from psycopg import sql
from test_github_cli import REPO, TOKEN, FakeGitHub, Recorded, _Handler, _Server
from test_readme_setup import listed_in_readme

from rehearsal.forge import Forge, git
from rehearsal.runner import GitHubEnvironment, Rehearsal
from syncbot import cli as cli_module
from syncbot.emulator.server import EmulatorServer

ENVIRONMENTS = ("staging", "production")
# Where a Redis that is down is: the discard port refuses connections at once.
DEAD_REDIS_URL = "redis://127.0.0.1:9/0"


@dataclass
class Live:
    """One environment's live systems, and the credentials of its read-only users."""

    name: str
    emulator: EmulatorServer
    database_url: str
    readonly_database_url: str
    redis_url: str
    readonly_redis_url: str
    redis_prefix: str

    def values(self, *, readonly: bool) -> dict[str, str]:
        """The secret or variable of each name, as the README's set-up table names them.
        ANTHROPIC_SKILLS_BETA_VERSION is left unset, as most repositories will: the
        expression then gives '' and the step sees an empty variable."""
        return {
            "ANTHROPIC_API_KEY": API_KEY,
            "DATABASE_URL": self.readonly_database_url if readonly else self.database_url,
            "REDIS_URL": self.readonly_redis_url if readonly else self.redis_url,
            "ANTHROPIC_BASE_URL": self.emulator.base_url,
            "SYNCBOT_REDIS_PREFIX": self.redis_prefix,
        }

    def env(self) -> dict[str, str]:
        """The variables a person on call would export to run syncbot by hand."""
        return {**self.values(readonly=False), "SYNCBOT_ENV": self.name}


class _PermissionedServer(_Server):
    tokens: dict[str, dict[str, str]]


class _PermissionedHandler(_Handler):
    """GitHub's answer to a job token: 403 for what the job's `permissions` do not grant.
    A comment on a PR, or a label, needs `pull-requests` or `issues`; anything else on
    issues needs `issues`; pull requests need `pull-requests`; a read needs `read` or
    `write`, a change needs `write`."""

    server: _PermissionedServer

    def _handle(self) -> None:
        granted = self.server.tokens.get(self.headers.get("Authorization", "")[len("Bearer ") :])
        if granted is not None and not self._allowed(granted):
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self.server.fake.requests.append(Recorded(self.command, self.path, {}, None))
            message = "Resource not accessible by integration"
            return self._send(403, {"message": message})
        if granted is not None:
            self.headers.replace_header("Authorization", f"Bearer {TOKEN}")
        return super()._handle()

    def _allowed(self, granted: dict[str, str]) -> bool:
        levels = ("write",) if self.command != "GET" else ("read", "write")
        scopes = ["issues"]
        if "/comments" in self.path or "/labels" in self.path:
            scopes.append("pull-requests")
        if "/pulls" in self.path:
            scopes = ["pull-requests"]
        return any(granted.get(scope) in levels for scope in scopes)


@pytest.fixture
def github_server() -> Iterator[_PermissionedServer]:
    server = _PermissionedServer(("127.0.0.1", 0), _PermissionedHandler)
    server.fake = FakeGitHub(url=f"http://127.0.0.1:{server.server_address[1]}", page_size=30)
    server.tokens = {}
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def github_api(github_server: _PermissionedServer) -> FakeGitHub:
    """The local GitHub API: its issues, comments and the requests it answered."""
    return github_server.fake


def _readonly_user(database_url: str) -> tuple[str, str]:
    """A login role that may only read the schema of `database_url` (trust auth: no
    password); its name and the URL that connects as it."""
    role = f"ro_{uuid.uuid4().hex[:16]}"
    schema = parse_qs(urlsplit(database_url).query)["options"][0].split("=", 1)[1]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        grants = [
            "GRANT USAGE ON SCHEMA {schema} TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {role}",
        ]
        for grant in grants:
            conn.execute(
                sql.SQL(grant).format(schema=sql.Identifier(schema), role=sql.Identifier(role))
            )
    parts = urlsplit(database_url)
    return role, urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))


def _readonly_redis_user(redis_url: str, prefix: str) -> tuple[str, str]:
    """A Redis ACL user that may only read keys under `prefix`; its name and URL."""
    user, password = f"ro_{uuid.uuid4().hex[:16]}", secrets.token_hex(16)
    client = redis.Redis.from_url(redis_url)
    try:
        client.acl_setuser(
            user,
            enabled=True,
            reset=True,
            passwords=[f"+{password}"],
            keys=[f"{prefix}*"],
            reset_channels=True,
            categories=["-@all", "+@read", "+@connection"],
        )
    finally:
        client.close()
    parts = urlsplit(redis_url)
    netloc = f"{user}:{password}@{parts.hostname}:{parts.port}"
    return user, urlunsplit(parts._replace(netloc=netloc))


def _drop_role(database_url: str, role: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture
def live(make_pg_url: Callable[[], str], redis_url: str) -> Iterator[dict[str, Live]]:
    found: dict[str, Live] = {}
    roles: list[tuple[str, str]] = []
    users: list[str] = []
    try:
        for name in ENVIRONMENTS:
            database_url = make_pg_url()
            role, readonly_database_url = _readonly_user(database_url)
            roles.append((database_url, role))
            prefix = f"test:{uuid.uuid4().hex}:"
            user, readonly_redis_url = _readonly_redis_user(redis_url, prefix)
            users.append(user)
            emulator = EmulatorServer(api_key=API_KEY).start()
            found[name] = Live(
                name,
                emulator,
                database_url,
                readonly_database_url,
                redis_url,
                readonly_redis_url,
                prefix,
            )
        yield found
    finally:
        for item in found.values():
            item.emulator.stop()
        for database_url, role in roles:
            _drop_role(database_url, role)
        client = redis.Redis.from_url(redis_url)
        for user in users:
            client.acl_deluser(user)
        for item in found.values():
            keys = list(client.scan_iter(match=item.redis_prefix + "*", count=500))
            if keys:
                client.unlink(*keys)
        client.close()


def _value(live: dict[str, Live], environment: str, name: str) -> str | None:
    for item in live.values():
        if name.startswith(f"{item.name.upper()}_"):  # plan-readonly: one prefix per env
            return _value({item.name: item}, f"{item.name}-readonly", name.split("_", 1)[1])
    if name == "ANTHROPIC_SKILLS_BETA_VERSION":
        return None
    readonly = environment.endswith("-readonly")
    # `<env>-promote` (promote.yml): the environment's own database user
    base = environment.removesuffix("-readonly").removesuffix("-promote")
    return live[base].values(readonly=readonly)[name]


def github_environments(live: dict[str, Live]) -> dict[str, GitHubEnvironment]:
    """The GitHub environments exactly as the README's set-up table lists them: a name
    missing there is missing here, and the rehearsal runs without it."""
    found = {}
    for environment, names in listed_in_readme().items():
        secrets, variables = (
            {n: v for n in names[kind] if (v := _value(live, environment, n)) is not None}
            for kind in ("secrets", "vars")
        )
        found[environment] = GitHubEnvironment(secrets, variables)
    return found


@pytest.fixture
def forge(tmp_path: Path) -> Forge:
    return Forge(tmp_path / "git", REPO)


@pytest.fixture
def rehearsal(
    forge: Forge, github_server: _PermissionedServer, live: dict[str, Live], tmp_path: Path
) -> Rehearsal:
    def mint(permissions: Mapping[str, str]) -> str:
        token = f"ghs_{secrets.token_hex(16)}"
        github_server.tokens[token] = dict(permissions)
        return token

    venv_bin = Path(sys.executable).parent
    assert (venv_bin / "syncbot").exists(), f"syncbot is not installed in {venv_bin}"
    return Rehearsal(
        origin=forge.origin,
        workdir=tmp_path / "runner",
        repository=REPO,
        api_url=github_server.fake.url,
        token=TOKEN,
        venv_bin=venv_bin,
        environments=github_environments(live),
        mint_token=mint,
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """REHEARSAL_UNSKIP=1 runs the stories skipped while waiting for a feature ("needs ..."),
    to see whether it has landed."""
    if os.environ.get("REHEARSAL_UNSKIP") != "1":
        return
    for item in items:
        item.own_markers[:] = [
            m
            for m in item.own_markers
            if not (m.name == "skip" and str(m.kwargs.get("reason", "")).startswith("needs "))
        ]
