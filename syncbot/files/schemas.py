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
    regex: Line
    weight: float = Field(default=1.0, gt=0.0, le=1.0)


def _mapping_or_other(value: Any) -> str:
    return "mapping" if isinstance(value, dict) else "string"


PatternItem = Annotated[
    Annotated[Line, Tag("string")] | Annotated[PatternModel, Tag("mapping")],
    Discriminator(_mapping_or_other),
]


class Examples(_Model):
    match: list[Line] = Field(default_factory=list)
    no_match: list[Line] = Field(default_factory=list)


class RouteModel(_Model):
    skill: Line
    category: Line = Field(min_length=1)
    priority: int = Field(ge=1, le=INT4_MAX)
    min_confidence: float = Field(ge=0.0, le=1.0)
    patterns: list[PatternItem] = Field(min_length=1)
    examples: Examples | None = None


class RegistryFile(_Model):
    """registry/*.yaml: routing patterns."""

    routes: list[RouteModel]


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
    percentage: Percentage
    salt: Line | None = Field(default=None, min_length=1)


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

    requests: PromQL = DEFAULT_PROMQL["requests"]
    error_rate: PromQL = DEFAULT_PROMQL["error_rate"]  # percent, 0-100
    p95: PromQL = DEFAULT_PROMQL["p95"]  # milliseconds


def _check_http_url(url: str) -> str:
    if not re.match(r"^https?://[^\s/]+", url):
        raise ValueError(f"url {url!r} must be an http:// or https:// address")
    return url


class PrometheusSource(_Model):
    url: Annotated[str, AfterValidator(_check_http_url)]
    skill_label: str = Field(default="skill", pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    queries: PrometheusQueries = Field(default_factory=PrometheusQueries)


class MetricsConfig(_Model):
    """Where the health figures come from: the `skill_executions` table (default) or
    Prometheus."""

    source: Literal["postgres", "prometheus"] = "postgres"
    prometheus: PrometheusSource | None = None

    @model_validator(mode="after")
    def _prometheus_needs_url(self) -> MetricsConfig:
        if self.source == "prometheus" and self.prometheus is None:
            raise ValueError("source: prometheus needs a prometheus: block with its url")
        return self


class RolloutGates(_Model):
    """What `syncbot promote` requires of a canary; the defaults are the runbook's."""

    window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    min_requests: int = Field(default=200, ge=1, le=1_000_000_000)
    max_error_rate_percent: float = Field(default=2.0, ge=0, le=100)
    max_p95_ms: float = Field(default=5000.0, gt=0)
    failure_limit: int = Field(default=3, ge=1, le=100)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)


class RolloutPolicyModel(_Model):
    steps: list[int] = Field(min_length=2)
    min_soak_hours: float = Field(default=0.0, ge=0.0, le=MAX_SOAK_HOURS)
    gates: RolloutGates = Field(default_factory=RolloutGates)

    @field_validator("steps")
    @classmethod
    def _ascending(cls, steps: list[int]) -> list[int]:
        if steps[0] != 0 or steps[-1] != 100:
            raise ValueError("steps must start at 0 and end at 100")
        if any(b <= a for a, b in itertools.pairwise(steps)):
            raise ValueError("steps must be strictly ascending")
        return steps


class EnvironmentConfig(_Model):
    rollout: RolloutPolicyModel | None = None


class Limits(_Model):
    max_skill_bytes: int = Field(default=1048576, ge=1, le=64 * 1024 * 1024)
    max_file_bytes: int = Field(default=262144, ge=1, le=16 * 1024 * 1024)


class Prune(_Model):
    max_deletions: int = Field(default=3, ge=0, le=MAX_DELETIONS_CAP)


def _default_environments() -> dict[str, EnvironmentConfig]:
    return {name: EnvironmentConfig() for name in DEFAULT_ENVIRONMENTS}


EnvName = Annotated[str, Field(pattern=_ENV_NAME)]


class SyncbotConfig(_Model):
    """syncbot.yaml: repository settings and policy; every key has a default."""

    categories: list[Line] = Field(default_factory=lambda: list(DEFAULT_CATEGORIES), min_length=1)
    environments: dict[EnvName, EnvironmentConfig] = Field(
        default_factory=_default_environments, min_length=1
    )
    limits: Limits = Field(default_factory=Limits)
    prune: Prune = Field(default_factory=Prune)

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
