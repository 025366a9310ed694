"""SKILL.md front matter: parsed with ruamel.yaml (safe) and checked as the API does."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from syncbot.emulator.errors import invalid_request

ALLOWED_KEYS = ("allowed-tools", "compatibility", "description", "license", "metadata", "name")
NAME_MAX = 64
DESCRIPTION_MAX = 1024
COMPATIBILITY_MAX = 500
_NAME_CHARS = re.compile(r"[a-z0-9-]+")
_XML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_RESERVED_WORDS = ("anthropic", "claude")
_DELIMITER = "---"


@dataclass(frozen=True)
class SkillMeta:
    """What the API keeps from a SKILL.md: its name and description."""

    name: str
    description: str


def parse_skill_md(content: bytes) -> SkillMeta:
    """Parse and validate SKILL.md; raise a 400 EmulatorError with the API's wording."""
    data = _load_mapping(_front_matter_text(_decode(content)))
    _check_keys(data)
    name = _check_name(data.get("name"))
    description = _check_description(data.get("description"))
    _check_optional(data)
    return SkillMeta(name=name, description=description)


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise invalid_request("SKILL.md must be valid UTF-8.") from None  # emulator policy


def _front_matter_text(text: str) -> str:
    lines = text.splitlines()
    if not lines or lines[0].rstrip() != _DELIMITER:
        raise invalid_request("SKILL.md must start with YAML frontmatter")
    for index, line in enumerate(lines[1:], start=1):
        if line.rstrip() == _DELIMITER:
            return "\n".join(lines[1:index])
    raise invalid_request("SKILL.md frontmatter is not closed by a '---' line.")  # emulator policy


def _load_mapping(text: str) -> Mapping[str, Any]:
    yaml = YAML(typ="safe", pure=True)
    try:
        data = yaml.load(text)
    except YAMLError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "parse error"
        raise invalid_request(f"Invalid YAML in SKILL.md frontmatter: {first_line}") from None
    if not isinstance(data, dict):
        raise invalid_request("SKILL.md frontmatter must be a YAML mapping.")  # emulator policy
    return data


def _check_keys(data: Mapping[str, Any]) -> None:
    unexpected = sorted(str(key) for key in data if key not in ALLOWED_KEYS)
    if unexpected:
        raise invalid_request(
            f"Unexpected key(s) in SKILL.md frontmatter: {', '.join(unexpected)}. "
            f"Allowed properties are: {', '.join(ALLOWED_KEYS)}"
        )


def _check_name(name: object) -> str:
    # emulator policy: the API's wording for these name rules is unconfirmed.
    if name is None:
        raise invalid_request("Missing 'name' in SKILL.md frontmatter.")
    if not isinstance(name, str) or not 1 <= len(name) <= NAME_MAX:
        raise invalid_request(f"The skill name must be a string of 1 to {NAME_MAX} characters.")
    if not _NAME_CHARS.fullmatch(name):
        raise invalid_request(
            f"The skill name '{name}' may only contain lowercase letters, digits and hyphens."
        )
    if name.startswith("-") or name.endswith("-") or "--" in name:
        raise invalid_request(
            f"The skill name '{name}' cannot start or end with a hyphen or contain '--'."
        )
    for word in _RESERVED_WORDS:
        if word in name:
            raise invalid_request(
                f"The skill name '{name}' cannot contain the reserved word '{word}'."
            )
    return name


def _check_description(description: object) -> str:
    # emulator policy: wording unconfirmed; "no XML tags" read as no `<tag>`-like markup.
    if description is None:
        raise invalid_request("Missing 'description' in SKILL.md frontmatter.")
    if not isinstance(description, str) or not description.strip():
        raise invalid_request("The skill description must be a non-empty string.")
    if len(description) > DESCRIPTION_MAX:
        raise invalid_request(
            f"The skill description is too long ({len(description)} characters). "
            f"Maximum is {DESCRIPTION_MAX} characters."
        )
    if _XML_TAG.search(description):
        raise invalid_request("The skill description cannot contain XML tags.")
    return description


def _check_optional(data: Mapping[str, Any]) -> None:
    # emulator policy: types of the optional keys follow the open Agent Skills spec.
    compatibility = data.get("compatibility")
    if compatibility is not None and (
        not isinstance(compatibility, str) or not 1 <= len(compatibility) <= COMPATIBILITY_MAX
    ):
        raise invalid_request(
            f"compatibility must be a string of 1 to {COMPATIBILITY_MAX} characters."
        )
    metadata = data.get("metadata")
    if metadata is not None and not _is_string_map(metadata):
        raise invalid_request("metadata must be a mapping of strings to strings.")
    license_ = data.get("license")
    if license_ is not None and not isinstance(license_, str):
        raise invalid_request("license must be a string.")
    tools = data.get("allowed-tools")
    if tools is not None and not _is_tools(tools):
        raise invalid_request("allowed-tools must be a string or a list of strings.")


def _is_string_map(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    )


def _is_tools(value: object) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
