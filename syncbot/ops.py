"""Command logic shared by the CLI: loading the desired state, status and doctor checks."""

from __future__ import annotations

import configparser
import getpass
import os
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git

from syncbot.desired import DesiredState
from syncbot.errors import ConfigErrors, SyncbotError, TargetError
from syncbot.files.gittree import GitTree
from syncbot.files.load import CONFIG_FILE, LoadedRepo, build_desired, load_repo, read_repo
from syncbot.files.source import ReadFiles, SourceError
from syncbot.files.worktree import WorkTree
from syncbot.lint.findings import Finding, first_and_count
from syncbot.lint.validate import validate_and_load
from syncbot.live import ApiListing, RolloutRow
from syncbot.policy import Policy, judged_by, policy_of
from syncbot.redact import redact_url
from syncbot.session import Targets
from syncbot.settings import Settings, url_problem
from syncbot.targets.pg_failures import FIX_MARK
from syncbot.targets.postgres import Database


def open_source(repo: Path, ref: str | None) -> WorkTree | GitTree:
    return GitTree(repo, ref) if ref else WorkTree(repo)


def load_config(
    repo: Path,
    environment: str,
    ref: str | None = None,
    *,
    full_check: bool = False,
    base: str | None = None,
) -> tuple[LoadedRepo, DesiredState]:
    """The parsed repository and one environment's desired state, from a single parse.

    `full_check` also runs every validate rule and refuses on any error. `base` (the
    revision the change starts from) makes its policy judge the change when stricter.
    """
    source = open_source(repo, ref)
    if full_check:
        loaded, findings = validate_and_load(source)
        _refuse_errors([f for f in findings if f.severity == "error"])
    else:
        try:
            loaded = load_repo(source)
        except ConfigErrors as exc:
            raise SyncbotError(
                f"invalid configuration: {exc.message} (run `syncbot validate`)"
            ) from exc
    desired = build_desired(loaded, environment)
    return loaded, desired if base is None else judged_by(desired, policy_at(repo, base))


def policy_at(repo: Path, ref: str) -> Policy:
    """The policy of syncbot.yaml at `ref`, read without the rest of that commit."""
    tree = GitTree(repo, ref)
    try:
        found = tree.read(CONFIG_FILE)
    finally:
        tree.repo.close()  # its git cat-file processes, at once rather than at exit
    loaded, errors = read_repo(ReadFiles(tree.commit, (found,) if found else ()))
    if errors:
        first = errors[0]
        raise SyncbotError(
            f"cannot read the policy of {ref}: {first.location.file}:{first.location.line}: "
            f"{first.reason}"
        )
    return policy_of(loaded.config)


def stricter_than_applied(repo: Path, desired: DesiredState, db: Database) -> DesiredState:
    """`desired` judged also by the policy of the commit the last apply put live.

    After a merge, that commit is the base of the change being applied. When it cannot be
    read (a database not reachable is reported by the plan itself; a commit outside this
    clone's history), the change's own policy stands alone.
    """
    try:
        commit = db.last_applied_commit(desired.environment)
        if commit is None or commit == desired.commit:
            return desired
        return judged_by(desired, policy_at(repo, commit))
    except (TargetError, SourceError):
        return desired


def load_desired(
    repo: Path, environment: str, ref: str | None = None, *, full_check: bool = False
) -> DesiredState:
    return load_config(repo, environment, ref, full_check=full_check)[1]


def _refuse_errors(errors: list[Finding]) -> None:
    if not errors:
        return
    shown = first_and_count(errors, "; run `syncbot validate`")
    raise SyncbotError(f"invalid configuration: {shown}")


def actor(repo: Path | None = None) -> str:
    """Who runs this apply: the GitHub Actions actor, git's user.name of the repository,
    the login name, in that order; `unknown` only when none of them is known."""
    return (
        os.environ.get("GITHUB_ACTOR", "").strip()
        or (_git_user_name(repo) if repo is not None else "")
        or _login_name()
        or "unknown"
    )


def _git_user_name(repo: Path) -> str:
    """user.name as git resolves it for `repo` (repository, global, system config)."""
    try:
        with git.Repo(repo, search_parent_directories=True) as handle:
            reader = handle.config_reader()
            return str(reader.get_value("user", "name", "")).strip()
    except (git.GitError, OSError, ValueError, configparser.Error):
        return ""


def _login_name() -> str:
    try:
        return (os.environ.get("USER") or getpass.getuser()).strip()
    except (OSError, KeyError):  # no USER/LOGNAME and no passwd entry (some containers)
        return ""


def record_invalid_config(
    settings: Settings, repo: Path, environment: str, ref: str | None, who: str, reason: str
) -> None:
    """Best effort: leave a `refused` run for an apply stopped by invalid configuration,
    so `history` shows it. Needs only the database; any failure here is ignored."""
    if not settings.database_url:
        return
    commit = None
    with suppress(SyncbotError, git.GitError, ValueError, OSError):
        commit = open_source(repo, ref).commit
    with suppress(SyncbotError), Database(settings.database_url) as db:
        db.migrate()
        db.record_run(environment, commit, who, "refused", error=reason)


def read_live_rollout(settings: Settings, environment: str, skill: str) -> RolloutRow | None:
    """The skill's rollout as the environment's database holds it (what the service uses)."""
    if not settings.database_url:
        raise SyncbotError("DATABASE_URL is not set (run `syncbot doctor` for help)")
    with Database(settings.database_url) as db:
        served = db.recorded_environment()
        if served is not None and served != environment:
            raise SyncbotError(
                f"this database serves {served!r}, not {environment!r}: "
                "point DATABASE_URL at that environment's database"
            )
        return db.rollout(environment, skill)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warn: bool = False  # worth a look, but nothing is broken: doctor still exits 0


def _probe(name: str, fn: Any, fix: str) -> tuple[Check, Any]:
    try:
        value = fn()
    except SyncbotError as exc:
        return Check(name, False, exc.message, fix), None
    return Check(name, True, "ok"), value


def status(targets: Targets, environment: str) -> dict[str, Any]:
    """The runbook's health document: each service, counts and the last run."""
    api_check, listing = (
        _probe("api", targets.api.list_skills, "")
        if targets.api
        else (Check("api", True, "disabled"), None)
    )
    db_check, counts = _probe("database", lambda: targets.db.counts(environment), "")
    cache_check, entries = _probe("cache", targets.cache.count_entries, "")
    runs = targets.db.list_runs(environment, 1) if db_check.ok else []
    return {
        "environment": environment,
        "healthy": api_check.ok and db_check.ok and cache_check.ok,
        "api": {
            "healthy": api_check.ok,
            "detail": api_check.detail,
            "skills": len(listing.skills) if listing else None,
        },
        "database": {"healthy": db_check.ok, "detail": db_check.detail, **(counts or {})},
        "cache": {"healthy": cache_check.ok, "detail": cache_check.detail, "entries": entries},
        "active_skills": (counts or {}).get("skills"),
        "last_run": _run_dict(runs[0]) if runs else None,
    }


def _run_dict(run: Any) -> dict[str, Any]:
    return {
        "id": run.id,
        "commit": run.commit,
        "actor": run.actor,
        "status": run.status,
        "reason": run.error,
        "started_at": str(run.started_at),
        "finished_at": str(run.finished_at) if run.finished_at else None,
    }


def doctor_env(settings: Settings) -> list[Check]:
    """Each variable checked without ever printing a secret value."""
    return [
        Check(
            "ANTHROPIC_API_KEY",
            bool(settings.api_key) or not settings.skills_enabled,
            _key_state(settings),
            "export ANTHROPIC_API_KEY=... (a workspace key)",
        ),
        _url_check("ANTHROPIC_BASE_URL", settings.base_url, "https://api.anthropic.com"),
        Check("ANTHROPIC_SKILLS_ENABLED", True, str(settings.skills_enabled).lower()),
        Check(
            "ANTHROPIC_SKILLS_BETA_VERSION",
            True,
            settings.beta_version or "not set: current API surface",
        ),
        _url_check("DATABASE_URL", settings.database_url, "postgresql://user@host:5432/dbname"),
        _url_check("REDIS_URL", settings.redis_url, "redis://host:6379/0"),
        Check("SYNCBOT_ENV", True, settings.environment),
    ]


def _url_check(name: str, url: str, example: str) -> Check:
    fix = f"export {name}={example}"
    if not url:
        return Check(name, False, "not set", fix)
    problem = url_problem(name, url)
    return Check(name, problem is None, problem or redact_url(url), fix)


def _key_state(settings: Settings) -> str:
    if not settings.api_key:
        return "not set"
    if settings.api_key_trimmed:
        return "set (surrounding whitespace, e.g. a trailing newline, removed)"
    return "set"


_LOOKALIKES = "API skills with our names"


def _ownership_check(targets: Targets, environment: str, listing: ApiListing) -> Check:
    try:
        return _lookalikes(targets, environment, listing)
    except SyncbotError as exc:
        return Check(_LOOKALIKES, True, f"not checked: {exc.message}", warn=True)


def _lookalikes(targets: Targets, environment: str, listing: ApiListing) -> Check:
    """API skills named like ours that this environment's database does not own: a
    colleague's copy, another environment on the same workspace, or a lost create the
    next apply adopts. Apply never touches them without proof; a person should look."""
    db = targets.db.read_state(environment)
    owned = {r.skill_id for r in db.skills.values()} | {v.skill_id for v in db.versions}
    names = {r.name for r in db.skills.values()} | {v.skill_name for v in db.versions}
    labels = names | {r.display_name for r in db.skills.values()}
    found = []
    for skill in listing.skills:
        if skill.id in owned:
            continue
        if skill.display_name is not None and skill.display_name in labels:
            found.append(f"{skill.id} ({_printable(skill.display_name)})")
        elif skill.display_name is None and targets.api is not None:
            slugs = {v.name for v in targets.api.list_versions(skill.id)} & names
            found += [f"{skill.id} ({slug})" for slug in sorted(slugs)[:1]]
    if not found:
        return Check(_LOOKALIKES, True, "all owned by this database")
    shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
    detail = (
        f"{len(found)} not owned by this database: {shown}; apply leaves them alone "
        "(a lost create of ours is adopted by the next apply): check them by hand"
    )
    return Check(_LOOKALIKES, True, detail, warn=True)


def _printable(text: str) -> str:
    """Text someone else chose (an API display name) with control characters escaped, so
    it cannot drive the terminal."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


# --- doctor: every check on its own, so one missing variable hides nothing else --------


def _failed(name: str, exc: SyncbotError, fix: str) -> Check:
    """A failed check; a fix carried in the message (see pg_failures) wins over `fix`."""
    detail, _, carried = exc.message.partition(FIX_MARK)
    return Check(name, False, detail, carried or fix)


def _step(name: str, fn: Any, fix: str) -> tuple[Check, Any]:
    try:
        value = fn()
    except SyncbotError as exc:
        return _failed(name, exc, fix), None
    return Check(name, True, "ok"), value


def doctor(settings: Settings, environment: str, repo: Path | None) -> list[Check]:
    """Each variable, then each service that can be reached with what is set."""
    checks = doctor_env(settings)
    usable = {c.name for c in checks if c.ok}
    listing = None
    if settings.skills_enabled and settings.api_key and "ANTHROPIC_BASE_URL" in usable:
        api_check, listing = _step("Skills API", lambda: _list_api(settings), _API_FIX)
        checks.append(api_check)
    if "REDIS_URL" in usable:
        checks.append(_step("Redis", lambda: _ping_redis(settings), _REDIS_FIX)[0])
    checks += _environment_checks(environment, repo)
    if "DATABASE_URL" in usable:
        checks += _database_checks(settings, environment, listing)
    return checks


_API_FIX = "check ANTHROPIC_BASE_URL and the key's workspace"
_REDIS_FIX = "is the server up? is REDIS_URL right?"
_PG_FIX = "is the server up? is DATABASE_URL right?"


def _list_api(settings: Settings) -> ApiListing:
    from syncbot.session import api_settings
    from syncbot.targets.skills_api import SkillsApiClient

    client = SkillsApiClient(api_settings(settings))
    try:
        return client.list_skills()
    finally:
        client.close()


def _ping_redis(settings: Settings) -> None:
    from syncbot.targets.redis_cache import Cache

    with Cache(settings.redis_url, prefix=settings.redis_prefix) as cache:
        cache.ping()


def _database_checks(
    settings: Settings, environment: str, listing: ApiListing | None
) -> list[Check]:
    with Database(settings.database_url) as db:
        ping = _step("PostgreSQL", db.ping, _PG_FIX)[0]
        if not ping.ok:
            return [ping]
        migrated = _step("migrations", db.ensure_migrated, "run `syncbot db migrate`")[0]
        checks = [ping, migrated, served_environment_check(db, environment)]
        if listing is not None and migrated.ok:
            targets = Targets(api=None, db=db, cache=None)  # type: ignore[arg-type]
            checks.append(_ownership_check(targets, environment, listing))
        return checks


def _environment_checks(environment: str, repo: Path | None) -> list[Check]:
    return [] if repo is None else [defined_environment_check(repo, environment)]


def defined_environment_check(repo: Path, environment: str) -> Check:
    """SYNCBOT_ENV (or --env) is one of syncbot.yaml's environments."""
    name = f"environment {environment!r}"
    try:
        loaded, _ = read_repo(WorkTree(repo))
    except SyncbotError as exc:
        return Check(name, False, f"cannot read {CONFIG_FILE}: {exc.message}", "syncbot validate")
    known = sorted(loaded.config.environments)
    if environment in known:
        return Check(name, True, f"defined in {CONFIG_FILE}")
    return Check(
        name,
        False,
        f"not defined in {CONFIG_FILE} (it defines: {', '.join(known) or 'none'})",
        f"set SYNCBOT_ENV (or --env) to one of {', '.join(known)}, "
        f"or add {environment!r} under environments: in {CONFIG_FILE}",
    )


def served_environment_check(db: Database, environment: str) -> Check:
    """The database records the environment it serves: it must be this one."""
    name = "database environment"
    try:
        served = db.recorded_environment()
    except SyncbotError as exc:
        return Check(name, True, f"not checked: {exc.message}", warn=True)
    if served is None or served == environment:
        return Check(name, True, served or "none recorded yet")
    return Check(
        name,
        False,
        f"this database serves {served!r}, not {environment!r}",
        "point DATABASE_URL at that environment's database, or set SYNCBOT_ENV",
    )
