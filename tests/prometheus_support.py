"""A real Prometheus server for tests, filled from a generated OpenMetrics file.

The data is written with `promtool tsdb create-blocks-from openmetrics` into a temporary
storage folder, then `prometheus` serves it on a free loopback port (no scraping, no
system service). Debian's package `prometheus` provides both; scripts/bootstrap.sh
installs it when it is missing. Without it the tests fail, never skip: a skipped test
would hide that the Prometheus source was not checked at all.
"""

from __future__ import annotations

import math
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

BUCKETS = (100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, math.inf)


@dataclass(frozen=True)
class Profile:
    """Per minute: executions, failed executions, and the cumulative share per bucket."""

    requests: float
    failures: float
    shares: tuple[float, ...]  # one per BUCKETS entry, cumulative, ending at 1
    minutes: int = 180  # of history before `end`
    step: int = 60  # seconds between points

    def times(self, end: int) -> range:
        return range(end - self.minutes * 60, end + 1, self.step)


FAST = (0, 0, 0.5, 0.9, 1, 1, 1, 1)  # p95 = 1000 + 1500 * (0.95 - 0.9) / 0.1 = 1750 ms
SLOW = (0, 0, 0, 0, 0.1, 0.5, 1, 1)  # p95 = 5000 + 5000 * (0.95 - 0.5) / 0.5 = 9500 ms
SNAPPY = (0, 1, 1, 1, 1, 1, 1, 1)  # p95 = 100 + 150 * 0.95 = 242.5 ms


def binaries() -> tuple[str, str]:
    found = shutil.which("prometheus"), shutil.which("promtool")
    if None in found:
        pytest.fail(
            "prometheus and promtool are needed (Debian: apt-get install -y prometheus; "
            "scripts/bootstrap.sh installs them): the Prometheus source is tested against a "
            "real server, never skipped"
        )
    return found[0] or "", found[1] or ""


def openmetrics(series: Mapping[tuple[str, str], Profile], end: int) -> str:
    """Counters and a latency histogram per (environment, skill), up to `end` (Unix s)."""
    out = ["# TYPE skill_executions counter"]
    out += _counter("skill_executions_total", series, end, lambda p: p.requests)
    out += ["# TYPE skill_executions_failed counter"]
    out += _counter("skill_executions_failed_total", series, end, lambda p: p.failures)
    out += ["# TYPE skill_execution_duration_ms histogram"]
    for (env, skill), profile in series.items():
        labels = f'environment="{env}",skill="{skill}"'
        for n, ts in enumerate(profile.times(end)):
            total = profile.requests * n * profile.step / 60
            for le, share in zip(BUCKETS, profile.shares, strict=True):
                bound = "+Inf" if math.isinf(le) else f"{le:g}"
                bucket = f'{labels},le="{bound}"'
                out.append(f"skill_execution_duration_ms_bucket{{{bucket}}} {total * share} {ts}")
            out.append(f"skill_execution_duration_ms_count{{{labels}}} {total} {ts}")
            out.append(f"skill_execution_duration_ms_sum{{{labels}}} {total * 900} {ts}")
    return "\n".join([*out, "# EOF", ""])


def _counter(
    name: str,
    series: Mapping[tuple[str, str], Profile],
    end: int,
    per_minute: Callable[[Profile], float],
) -> Iterator[str]:
    for (env, skill), profile in series.items():
        labels = f'environment="{env}",skill="{skill}"'
        times = profile.times(end)
        start = times[0]
        for ts in times:
            yield f"{name}{{{labels}}} {per_minute(profile) * (ts - start) / 60} {ts}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def prometheus_server(workdir: Path, data: str) -> Iterator[str]:
    """Serve `data` (OpenMetrics text) from a fresh Prometheus; yields its base URL."""
    prometheus, promtool = binaries()
    storage, source = workdir / "tsdb", workdir / "data.om"
    storage.mkdir(parents=True)
    source.write_text(data, encoding="utf-8")
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(storage)],
        check=True,
        capture_output=True,
    )
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\n", encoding="utf-8")
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={storage}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=3650d",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, workdir / "prometheus.log")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"prometheus exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"prometheus did not become ready:\n{log.read_text()[-2000:]}")
