"""The repository's file formats, defined once as pydantic v2 models.

This module holds registry/*.yaml, rollouts/<environment>.yaml, routes-queries.yaml and
syncbot.yaml, and exports the JSON Schemas for editors from every format. The skill
folder's formats (SKILL.md front matter, skill.yaml) live in `skill_schemas` and the
shared base model and text fields in `fields`; both are re-exported here under their
usual names. Strictness and rule-named errors are described in `fields`.
"""

from __future__ import annotations

import itertools
import json
import re
import string
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Discriminator,
    Field,
    RootModel,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)

# The shared pieces keep their short private names here: every model below is spelled
# with them.
from syncbot.files.fields import STRICT as _STRICT
from syncbot.files.fields import FormatModel as _Model
from syncbot.files.fields import Line as Line
from syncbot.files.fields import Text as Text
from syncbot.files.fields import check_line as _check_line
from syncbot.files.fields import rule_error as _rule_error
from syncbot.files.skill_schemas import ALLOWABLE_RULES as ALLOWABLE_RULES
from syncbot.files.skill_schemas import FRONT_MATTER_KEYS as FRONT_MATTER_KEYS
from syncbot.files.skill_schemas import NAME_PATTERN as NAME_PATTERN
from syncbot.files.skill_schemas import RESERVED_WORDS as RESERVED_WORDS
from syncbot.files.skill_schemas import AllowEntry as AllowEntry
from syncbot.files.skill_schemas import SkillConfig as SkillConfig
from syncbot.files.skill_schemas import SkillFrontMatter as SkillFrontMatter
from syncbot.files.skill_schemas import SkillMeta as SkillMeta
from syncbot.files.skill_schemas import SkillName as SkillName

DEFAULT_CATEGORIES = ("analysis", "drafting", "research", "compliance")
DEFAULT_ENVIRONMENTS = ("staging", "production")
_ENV_NAME = r"^[a-z0-9][a-z0-9_-]*$"


# What the targets can store: PostgreSQL `integer` columns hold int4; a soak longer than
# ten years is a typo, and far longer ones overflow the date arithmetic of the planner.
INT4_MAX = 2**31 - 1
MAX_SOAK_HOURS = 10 * 366 * 24
MAX_DELETIONS_CAP = 100_000


# --- registry/*.yaml -----------------------------------------------------------------------


class PatternModel(_Model):
    regex: Line = Field(description="A regular expression matched against the user's query.")
    weight: float = Field(
        default=1.0, gt=0.0, le=1.0, description="How much a match adds to the confidence."
    )


def _mapping_or_other(value: Any) -> str:
    return "mapping" if isinstance(value, dict) else "string"


PatternItem = Annotated[
    Annotated[Line, Tag("string")] | Annotated[PatternModel, Tag("mapping")],
    Discriminator(_mapping_or_other),
]


class Examples(_Model):
    match: list[Line] = Field(
        default_factory=list, description="Queries that must route to this skill."
    )
    no_match: list[Line] = Field(
        default_factory=list, description="Queries that must not route to this skill."
    )


class RouteModel(_Model):
    skill: Line = Field(description="The skill this route recommends (its folder name).")
    category: Line = Field(min_length=1, description="The route's category.")
    priority: int = Field(ge=1, le=INT4_MAX, description="Order among matches: 1 comes first.")
    min_confidence: float = Field(
        ge=0.0, le=1.0, description="Recommend only at this confidence or above (0 to 1)."
    )
    patterns: list[PatternItem] = Field(
        min_length=1, description="Regular expressions (or regex and weight) to match."
    )
    examples: Examples | None = Field(
        default=None, description="Queries checked by validate: match and no_match."
    )


class RegistryFile(_Model):
    """registry/*.yaml: routing patterns."""

    routes: list[RouteModel] = Field(description="The routes of this file.")


# --- rollouts/<environment>.yaml -----------------------------------------------------------


def _check_percentage(value: float) -> float:
    if not 0 <= value <= 100:
        message = f"percentage must be between 0 and 100, got {value:g}"
        raise _rule_error("rollout-range", message)
    if Decimal(repr(value)).as_tuple().exponent < -2:  # type: ignore[operator]
        message = f"percentage {value!r} has more than two decimals (the unit is 0.01%)"
        raise _rule_error("rollout-precision", message)
    return value


Percentage = Annotated[
    float,
    AfterValidator(_check_percentage),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 100}),
]


class RolloutEntry(_Model):
    percentage: Percentage = Field(description="Share of users who get the skill, 0 to 100.")
    salt: Line | None = Field(
        default=None,
        min_length=1,
        description="Changes which users are in the share (changing it reshuffles them).",
    )


def _number_or_mapping(value: Any) -> str:
    return "mapping" if isinstance(value, dict) else "number"


RolloutValue = Annotated[
    Annotated[Percentage, Tag("number")] | Annotated[RolloutEntry, Tag("mapping")],
    Discriminator(_number_or_mapping),
]


class RolloutFile(RootModel[dict[str, RolloutValue]]):
    """rollouts/<environment>.yaml: skill name to percentage (or percentage and salt)."""

    model_config = _STRICT


# --- routes-queries.yaml ---------------------------------------------------------------------

Query = Annotated[
    str, Field(min_length=1, max_length=1000, pattern=r"\S"), AfterValidator(_check_line)
]


class RoutesQueriesFile(RootModel[list[Query]]):
    """routes-queries.yaml: recorded user queries; the plan shows which of them (and of
    the registry examples) a route change sends to another skill. Optional."""

    model_config = _STRICT


# --- syncbot.yaml --------------------------------------------------------------------------


# The PromQL templates name the environment and the window as $environment and $window
# (`60m`); each must aggregate `by (skill)` so that one query answers for every skill.
_PROM_SELECTOR = 'environment="$environment"'
DEFAULT_PROMQL = {
    "requests": f"sum by (skill) (increase(skill_executions_total{{{_PROM_SELECTOR}}}[$window]))",
    "error_rate": (
        f"100 * sum by (skill) (increase(skill_executions_failed_total{{{_PROM_SELECTOR}}}"
        f"[$window])) / sum by (skill) (increase(skill_executions_total{{{_PROM_SELECTOR}}}"
        "[$window]))"
    ),
    "p95": (
        "histogram_quantile(0.95, sum by (skill, le) (rate("
        f"skill_execution_duration_ms_bucket{{{_PROM_SELECTOR}}}[$window])))"
    ),
}
PROMQL_PLACEHOLDERS = ("environment", "window")
_KNOWN = ", ".join(f"${name}" for name in PROMQL_PLACEHOLDERS)


def _check_promql(query: str) -> str:
    try:
        string.Template(query).substitute(environment="staging", window="60m")
    except KeyError as exc:
        raise ValueError(f"unknown placeholder ${exc.args[0]} (known: {_KNOWN})") from None
    except ValueError:
        raise ValueError(f"a lone $ (write $$ for a dollar; placeholders: {_KNOWN})") from None
    return query


PromQL = Annotated[str, Field(min_length=1, pattern=r"\S"), AfterValidator(_check_promql)]


class PrometheusQueries(_Model):
    """One PromQL template per figure, each answering for all skills at once."""

    requests: PromQL = Field(
        default=DEFAULT_PROMQL["requests"], description="Requests per skill in the window."
    )
    error_rate: PromQL = Field(
        default=DEFAULT_PROMQL["error_rate"], description="Error rate per skill, in percent."
    )
    p95: PromQL = Field(
        default=DEFAULT_PROMQL["p95"], description="95th percentile latency, in milliseconds."
    )


def _check_http_url(url: str) -> str:
    if not re.match(r"^https?://[^\s/]+", url):
        raise ValueError(f"url {url!r} must be an http:// or https:// address")
    return url


class PrometheusSource(_Model):
    url: Annotated[
        str,
        AfterValidator(_check_http_url),
        Field(description="The Prometheus server, e.g. http://prometheus:9090."),
    ]
    skill_label: str = Field(
        default="skill",
        pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$",
        description="The label that names the skill in the series.",
    )
    timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="How long to wait for an answer."
    )
    queries: PrometheusQueries = Field(
        default_factory=PrometheusQueries, description="The PromQL templates."
    )


class MetricsConfig(_Model):
    """Where the health figures come from: the `skill_executions` table (default) or
    Prometheus."""

    source: Literal["postgres", "prometheus"] = Field(
        default="postgres", description="Where the figures come from."
    )
    prometheus: PrometheusSource | None = Field(
        default=None, description="The Prometheus server (needed when source is prometheus)."
    )

    @model_validator(mode="after")
    def _prometheus_needs_url(self) -> MetricsConfig:
        if self.source == "prometheus" and self.prometheus is None:
            raise ValueError("source: prometheus needs a prometheus: block with its url")
        return self


class RolloutGates(_Model):
    """What `syncbot promote` requires of a canary; the defaults are the runbook's."""

    window_minutes: int = Field(
        default=60, ge=1, le=7 * 24 * 60, description="The window the figures cover."
    )
    min_requests: int = Field(
        default=200, ge=1, le=1_000_000_000, description="Fewer requests: too early to judge."
    )
    max_error_rate_percent: float = Field(
        default=2.0, ge=0, le=100, description="Above this error rate the canary fails."
    )
    max_p95_ms: float = Field(
        default=5000.0, gt=0, description="Above this p95 latency the canary fails."
    )
    failure_limit: int = Field(
        default=3, ge=1, le=100, description="Failed checks in a row before a rollback."
    )
    metrics: MetricsConfig = Field(
        default_factory=MetricsConfig, description="Where the health figures come from."
    )


class RolloutPolicyModel(_Model):
    steps: list[int] = Field(
        min_length=2, description="The allowed percentages, from 0 to 100 (e.g. 0, 5, 25, 100)."
    )
    min_soak_hours: float = Field(
        default=0.0,
        ge=0.0,
        le=MAX_SOAK_HOURS,
        description="Hours a step must run before the next one.",
    )
    gates: RolloutGates = Field(
        default_factory=RolloutGates, description="What promote requires of a canary."
    )

    @field_validator("steps")
    @classmethod
    def _ascending(cls, steps: list[int]) -> list[int]:
        if steps[0] != 0 or steps[-1] != 100:
            raise ValueError("steps must start at 0 and end at 100")
        if any(b <= a for a, b in itertools.pairwise(steps)):
            raise ValueError("steps must be strictly ascending")
        return steps


class EnvironmentConfig(_Model):
    rollout: RolloutPolicyModel | None = Field(
        default=None, description="Rollout policy (none: any change is allowed)."
    )


class Limits(_Model):
    max_skill_bytes: int = Field(
        default=1048576, ge=1, le=64 * 1024 * 1024, description="Largest skill upload, in bytes."
    )
    max_file_bytes: int = Field(
        default=262144, ge=1, le=16 * 1024 * 1024, description="Largest file, in bytes."
    )


class Prune(_Model):
    max_deletions: int = Field(
        default=3,
        ge=0,
        le=MAX_DELETIONS_CAP,
        description="Most skills one apply --prune may delete.",
    )


def _default_environments() -> dict[str, EnvironmentConfig]:
    return {name: EnvironmentConfig() for name in DEFAULT_ENVIRONMENTS}


EnvName = Annotated[str, Field(pattern=_ENV_NAME)]


class SyncbotConfig(_Model):
    """syncbot.yaml: repository settings and policy; every key has a default."""

    categories: list[Line] = Field(
        default_factory=lambda: list(DEFAULT_CATEGORIES),
        min_length=1,
        description="The categories a skill may have.",
    )
    environments: dict[EnvName, EnvironmentConfig] = Field(
        default_factory=_default_environments,
        min_length=1,
        description="The environments, each with its rollout policy.",
    )
    limits: Limits = Field(default_factory=Limits, description="Size limits.")
    prune: Prune = Field(default_factory=Prune, description="Limits on deletions.")

    @field_validator("categories")
    @classmethod
    def _unique(cls, categories: list[str]) -> list[str]:
        repeated = sorted({c for c in categories if categories.count(c) > 1})
        if repeated:
            raise ValueError(f"categories listed twice: {', '.join(repeated)}")
        return categories


# --- JSON Schemas ----------------------------------------------------------------------------

SCHEMA_FILES: dict[str, type[BaseModel]] = {
    "skill-md.schema.json": SkillFrontMatter,
    "skill.schema.json": SkillMeta,
    "registry.schema.json": RegistryFile,
    "rollouts.schema.json": RolloutFile,
    "syncbot.schema.json": SyncbotConfig,
    "routes-queries.schema.json": RoutesQueriesFile,
}


def export_json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema (draft 2020-12) of each file format, keyed by its file name."""
    schemas = {}
    for file_name, model in SCHEMA_FILES.items():
        schema = model.model_json_schema(by_alias=True)
        schemas[file_name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": file_name,
            **schema,
        }
    return schemas


def write_json_schemas(out_dir: Path) -> list[Path]:
    """Write every schema into `out_dir` (created if needed); returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, schema in export_json_schemas().items():
        path = out_dir / file_name
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", "utf-8")
        written.append(path)
    return written
