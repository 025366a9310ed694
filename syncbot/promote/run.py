"""One `syncbot promote` run: read git, the live rollouts and the health of every canary
in a constant number of statements, decide, and record each evaluation."""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from syncbot.desired import DesiredState, RolloutPolicy
from syncbot.files.schemas import MetricsConfig, RolloutGates, SyncbotConfig
from syncbot.ops import load_config, stricter_than_applied
from syncbot.promote import store
from syncbot.promote.decide import Canary, Decision, FailureCount, Rules, decide, window
from syncbot.promote.metrics import MetricsSource
from syncbot.promote.postgres_source import PostgresMetrics
from syncbot.promote.prometheus import PrometheusMetrics
from syncbot.targets.postgres import Database


@dataclass(frozen=True)
class PromoteReport:
    environment: str
    evaluated_at: datetime
    commit: str | None
    policy: RolloutPolicy
    gates: RolloutGates
    decisions: tuple[Decision, ...]
    settled: int  # rollouts converged at 0% or 100%: nothing to decide

    def count(self, action: str) -> int:
        return sum(1 for d in self.decisions if d.action == action)


def gates_of(config: SyncbotConfig, environment: str) -> RolloutGates:
    env = config.environments.get(environment)
    return env.rollout.gates if env is not None and env.rollout is not None else RolloutGates()


def metrics_source(config: MetricsConfig, db: Database) -> MetricsSource:
    """The configured source; PostgreSQL reads the database the bot already holds open."""
    if config.source == "prometheus" and config.prometheus is not None:
        return PrometheusMetrics(config.prometheus)
    return PostgresMetrics(db)


def promote(
    repo: Path,
    environment: str,
    db: Database,
    now: datetime,
    *,
    open_proposals: Set[str] = frozenset(),
    source: MetricsSource | None = None,
    record: bool = True,
) -> PromoteReport:
    """Decide for every canary of `environment` and record the evaluations."""
    loaded, desired = load_config(repo, environment)
    desired = stricter_than_applied(repo, desired, db)
    gates = gates_of(loaded.config, environment)
    db.ensure_migrated()
    live = store.live_rollouts(db, environment)
    canaries = _canaries(desired, live)
    candidates = [c for c in canaries if c.is_candidate]
    healthy_reads = [c.skill for c in candidates if c.converged]
    start, end = window(gates, now)
    metrics = source or metrics_source(gates.metrics, db)
    health = metrics.health(environment, healthy_reads, start, end) if healthy_reads else {}
    rules = Rules(environment, desired.policy, gates)
    decisions = tuple(
        decide(c, health.get(c.skill), rules, now, _streak(live, c.skill), open_proposals)
        for c in candidates
    )
    if record:
        store.record(db, decisions, now, desired.commit)
    settled = len(canaries) - len(candidates)
    return PromoteReport(environment, now, desired.commit, rules.policy, gates, decisions, settled)


def _canaries(desired: DesiredState, live: Mapping[str, store.LiveRollout]) -> list[Canary]:
    names = sorted(desired.rollouts.keys() | live.keys())
    return [
        Canary(
            name,
            desired.rollouts[name].basis_points if name in desired.rollouts else 0,
            live[name].basis_points if name in live else 0,
            live[name].changed_at if name in live else None,
        )
        for name in names
    ]


def _streak(live: Mapping[str, store.LiveRollout], skill: str) -> FailureCount:
    return live[skill].streak if skill in live else FailureCount()
