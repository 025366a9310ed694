"""The formats of a skill folder: SKILL.md front matter and skill.yaml, as pydantic models."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag, WithJsonSchema, field_validator

from syncbot.files.fields import FormatModel, Line, Text, rule_error
from syncbot.files.semver import SEMVER_PATTERN, is_semver

# The Skills API caps a SKILL.md description at 1024 characters; skill.yaml's platform
# description (a `text` column) is held to the same, so both read alike.
MAX_DESCRIPTION = 1024
FRONT_MATTER_KEYS = ("allowed-tools", "compatibility", "description", "license", "metadata", "name")
NAME_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
RESERVED_WORDS = ("anthropic", "claude")
# The dangerous-code rules a skill.yaml `allow` entry may waive; secrets, file and
# Unicode findings can never be allowed.
ALLOWABLE_RULES = frozenset({"danger-download-exec", "danger-decode-exec"})
_NAME = re.compile(NAME_PATTERN)
_XML_TAG = re.compile(r"<[^<>]*>")


# --- SKILL.md front matter -------------------------------------------------------------


def _check_skill_name(name: str) -> str:
    if not 1 <= len(name) <= 64 or not _NAME.match(name):
        raise rule_error(
            "skill-name-format",
            f"name {name!r} must be 1-64 characters of a-z, 0-9 and '-', without a leading, "
            "trailing or doubled hyphen",
        )
    reserved = [word for word in RESERVED_WORDS if word in name]
    if reserved:
        message = f"name {name!r} must not contain the reserved word {reserved[0]!r}"
        raise rule_error("skill-name-reserved", message)
    return name


def _check_description(text: str) -> str:
    if not text.strip():
        raise rule_error("skill-description", "description must not be empty")
    if len(text) > 1024:
        message = f"description is {len(text)} characters, over the limit of 1024"
        raise rule_error("skill-description", message)
    tag = _XML_TAG.search(text)
    if tag:
        message = f"description must not contain XML tags (found {tag.group()!r})"
        raise rule_error("skill-description", message)
    return text


def _check_compatibility(text: str) -> str:
    if not 1 <= len(text) <= 500:
        message = f"compatibility must be 1-500 characters (got {len(text)})"
        raise rule_error("skill-compatibility", message)
    return text


SkillName = Annotated[
    str,
    AfterValidator(_check_skill_name),
    WithJsonSchema({"type": "string", "pattern": NAME_PATTERN, "maxLength": 64}),
]


def _list_or_other(value: Any) -> str:
    return "list" if isinstance(value, list) else "string"


class SkillFrontMatter(FormatModel):
    """The YAML front matter of SKILL.md: exactly the keys the Skills API accepts."""

    name: SkillName = Field(
        description="The skill's name: the folder name, lowercase letters, digits and hyphens."
    )
    description: Annotated[
        Text,
        AfterValidator(_check_description),
        Field(
            description="What the skill does and when to use it (what Claude reads to pick it).",
            json_schema_extra={"maxLength": 1024},
        ),
    ]
    license: Line | None = Field(default=None, description="The skill's license, if any.")
    compatibility: Annotated[
        Text | None,
        AfterValidator(lambda v: v if v is None else _check_compatibility(v)),
        Field(
            description="Environment requirements (products, packages, network), if any.",
            json_schema_extra={"maxLength": 500},
        ),
    ] = None
    metadata: dict[Line, Text] | None = Field(
        default=None, description="Free key-value pairs kept with the skill."
    )
    allowed_tools: (
        Annotated[
            Annotated[str, Tag("string")] | Annotated[list[str], Tag("list")],
            Discriminator(_list_or_other),
        ]
        | None
    ) = Field(
        default=None,
        alias="allowed-tools",
        description="Tools the skill may use without asking (a list, or one string).",
    )


# --- skill.yaml ----------------------------------------------------------------------------


class SkillConfig(FormatModel):
    max_tokens: int | None = Field(
        default=None, ge=1, le=200000, description="Token limit for the skill's answers."
    )
    temperature: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Sampling temperature, 0 to 1."
    )


def _check_allow_rule(rule: str) -> str:
    if rule not in ALLOWABLE_RULES:
        allowed = ", ".join(sorted(ALLOWABLE_RULES))
        message = f"rule {rule!r} cannot be allowed; only these can: {allowed}"
        raise rule_error("skill-allow-rule", message)
    return rule


def _check_relative_path(path: str | None) -> str | None:
    if path is not None and (path.startswith("/") or ".." in path.split("/") or not path):
        raise ValueError(f"path {path!r} must be relative to the skill folder, without '..'")
    return path


class AllowEntry(FormatModel):
    """An explicit exception to a dangerous-code rule, with the reviewer-facing reason."""

    rule: Annotated[
        str,
        AfterValidator(_check_allow_rule),
        Field(
            description="The validate rule to allow (only dangerous-code rules can be).",
            json_schema_extra={"enum": sorted(ALLOWABLE_RULES)},
        ),
    ]
    path: Annotated[
        Line | None,
        AfterValidator(_check_relative_path),
        Field(description="The file it applies to, relative to the skill folder (default: all)."),
    ] = None
    reason: Text = Field(
        min_length=1, pattern=r"\S", description="Why this is safe, for reviewers."
    )


class SkillMeta(FormatModel):
    """skill.yaml: the platform metadata of a skill (never uploaded)."""

    display_name: Line = Field(
        min_length=1, max_length=255, description="The name shown in the Skills API; unique."
    )
    description: Line = Field(
        min_length=1,
        max_length=MAX_DESCRIPTION,
        description="What the skill is for, on the platform (one line, at most 1024 characters).",
    )
    type: Literal["code", "prompt"] = Field(
        description="code: ships scripts to run; prompt: instructions only."
    )
    category: Line = Field(min_length=1, description="One of syncbot.yaml's categories.")
    version: Line = Field(
        description="Semantic version (1.2.0); raise it whenever the skill's files change.",
        json_schema_extra={"pattern": SEMVER_PATTERN},
    )
    config: SkillConfig | None = Field(default=None, description="Model settings, if any.")
    critical: bool = Field(
        default=False, description="Kept warm in the Redis cache on every apply."
    )
    owners: list[Line] = Field(
        default_factory=list, description="Who reviews changes (e.g. @org/team)."
    )
    allow: list[AllowEntry] = Field(
        default_factory=list, description="Reviewed exceptions to dangerous-code rules."
    )

    @field_validator("version")
    @classmethod
    def _semver(cls, version: str) -> str:
        if not is_semver(version):
            raise ValueError(f"version {version!r} is not a semantic version such as 1.2.0")
        return version
