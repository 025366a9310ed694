"""Commands that talk to the live systems: plan, apply, status, doctor, history, db migrate."""

from __future__ import annotations

import json
import sys
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from syncbot.applier import ApplyOptions, ApplyResult, apply
from syncbot.commands.common import (
    EXIT_CHANGES,
    App,
    dump_json,
    env_of,
    env_option,
    format_option,
    pass_app,
)
from syncbot.desired import DesiredState
from syncbot.errors import PolicyError, SyncbotError, TargetError
from syncbot.history import render_list, render_show, run_dict, show_dict
from syncbot.live import LiveState
from syncbot.ops import (
    actor,
    defined_environment_check,
    doctor,
    load_config,
    load_desired,
    record_invalid_config,
    served_environment_check,
    status,
    stricter_than_applied,
)
from syncbot.plan import Plan
from syncbot.planner import PlanOptions
from syncbot.reader import plan_options, read_and_plan, read_deployed_files
from syncbot.redact import redact_data
from syncbot.render import render_plan, render_text
from syncbot.semantic import explain
from syncbot.session import Targets, open_targets
from syncbot.targets.postgres import Database

prune_option = click.option(
    "--prune", is_flag=True, help="Delete skills removed from git (capped)."
)
allow_delete_all_option = click.option(
    "--allow-delete-all",
    is_flag=True,
    help="Allow deleting every route or every rollout of the environment (refused otherwise).",
)


@click.command("plan")
@env_option
@click.option(
    "--ref", help="Read the configuration from this git revision instead of the work tree."
)
@click.option(
    "--base",
    "base_ref",
    help="Judge rollout changes by the policy of this revision too (the PR's base).",
)
@format_option(
    "text", "json", "markdown", help="json for scripts; markdown for a PR comment or a job summary."
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan (JSON) for `apply --plan`.",
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes.")
@prune_option
@click.option(
    "--max-deletions",
    type=click.IntRange(min=0),
    help="With --prune: delete at most this many skills (overrides prune.max_deletions in "
    "syncbot.yaml); over it the plan is refused.",
)
@allow_delete_all_option
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
    allow_delete_all: bool,
) -> int:
    """Show what apply would change, and why.

    Exits 1, after showing the plan, when apply would refuse it (policy) or when a live
    system could not be read (the plan is then incomplete), with or without
    --detailed-exitcode.

    \b
    Examples:
      syncbot plan --env production
      syncbot plan --format markdown --detailed-exitcode > plan.md
      syncbot plan --base origin/main   # rollouts judged by main's policy too
      syncbot plan --out plan.json && syncbot apply --plan plan.json
    """
    env = env_of(app, environment)
    loaded, desired = load_config(app.repo, env, ref, base=base_ref)
    options = plan_options(
        prune=prune,
        max_deletions=max_deletions,
        allow_delete_all=allow_delete_all,
        max_cache_entries=app.settings.max_cache_size,
    )
    with open_targets(app.settings) as targets:
        desired = stricter_than_applied(app.repo, desired, targets.db)
        live, plan = read_and_plan_or_report(app, targets, desired, fmt, options)
    if out_file is not None:
        out_file.write_text(
            json.dumps(redact_data(plan.as_dict()), indent=2, sort_keys=True, default=str) + "\n"
        )
    explanations = None
    if fmt != "json" and not plan.is_empty:  # only changed objects are explained
        old_files = read_deployed_files(app.repo, plan, desired, live)
        explanations = explain(plan, desired, live, loaded, old_files)
    app.say(render_plan(plan, fmt, explanations).rstrip("\n"))
    refuse_unusable(plan)
    return EXIT_CHANGES if (detailed_exitcode and not plan.is_empty) else 0


def read_and_plan_or_report(
    app: App, targets: Targets, desired: DesiredState, fmt: str, options: PlanOptions
) -> tuple[LiveState, Plan]:
    """The live state and the plan (as apply makes them); when a system cannot be read,
    the plan output still says which one was not compared (a PR comment or drift issue
    then shows it) before exit 1."""
    try:
        return read_and_plan(targets, desired, options)
    except TargetError as exc:
        why = exc.message.removeprefix(f"{exc.target}: ")
        stub = Plan(desired.environment, desired.commit, (), uncompared={exc.target: why})
        app.say(render_plan(stub, fmt).rstrip("\n"))
        raise TargetError(exc.target, f"not compared, nothing planned: {why}") from exc


def refuse_unusable(plan: Plan) -> None:
    """Exit 1 after the plan is shown: a plan apply will refuse, or one that could not
    compare a target, must never read as a green check (`--detailed-exitcode` included)."""
    unknown = [f"{target} not compared ({why})" for target, why in sorted(plan.uncompared.items())]
    if plan.refused:
        count = len(plan.refused)
        refused = (
            f"apply will refuse this plan: {count} change{'s' if count > 1 else ''} "
            "refused by policy (listed at the top of the plan)"
        )
        raise PolicyError("; ".join([refused, *unknown]))
    if unknown:
        raise SyncbotError("plan incomplete: " + "; ".join(unknown))


@click.command("apply")
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
@allow_delete_all_option
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds to wait for another apply.",
)
@click.option("--dry-run", is_flag=True, help="Go through every step but write nothing.")
@click.option(
    "--auto-approve",
    is_flag=True,
    help="Do not ask for confirmation on a terminal (it is never asked elsewhere, as in CI).",
)
@pass_app
def apply_cmd(
    app: App,
    environment: str | None,
    ref: str | None,
    plan_file: Path | None,
    prune: bool,
    max_deletions: int | None,
    allow_delete_all: bool,
    lock_timeout: float,
    dry_run: bool,
    auto_approve: bool,
) -> int:
    """Make the live systems equal to the configuration.

    On a terminal, shows the plan and asks `Apply these N changes to ENV? [y/N]` before
    the first write (answer no: exit 1, nothing changed); --auto-approve skips the
    question, which is never asked when stdin or stdout is not a terminal (CI).

    \b
    Examples:
      syncbot apply --env staging
      syncbot apply -e production --auto-approve
      syncbot apply --env production --prune --lock-timeout 300
      syncbot apply --plan plan.json
    """
    saved = load_saved_plan(plan_file) if plan_file else None
    env = saved.environment if saved else env_of(app, environment)
    ref = saved.commit if saved else ref
    try:
        desired = load_desired(app.repo, env, ref, full_check=True)
    except SyncbotError as exc:
        record_invalid_config(app.settings, app.repo, env, ref, actor(app.repo), exc.message)
        raise
    options = ApplyOptions(
        prune=prune,
        max_deletions=max_deletions,
        allow_delete_all=allow_delete_all,
        lock_timeout_s=lock_timeout,
        dry_run=dry_run,
        actor=actor(app.repo),
        saved_plan=saved,
        max_cache_entries=app.settings.max_cache_size,
        track=app.track,
        confirm=None if auto_approve or not on_terminal() else ConfirmOnTerminal(app, env),
    )
    if not app.settings.skills_enabled:
        app.say("notice: ANTHROPIC_SKILLS_ENABLED=false: the Skills API is skipped", err=True)
    with open_targets(app.settings) as targets:
        desired = stricter_than_applied(app.repo, desired, targets.db)
        result = apply(desired, targets, options, app.progress)
    if not (isinstance(options.confirm, ConfirmOnTerminal) and options.confirm.shown):
        app.say(render_text(result.plan).rstrip("\n"))
    app.say(result_line(result))
    if result.status == "degraded":
        raise SyncbotError(
            "the database is committed but the cache could not be updated (run degraded); "
            "the next apply repairs it"
        )
    if not result.plan.complete:
        missing = ", ".join(f"{t} ({why})" for t, why in sorted(result.plan.uncompared.items()))
        raise SyncbotError(
            f"not compared and not written: {missing}; apply again when it is reachable"
        )
    return 0


def on_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


class ConfirmOnTerminal:
    """The apply confirmation: the plan as `plan` shows it, then a y/N question."""

    def __init__(self, app: App, environment: str) -> None:
        self.app, self.environment, self.shown = app, environment, False

    def __call__(self, plan: Plan) -> bool:
        self.app.say(render_text(plan).rstrip("\n"))
        self.shown = True
        count = len(plan.changes)
        noun = "change" if count == 1 else "changes"
        return click.confirm(f"Apply these {count} {noun} to {self.environment}?", default=False)


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
    if result.plan.is_empty and not result.plan.complete:
        return "No changes found in the targets that could be read: " + ", ".join(
            f"{target} not compared" for target in sorted(result.plan.uncompared)
        )
    if result.plan.is_empty:
        return "Nothing to do."
    run = f" (run {result.run_id})" if result.run_id is not None else ""
    verb = "Would apply" if result.status == "dry-run" else "Applied"
    counts = f"{len(result.plan.changes)} changes{run}: {result.uploads} uploads"
    return f"{verb} {counts}; status {result.status}"


@click.command("status")
@env_option
@format_option(
    "text", "json", help="json: one document (api, database, cache, last_run, healthy) for scripts."
)
@pass_app
def status_cmd(app: App, environment: str | None, fmt: str) -> int:
    """Health of the API, database and cache, counts and the last run.

    Exits 1 when any of them is unhealthy.

    \b
    Examples:
      syncbot status
      syncbot status -e production --format json
    """
    env = env_of(app, environment)
    with open_targets(app.settings) as targets:
        doc = status(targets, env)
        checks = [served_environment_check(targets.db, env)] if doc["database"]["healthy"] else []
    with suppress(SyncbotError):  # outside a configuration repository: nothing to check
        checks.append(defined_environment_check(app.repo, env))
    failed = [c for c in checks if not c.ok]
    doc["environment_check"] = {
        "healthy": not failed,
        "detail": "; ".join(f"{c.detail} (fix: {c.fix})" for c in failed) or "ok",
    }
    doc["healthy"] = doc["healthy"] and not failed
    if fmt == "json":
        app.say(dump_json(doc))
    else:
        for name in ("api", "database", "cache", "environment_check"):
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
        app.say(f"last run  {last_run_line(doc['last_run'])}")
    return 0 if doc["healthy"] else 1


def last_run_line(run: dict[str, Any] | None) -> str:
    """`#12 succeeded 2026-05-01 10:00:00Z commit abc123456789 by alice`, and the reason
    when it did not succeed."""
    if run is None:
        return "none"
    commit = (run["commit"] or "(none)")[:12]
    when = datetime.fromisoformat(run["started_at"]).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    line = f"#{run['id']} {run['status']} {when} commit {commit} by {run['actor']}"
    return line + (f": {run['reason']}" if run["reason"] else "")


@click.command("doctor")
@env_option
@pass_app
def doctor_cmd(app: App, environment: str | None) -> int:
    """Check each environment variable and each connection, with a fix for each failure.

    Exits 1 when a check fails.

    \b
    Examples:
      syncbot doctor
      syncbot doctor -e production
    """
    try:
        repo: Path | None = app.repo
    except SyncbotError:
        repo = None  # outside a configuration repository: no syncbot.yaml to check against
    checks = doctor(app.settings, env_of(app, environment), repo)
    for check in checks:
        mark = ("warn" if check.warn else "ok  ") if check.ok else "FAIL"
        app.say(
            f"{mark} {check.name:<30} {check.detail}"
            + (f"\n     fix: {check.fix}" if not check.ok and check.fix else "")
        )
    return 0 if all(c.ok for c in checks) else 1


history_format = format_option("text", "json", help="json: the same records, for scripts.")


@click.group("history", invoke_without_command=True)
@env_option
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Show at most this many runs.",
)
@history_format
@click.pass_context
def history_group(ctx: click.Context, environment: str | None, limit: int, fmt: str) -> int:
    """Every run, newest first, refused and failed ones too: when, commit, actor, changes,
    status and the reason it did not succeed. `history show RUN` prints one run's plan
    and journal.

    \b
    Examples:
      syncbot history --env production --limit 5
      syncbot history show 42 --env production
      syncbot history --format json
    """
    if ctx.invoked_subcommand is not None:
        return 0
    app = ctx.find_object(App)
    assert app is not None
    with _history_db(app) as db:
        runs = db.list_runs(env_of(app, environment), limit)
    if fmt == "json":
        app.say(dump_json([run_dict(run) for run in runs]))
    else:
        app.say(render_list(runs))
    return 0


@history_group.command("show")
@click.argument("run_ref", metavar="RUN")
@env_option
@history_format
@click.pass_context
def history_show(ctx: click.Context, run_ref: str, environment: str | None, fmt: str) -> int:
    """One run: its record, the plan it made and its journal (each mutation and outcome).

    Without --env the run is shown whatever its environment (run ids are unique in a
    database); with --env it must be a run of that environment.

    \b
    Examples:
      syncbot history show 42 --env production
      syncbot history show 42 --format json
    """
    app = ctx.find_object(App)
    assert app is not None
    run_id = _run_id(run_ref)
    wanted = environment or (ctx.parent.params.get("environment") if ctx.parent else None)
    with _history_db(app) as db:
        run = db.run(run_id)
    if run is None:
        raise SyncbotError(f"no run {run_id} in this database (see `syncbot history`)")
    if wanted and run.environment != wanted:
        raise SyncbotError(
            f"run {run_id} is a {run.environment} run, not {wanted}: use --env {run.environment}"
        )
    app.say(dump_json(show_dict(run)) if fmt == "json" else render_show(run))
    return 0


def _run_id(text: str) -> int:
    digits = text.strip().lstrip("#")
    if not digits.isdigit() or not digits.isascii():
        raise SyncbotError(f"not a run id: {text!r} (a number from `syncbot history`)")
    return int(digits)


def _history_db(app: App) -> Database:
    if not app.settings.database_url:
        raise SyncbotError("DATABASE_URL is not set (run `syncbot doctor` for help)")
    return Database(app.settings.database_url)


@click.group("db")
def db_group() -> None:
    """Database maintenance.

    \b
    Examples:
      syncbot db migrate
    """


@db_group.command("migrate")
@pass_app
def db_migrate(app: App) -> int:
    """Create or upgrade the tables (idempotent; apply runs it too).

    \b
    Examples:
      syncbot db migrate
      DATABASE_URL=postgresql://127.0.0.1:5432/skills syncbot db migrate
    """
    if not app.settings.database_url:
        raise SyncbotError("DATABASE_URL is not set")
    with Database(app.settings.database_url) as db:
        applied = db.migrate()
    app.say("\n".join(f"applied {name}" for name in applied) or "the database is up to date")
    return 0
