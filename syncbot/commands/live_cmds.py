"""Commands that talk to the live systems: plan, apply, status, doctor, history, db migrate."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from syncbot.applier import ApplyOptions, ApplyResult, apply
from syncbot.cli import EXIT_CHANGES, App, _env, cli, dump_json, env_option, pass_app
from syncbot.errors import SyncbotError
from syncbot.ops import (
    actor,
    doctor_connections,
    doctor_env,
    load_config,
    load_desired,
    status,
    stricter_than_applied,
)
from syncbot.plan import Plan
from syncbot.planner import PlanOptions, make_plan
from syncbot.reader import read_live
from syncbot.redact import redact_data
from syncbot.render import render_plan, render_text
from syncbot.semantic import explain, read_deployed_files
from syncbot.session import open_targets
from syncbot.targets.postgres import Database

prune_option = click.option(
    "--prune", is_flag=True, help="Delete skills removed from git (capped)."
)


@cli.command("plan")
@env_option
@click.option(
    "--ref", help="Read the configuration from this git revision instead of the work tree."
)
@click.option(
    "--base",
    "base_ref",
    help="Judge rollout changes by the policy of this revision too (the PR's base).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan (JSON) for `apply --plan`.",
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes.")
@prune_option
@click.option("--max-deletions", type=click.IntRange(min=0))
@pass_app
def plan_cmd(
    app: App,
    environment: str | None,
    ref: str | None,
    base_ref: str | None,
    fmt: str,
    out_file: Path | None,
    detailed_exitcode: bool,
    prune: bool,
    max_deletions: int | None,
) -> int:
    """Show what apply would change, and why.

    \b
    Examples:
      syncbot plan --env production
      syncbot plan --format markdown --detailed-exitcode > plan.md
      syncbot plan --base origin/main   # rollouts judged by main's policy too
      syncbot plan --out plan.json && syncbot apply --plan plan.json
    """
    env = _env(app, environment)
    loaded, desired = load_config(app.repo, env, ref, base=base_ref)
    options = PlanOptions(
        prune=prune,
        max_deletions=max_deletions,
        now_epoch_s=time.time(),
        max_cache_entries=app.settings.max_cache_size,
    )
    with open_targets(app.settings) as targets:
        desired = stricter_than_applied(app.repo, desired, targets.db)
        live = read_live(targets, desired)
    plan = make_plan(desired, live, options)
    if out_file is not None:
        out_file.write_text(
            json.dumps(redact_data(plan.as_dict()), indent=2, sort_keys=True, default=str) + "\n"
        )
    explanations = None
    if fmt != "json" and not plan.is_empty:  # only changed objects are explained
        old_files = read_deployed_files(app.repo, plan, desired, live)
        explanations = explain(plan, desired, live, loaded, old_files)
    app.say(render_plan(plan, fmt, explanations).rstrip("\n"))
    return EXIT_CHANGES if (detailed_exitcode and not plan.is_empty) else 0


@cli.command("apply")
@env_option
@click.option("--ref", help="Apply the configuration of this git revision.")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Apply a saved plan; refused if stale.",
)
@prune_option
@click.option("--max-deletions", type=click.IntRange(min=0), help="Override prune.max_deletions.")
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds to wait for another apply.",
)
@click.option("--dry-run", is_flag=True, help="Go through every step but write nothing.")
@pass_app
def apply_cmd(
    app: App,
    environment: str | None,
    ref: str | None,
    plan_file: Path | None,
    prune: bool,
    max_deletions: int | None,
    lock_timeout: float,
    dry_run: bool,
) -> int:
    """Make the live systems equal to the configuration.

    \b
    Examples:
      syncbot apply --env staging
      syncbot apply --env production --prune --lock-timeout 300
      syncbot apply --plan plan.json
    """
    saved = load_saved_plan(plan_file) if plan_file else None
    env = saved.environment if saved else _env(app, environment)
    desired = load_desired(app.repo, env, saved.commit if saved else ref, full_check=True)
    options = ApplyOptions(
        prune=prune,
        max_deletions=max_deletions,
        lock_timeout_s=lock_timeout,
        dry_run=dry_run,
        actor=actor(),
        saved_plan=saved,
        max_cache_entries=app.settings.max_cache_size,
    )
    if not app.settings.skills_enabled:
        app.say("notice: ANTHROPIC_SKILLS_ENABLED=false: the Skills API is skipped", err=True)
    with open_targets(app.settings) as targets:
        desired = stricter_than_applied(app.repo, desired, targets.db)
        result = apply(desired, targets, options, app.progress)
    app.say(render_text(result.plan).rstrip("\n"))
    app.say(result_line(result))
    if result.status == "degraded":
        raise SyncbotError(
            "the database is committed but the cache could not be updated (run degraded); "
            "the next apply repairs it"
        )
    return 0


def load_saved_plan(path: Path) -> Plan:
    try:
        plan = Plan.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise SyncbotError(f"{path}: not a saved syncbot plan ({exc})") from exc
    if plan.commit and plan.commit.endswith("-dirty"):
        raise SyncbotError(
            f"{path} was planned from uncommitted changes: commit them and plan again"
        )
    return plan


def result_line(result: ApplyResult) -> str:
    if result.plan.is_empty:
        return "Nothing to do."
    run = f" (run {result.run_id})" if result.run_id is not None else ""
    verb = "Would apply" if result.status == "dry-run" else "Applied"
    counts = f"{len(result.plan.changes)} changes{run}: {result.uploads} uploads"
    return f"{verb} {counts}; status {result.status}"


@cli.command("status")
@env_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_app
def status_cmd(app: App, environment: str | None, fmt: str) -> int:
    """Health of the API, database and cache, counts and the last run."""
    with open_targets(app.settings) as targets:
        doc = status(targets, _env(app, environment))
    if fmt == "json":
        app.say(dump_json(doc))
    else:
        for name in ("api", "database", "cache"):
            part = doc[name]
            extra = ", ".join(
                f"{k} {v}"
                for k, v in sorted(part.items())
                if k not in ("healthy", "detail") and v is not None
            )
            app.say(
                f"{name:<9} {'healthy' if part['healthy'] else 'UNHEALTHY'}  "
                f"{part['detail']}  {extra}"
            )
        app.say(f"last run  {dump_json(doc['last_run']) if doc['last_run'] else 'none'}")
    return 0 if doc["healthy"] else 1


@cli.command("doctor")
@env_option
@pass_app
def doctor_cmd(app: App, environment: str | None) -> int:
    """Check each environment variable and each connection, with a fix for each failure."""
    checks = doctor_env(app.settings)
    if all(c.ok for c in checks):
        with open_targets(app.settings) as targets:
            checks += doctor_connections(targets)
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        app.say(
            f"{mark} {check.name:<30} {check.detail}"
            + (f"\n     fix: {check.fix}" if not check.ok and check.fix else "")
        )
    return 0 if all(c.ok for c in checks) else 1


@cli.command("history")
@env_option
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@pass_app
def history_cmd(app: App, environment: str | None, limit: int) -> int:
    """Applied runs, newest first: commit, actor, changes, status."""
    if not app.settings.database_url:
        raise SyncbotError("DATABASE_URL is not set")
    with Database(app.settings.database_url) as db:
        runs = db.history(_env(app, environment), limit)
    for run in runs:
        changes = (run.summary or {}).get("changes", "?")
        commit = (run.commit or "work tree")[:12]
        app.say(
            f"#{run.id:<5} {run.started_at:%Y-%m-%d %H:%M:%S}  {commit:<12} {run.actor:<16} "
            f"{changes!s:>4} changes  {run.status}" + (f"  ({run.error})" if run.error else "")
        )
    if not runs:
        app.say("no runs yet")
    return 0


@cli.group("db")
def db_group() -> None:
    """Database maintenance."""


@db_group.command("migrate")
@pass_app
def db_migrate(app: App) -> int:
    """Create or upgrade the tables (idempotent; apply runs it too)."""
    if not app.settings.database_url:
        raise SyncbotError("DATABASE_URL is not set")
    with Database(app.settings.database_url) as db:
        applied = db.migrate()
    app.say("\n".join(f"applied {name}" for name in applied) or "the database is up to date")
    return 0
