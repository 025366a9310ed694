"""`syncbot github ...`: what the workflows call to show plans on GitHub.

A thin shell over syncbot.github; `syncbot.cli` registers `github_group`.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from syncbot.github import (
    GitHubClient,
    GitHubSettings,
    append_summary,
    check_marker,
    close_drift_issue,
    combine_plans,
    pr_number_from_event,
    report_drift,
    upsert_comment,
)

__all__ = ["github_group"]

_FILE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


def _marker_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    try:
        return None if value is None else check_marker(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _client() -> GitHubClient:
    return GitHubClient(GitHubSettings.from_env(os.environ))


@click.group("github")
def github_group() -> None:
    """Show plans on GitHub: the sticky PR comment, the job summary, the drift issue.

    For the workflows in .github/workflows. Reads GITHUB_TOKEN, GITHUB_REPOSITORY,
    GITHUB_API_URL, GITHUB_SERVER_URL, GITHUB_RUN_ID, GITHUB_EVENT_PATH and
    GITHUB_STEP_SUMMARY, as GitHub Actions sets them.

    \b
    Examples:
      syncbot github comment --file plan-staging.md --marker syncbot-plan-staging
      syncbot github summary --file plan-staging.md
      syncbot github drift-issue --env production --file drift.md
    """


@github_group.command("comment")
@click.option("--file", "path", type=_FILE, required=True, help="Markdown to post.")
@click.option("--marker", required=True, callback=_marker_option, help="Names the sticky comment.")
@click.option(
    "--pr", type=click.IntRange(min=1), help="PR number (default: from GITHUB_EVENT_PATH)."
)
@click.option(
    "--author",
    default="github-actions[bot]",
    show_default=True,
    help="Only a comment by this login is updated in place; '' accepts any author.",
)
def comment(path: Path, marker: str, pr: int | None, author: str) -> None:
    """Create or update, in place, the one PR comment that carries MARKER.

    A body over GitHub's 65,536-character limit is cut at a line boundary, with a note
    that points to the job summary of this run.

    \b
    Examples:
      syncbot github comment --file plan-staging.md --marker syncbot-plan-staging
    """
    number = pr or pr_number_from_event(os.environ.get("GITHUB_EVENT_PATH"))
    with _client() as client:
        outcome = upsert_comment(client, number, marker, _read(path), author=author or None)
    click.echo(f"comment {outcome}")


@github_group.command("summary")
@click.option("--file", "path", type=_FILE, required=True, help="Markdown to append.")
def summary(path: Path) -> None:
    """Append a Markdown file to this step's job summary, trimmed below 1 MiB.

    \b
    Examples:
      syncbot github summary --file plan-staging.md
    """
    written = append_summary(os.environ.get("GITHUB_STEP_SUMMARY"), _read(path))
    click.echo(f"summary: appended {written} bytes")


@github_group.command("drift-issue")
@click.option(
    "-e",
    "--env",
    "env",
    envvar="SYNCBOT_ENV",
    required=True,
    callback=_marker_option,
    help="The environment whose drift issue this is (default: $SYNCBOT_ENV).",
)
@click.option("--file", "path", type=_FILE, help="The drift plan (Markdown).")
@click.option("--resolved", is_flag=True, help="Live equals main: close the issue if open.")
@click.option(
    "--incomplete",
    is_flag=True,
    help="The plan could not compare every target (or apply would refuse it): open or keep "
    "the issue open, saying so.",
)
def drift_issue(env: str, path: Path | None, resolved: bool, incomplete: bool) -> None:
    """Open or update the one drift issue of ENV, or close it with --resolved.

    The issue carries the label syncbot-drift and a hidden marker for the environment.
    Close it only when the plan compared every target and found no change.

    \b
    Examples:
      syncbot github drift-issue --env production --file drift.md
      syncbot github drift-issue --env production --file drift.md --incomplete
      syncbot github drift-issue --env production --resolved
    """
    if resolved == (path is not None):
        raise click.UsageError("give exactly one of --file and --resolved")
    if resolved and incomplete:
        raise click.UsageError("--incomplete needs --file: an incomplete check never closes")
    with _client() as client:
        if path is None:
            outcome = close_drift_issue(client, env)
        else:
            outcome = report_drift(client, env, _read(path), incomplete=incomplete)
    click.echo(f"drift issue ({env}): {outcome}")


@github_group.command("combine")
@click.option("--title", required=True, help="The heading of the combined document.")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the combined Markdown.",
)
@click.argument("paths", nargs=-1, required=True, type=_FILE)
def combine(title: str, out_file: Path, paths: tuple[Path, ...]) -> None:
    """Join plans (Markdown, one per environment) into one document, in the order given.

    Every "apply will refuse this plan" and "not compared" banner is repeated at the very
    top, so the first thing a reviewer reads is what apply will refuse.

    \b
    Examples:
      syncbot github combine --title "syncbot plans" --out plan.md \\
        plan-staging.md plan-production.md
    """
    out_file.write_text(combine_plans(title, [_read(p) for p in paths]), encoding="utf-8")
    click.echo(f"combined {len(paths)} plans into {out_file}")
