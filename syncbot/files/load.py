"""Files to models (`load_repo`) and models to the desired state (`build_desired`).

`read_repo` parses every file and collects every error instead of stopping at the first
one: a schema error in one file never hides the problems of another. `load_repo` is the
strict form used by plan and apply; validate uses `read_repo` to run its cross-file
rules on whatever did parse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from syncbot.desired import DesiredState, Pattern, Rollout, RolloutPolicy, Route, Skill
from syncbot.errors import ConfigError, ConfigErrors, Location
from syncbot.files.admit import admit
from syncbot.files.layout import QUERIES_FILE
from syncbot.files.schema_errors import parse_model
from syncbot.files.schemas import (
    RegistryFile,
    RolloutEntry,
    RolloutFile,
    RolloutValue,
    RouteModel,
    RoutesQueriesFile,
    SyncbotConfig,
)
from syncbot.files.skills import SkillSource, group_skills, read_skill
from syncbot.files.source import Source, SourceFile
from syncbot.files.text import parse_storable, unstorable_text
from syncbot.files.yamlsafe import DEFAULT_MAX_BYTES, LineMap, load_yaml

CONFIG_FILE = "syncbot.yaml"
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class LoadedRepo:
    """Every file that parsed: models per file, their line maps, and the skill folders."""

    commit: str | None
    config: SyncbotConfig
    skills: Mapping[str, SkillSource]
    registry: Mapping[str, RegistryFile]
    rollouts: Mapping[str, RolloutFile]
    lines: Mapping[str, LineMap] = field(default_factory=dict)
    files: tuple[SourceFile, ...] = ()
    queries: tuple[str, ...] = ()  # routes-queries.yaml, in file order

    def locate(self, file: str, loc_path: tuple[Any, ...] = ()) -> Location:
        """The 1-based line of `loc_path` in `file` (its nearest ancestor if absent)."""
        lines = self.lines.get(file)
        return Location(file, lines.line(loc_path) if lines else 1)


def rollout_file(environment: str) -> str:
    return f"rollouts/{environment}.yaml"


def load_repo(source: Source) -> LoadedRepo:
    """Parse and check every file of `source`; raises ConfigErrors listing all problems."""
    repo, errors = read_repo(source)
    if errors:
        raise ConfigErrors(errors)
    return repo


def read_repo(source: Source) -> tuple[LoadedRepo, list[ConfigError]]:
    """Whatever parsed, and every YAML, schema and skill-folder error (sorted by place)."""
    errors: list[ConfigError] = []
    lines: dict[str, LineMap] = {}
    listed = source.files()
    config = _read_config(listed, errors, lines)
    files = admit(listed, config.limits, errors)
    max_bytes = config.limits.max_file_bytes
    skills = {}
    for name, skill_files in group_skills(files).items():
        skills[name] = read_skill(name, skill_files, max_bytes, errors, lines)
    registry = _read_kind(files, "registry/", RegistryFile, max_bytes, errors, lines)
    rollouts = _read_kind(files, "rollouts/", RolloutFile, max_bytes, errors, lines)
    environments = {_environment_of(path): model for path, model in rollouts.items()}
    queries = _read_queries(files, max_bytes, errors, lines)
    repo = LoadedRepo(source.commit, config, skills, registry, environments, lines, files, queries)
    return repo, sorted(errors, key=lambda e: (e.location, e.rule))


def _environment_of(path: str) -> str:
    return path.removeprefix("rollouts/").removesuffix(".yaml")


def _read_config(
    files: tuple[SourceFile, ...], errors: list[ConfigError], lines: dict[str, LineMap]
) -> SyncbotConfig:
    found = next((f for f in files if f.path == CONFIG_FILE and f.readable), None)
    if found is None:
        return SyncbotConfig()
    # Defaults stand in for an invalid syncbot.yaml so the other files are still checked.
    model = _read_yaml_model(found, SyncbotConfig, DEFAULT_MAX_BYTES, errors, lines)
    if model is None:
        return SyncbotConfig()
    limit = model.limits.max_file_bytes
    if found.size is not None and found.size > limit:
        message = f"file is {found.size} bytes, over the limit of {limit}"
        errors.append(ConfigError("yaml-too-large", Location(CONFIG_FILE, 1), message))
    return model


def _read_queries(
    files: tuple[SourceFile, ...],
    max_bytes: int,
    errors: list[ConfigError],
    lines: dict[str, LineMap],
) -> tuple[str, ...]:
    found = next((f for f in files if f.path == QUERIES_FILE), None)
    if found is None:
        return ()
    model = _read_yaml_model(found, RoutesQueriesFile, max_bytes, errors, lines)
    return tuple(model.root) if model is not None else ()


def _read_kind(
    files: tuple[SourceFile, ...],
    prefix: str,
    model: type[M],
    max_bytes: int,
    errors: list[ConfigError],
    lines: dict[str, LineMap],
) -> dict[str, M]:
    parsed = {}
    for item in files:
        if item.path.startswith(prefix):
            value = _read_yaml_model(item, model, max_bytes, errors, lines)
            if value is not None:
                parsed[item.path] = value
    return parsed


def _read_yaml_model(
    item: SourceFile,
    model: type[M],
    max_bytes: int,
    errors: list[ConfigError],
    lines: dict[str, LineMap],
) -> M | None:
    """The validated model of one YAML file, or None (its errors appended)."""
    if item.size is None:
        message = "must be a regular file, not a symbolic link"
        errors.append(ConfigError("file-symlink", Location(item.path, 1), message))
        return None
    if item.size > max_bytes:  # before reading it: the size alone decides
        message = f"file is {item.size} bytes, over the limit of {max_bytes}"
        errors.append(ConfigError("yaml-too-large", Location(item.path, 1), message))
        return None
    try:
        raw = item.data or b""
        data, line_map = load_yaml(raw, item.path, max_bytes=max_bytes)
        lines[item.path] = line_map
        unstorable = unstorable_text(data, item.path, line_map, raw)
        return parse_storable(
            lambda: parse_model(model, data, item.path, line_map), unstorable, errors
        )
    except ConfigErrors as exc:
        errors.extend(exc.errors)
        return None


# --- desired state ---------------------------------------------------------------------------


def build_desired(repo: LoadedRepo, environment: str) -> DesiredState:
    """The desired state of one environment from a fully loaded repository."""
    environments = repo.config.environments
    if environment not in environments:
        known = ", ".join(sorted(environments)) or "none"
        where = repo.locate(CONFIG_FILE, ("environments",))
        message = f"unknown environment {environment!r} (syncbot.yaml defines: {known})"
        raise ConfigError("unknown-environment", where, message)
    policy = environments[environment].rollout
    rollouts = repo.rollouts.get(environment)
    return DesiredState(
        environment=environment,
        commit=repo.commit,
        skills={name: _skill(s) for name, s in sorted(repo.skills.items()) if s.complete},
        routes=_routes(repo),
        rollouts=_rollouts(rollouts.root if rollouts else {}),
        policy=RolloutPolicy(tuple(policy.steps), policy.min_soak_hours)
        if policy
        else RolloutPolicy(),
        max_deletions=repo.config.prune.max_deletions,
    )


def _skill(source: SkillSource) -> Skill:
    meta = source.meta
    assert meta is not None  # `complete` guarantees both models
    config = meta.config.model_dump(exclude_none=True) if meta.config else {}
    return Skill(
        name=source.name,
        display_name=meta.display_name,
        description=meta.description,
        type=meta.type,
        category=meta.category,
        version=meta.version,
        config=config,
        critical=meta.critical,
        owners=tuple(meta.owners),
        files=source.uploaded,
        content_sha256=source.content_sha256,
    )


def _routes(repo: LoadedRepo) -> tuple[Route, ...]:
    return tuple(
        to_route(model)
        for _, registry in sorted(repo.registry.items())
        for model in registry.routes
    )


def to_route(model: RouteModel) -> Route:
    patterns = tuple(
        Pattern(p, 1.0) if isinstance(p, str) else Pattern(p.regex, p.weight)
        for p in model.patterns
    )
    return Route(model.skill, model.category, model.priority, model.min_confidence, patterns)


def _rollouts(entries: Mapping[str, RolloutValue]) -> dict[str, Rollout]:
    rollouts = {}
    for skill, value in sorted(entries.items()):
        if isinstance(value, RolloutEntry):
            percentage, salt = value.percentage, value.salt
        else:
            percentage, salt = value, None
        rollouts[skill] = Rollout(skill, basis_points(percentage), salt or skill)
    return rollouts


def basis_points(percentage: float) -> int:
    """Exact: the schema allows at most two decimals, so *100 is within rounding of an int."""
    return round(percentage * 100)
