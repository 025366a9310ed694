"""The file formats (SPEC 2.1-2.5), defined once as pydantic v2 models.

Strict everywhere: `"5"` is not a number, `yes` is not a boolean, unknown keys are
errors. A validator that enforces a named lint rule raises a PydanticCustomError whose
type is that rule id (for example `skill-name-format`), so translation keeps the rule.
The JSON Schemas for editors are exported from these same models.
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
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from syncbot.files.semver import SEMVER_PATTERN, is_semver
from syncbot.lint.content import ALLOWABLE_RULES
from syncbot.textsafe import BIDI, INVISIBLE

DEFAULT_CATEGORIES = ("analysis", "drafting", "research", "compliance")
DEFAULT_ENVIRONMENTS = ("staging", "production")
FRONT_MATTER_KEYS = ("allowed-tools", "compatibility", "description", "license", "metadata", "name")
NAME_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
RESERVED_WORDS = ("anthropic", "claude")
_NAME = re.compile(NAME_PATTERN)
_XML_TAG = re.compile(r"<[^<>]*>")
_ENV_NAME = r"^[a-z0-9][a-z0-9_-]*$"

_STRICT = ConfigDict(strict=True, frozen=True, allow_inf_nan=False)

# What the targets can store: PostgreSQL `integer` columns hold int4; a soak longer than
# ten years is a typo, and far longer ones overflow the date arithmetic of the planner.
INT4_MAX = 2**31 - 1
MAX_SOAK_HOURS = 10 * 366 * 24
MAX_DELETIONS_CAP = 100_000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", **_STRICT)


def _rule_error(rule: str, message: str) -> PydanticCustomError:
    # The message goes in as context, never as the template: user text may hold braces.
    return PydanticCustomError(rule, "{detail}", {"detail": message})


# --- text that reaches a terminal, a database or Markdown -----------------------------------

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_HIDDEN = {
    "unicode-bidi": re.compile(f"[{BIDI}]"),
    "unicode-invisible": re.compile(f"[{INVISIBLE}]"),
}


def _check_text(text: str, control: re.Pattern[str] = _CONTROL) -> str:
    """No control character (a YAML escape such as "\\e" or "\\r" makes one) and no
    hidden character: they would rewrite a terminal or hide text from reviewers."""
    found = control.search(text)
    if found:
        char = found.group()
        what = "a line break" if char in "\r\n" else "a control character"
        why = (
            "this field is a single line"
            if char in "\r\n"
            else "it would be sent raw to terminals and PR comments"
        )
        where = f"at character {found.start() + 1} of {text[:40]!r}"
        message = f"{what} U+{ord(char):04X} {where}: {why}; remove it"
        raise _rule_error("text-control-character", message)
    for rule, pattern in _HIDDEN.items():
        if hidden := pattern.search(text):
            message = f"hidden character U+{ord(hidden.group()):04X} in {text[:40]!r}: remove it"
            raise _rule_error(rule, message)
    return text


def _check_line(text: str) -> str:
    return _check_text(text, _LINE_CONTROL)


# One line of text (names, categories, salts, versions, owners, queries), and free text
# that may span lines (descriptions, reasons): both without control or hidden characters.
Line = Annotated[str, AfterValidator(_check_line)]
Text = Annotated[str, AfterValidator(_check_text)]


# --- SKILL.md front matter (2.1) ---------------------------------------------------------


def _check_skill_name(name: str) -> str:
    if not 1 <= len(name) <= 64 or not _NAME.match(name):
        raise _rule_error(
            "skill-name-format",
            f"name {name!r} must be 1-64 characters of a-z, 0-9 and '-', without a leading, "
            "trailing or doubled hyphen",
        )
    reserved = [word for word in RESERVED_WORDS if word in name]
    if reserved:
        message = f"name {name!r} must not contain the reserved word {reserved[0]!r}"
        raise _rule_error("skill-name-reserved", message)
    return name


def _check_description(text: str) -> str:
    if not text.strip():
        raise _rule_error("skill-description", "description must not be empty")
    if len(text) > 1024:
        message = f"description is {len(text)} characters, over the limit of 1024"
        raise _rule_error("skill-description", message)
    tag = _XML_TAG.search(text)
    if tag:
        message = f"description must not contain XML tags (found {tag.group()!r})"
        raise _rule_error("skill-description", message)
    return text


def _check_compatibility(text: str) -> str:
    if not 1 <= len(text) <= 500:
        message = f"compatibility must be 1-500 characters (got {len(text)})"
        raise _rule_error("skill-compatibility", message)
    return text


SkillName = Annotated[
    str,
    AfterValidator(_check_skill_name),
    WithJsonSchema({"type": "string", "pattern": NAME_PATTERN, "maxLength": 64}),
]


def _list_or_other(value: Any) -> str:
    return "list" if isinstance(value, list) else "string"


class SkillFrontMatter(_Model):
    """The YAML front matter of SKILL.md: exactly the keys the Skills API accepts."""

    name: SkillName
    description: Annotated[
        Text, AfterValidator(_check_description), Field(json_schema_extra={"maxLength": 1024})
    ]
    license: Line | None = None
    compatibility: Annotated[
        Text | None,
        AfterValidator(lambda v: v if v is None else _check_compatibility(v)),
        Field(json_schema_extra={"maxLength": 500}),
    ] = None
    metadata: dict[Line, Text] | None = None
    allowed_tools: (
        Annotated[
            Annotated[str, Tag("string")] | Annotated[list[str], Tag("list")],
            Discriminator(_list_or_other),
        ]
        | None
    ) = Field(default=None, alias="allowed-tools")


# --- skill.yaml (2.2) ------------------------------------------------------------------------


class SkillConfig(_Model):
    max_tokens: int | None = Field(default=None, ge=1, le=200000)
    temperature: float | None = Field(default=None, ge=0.0, le=1.0)


def _check_allow_rule(rule: str) -> str:
    if rule not in ALLOWABLE_RULES:
        allowed = ", ".join(sorted(ALLOWABLE_RULES))
        message = f"rule {rule!r} cannot be allowed; only these can: {allowed}"
        raise _rule_error("skill-allow-rule", message)
    return rule


def _check_relative_path(path: str | None) -> str | None:
    if path is not None and (path.startswith("/") or ".." in path.split("/") or not path):
        raise ValueError(f"path {path!r} must be relative to the skill folder, without '..'")
    return path


class AllowEntry(_Model):
    """An explicit exception to a dangerous-code rule, with the reviewer-facing reason."""

    rule: Annotated[
        str,
        AfterValidator(_check_allow_rule),
        Field(json_schema_extra={"enum": sorted(ALLOWABLE_RULES)}),
    ]
    path: Annotated[Line | None, AfterValidator(_check_relative_path)] = None
    reason: Text = Field(min_length=1, pattern=r"\S")


class SkillMeta(_Model):
    """skill.yaml: the platform metadata of a skill (never uploaded)."""

    display_name: Line = Field(min_length=1, max_length=255)
    description: Line = Field(min_length=1)
    type: Literal["code", "prompt"]
    category: Line = Field(min_length=1)
    version: Line = Field(json_schema_extra={"pattern": SEMVER_PATTERN})
    config: SkillConfig | None = None
    critical: bool = False
    owners: list[Line] = Field(default_factory=list)
    allow: list[AllowEntry] = Field(default_factory=list)

    @field_validator("version")
    @classmethod
    def _semver(cls, version: str) -> str:
        if not is_semver(version):
            raise ValueError(f"version {version!r} is not a semantic version such as 1.2.0")
        return version


# --- registry/*.yaml (2.3) -------------------------------------------------------------------


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


# --- rollouts/<environment>.yaml (2.4) -------------------------------------------------------


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


# --- syncbot.yaml (2.5) ----------------------------------------------------------------------


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
