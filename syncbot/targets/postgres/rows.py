"""The records the database target reads and writes beyond the live state: the
batched writes of one apply and the run records of `sync_runs`, and the row conversions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncbot.live import RolloutRow, RouteRow, SkillRow, VersionRow

RUN_STATUSES = frozenset(
    {
        "running",
        "db-committed",
        "succeeded",
        "degraded",
        "failed",
        "interrupted",
        "noop",
        "dry-run",
        "refused",
        "cancelled",  # answered no at apply's confirmation: nothing written
    }
)
FINAL_STATUSES = RUN_STATUSES - {"running", "db-committed"}


@dataclass(frozen=True)
class DbWrites:
    commit: str | None
    upsert_skills: Sequence[SkillRow] = ()
    delete_skills: Sequence[str] = ()
    versions: Sequence[VersionRow] = ()
    upsert_routes: Sequence[RouteRow] = ()
    delete_routes: Sequence[str] = ()
    upsert_rollouts: Sequence[RolloutRow] = ()
    delete_rollouts: Sequence[str] = ()

    @property
    def changes_rows(self) -> bool:
        """Any skill, route or rollout row to write or delete (versions aside)."""
        return any(
            (
                self.upsert_skills,
                self.delete_skills,
                self.upsert_routes,
                self.delete_routes,
                self.upsert_rollouts,
                self.delete_rollouts,
            )
        )


@dataclass(frozen=True)
class RunRecord:
    id: int
    environment: str
    commit: str | None
    actor: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None
    status: str
    summary: Mapping[str, Any] | None
    journal: tuple[Mapping[str, Any], ...] = field(default=())
    error: str | None = None
    plan: Mapping[str, Any] | None = None
    changes: int | None = None
    lock_pid: int | None = None

    @property
    def journal_length(self) -> int:
        return len(self.journal)


def skill_row(d: Mapping[str, Any]) -> SkillRow:
    return SkillRow.from_values(d["name"], d, commit=d["commit"], updated_at=d["updated_at"])


def hand_edited(state: Mapping[str, Any]) -> dict[str, str]:
    """DbState.written, for the rows edited by hand since the bot wrote them only.

    The planner calls a change "drift in live" when `written[object_id]` differs from its
    own fingerprint of the live value. The database's fingerprint (a 64-hex SHA-256 of its
    own canonical form) never equals the planner's (16 hex), so listing exactly the
    hand-edited rows gives the right reason without coupling the two hash formats; rows
    the bot wrote last are left out, which the planner reads as "changed in git".
    """
    kinds = (
        ("skill", "skills", "name"),
        ("route", "routes", "key"),
        ("rollout", "rollouts", "skill_name"),
    )
    return {
        f"db:{kind}:{d[key]}": str(d["written_fingerprint"])
        for kind, column, key in kinds
        for d in state[column]
        if d["hand_edited"]
    }


def run_record(d: Mapping[str, Any]) -> RunRecord:
    return RunRecord(
        id=d["id"],
        environment=d["environment"],
        commit=d["commit"],
        actor=d["actor"],
        dry_run=d["dry_run"],
        started_at=d["started_at"],
        finished_at=d["finished_at"],
        status=d["status"],
        summary=d["summary"],
        journal=tuple(d.get("journal") or ()),
        error=d["error"],
        plan=d.get("plan"),
        changes=d.get("changes"),
        lock_pid=d.get("lock_pid"),
    )
