"""Shared helpers of the fault-injection suite: the config repository, checks of the
live systems, a TCP proxy that can cut connections, and the CLI as a subprocess.

The repository, the CLI runner and the environment are shared with tests/e2e through
tests/live_support.py and tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
from live_support import API_KEY, ENVIRONMENT, SYNCBOT_YAML, Repo, Result, skill_files
from psycopg.rows import dict_row

from syncbot.desired import SkillFile, content_sha256
from syncbot.emulator.faults import Decision
from syncbot.emulator.server import EmulatorServer
from syncbot.marker import read_marker, without_marker

__all__ = ["API_KEY", "ENVIRONMENT", "Repo", "Result", "skill_files"]  # re-exported for the tests


BASE_SKILLS = ("contract-review", "nda-drafting", "statute-lookup")


def routes_yaml(skills: Sequence[str]) -> str:
    """One route per skill, each with its own literal pattern."""
    lines = ["routes:"]
    for i, name in enumerate(sorted(skills)):
        lines += [
            f"  - skill: {name}",
            f"    category: cat_{i}",
            f"    priority: {i + 1}",
            "    min_confidence: 0.5",
            f"    patterns: ['{name}']",
        ]
    return "\n".join(lines) + "\n" if len(lines) > 1 else "routes: []\n"


def base_files() -> dict[str, str]:
    files = {"syncbot.yaml": SYNCBOT_YAML}
    for name in BASE_SKILLS:
        files.update(skill_files(name, critical=name == "contract-review"))
    files["registry/routes.yaml"] = routes_yaml(BASE_SKILLS)
    files["rollouts/staging.yaml"] = "contract-review: 100\nnda-drafting: 50\n"
    files["rollouts/production.yaml"] = "contract-review: 5\n"
    return files


def assert_clean_failure(result: Result, *needles: str) -> None:
    """Exit 1 with exactly one line on stderr, `error: ...`, no traceback."""
    assert result.code == 1, (result.code, result.out, result.err)
    lines = result.err.strip("\n").splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: "), result.err
    assert "Traceback" not in result.out + result.err
    for needle in needles:
        assert needle in result.err, (needle, result.err)


# --- the live systems, seen from outside ---------------------------------------------------


def api_names(server: EmulatorServer) -> Counter[str]:
    """How many custom API skills carry each name (the name of their versions)."""
    return Counter(s.name for s in server.state.skills(source="custom"))


def assert_no_duplicates(server: EmulatorServer) -> None:
    twice = {name: n for name, n in api_names(server).items() if n > 1}
    assert not twice, f"duplicate skills in the API: {twice}"


def db_rows(pg_url: str, query: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    with psycopg.connect(pg_url, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()


def runs(pg_url: str) -> list[dict[str, Any]]:
    return db_rows(
        pg_url,
        "SELECT id, status, started_at, finished_at, error, journal, lock_pid FROM sync_runs"
        " ORDER BY id",
    )


def table_snapshot(pg_url: str) -> dict[str, list[Any]]:
    """Every table the apply transaction writes, as sorted JSON rows (sync_runs excluded)."""
    tables = (
        "skills",
        "skill_versions",
        "skill_routes",
        "skill_rollouts",
        "skill_rollout_history",
        "syncbot_meta",
    )
    snap: dict[str, list[Any]] = {}
    with psycopg.connect(pg_url) as conn:
        for table in tables:
            rows = conn.execute(f"SELECT to_jsonb(t)::text FROM {table} t").fetchall()
            snap[table] = sorted(r[0] for r in rows)
    return snap


def redis_keys(redis_url: str, prefix: str) -> list[str]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return sorted(client.scan_iter(match=prefix + "*", count=500))
    finally:
        client.close()


def redis_get(redis_url: str, key: str) -> Any:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        kind = client.type(key)
        if kind == "hash":
            return client.hgetall(key)
        raw = client.get(key)
        return None if raw is None else json.loads(raw)
    finally:
        client.close()


def assert_consistent(server: EmulatorServer, pg_url: str, wanted: set[str]) -> None:
    """The API holds each wanted skill once, and every database row pins an API version
    whose files hash to the row's content_sha256: nothing lost, nothing doubled."""
    assert_no_duplicates(server)
    assert set(api_names(server)) == wanted
    rows = db_rows(pg_url, "SELECT name, skill_id, version_id, content_sha256 FROM skills")
    assert {r["name"] for r in rows} == wanted
    for row in rows:
        skill = server.state.get_skill(row["skill_id"])
        # the version id on the current surface, its epoch string on the legacy dialect
        (version,) = [v for v in skill.versions if row["version_id"] in (v.id, v.version)]
        files = [
            SkillFile(path.split("/", 1)[1], data)
            for path, data in version.files.items()
            if "/" in path
        ]
        (skill_md,) = [f.data for f in files if f.path == "SKILL.md"]
        assert read_marker(skill_md) is not None, f"{row['name']}: uploaded without a marker"
        files = [
            SkillFile(f.path, without_marker(f.data)) if f.path == "SKILL.md" else f for f in files
        ]
        assert content_sha256(files) == row["content_sha256"], row["name"]


def no_unfinished_runs(pg_url: str) -> None:
    left = [
        (r["id"], r["status"]) for r in runs(pg_url) if r["status"] in ("running", "db-committed")
    ]
    assert not left, f"runs left unfinished: {left}"


def intervals_disjoint(rows: Sequence[Mapping[str, Any]]) -> None:
    """The runs that held the apply lock never overlap (a run that gave up waiting for
    it is recorded too, with no lock_pid, and overlaps the holder by design)."""
    spans: list[tuple[datetime, datetime, int]] = []
    for row in (r for r in rows if r["lock_pid"] is not None):
        assert row["finished_at"] is not None, row
        spans.append((row["started_at"], row["finished_at"], row["id"]))
    spans.sort()
    for (_, end, a), (start, _, b) in itertools.pairwise(spans):
        assert end <= start, f"runs {a} and {b} overlap"


# --- the CLI as a separate process ---------------------------------------------------------


def syncbot_command() -> list[str]:
    script = Path(sys.executable).with_name("syncbot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "syncbot"]


def spawn(repo: Path, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*syncbot_command(), "--repo", str(repo), *args],
        env=dict(os.environ if env is None else env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> Result:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"syncbot did not finish in {timeout} s: {err}") from None
    return Result(proc.returncode, out, err)


# --- a TCP proxy that can cut every connection ---------------------------------------------


class TcpProxy:
    """Forwards 127.0.0.1:<port> to `target`; `cut()` drops every open connection.

    With `refuse=True` new connections are closed at once too (the server is "down").
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.refuse = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self.accepted = 0

    def __enter__(self) -> TcpProxy:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            if self.refuse:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self._pairs.append((client, upstream))
                for a, b in ((client, upstream), (upstream, client)):
                    t = threading.Thread(target=self._pump, args=(a, b), daemon=True)
                    self._threads.append(t)
                    t.start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self, *, refuse: bool | None = None) -> None:
        """Drop every connection now; optionally refuse (or accept again) new ones."""
        if refuse is not None:
            self.refuse = refuse
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for s in pair:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def close(self) -> None:
        self._stop.set()
        self._acceptor.join(5)
        self._listener.close()
        self.cut()
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join(5)


def proxied_url(url: str, port: int) -> str:
    """`url` with its host:port replaced by the proxy's 127.0.0.1:port."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}"))


def upstream_of(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def iter_lines(text: str) -> Iterator[str]:
    yield from (line for line in text.splitlines() if line.strip())


# --- scripting the emulator's faults per request -------------------------------------------


@dataclass
class Arrival:
    at: float  # time.monotonic() when the request arrived
    mutating: bool
    decision: Decision


class Script:
    """Wraps the emulator's fault decisions: `rule(n, mutating)` may replace the decision
    of the n-th request (counted from install); every arrival is recorded with its time."""

    def __init__(
        self,
        server: EmulatorServer,
        rule: Callable[[int, bool], Decision | None] | None = None,
    ) -> None:
        self.arrivals: list[Arrival] = []
        self._rule = rule or (lambda n, mutating: None)
        self._real = server.faults.decide
        self._lock = threading.Lock()

    def decide(self, *, mutating: bool) -> Decision:
        with self._lock:
            n = len(self.arrivals) + 1
            decision = self._rule(n, mutating) or self._real(mutating=mutating)
            self.arrivals.append(Arrival(time.monotonic(), mutating, decision))
        return decision


def install_script(
    mp: Any, server: EmulatorServer, rule: Callable[[int, bool], Decision | None] | None = None
) -> Script:
    script = Script(server, rule)
    mp.setattr(server.faults, "decide", script.decide)
    return script
