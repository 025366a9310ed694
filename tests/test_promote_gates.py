"""The rollout gates in syncbot.yaml (validated with file and line like every other key)
and the pure decision rules of `syncbot promote`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import build_tree, valid_files

from syncbot.desired import RolloutPolicy
from syncbot.files.schemas import RolloutGates, SyncbotConfig
from syncbot.files.worktree import WorkTree
from syncbot.lint.validate import validate
from syncbot.promote.decide import Canary, FailureCount, Rules, decide, next_step
from syncbot.promote.metrics import Health

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LADDER = RolloutPolicy((0, 5, 25, 50, 100), 72)
RULES = Rules("production", LADDER, RolloutGates())
SOAKED = Canary("ca", 500, 500, NOW - timedelta(hours=80))


def config_with_gates(gates: str) -> str:
    return (
        "environments:\n"
        "  staging: {}\n"
        "  production:\n"
        "    rollout:\n"
        "      steps: [0, 5, 25, 50, 100]\n"
        "      min_soak_hours: 72\n"
        "      gates:\n" + "".join(f"        {line}\n" for line in gates.splitlines())
    )


def config_findings(tmp_path: Path, gates: str) -> list[tuple[str, int, str]]:
    files = valid_files() | {"syncbot.yaml": config_with_gates(gates)}
    found = validate(WorkTree(build_tree(tmp_path, files)))
    return [(f.file, f.line, f.message) for f in found if f.severity == "error"]


def test_default_gates_are_the_runbook_numbers() -> None:
    gates = SyncbotConfig.model_validate({}).environments["staging"].rollout
    assert gates is None  # no ladder: RolloutGates() applies
    g = RolloutGates()
    assert (g.window_minutes, g.min_requests, g.max_error_rate_percent) == (60, 200, 2.0)
    assert (g.max_p95_ms, g.failure_limit, g.metrics.source) == (5000.0, 3, "postgres")


def test_valid_gates_pass_validation(tmp_path: Path) -> None:
    gates = "window_minutes: 30\nmin_requests: 50\nmax_error_rate_percent: 1.5\nfailure_limit: 2"
    assert config_findings(tmp_path, gates) == []


@pytest.mark.parametrize(
    ("gates", "line", "needle"),
    [
        ("window_minutes: 60\nmin_request: 5", 9, "min_request"),
        ("max_error_rate_percent: 150", 8, "100"),
        ("failure_limit: 0", 8, "failure_limit"),
        ("window_minutes: '60'", 8, "window_minutes"),
        ("metrics:\n  source: prometheus", 8, "prometheus"),
        ("metrics:\n  source: datadog", 9, "source"),
        (
            "metrics:\n  source: prometheus\n  prometheus:\n    url: http://p:9090\n"
            "    queries:\n      requests: 'sum by (skill) (x{env=\"$env\"})'",
            13,
            "unknown placeholder $env",
        ),
        ("metrics:\n  prometheus: {url: 'ftp://p'}", 9, "http"),
    ],
)
def test_invalid_gates_are_reported_with_file_and_line(
    tmp_path: Path, gates: str, line: int, needle: str
) -> None:
    found = config_findings(tmp_path, gates)
    assert len(found) == 1, found
    file, at, message = found[0]
    assert (file, at) == ("syncbot.yaml", line), found
    assert needle in message


def health(requests: int, failures: int = 0, p95: float | None = 1200.0) -> Health:
    return Health("ca", requests, failures, p95)


def test_a_healthy_soaked_canary_goes_to_the_next_step() -> None:
    d = decide(SOAKED, health(400, 2), RULES, NOW)
    assert (d.action, d.current_percentage, d.target_percentage) == ("promote", 5, 25)
    assert d.evidence.verdict == "passed" and d.evidence.requests == 400


def test_a_figure_equal_to_its_limit_fails_as_the_runbook_says() -> None:
    # error rate < 2% is healthy: exactly 2% is not; p95 < 5000 ms likewise.
    assert decide(SOAKED, health(400, 8), RULES, NOW).evidence.failed_gates == ("error_rate",)
    assert decide(SOAKED, health(400, 7, 5000), RULES, NOW).evidence.failed_gates == ("p95",)
    assert decide(SOAKED, health(400, 7, 4999), RULES, NOW).action == "promote"


def test_inconclusive_never_promotes() -> None:
    assert "199 requests" in decide(SOAKED, health(199), RULES, NOW).reason
    assert decide(SOAKED, None, RULES, NOW).action == "hold"
    no_latency = decide(SOAKED, health(500, 0, None), RULES, NOW)
    assert (no_latency.action, no_latency.evidence.verdict) == ("hold", "inconclusive")


def test_failing_windows_count_by_window_not_by_run() -> None:
    first = decide(SOAKED, health(400, 40), RULES, NOW).evidence.failures_count
    assert first == FailureCount(1, NOW)
    rerun = decide(SOAKED, health(400, 40), RULES, NOW + timedelta(minutes=5), first)
    assert rerun.evidence.consecutive_failures == 1 and "(1/3)" in rerun.reason
    # a scheduler a little early still counts: more than half of the window is new
    later = decide(SOAKED, health(400, 40), RULES, NOW + timedelta(minutes=58), first)
    assert later.evidence.consecutive_failures == 2


def test_rollback_at_the_limit_even_while_soaking_or_with_a_proposal_open() -> None:
    young = Canary("ca", 2500, 2500, NOW - timedelta(hours=1))
    streak = FailureCount(2, NOW - timedelta(hours=1))
    d = decide(young, health(400, 40), RULES, NOW, streak, open_proposals={"ca"})
    assert (d.action, d.target_percentage) == ("rollback", 0)
    assert "3 consecutive windows" in d.reason


def test_hold_reasons_in_order() -> None:
    young = Canary("ca", 500, 500, NOW - timedelta(hours=1))
    assert "soaking until 2026-12-04T11:00:00Z" in decide(young, health(400), RULES, NOW).reason
    held = decide(SOAKED, health(400), RULES, NOW, open_proposals={"ca"})
    assert "already open" in held.reason
    moved = decide(Canary("ca", 2500, 500, NOW), health(400), RULES, NOW)
    assert moved.reason == "hold: not converged: git says 25%, live is 5% (run apply first)"
    assert moved.evidence.verdict is None


def test_next_step_follows_the_ladder_or_goes_to_100_without_one() -> None:
    assert next_step(500, LADDER) == 2500
    assert next_step(1250, LADDER) == 2500  # off the ladder: the next step above
    assert next_step(500, RolloutPolicy()) == 10000
