"""`syncbot demo`: validate, plan and apply the repository against the embedded emulator
and the local PostgreSQL and Redis, then show the status. Run it twice: the second run
reports no changes, because the emulator's state is kept in a file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import psycopg

from syncbot.applier import ApplyOptions, apply
from syncbot.cli import App, cli, dump_json, pass_app
from syncbot.commands.live_cmds import result_line
from syncbot.emulator.server import EmulatorServer
from syncbot.errors import TargetError
from syncbot.lint.validate import render_findings, validate
from syncbot.ops import actor, load_desired, open_source, status
from syncbot.render import render_text
from syncbot.session import open_targets
from syncbot.settings import Settings

DEMO_KEY = "demo-key-not-a-secret"
DEFAULT_DB = "postgresql://127.0.0.1:5432/test"


def _schema_url(base: str, schema: str) -> str:
    try:
        with psycopg.connect(base, connect_timeout=5, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    except psycopg.Error as exc:
        raise TargetError(
            "database", f"cannot prepare the demo schema: {exc}".splitlines()[0]
        ) from exc
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def demo_settings(
    base: Settings, environment: str, emulator_url: str, db_base: str, redis_url: str
) -> Settings:
    return dataclasses.replace(
        base,
        api_key=DEMO_KEY,
        base_url=emulator_url,
        skills_enabled=True,
        database_url=_schema_url(db_base, f"syncbot_demo_{environment}"),
        redis_url=redis_url,
        redis_prefix=f"syncbot-demo:{environment}:",
        environment=environment,
    )


@cli.command("demo")
@click.option(
    "--env", "environments", multiple=True, default=("staging", "production"), show_default=True
)
@click.option(
    "--database-url", default=DEFAULT_DB, show_default=True, help="Server for the demo schemas."
)
@click.option("--redis-url", default="redis://127.0.0.1:6379/0", show_default=True)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".syncbot-demo"),
    show_default=True,
)
@pass_app
def demo_cmd(
    app: App, environments: tuple[str, ...], database_url: str, redis_url: str, state_dir: Path
) -> int:
    """Validate, plan and apply the example configuration against the embedded emulator."""
    app.say("== syncbot validate")
    findings = validate(open_source(app.repo, None))
    app.say(render_findings(findings, "text").rstrip("\n"))
    if any(f.severity == "error" for f in findings):
        return 1
    state_dir.mkdir(parents=True, exist_ok=True)
    for env in environments:
        _demo_env(app, env, database_url, redis_url, state_dir)
    return 0


def _demo_env(app: App, env: str, database_url: str, redis_url: str, state_dir: Path) -> None:
    with EmulatorServer(
        api_key=DEMO_KEY, persist_path=state_dir / f"emulator-{env}.json"
    ) as server:
        settings = demo_settings(app.settings, env, server.base_url, database_url, redis_url)
        desired = load_desired(app.repo, env)
        with open_targets(settings) as targets:
            app.say(f"\n== syncbot apply --env {env}   (emulator at {server.base_url})")
            result = apply(desired, targets, ApplyOptions(actor=actor()), app.progress)
            app.say(render_text(result.plan).rstrip("\n"))
            app.say(result_line(result))
            app.say(f"\n== syncbot status --env {env}")
            app.say(dump_json(status(targets, env)))
