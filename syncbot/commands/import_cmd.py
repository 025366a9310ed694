"""`syncbot import`: adopt the skills already live in the Skills API (see syncbot.importer)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from syncbot import importer
from syncbot.commands.common import App, env_of, env_option, pass_app
from syncbot.errors import SyncbotError
from syncbot.files.load import rollout_file
from syncbot.files.worktree import WorkTree
from syncbot.live import DbState
from syncbot.ops import actor, load_config
from syncbot.reader import check_environment
from syncbot.session import api_settings
from syncbot.settings import Settings
from syncbot.targets.postgres import Database
from syncbot.targets.skills_api import SkillsApiClient


@click.command("import")
@env_option
@click.option(
    "--skill",
    "selectors",
    multiple=True,
    metavar="NAME|SKILL_ID",
    help="Import only this skill (a name or an API skill id); repeat for more.",
)
@click.option("--yes", is_flag=True, help="Write the files and the database records.")
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds to wait for a running apply.",
)
@pass_app
def import_cmd(
    app: App, environment: str | None, selectors: tuple[str, ...], yes: bool, lock_timeout: float
) -> int:
    """Adopt skills already live in the Skills API: write skills/<name>/ (the files as
    uploaded, plus a skill.yaml from the API's metadata) and a 0% rollout entry, and
    record in the environment's database that the live version is ours, so the next
    apply uploads nothing.

    Shows what it would do and changes nothing without --yes. Never overwrites an
    existing folder, never claims a skill whose content it could not download, and
    leaves alone skills that syncbot uploaded (they carry its ownership marker).

    \b
    Examples:
      syncbot import --env staging
      syncbot import --env staging --skill contract-analysis-ro --yes
    """
    env = env_of(app, environment)
    loaded, _ = load_config(app.repo, env)
    settings = app.settings
    _require(settings)
    with SkillsApiClient(api_settings(settings)) as api, Database(settings.database_url) as db:
        rollouts = loaded.rollouts.get(env)
        keys = set(rollouts.root) if rollouts is not None else set()
        plan = _plan(app, api, db, env, selectors, list(loaded.config.categories), keys)
        for line in importer.render(plan, applied=False):
            app.say(line)
        if not plan.to_import:
            app.say("Nothing to import.")
            return 0
        if not yes:
            app.say(
                f"Preview only, nothing changed: run again with --yes to import "
                f"{_skills(len(plan.to_import))}."
            )
            return 0
        return _execute(app, db, plan, lock_timeout)


def _require(settings: Settings) -> None:
    """Import reads the API and writes the database: both must be configured."""
    if not settings.database_url:
        raise SyncbotError("DATABASE_URL is not set (run `syncbot doctor` for help)")
    if not settings.skills_enabled:
        raise SyncbotError(
            "import reads the Skills API, which ANTHROPIC_SKILLS_ENABLED=false turns off"
        )
    if not settings.api_key:
        raise SyncbotError("ANTHROPIC_API_KEY is not set (run `syncbot doctor` for help)")


def _plan(
    app: App,
    api: SkillsApiClient,
    db: Database,
    env: str,
    selectors: tuple[str, ...],
    categories: list[str],
    rollout_keys: set[str],
) -> importer.ImportPlan:
    # a database never migrated manages nothing yet
    state = db.read_state(env) if db.applied_migrations() else DbState(None, migrated=False)
    check_environment(state, env)
    listing = api.list_skills()
    fresh, managed = importer.unmanaged(list(listing.skills), state)
    app.progress(f"reading {len(fresh)} API skills")
    wanted = importer.wanted_by(selectors)
    fetched = importer.fetch(api, fresh, wanted, _counted(app, api, len(fresh)))
    existing = _folders(app)
    rollouts_path = app.repo / rollout_file(env)
    current = rollouts_path.read_text(encoding="utf-8") if rollouts_path.exists() else None
    rollout_names = set(state.rollouts) | rollout_keys
    plan = importer.plan_import(
        env,
        fetched,
        existing=existing,
        rollout_names=rollout_names,
        categories=categories,
        managed=managed,
    )
    seen = {c.name for c in plan.candidates} | {c.skill_id for c in plan.candidates}
    missing = set(selectors) - seen
    for name in sorted(missing):
        app.say(f"note: no API skill to import is named or has the id {name!r}", err=True)
    return importer.check(plan, app.repo, current) if plan.to_import else plan


def _counted(app: App, api: SkillsApiClient, total: int) -> Callable[..., list[object]]:
    """`api.map_concurrent`, counting each finished download on the progress line."""

    def run(fn: Callable[[Any], object], items: Sequence[Any]) -> list[object]:
        counter = app.track("downloads", total)

        def one(item: Any) -> object:
            ok = False
            try:
                value = fn(item)
                ok = True
                return value
            finally:
                counter.step(ok)

        try:
            return list(api.map_concurrent(one, items))
        finally:
            counter.close()

    return run


def _folders(app: App) -> set[str]:
    skills = app.repo / "skills"
    on_disk = {p.name for p in skills.iterdir()} if skills.is_dir() else set()
    listed = {f.path.split("/")[1] for f in WorkTree(app.repo).files() if f.path.count("/") >= 2}
    return on_disk | listed


def _execute(app: App, db: Database, plan: importer.ImportPlan, lock_timeout: float) -> int:
    commit = WorkTree(app.repo).commit
    commit = commit if commit is None or commit.endswith("-dirty") else commit + "-dirty"
    undo = importer.write_files(plan, app.repo)
    try:
        run_id = importer.record(db, plan, commit, actor(app.repo), lock_timeout)
    except BaseException:
        undo()
        raise
    names = " ".join(c.folder for c in plan.to_import)
    count = len(plan.to_import)
    app.say(f"Imported {_skills(count)} (run {run_id}); nothing was uploaded.")
    app.say(f"Next: git add {names} {plan.rollouts_path}")
    app.say(
        "      check the TODOs in each skill.yaml, `syncbot validate`, commit; "
        "the next apply uploads nothing and writes the cache"
    )
    return 0


def _skills(count: int) -> str:
    return f"{count} skill" + ("" if count == 1 else "s")
