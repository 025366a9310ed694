"""`syncbot demo`: validate, plan and apply the repository against the embedded emulator
and the local PostgreSQL and Redis, then show the status. Run it twice: the second run
reports no changes, because the emulator's state is kept in a file.

It writes only to a database of its own (`syncbot_demo`, created if missing) and to Redis
keys under its own prefix (`syncbot-demo:`); `--reset` drops and recreates that database,
deletes those keys and forgets the emulator's state.

Then, for an environment with a canary, it plays the AI service for one skill (a few
hundred executions in the last hour, its rollout's soak moved into the past, in the
demo's own schema only) and runs `syncbot promote`, so the decision and its evidence
can be seen without waiting three days.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import click

from syncbot.applier import ApplyOptions, apply
from syncbot.commands.common import App, dump_json, pass_app
from syncbot.commands.live_cmds import result_line
from syncbot.emulator.server import EmulatorServer
from syncbot.lint.validate import render_findings, validate
from syncbot.ops import actor, load_desired, open_source, status
from syncbot.promote.report import render_text as render_promote
from syncbot.promote.run import promote
from syncbot.render import render_text
from syncbot.session import open_targets
from syncbot.settings import Settings
from syncbot.targets.admin import drop_keys, prepare_database, prepare_schema, with_search_path
from syncbot.targets.postgres import Database

DEMO_KEY = "demo-key-not-a-secret"
DEFAULT_DB = "postgresql://127.0.0.1:5432/syncbot_demo"
DEMO_PREFIX = "syncbot-demo:"
DEMO_EXECUTIONS = 300
DEMO_SOAK_HOURS = 73


@dataclasses.dataclass(frozen=True)
class DemoPlace:
    """Where one environment of the demo lives: its own schema, key prefix and emulator
    (`environment` empty: the demo as a whole, before any environment)."""

    environment: str
    database_url: str
    redis_url: str
    fresh: bool
    key_prefix: str = (
        DEMO_PREFIX  # no emulator state yet: start the schema and the keys empty as well
    )

    @property
    def schema(self) -> str:
        return f"syncbot_demo_{self.environment}"

    @property
    def prefix(self) -> str:
        return f"{self.key_prefix}{self.environment}:"


def demo_settings(base: Settings, place: DemoPlace, emulator_url: str) -> Settings:
    if place.fresh:
        drop_keys(place.redis_url, place.prefix, what="the demo keys")
    prepare_schema(place.database_url, place.schema, fresh=place.fresh, what="the demo schema")
    return dataclasses.replace(
        base,
        api_key=DEMO_KEY,
        base_url=emulator_url,
        skills_enabled=True,
        database_url=with_search_path(place.database_url, place.schema),
        redis_url=place.redis_url,
        redis_prefix=place.prefix,
        environment=place.environment,
    )


@click.command("demo")
@click.option(
    "-e",
    "--env",
    "environments",
    multiple=True,
    default=("staging", "production"),
    show_default=True,
    help="Environment to demonstrate (repeatable).",
)
@click.option(
    "--database-url",
    default=DEFAULT_DB,
    show_default=True,
    help="The demo's own database (created if missing; one schema per environment).",
)
@click.option(
    "--redis-url",
    default="redis://127.0.0.1:6379/0",
    show_default=True,
    help="Redis for the demo keys.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the emulator keeps its state [default: <repo>/.syncbot-demo].",
)
@click.option(
    "--key-prefix",
    default=DEMO_PREFIX,
    show_default=True,
    help="The demo's own Redis key prefix (each environment below it).",
)
@click.option(
    "--reset",
    is_flag=True,
    help="Start again from empty: drop and recreate the demo database, delete the keys "
    "under syncbot-demo: and the emulator's state.",
)
@pass_app
def demo_cmd(
    app: App,
    environments: tuple[str, ...],
    database_url: str,
    redis_url: str,
    state_dir: Path | None,
    key_prefix: str,
    reset: bool,
) -> int:
    """Validate, plan and apply the example configuration against the embedded emulator.

    Writes only to its own database (syncbot_demo, created if missing) and to Redis keys
    under syncbot-demo:. Run it twice: the second run finds no changes. --reset starts
    again from an empty emulator, database and cache.

    \b
    Examples:
      syncbot demo
      syncbot demo --reset
      syncbot demo -e staging --database-url postgresql://127.0.0.1:5432/my_demo
    """
    app.say("== syncbot validate")
    findings = validate(open_source(app.repo, None))
    app.say(render_findings(findings, "text").rstrip("\n"))
    if any(f.severity == "error" for f in findings):
        return 1
    state = state_dir or app.repo / ".syncbot-demo"
    state.mkdir(parents=True, exist_ok=True)
    place = DemoPlace("", database_url, redis_url, fresh=reset, key_prefix=key_prefix)
    prepare_demo(app, place, state)
    for env in environments:
        fresh = not (state / f"emulator-{env}.json").exists()
        _demo_env(app, dataclasses.replace(place, environment=env, fresh=fresh), state)
    return 0


def prepare_demo(app: App, place: DemoPlace, state: Path) -> None:
    """The demo's database, created if missing. A database created now (or --reset) starts
    everything empty: an emulator that remembers skills a new database does not own would
    make the apply upload them again as duplicates."""
    created = prepare_database(place.database_url, fresh=place.fresh, what="the demo database")
    if created or place.fresh:  # `fresh` here: --reset
        drop_keys(place.redis_url, place.key_prefix, what="the demo keys")
        for saved in state.glob("emulator-*.json"):
            saved.unlink()
        app.say(f"demo database {_database_name(place.database_url)} created (empty)")


def _database_name(database_url: str) -> str:
    return database_url.rsplit("/", 1)[-1].partition("?")[0]


def _demo_env(app: App, place: DemoPlace, state: Path) -> None:
    env = place.environment
    with EmulatorServer(api_key=DEMO_KEY, persist_path=state / f"emulator-{env}.json") as server:
        settings = demo_settings(app.settings, place, server.base_url)
        desired = load_desired(app.repo, env)
        with open_targets(settings) as targets:
            app.say(f"\n== syncbot apply --env {env}   (emulator at {server.base_url})")
            result = apply(
                desired, targets, ApplyOptions(actor=actor(), track=app.track), app.progress
            )
            app.say(render_text(result.plan).rstrip("\n"))
            app.say(result_line(result))
            app.say(f"\n== syncbot status --env {env}")
            app.say(dump_json(status(targets, env)))
            _demo_promote(app, targets.db, env)


def _demo_promote(app: App, db: Database, env: str) -> None:
    skill = seed_canary(db, env)
    if skill is None:
        return
    app.say(
        f"\n(demo only: playing the AI service, {DEMO_EXECUTIONS} executions of {skill} in "
        f"the last hour were written to skill_executions, and its rollout's changed_at was "
        f"moved {DEMO_SOAK_HOURS} hours back so that its soak is over)"
    )
    app.say(f"== syncbot promote --env {env}")
    app.say(render_promote(promote(app.repo, env, db, datetime.now(UTC))).rstrip("\n"))


_FIRST_CANARY = """
SELECT skill_name FROM skill_rollouts
WHERE environment = %s AND percentage > 0 AND percentage < 100
ORDER BY skill_name LIMIT 1
"""

# Healthy figures: 1 failure in 100, durations spread from 0.4 to 3 seconds.
_SEED = """
WITH gone AS (DELETE FROM skill_executions WHERE environment = %(env)s AND skill_name = %(skill)s),
     soaked AS (UPDATE skill_rollouts SET changed_at = now() - make_interval(hours => %(hours)s)
                WHERE environment = %(env)s AND skill_name = %(skill)s)
INSERT INTO skill_executions (environment, skill_name, started_at, duration_ms, success)
SELECT %(env)s, %(skill)s, now() - make_interval(secs => i * 3500.0 / %(count)s),
       400 + (i * 7919) %% 2600, i %% 100 <> 0
FROM generate_series(1, %(count)s) AS i
"""


def seed_canary(db: Database, env: str) -> str | None:
    """Write healthy executions for the first canary of `env` and end its soak; the
    skill's name, or None when `env` has no canary. The demo's own schema only."""
    rows = db.fetch_all("cannot find a canary", _FIRST_CANARY, (env,))
    if not rows:
        return None
    skill = str(rows[0]["skill_name"])
    params = {"env": env, "skill": skill, "hours": DEMO_SOAK_HOURS, "count": DEMO_EXECUTIONS}
    db.execute("cannot write the demo executions", _SEED, params)
    return skill
