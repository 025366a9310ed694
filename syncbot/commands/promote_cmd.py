"""`syncbot promote`: decide, for every canary, promote, hold or roll back, with the
evidence; `syncbot promote history` shows the recorded evaluations."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from syncbot.commands.common import EXIT_CHANGES, App, dump_json, env_of, env_option
from syncbot.errors import SyncbotError
from syncbot.promote import report as out
from syncbot.promote import store
from syncbot.promote.run import PromoteReport, promote
from syncbot.targets.postgres import Database


def _database(app: App) -> Database:
    if not app.settings.database_url:
        raise SyncbotError("DATABASE_URL is not set (run `syncbot doctor` for help)")
    return Database(app.settings.database_url)


@click.group("promote", invoke_without_command=True)
@env_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when a promotion or a rollback is decided (0 when every canary holds).",
)
@click.pass_context
def promote_group(
    ctx: click.Context, environment: str | None, fmt: str, detailed_exitcode: bool
) -> int:
    """Decide, for every canary (a rollout converged between 0% and 100%), whether to
    promote it to the next step, hold it, or roll it back to 0%, from its soak time and
    its health over the gates' window. Every evaluation is recorded; nothing else is
    changed: a decision becomes a change through a reviewed PR.

    \b
    Examples:
      syncbot promote --env production
      syncbot promote --env production --format markdown >> "$GITHUB_STEP_SUMMARY"
      syncbot promote history --env production --skill contract-analysis-ro
    """
    if ctx.invoked_subcommand is not None:
        return 0
    app = ctx.find_object(App)
    assert app is not None
    with _database(app) as db:
        report = promote(app.repo, env_of(app, environment), db, datetime.now(UTC))
    app.say(_render(report, fmt).rstrip("\n"))
    moves = report.count("promote") + report.count("rollback")
    return EXIT_CHANGES if detailed_exitcode and moves else 0


def _render(report: PromoteReport, fmt: str) -> str:
    if fmt == "json":
        return dump_json(out.report_dict(report))
    return out.render_markdown(report) if fmt == "markdown" else out.render_text(report)


@promote_group.command("history")
@env_option
@click.option("--skill", help="Only this skill's evaluations.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def promote_history(
    ctx: click.Context, environment: str | None, skill: str | None, limit: int, fmt: str
) -> int:
    """The recorded evaluations, newest first: why each step happened (or did not).

    \b
    Example:
      syncbot promote history --env production --skill contract-analysis-ro --limit 5
    """
    app = ctx.find_object(App)
    assert app is not None
    parent = ctx.parent.params.get("environment") if ctx.parent else None
    env = env_of(app, environment or parent)
    with _database(app) as db:
        db.ensure_migrated()
        evaluations = store.history(db, env, skill, limit)
    if fmt == "json":
        app.say(dump_json([out.history_dict(e) for e in evaluations]))
    else:
        app.say(out.render_history(evaluations).rstrip("\n"))
    return 0
