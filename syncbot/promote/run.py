"""One `syncbot promote` run: read git, the live rollouts and the health of every canary
in a constant number of statements, decide, and record each evaluation."""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from syncbot.desired import DesiredState, RolloutPolicy
from syncbot.errors import SyncbotError
from syncbot.files.load import CONFIG_FILE, build_desired, read_repo
from syncbot.files.schemas import MetricsConfig, RolloutGates, SyncbotConfig
from syncbot.files.source import ReadFiles
from syncbot.files.worktree import WorkTree
from syncbot.ops import stricter_than_applied
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


def read_rollouts(repo: Path, environment: str) -> tuple[SyncbotConfig, DesiredState]:
    """syncbot.yaml and rollouts/<environment>.yaml only: promote needs nothing else, and
    reading every skill of a large repository would cost most of its time."""
    tree = WorkTree(repo)
    paths = (CONFIG_FILE, f"rollouts/{environment}.yaml")
    found = tuple(f for f in map(tree.read, paths) if f is not None)
    loaded, errors = read_repo(ReadFiles(tree.commit, found))
    if errors:
        first = errors[0]
        where = f"{first.location.file}:{first.location.line}"
        raise SyncbotError(f"invalid configuration: {where}: {first.rule}: {first.reason}")
    return loaded.config, build_desired(loaded, environment)


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
    config, desired = read_rollouts(repo, environment)
    desired = stricter_than_applied(repo, desired, db)
    gates = gates_of(config, environment)
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
