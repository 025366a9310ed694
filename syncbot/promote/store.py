"""The promote records in PostgreSQL: the live rollouts with the failing streak each one
carries, and one `rollout_evaluations` row per decision. A constant number of statements,
whatever the number of skills."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from syncbot.promote.decide import Decision, FailureCount
from syncbot.targets.postgres import Database

# The streak is the newest evaluated row at the same percentage since the rollout moved:
# a rollout that left this step and came back starts a new streak.
_LIVE = """
SELECT o.skill_name, (o.percentage * 100)::integer AS basis_points, o.changed_at,
       e.consecutive_failures, e.counted_until
FROM skill_rollouts o
LEFT JOIN LATERAL (
    SELECT consecutive_failures, counted_until FROM rollout_evaluations e
    WHERE e.environment = o.environment AND e.skill_name = o.skill_name
      AND e.percentage = o.percentage AND e.evaluated_at >= o.changed_at
      AND e.verdict IS NOT NULL
    ORDER BY e.evaluated_at DESC, e.id DESC LIMIT 1
) e ON true
WHERE o.environment = %s
"""

_RECORD = """
INSERT INTO rollout_evaluations (environment, skill_name, evaluated_at, percentage,
    decision, target_percentage, verdict, consecutive_failures, counted_until, figures,
    reason, commit)
SELECT environment, skill_name, evaluated_at, percentage, decision, target_percentage,
       verdict, consecutive_failures, counted_until, figures, reason, commit
FROM jsonb_to_recordset(%s) AS t(environment text, skill_name text, evaluated_at timestamptz,
    percentage numeric, decision text, target_percentage numeric, verdict text,
    consecutive_failures integer, counted_until timestamptz, figures jsonb, reason text,
    commit text)
"""

_HISTORY = """
SELECT id, environment, skill_name, evaluated_at, percentage::float8 AS percentage, decision,
       target_percentage::float8 AS target_percentage, verdict, consecutive_failures,
       figures, reason, commit
FROM rollout_evaluations
WHERE environment = %(environment)s AND (%(skill)s::text IS NULL OR skill_name = %(skill)s)
ORDER BY evaluated_at DESC, id DESC
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class LiveRollout:
    skill: str
    basis_points: int
    changed_at: datetime
    streak: FailureCount


@dataclass(frozen=True)
class Evaluation:
    """One recorded decision, as `syncbot promote history` shows it."""

    id: int
    environment: str
    skill: str
    evaluated_at: datetime
    percentage: float
    decision: str
    target_percentage: float | None
    verdict: str | None
    consecutive_failures: int
    figures: dict[str, Any]
    reason: str
    commit: str | None


def live_rollouts(db: Database, environment: str) -> dict[str, LiveRollout]:
    rows = db.fetch_all("cannot read the live rollouts", _LIVE, (environment,))
    return {
        r["skill_name"]: LiveRollout(
            r["skill_name"],
            r["basis_points"],
            r["changed_at"],
            FailureCount(r["consecutive_failures"] or 0, r["counted_until"]),
        )
        for r in rows
    }


def record(db: Database, decisions: Sequence[Decision], at: datetime, commit: str | None) -> None:
    """One row per decision, in one statement."""
    if decisions:
        rows = [_row(d, at, commit) for d in decisions]
        db.execute("cannot record the evaluations", _RECORD, (Jsonb(rows),))


def history(db: Database, environment: str, skill: str | None, limit: int) -> list[Evaluation]:
    params = {"environment": environment, "skill": skill, "limit": limit}
    rows = db.fetch_all("cannot read the evaluations", _HISTORY, params)
    return [
        Evaluation(
            r["id"],
            r["environment"],
            r["skill_name"],
            r["evaluated_at"],
            r["percentage"],
            r["decision"],
            r["target_percentage"],
            r["verdict"],
            r["consecutive_failures"],
            r["figures"],
            r["reason"],
            r["commit"],
        )
        for r in rows
    ]


def _row(d: Decision, at: datetime, commit: str | None) -> dict[str, Any]:
    streak = d.evidence.failures_count
    return {
        "environment": d.environment,
        "skill_name": d.skill,
        "evaluated_at": at.isoformat(),
        "percentage": d.current_percentage,
        "decision": d.action,
        "target_percentage": d.target_percentage,
        "verdict": d.evidence.verdict,
        "consecutive_failures": streak.consecutive,
        "counted_until": None if streak.counted_until is None else streak.counted_until.isoformat(),
        "figures": d.evidence.as_dict(),
        "reason": d.reason,
        "commit": commit,
    }
