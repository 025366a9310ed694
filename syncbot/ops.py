"""Command logic shared by the CLI: loading the desired state, status and doctor checks."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncbot.desired import DesiredState
from syncbot.errors import ConfigErrors, SyncbotError
from syncbot.files.load import LoadedRepo, build_desired, load_repo
from syncbot.files.source import GitTree, WorkTree
from syncbot.lint.findings import Finding
from syncbot.lint.validate import validate_and_load
from syncbot.redact import redact_url
from syncbot.session import Targets
from syncbot.settings import Settings


def open_source(repo: Path, ref: str | None) -> WorkTree | GitTree:
    return GitTree(repo, ref) if ref else WorkTree(repo)


def load_config(
    repo: Path, environment: str, ref: str | None = None, *, full_check: bool = False
) -> tuple[LoadedRepo, DesiredState]:
    """The parsed repository and one environment's desired state, from a single parse.

    `full_check` also runs every validate rule and refuses on any error.
    """
    source = open_source(repo, ref)
    if full_check:
        loaded, findings = validate_and_load(source)
        _refuse_errors([f for f in findings if f.severity == "error"])
    else:
        try:
            loaded = load_repo(source)
        except ConfigErrors as exc:
            raise SyncbotError(
                f"invalid configuration: {exc.message} (run `syncbot validate`)"
            ) from exc
    return loaded, build_desired(loaded, environment)


def load_desired(
    repo: Path, environment: str, ref: str | None = None, *, full_check: bool = False
) -> DesiredState:
    return load_config(repo, environment, ref, full_check=full_check)[1]


def _refuse_errors(errors: list[Finding]) -> None:
    if not errors:
        return
    first = errors[0]
    more = f" (and {len(errors) - 1} more; run `syncbot validate`)" if len(errors) > 1 else ""
    raise SyncbotError(
        f"invalid configuration: {first.file}:{first.line}: {first.rule}: {first.message}{more}"
    )


def actor() -> str:
    return os.environ.get("GITHUB_ACTOR") or os.environ.get("USER") or "unknown"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _probe(name: str, fn: Any, fix: str) -> tuple[Check, Any]:
    try:
        value = fn()
    except SyncbotError as exc:
        return Check(name, False, exc.message, fix), None
    return Check(name, True, "ok"), value


def status(targets: Targets, environment: str) -> dict[str, Any]:
    """The runbook's health document: each service, counts and the last run."""
    api_check, listing = (
        _probe("api", targets.api.list_skills, "")
        if targets.api
        else (Check("api", True, "disabled"), None)
    )
    db_check, counts = _probe("database", lambda: targets.db.counts(environment), "")
    cache_check, entries = _probe("cache", targets.cache.count_entries, "")
    runs = targets.db.history(environment, 1) if db_check.ok else []
    return {
        "environment": environment,
        "healthy": api_check.ok and db_check.ok and cache_check.ok,
        "api": {
            "healthy": api_check.ok,
            "detail": api_check.detail,
            "skills": len(listing.skills) if listing else None,
        },
        "database": {"healthy": db_check.ok, "detail": db_check.detail, **(counts or {})},
        "cache": {"healthy": cache_check.ok, "detail": cache_check.detail, "entries": entries},
        "active_skills": (counts or {}).get("skills"),
        "last_run": _run_dict(runs[0]) if runs else None,
    }


def _run_dict(run: Any) -> dict[str, Any]:
    return {
        "id": run.id,
        "commit": run.commit,
        "actor": run.actor,
        "status": run.status,
        "started_at": str(run.started_at),
        "finished_at": str(run.finished_at) if run.finished_at else None,
    }


def doctor_env(settings: Settings) -> list[Check]:
    """Each variable checked without ever printing a secret value."""
    return [
        Check(
            "ANTHROPIC_API_KEY",
            bool(settings.api_key) or not settings.skills_enabled,
            _key_state(settings),
            "export ANTHROPIC_API_KEY=... (a workspace key)",
        ),
        Check("ANTHROPIC_BASE_URL", True, redact_url(settings.base_url)),
        Check("ANTHROPIC_SKILLS_ENABLED", True, str(settings.skills_enabled).lower()),
        Check(
            "ANTHROPIC_SKILLS_BETA_VERSION",
            True,
            settings.beta_version or "not set: current API surface",
        ),
        Check(
            "DATABASE_URL",
            bool(settings.database_url),
            redact_url(settings.database_url) or "not set",
            "export DATABASE_URL=postgresql://user@host:5432/dbname",
        ),
        Check(
            "REDIS_URL",
            bool(settings.redis_url),
            redact_url(settings.redis_url) or "not set",
            "export REDIS_URL=redis://host:6379/0",
        ),
        Check("SYNCBOT_ENV", True, settings.environment),
    ]


def _key_state(settings: Settings) -> str:
    if not settings.api_key:
        return "not set"
    if settings.api_key_trimmed:
        return "set (surrounding whitespace, e.g. a trailing newline, removed)"
    return "set"


def doctor_connections(targets: Targets) -> list[Check]:
    checks = []
    if targets.api is not None:
        checks.append(
            _probe(
                "Skills API",
                targets.api.list_skills,
                "check ANTHROPIC_BASE_URL and the key's workspace",
            )[0]
        )
    checks.append(
        _probe("PostgreSQL", targets.db.ping, "is the server up? is DATABASE_URL right?")[0]
    )
    pending = _probe("migrations", targets.db.ensure_migrated, "run `syncbot db migrate`")[0]
    checks.append(pending)
    checks.append(_probe("Redis", targets.cache.ping, "is the server up? is REDIS_URL right?")[0])
    return checks
