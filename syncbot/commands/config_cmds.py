"""Commands that read only the repository: validate, schema, routes test, rollout bucket."""

from __future__ import annotations

from pathlib import Path

import click

from syncbot.bucketing import bucket, in_rollout
from syncbot.cli import App, _env, cli, env_option, pass_app
from syncbot.desired import format_percentage
from syncbot.files.schemas import write_json_schemas
from syncbot.lint.validate import render_findings, validate
from syncbot.ops import load_desired, open_source
from syncbot.routing import SkillInfo, recommend


@cli.command("validate")
@click.option("--base", "base_ref", help="Also check changes against this git revision.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text")
@pass_app
def validate_cmd(app: App, base_ref: str | None, fmt: str) -> int:
    """Check every file against the schemas and rules; all problems in one run.

    \b
    Examples:
      syncbot validate
      syncbot validate --base origin/main --format github
    """
    base = open_source(app.repo, base_ref) if base_ref else None
    findings = validate(open_source(app.repo, None), base=base)
    app.say(render_findings(findings, fmt).rstrip("\n"), commands=fmt == "github")
    return 1 if any(f.severity == "error" for f in findings) else 0


@cli.command("schema")
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("schemas")
)
@pass_app
def schema_cmd(app: App, out_dir: Path) -> int:
    """Write the JSON Schemas of the file formats, for editors."""
    for path in write_json_schemas(out_dir):
        app.say(str(path))
    return 0


@cli.group("routes")
def routes_group() -> None:
    """Routing tools for authors."""


@routes_group.command("test")
@click.argument("query")
@click.option("--type", "skill_type", help="Only skills of this type (code or prompt).")
@click.option("--category", help="Only skills of this category.")
@pass_app
def routes_test(app: App, query: str, skill_type: str | None, category: str | None) -> int:
    """Show the skills recommended for QUERY, with confidences and the patterns that matched.

    \b
    Example:
      syncbot routes test "I need to analyze this contract"
    """
    desired = load_desired(app.repo, app.settings.environment)
    skills = {n: SkillInfo(type=s.type, category=s.category) for n, s in desired.skills.items()}
    found = recommend(desired.routes, query, skills=skills, type=skill_type, category=category)
    if not found:
        app.say("no skill recommended")
    for rank, rec in enumerate(found, 1):
        app.say(
            f"{rank}. {rec.skill}  priority {rec.priority}  "
            f"confidence {rec.confidence:.3f}  (route {rec.route_key})"
        )
        for pattern in rec.matched:
            app.say(f"     matched {pattern.regex!r} weight {pattern.weight:g}")
    return 0


@cli.group("rollout")
def rollout_group() -> None:
    """Rollout tools for authors."""


@rollout_group.command("bucket")
@click.argument("skill")
@click.argument("unit_id")
@env_option
@pass_app
def rollout_bucket(app: App, skill: str, unit_id: str, environment: str | None) -> int:
    """Show the bucket of UNIT_ID for SKILL, its percentage, and whether it is in.

    \b
    Example:
      syncbot rollout bucket contract-analysis-ro user-42 --env production
    """
    env = _env(app, environment)
    desired = load_desired(app.repo, env)
    if skill not in desired.skills:
        raise click.ClickException(f"unknown skill {skill!r}")
    rollout = desired.rollouts.get(skill)
    basis_points, salt = (rollout.basis_points, rollout.salt) if rollout else (0, skill)
    value = bucket(salt, unit_id)
    verdict = "IN" if in_rollout(basis_points, value) else "OUT"
    app.say(f"skill {skill} in {env}: {format_percentage(basis_points)}% (salt {salt!r})")
    app.say(f"unit {unit_id!r}: bucket {value} of 10000, threshold {basis_points}: {verdict}")
    return 0
