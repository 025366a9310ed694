"""Commands for authors: validate, schema, routes test, rollout bucket (from git, or --live)."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any, TextIO

import click

from syncbot.bucketing import bucket, in_rollout
from syncbot.commands.common import App, dump_json, env_of, env_option, format_option, pass_app
from syncbot.desired import format_percentage
from syncbot.errors import SyncbotError
from syncbot.files.schemas import write_json_schemas
from syncbot.lint.findings import Finding, first_and_count
from syncbot.lint.routes import pattern_findings
from syncbot.lint.validate import render_findings, validate
from syncbot.ops import load_config, load_desired, open_source, read_live_rollout
from syncbot.promote.rollout_edit import edit_rollout, parse_percentage, write_atomically
from syncbot.routing import MAX_QUERY_LENGTH, Recommendation, SkillInfo, recommend


@click.command("validate")
@click.option("--base", "base_ref", help="Also check changes against this git revision.")
@format_option(
    "text",
    "json",
    "github",
    help="json for scripts; github: workflow annotations on the files of a PR.",
)
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


@click.command("schema")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("schemas"),
    show_default=True,
    help="Folder to write the schemas into (created if missing).",
)
@pass_app
def schema_cmd(app: App, out_dir: Path) -> int:
    """Write the JSON Schemas of the file formats, for editors.

    \b
    Examples:
      syncbot schema
      syncbot schema --out /tmp/syncbot-schemas
    """
    for path in write_json_schemas(out_dir):
        app.say(str(path))
    return 0


@click.group("routes")
def routes_group() -> None:
    """Routing tools for authors.

    \b
    Examples:
      syncbot routes test "I need to analyze this contract"
      syncbot routes test "draft an NDA" --format json
    """


@routes_group.command("test")
@click.argument("query")
@click.option("--type", "skill_type", help="Only skills of this type (code or prompt).")
@click.option("--category", help="Only skills of this category.")
@format_option(
    "text",
    "json",
    help="json: a list of recommendations (skill, priority, confidence, route, matched).",
)
@pass_app
def routes_test(
    app: App, query: str, skill_type: str | None, category: str | None, fmt: str
) -> int:
    """Show the skills recommended for QUERY, with confidences and the patterns that matched.

    \b
    Examples:
      syncbot routes test "I need to analyze this contract"
      syncbot routes test "draft an NDA" --category drafting --format json
    """
    loaded, desired = load_config(app.repo, app.settings.environment)
    _refuse_unsafe_patterns(pattern_findings(loaded))
    known = {"category": list(loaded.config.categories), "type": ["code", "prompt"]}
    for option, value in (("category", category), ("type", skill_type)):
        if value is not None and value not in known[option]:
            where = "syncbot.yaml's categories" if option == "category" else "the skill types"
            raise SyncbotError(
                f"--{option} {value!r} is not one of {where}: {', '.join(known[option])}"
            )
    if len(query) > MAX_QUERY_LENGTH:
        app.say(
            f"note: the query has {len(query):,} characters; routing reads only the first "
            f"{MAX_QUERY_LENGTH:,}",
            err=True,
        )
    skills = {n: SkillInfo(type=s.type, category=s.category) for n, s in desired.skills.items()}
    found = recommend(desired.routes, query, skills=skills, type=skill_type, category=category)
    if fmt == "json":
        app.say(dump_json([_recommendation_dict(rec) for rec in found]))
        return 0
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


def _recommendation_dict(rec: Recommendation) -> dict[str, Any]:
    return {
        "skill": rec.skill,
        "priority": rec.priority,
        "confidence": round(rec.confidence, 6),
        "route": rec.route_key,
        "matched": [{"regex": p.regex, "weight": p.weight} for p in rec.matched],
    }


def _refuse_unsafe_patterns(findings: list[Finding]) -> None:
    """Run no pattern that validate rejects: one that backtracks catastrophically would hang."""
    if findings:
        raise SyncbotError(
            "refusing to route with a pattern that validate rejects: "
            f"{first_and_count(findings)}; run `syncbot validate`"
        )


@click.group("rollout")
def rollout_group() -> None:
    """Rollout tools for authors.

    \b
    Examples:
      syncbot rollout bucket contract-analysis-ro user-42 --env production
      syncbot rollout set contract-analysis-ro 25 --env production
    """


@rollout_group.command("bucket")
@click.argument("skill")
@click.argument("unit_id", required=False)
@env_option
@click.option(
    "--live",
    is_flag=True,
    help="Read the percentage and salt from the environment's database, not from git.",
)
@click.option(
    "--units",
    "units_file",
    type=click.File("r", encoding="utf-8"),
    help="Many unit ids, one per line ('-': standard input); blank lines and # comments skipped.",
)
@format_option("text", "json", help="json: one document with every unit, for scripts.")
@pass_app
def rollout_bucket(
    app: App,
    skill: str,
    unit_id: str | None,
    environment: str | None,
    live: bool,
    units_file: TextIO | None,
    fmt: str,
) -> int:
    """Show the bucket of UNIT_ID (or of every unit in --units FILE) for SKILL, its
    percentage, and whether it is in.

    Without --live the answer is the configuration's (the work tree); with --live it is
    what the service sees now (the environment's database), and a line says when git
    differs from it (a change merged but not applied yet).

    \b
    Examples:
      syncbot rollout bucket contract-analysis-ro user-42 --env production
      syncbot rollout bucket contract-analysis-ro user-42 --env production --live
      syncbot rollout bucket contract-analysis-ro --units users.txt --format json
      cut -d, -f1 users.csv | syncbot rollout bucket nda-drafting --units -
    """
    if (unit_id is None) == (units_file is None):
        raise click.UsageError("give one UNIT_ID or --units FILE")
    env = env_of(app, environment)
    units = [unit_id] if unit_id is not None else _read_units(units_file)
    where, basis_points, salt, notes = _rollout_of(app, skill, env, live, fmt == "json")
    if fmt == "json":
        doc = _bucket_json(skill, env, live, basis_points, salt, units)
        app.say(dump_json({**doc, "notes": notes}))
        return 0
    if unit_id is not None:
        _say_bucket(app, where, basis_points, salt, unit_id)
    else:
        _say_buckets(app, where, basis_points, salt, units)
    for line in notes:
        app.say(line)
    return 0


def _read_units(stream: TextIO | None) -> list[str]:
    assert stream is not None
    units = [line.strip() for line in stream]
    return [u for u in units if u and not u.startswith("#")]


def _rollout_of(
    app: App, skill: str, env: str, live: bool, json_out: bool
) -> tuple[str, int, str, list[str]]:
    """(what is described, basis points, salt, notes to print after the answer)."""
    if live:
        return _live_rollout(app, skill, env, json_out)
    desired = load_desired(app.repo, env)
    if skill not in desired.skills:
        raise click.ClickException(f"unknown skill {skill!r}")
    rollout = desired.rollouts.get(skill)
    basis_points, salt = (rollout.basis_points, rollout.salt) if rollout else (0, skill)
    return f"skill {skill} in {env}", basis_points, salt, []


def _live_rollout(
    app: App, skill: str, env: str, json_out: bool
) -> tuple[str, int, str, list[str]]:
    row = read_live_rollout(app.settings, env, skill)
    notes = []
    if row is None:
        note = f"note: {env} has no rollout of {skill!r}: the service serves it to no one"
        app.say(note, err=json_out)  # with --format json, stdout holds only the document
        basis_points, salt = 0, skill
    else:
        basis_points, salt = row.basis_points, row.salt
    if row is not None and row.changed_at is not None:
        commit = (row.commit or "unknown")[:12]
        since = row.changed_at.astimezone(UTC)
        notes.append(f"live since {since:%Y-%m-%d %H:%M} UTC (commit {commit})")
    notes += git_differs(app, env, skill, basis_points, salt)
    return f"skill {skill} in {env} (live)", basis_points, salt, notes


@rollout_group.command("set")
@click.argument("skill")
@click.argument("percent")
@env_option
@click.option("--dry-run", is_flag=True, help="Print the diff; leave the file as it is.")
@pass_app
def rollout_set(app: App, skill: str, percent: str, environment: str | None, dry_run: bool) -> int:
    """Set SKILL's percentage in rollouts/ENV.yaml to PERCENT and print the diff.

    Only that number changes: comments, key order and quoting stay as they are. The
    result must pass validate (a value on the ladder, an increase to the next step only;
    a decrease, 0 included, is always allowed). It never commits: commit the file on a
    branch and open a PR, as for any change.

    \b
    Examples:
      syncbot rollout set contract-analysis-ro 0 --env production     # turn it off now
      syncbot rollout set nda-drafting 25 --env production --dry-run
    """
    env = env_of(app, environment)
    edit = edit_rollout(open_source(app.repo, None), env, skill, parse_percentage(percent))
    if not edit.changed:
        where = f"{skill} in {env} is already at {format_percentage(edit.new_basis_points)}%"
        app.say(f"no change: {where}")
        return 0
    app.say(edit.diff().rstrip("\n"))
    if dry_run:
        app.say(f"dry run: {edit.path} not written")
        return 0
    write_atomically(app.repo / edit.path, (edit.after or "").encode("utf-8"))
    app.say(f"wrote {edit.path}: {edit.summary()}; commit it and open a PR")
    return 0


def _say_bucket(app: App, where: str, basis_points: int, salt: str, unit_id: str) -> None:
    value = bucket(salt, unit_id)
    verdict = "IN" if in_rollout(basis_points, value) else "OUT"
    app.say(f"{where}: {format_percentage(basis_points)}% (salt {salt!r})")
    app.say(f"unit {unit_id!r}: bucket {value} of 10000, threshold {basis_points}: {verdict}")


def _say_buckets(app: App, where: str, basis_points: int, salt: str, units: list[str]) -> None:
    app.say(
        f"{where}: {format_percentage(basis_points)}% (salt {salt!r}), threshold {basis_points}"
    )
    width = max((len(u) for u in units), default=4)
    app.say(f"{'UNIT':<{width}}  BUCKET  IN/OUT")
    count = 0
    for unit in units:
        value = bucket(salt, unit)
        inside = in_rollout(basis_points, value)
        count += inside
        app.say(f"{unit:<{width}}  {value:>6}  {'IN' if inside else 'OUT'}")
    share = f" ({100 * count / len(units):.1f}%)" if units else ""
    app.say(f"{count} of {len(units)} units in{share}")


def _bucket_json(
    skill: str, env: str, live: bool, basis_points: int, salt: str, units: list[str]
) -> dict[str, Any]:
    rows = [
        {"unit": u, "bucket": b, "in": in_rollout(basis_points, b)}
        for u, b in ((u, bucket(salt, u)) for u in units)
    ]
    return {
        "skill": skill,
        "environment": env,
        "source": "live" if live else "git",
        "percentage": format_percentage(basis_points),
        "salt": salt,
        "units": rows,
        "in": sum(r["in"] for r in rows),
        "total": len(rows),
    }


def git_differs(app: App, env: str, skill: str, live_bp: int, live_salt: str) -> list[str]:
    """Lines saying how the work tree's rollout of `skill` differs from live, if it does."""
    try:
        desired = load_desired(app.repo, env)
    except SyncbotError as exc:
        return [f"git not compared: {exc.message}"]
    rollout = desired.rollouts.get(skill) if skill in desired.skills else None
    git_bp, git_salt = (rollout.basis_points, rollout.salt) if rollout else (0, skill)
    lines = []
    if git_bp != live_bp:
        lines.append(
            f"git says {format_percentage(git_bp)}%, live says "
            f"{format_percentage(live_bp)}%: not applied yet?"
        )
    if git_salt != live_salt and (git_bp or live_bp):
        lines.append(f"git salt {git_salt!r}, live salt {live_salt!r}: not applied yet?")
    if skill not in desired.skills:
        lines.append(f"note: {skill!r} is not a skill in git")
    return lines
