"""`syncbot promote` against a real PostgreSQL: the rollout is made live by an apply
(contract-review at 5% in production), the AI service's executions are written into
`skill_executions`, and the decisions are read from the command's output and from
`rollout_evaluations`."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from live_support import Cli, Repo

from syncbot.commands.demo_cmd import seed_canary
from syncbot.promote.report import render_text
from syncbot.promote.run import PromoteReport, promote
from syncbot.settings import Settings
from syncbot.targets.postgres import Database

SKILL = "contract-review"


@pytest.fixture
def live(cli: Cli) -> Cli:
    applied = cli("apply", "--env", "production")
    assert applied.code == 0, applied.err
    return cli


def backdate(pg_url: str, hours: float, skill: str = SKILL) -> datetime:
    """Move the rollout's last change `hours` into the past; returns the new changed_at."""
    with psycopg.connect(pg_url) as conn:
        row = conn.execute(
            "UPDATE skill_rollouts SET changed_at = now() - make_interval(secs => %s) "
            "WHERE environment = 'production' AND skill_name = %s RETURNING changed_at",
            (hours * 3600, skill),
        ).fetchone()
    assert row is not None
    changed_at: datetime = row[0]
    return changed_at


def executions(
    pg_url: str,
    count: int,
    *,
    failures: int = 0,
    duration_ms: float = 800,
    at: datetime | None = None,
    skill: str = SKILL,
) -> None:
    """`count` executions 30 minutes before `at` (default now), the first `failures` failed."""
    when = (at or datetime.now(UTC)) - timedelta(minutes=30)
    with psycopg.connect(pg_url) as conn:
        conn.execute(
            "INSERT INTO skill_executions (environment, skill_name, started_at, duration_ms, "
            "success) SELECT 'production', %s, %s, %s, i > %s FROM generate_series(1, %s) i",
            (skill, when, duration_ms, failures, count),
        )


def evaluations(pg_url: str) -> list[tuple[str, str | None, int]]:
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT decision, verdict, consecutive_failures FROM rollout_evaluations ORDER BY id"
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def run_at(repo: Repo, now: datetime) -> PromoteReport:
    with Database(Settings.from_env().database_url) as db:
        return promote(repo.path, "production", db, now)


def only(report: PromoteReport) -> tuple[str, str]:
    assert len(report.decisions) == 1, report.decisions
    return report.decisions[0].action, report.decisions[0].reason


def test_a_healthy_canary_past_its_soak_is_promoted_to_the_next_step(
    live: Cli, pg_url: str
) -> None:
    backdate(pg_url, 73)
    executions(pg_url, 300, failures=3, duration_ms=1200)
    result = live("promote", "--env", "production", "--format", "json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    (decision,) = report["decisions"]
    assert decision["action"] == "promote"
    assert (decision["current_percentage"], decision["target_percentage"]) == (5, 25)
    evidence = decision["evidence"]
    assert (evidence["requests"], evidence["failures"], evidence["p95_ms"]) == (300, 3, 1200)
    assert evidence["error_rate_percent"] == 1.0
    assert evidence["thresholds"]["max_error_rate_percent"] == 2.0
    assert evidence["verdict"] == "passed" and evidence["window_minutes"] == 60
    assert report["summary"] == {"promote": 1, "hold": 0, "rollback": 0, "settled": 0}
    # promote decides and records; it changes no rollout (that is the PR's job)
    assert live("plan", "--env", "production", "--detailed-exitcode").code == 0
    assert live("promote", "--env", "production", "--detailed-exitcode").code == 2
    assert evaluations(pg_url) == [("promote", "passed", 0)] * 2


def test_a_second_run_makes_the_same_decisions_and_changes_no_rollout(
    live: Cli, pg_url: str
) -> None:
    backdate(pg_url, 73)
    executions(pg_url, 300)

    def decisions() -> list[dict[str, object]]:
        result = live("promote", "--env", "production", "--format", "json")
        assert result.code == 0, result.err
        found = json.loads(result.out)["decisions"]
        for d in found:
            del d["evidence"]["window_start"], d["evidence"]["window_end"]
        return list(found)

    first = decisions()
    assert [d["action"] for d in first] == ["promote"]
    assert decisions() == first
    assert evaluations(pg_url) == [("promote", "passed", 0)] * 2
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT skill_name, percentage FROM skill_rollouts").fetchall()
    assert [(name, float(p)) for name, p in rows] == [(SKILL, 5.0)]
    assert live("plan", "--env", "production", "--detailed-exitcode").code == 0


def test_a_soak_not_over_holds_with_its_end_time(live: Cli, pg_url: str) -> None:
    changed = backdate(pg_url, 10)
    executions(pg_url, 300)
    result = live("promote", "--env", "production")
    assert result.code == 0, result.err
    end = (changed + timedelta(hours=72)).astimezone(UTC).isoformat(timespec="seconds")
    assert f"soaking until {end.replace('+00:00', 'Z')}" in result.out
    assert "HOLD     contract-review  5%" in result.out
    assert "300 requests, error rate 0.00%, p95 800 ms" in result.out


def test_too_little_traffic_holds_as_inconclusive(live: Cli, pg_url: str) -> None:
    backdate(pg_url, 100)
    executions(pg_url, 150, failures=100)  # alarming, but too few to judge
    executions(pg_url, 500, at=datetime.now(UTC) - timedelta(hours=3))  # outside the window
    result = live("promote", "--env", "production", "--format", "markdown")
    assert result.code == 0, result.err
    assert "| `contract-review` | **hold** | 5% | 150 |" in result.out
    assert re.search(r"Window: \S+Z \.\. \S+Z\. Gates: window 60 min", result.out)
    assert "inconclusive: 150 requests in the last 60 min, 200 needed" in result.out
    assert evaluations(pg_url) == [("hold", "inconclusive", 0)]


def test_a_failing_canary_rolls_back_after_failure_limit_windows_and_not_before(
    live: Cli, repo: Repo, pg_url: str
) -> None:
    backdate(pg_url, 1)  # soaking: a failing canary does not wait for its soak to end
    t0 = datetime.now(UTC)
    hours = [t0 + timedelta(hours=h) for h in range(3)]
    for at in hours:
        executions(pg_url, 400, failures=20, at=at)  # 5% errors in each window
    assert only(run_at(repo, hours[0])) == (
        "hold",
        "hold: gate failed (1/3): error rate 5.00% >= 2%",
    )
    # run again in the same window: the same evidence, the streak does not advance
    assert "(1/3)" in only(run_at(repo, hours[0] + timedelta(minutes=10)))[1]
    assert "(2/3)" in only(run_at(repo, hours[1]))[1]
    action, reason = only(run_at(repo, hours[2]))
    assert action == "rollback"
    assert reason == "roll back: error rate 5.00% >= 2% on 3 consecutive windows"
    assert run_at(repo, hours[2]).decisions[0].target_percentage == 0
    assert [e[2] for e in evaluations(pg_url)] == [1, 1, 2, 3, 3]


def test_a_passing_window_resets_the_failing_streak(live: Cli, repo: Repo, pg_url: str) -> None:
    backdate(pg_url, 1)
    t0 = datetime.now(UTC)
    plan = [(0, 20), (1, 20), (2, 0), (3, 20), (4, 20)]  # (hour, failures out of 400)
    for hour, failures in plan:
        executions(pg_url, 400, failures=failures, at=t0 + timedelta(hours=hour))
    reasons = [only(run_at(repo, t0 + timedelta(hours=h)))[1] for h, _ in plan]
    assert ["(1/3)" in reasons[0], "(2/3)" in reasons[1]] == [True, True]
    assert reasons[2].startswith("hold: soaking until")
    assert ["(1/3)" in reasons[3], "(2/3)" in reasons[4]] == [True, True]
    # an inconclusive window neither counts nor resets
    assert "inconclusive" not in reasons[2]
    quiet = only(run_at(repo, t0 + timedelta(hours=6)))
    assert quiet[0] == "hold" and "soaking" in quiet[1]
    assert evaluations(pg_url)[-1] == ("hold", "inconclusive", 2)
    executions(pg_url, 400, failures=20, at=t0 + timedelta(hours=7))
    assert only(run_at(repo, t0 + timedelta(hours=7)))[0] == "rollback"


def test_a_rollout_not_converged_holds_and_reads_no_health(
    live: Cli, repo: Repo, pg_url: str
) -> None:
    backdate(pg_url, 100)
    executions(pg_url, 300)
    repo.write({"rollouts/production.yaml": "contract-review: 25\n"})
    result = live("promote", "--env", "production", "--format", "json")
    (decision,) = json.loads(result.out)["decisions"]
    assert decision["action"] == "hold"
    assert decision["reason"] == "hold: not converged: git says 25%, live is 5% (run apply first)"
    assert decision["evidence"]["requests"] is None
    assert evaluations(pg_url) == [("hold", None, 0)]


def test_settled_rollouts_are_counted_not_decided_and_history_shows_the_evaluations(
    live: Cli, repo: Repo, pg_url: str
) -> None:
    repo.write({"rollouts/production.yaml": "contract-review: 100\nnda-drafting: 0\n"})
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE skill_rollouts SET percentage = 100")
    result = live("promote", "--env", "production")
    assert result.code == 0, result.err
    assert "0 promote, 0 hold, 0 rollback (2 rollouts settled at 0% or 100%)" in result.out
    assert "no canary" in result.out
    repo.write({"rollouts/production.yaml": "contract-review: 5\n"})
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE skill_rollouts SET percentage = 5")
    backdate(pg_url, 100)
    executions(pg_url, 250)
    assert live("promote", "--env", "production").code == 0
    shown = live("promote", "history", "--env", "production", "--format", "json")
    assert shown.code == 0, shown.err
    (entry,) = json.loads(shown.out)
    assert (entry["skill"], entry["decision"], entry["target_percentage"]) == (SKILL, "promote", 25)
    assert entry["figures"]["requests"] == 250
    text = live("promote", "history", "--env", "production", "--skill", SKILL)
    assert "contract-review  5% -> 25%  promote  [passed, 250 requests" in text.out


def test_promote_without_a_database_is_one_clear_error(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL")
    result = cli("promote", "--env", "production")
    assert (result.code, result.err.strip()) == (
        1,
        "error: DATABASE_URL is not set (run `syncbot doctor` for help)",
    )


def test_the_demo_seed_shows_a_promotion_with_its_evidence(
    live: Cli, repo: Repo, pg_url: str
) -> None:
    with Database(pg_url) as db:
        assert seed_canary(db, "production") == SKILL
        assert seed_canary(db, "staging") is None  # no rollout applied there
        report = promote(repo.path, "production", db, datetime.now(UTC))
    text = render_text(report)
    assert "PROMOTE  contract-review  5% -> 25%" in text
    assert "300 requests, error rate 1.00%" in text


def test_an_invalid_rollouts_file_or_gate_is_one_error_with_file_and_line(
    live: Cli, repo: Repo
) -> None:
    repo.write({"rollouts/production.yaml": "contract-review: 5\nnda-drafting: 150\n"})
    result = live("promote", "--env", "production")
    assert result.code == 1
    assert result.err.startswith("error: invalid configuration: rollouts/production.yaml:2: ")
    repo.write({"rollouts/production.yaml": "contract-review: 5\n"})
    config = (repo.path / "syncbot.yaml").read_text("utf-8")
    repo.write(
        {
            "syncbot.yaml": config.replace(
                "min_soak_hours: 72", "min_soak_hours: 72\n      gates: {failure_limit: 0}"
            )
        }
    )
    result = live("promote", "--env", "production")
    assert result.code == 1
    assert "syncbot.yaml:8: schema: " in result.err and "failure_limit" in result.err
