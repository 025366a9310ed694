"""`syncbot promote`: decide, for every canary, promote, hold or roll back, with the
evidence; `syncbot promote history` shows the recorded evaluations."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import click

from syncbot.commands.common import EXIT_CHANGES, App, dump_json, env_of, env_option, format_option
from syncbot.errors import SyncbotError
from syncbot.github import GitHubSettings
from syncbot.promote import report as out
from syncbot.promote import store
from syncbot.promote.proposals import promote_with_prs
from syncbot.promote.run import PromoteReport, promote
from syncbot.targets.postgres import Database


def _database(app: App) -> Database:
    if not app.settings.database_url:
        raise SyncbotError("DATABASE_URL is not set (run `syncbot doctor` for help)")
    return Database(app.settings.database_url)


@click.group("promote", invoke_without_command=True)
@env_option
@format_option(
    "text", "json", "markdown", help="json for scripts; markdown for a job summary or a PR."
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when a promotion or a rollback is decided (0 when every canary holds).",
)
@click.option(
    "--open-prs",
    is_flag=True,
    help="Open or update one PR per promotion and rollback (needs GITHUB_TOKEN and "
    "GITHUB_REPOSITORY, and a clean checkout of origin's --base-branch).",
)
@click.option("--base-branch", default="main", show_default=True, help="The branch the PRs target.")
@click.pass_context
def promote_group(
    ctx: click.Context,
    environment: str | None,
    fmt: str,
    detailed_exitcode: bool,
    open_prs: bool,
    base_branch: str,
) -> int:
    """Decide, for every canary (a rollout converged between 0% and 100%), whether to
    promote it to the next step, hold it, or roll it back to 0%, from its soak time and
    its health over the gates' window. Every evaluation is recorded; nothing else is
    changed: a decision becomes a change through a reviewed PR.

    \b
    Examples:
      syncbot promote --env production
      syncbot promote --env production --format markdown >> "$GITHUB_STEP_SUMMARY"
      syncbot promote --env production --open-prs
      syncbot promote history --env production --skill contract-analysis-ro
    """
    if ctx.invoked_subcommand is not None:
        return 0
    app = ctx.find_object(App)
    assert app is not None
    env, now = env_of(app, environment), datetime.now(UTC)
    outcomes: list[str] = []
    with _database(app) as db:
        if open_prs:
            github = GitHubSettings.from_env(os.environ)
            report, outcomes = promote_with_prs(
                app.repo, env, db, now, github, base_branch=base_branch
            )
        else:
            report = promote(app.repo, env, db, now)
    app.say(_render(report, fmt).rstrip("\n"))
    if outcomes and fmt == "markdown":
        app.say("\n" + "\n".join(f"- {line}" for line in outcomes))
    for line in outcomes if fmt != "markdown" else ():
        app.say(line, err=fmt == "json")  # JSON on stdout stays parseable
    moves = report.count("promote") + report.count("rollback")
    return EXIT_CHANGES if detailed_exitcode and moves else 0


def _render(report: PromoteReport, fmt: str) -> str:
    if fmt == "json":
        return dump_json(out.report_dict(report))
    return out.render_markdown(report) if fmt == "markdown" else out.render_text(report)


@promote_group.command("history")
@env_option
@click.option("--skill", help="Only this skill's evaluations.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Show at most this many evaluations.",
)
@format_option("text", "json", help="json: a list of evaluations, for scripts.")
@click.pass_context
def promote_history(
    ctx: click.Context, environment: str | None, skill: str | None, limit: int, fmt: str
) -> int:
    """The recorded evaluations, newest first: why each step happened (or did not).

    \b
    Examples:
      syncbot promote history --env production --skill contract-analysis-ro --limit 5
      syncbot promote history -e production --format json
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
