"""The two dialects of the Skills API, and the wire shapes both share.

The current surface names a skill's title `display_name` and its newest version
`latest_version_id`, and addresses a version by its id. The legacy beta dialect, spoken
when a beta version is configured, says `display_title` and `latest_version`, addresses a
version by its epoch-string `version`, and marks every request `?beta=true`. Paths,
multipart uploads and list pages look the same in both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from syncbot.desired import SkillFile
from syncbot.live import ApiSkill, ApiVersion

DialectName = Literal["current", "legacy"]
Page = tuple[list[Mapping[str, Any]], str | None, bool]  # rows, next cursor, has_more


@dataclass(frozen=True)
class Dialect:
    """How one dialect names fields, addresses versions and marks its requests."""

    name: DialectName

    @classmethod
    def for_beta(cls, beta_version: str | None) -> Dialect:
        return cls("legacy" if beta_version else "current")

    @property
    def legacy(self) -> bool:
        return self.name == "legacy"

    @property
    def display_field(self) -> str:
        return "display_title" if self.legacy else "display_name"

    def query(self) -> dict[str, str | int]:
        """The query parameters every request of this dialect carries."""
        return {"beta": "true"} if self.legacy else {}

    def skill(self, raw: Mapping[str, Any]) -> ApiSkill:
        return ApiSkill(
            id=_text(raw, "id"),
            display_name=_optional_text(raw, self.display_field),
            latest_version=_optional_text(
                raw, "latest_version" if self.legacy else "latest_version_id"
            ),
            source=_source(raw.get("source")),
            created_at=_text(raw, "created_at"),
            updated_at=_text(raw, "updated_at"),
        )

    def version(self, raw: Mapping[str, Any]) -> ApiVersion:
        return ApiVersion(
            id=_text(raw, "id"),
            address=_text(raw, "version" if self.legacy else "id"),
            skill_id=_text(raw, "skill_id"),
            name=_text(raw, "name"),
            description=_optional_text(raw, "description") or "",
            created_at=_text(raw, "created_at"),
        )


# --------------------------------------------------------------------- shapes both share


def skill_path(skill_id: str) -> str:
    if not skill_id:
        raise ValueError("skill_id must not be empty")
    return "/v1/skills/" + quote(skill_id, safe="")


def version_path(skill_id: str, address: str) -> str:
    if not address:
        raise ValueError("version address must not be empty")
    return f"{skill_path(skill_id)}/versions/{quote(address, safe='')}"


def upload_parts(name: str, files: Sequence[SkillFile]) -> list[tuple[str, tuple[str, bytes]]]:
    """One `files[]` part per file; the filename keeps the top folder, as the API requires."""
    if not files:
        raise ValueError("a skill upload needs at least one file")
    return [("files[]", (f"{name}/{f.path}", f.data)) for f in files]


def page(body: Mapping[str, Any]) -> Page:
    data = body["data"]
    if not isinstance(data, list) or not all(isinstance(row, Mapping) for row in data):
        raise TypeError("`data` is not a list of objects")
    cursor = body.get("next_page")
    if cursor is not None and not isinstance(cursor, str):
        raise TypeError("`next_page` is not a string")
    return data, cursor or None, bool(body.get("has_more"))


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str):
        raise TypeError(f"`{key}` is not a string")
    return value


def _optional_text(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) else None


def _source(value: Any) -> str:
    """Plain string on the legacy dialect, `{type: ...}` on the current surface."""
    if isinstance(value, Mapping):
        value = value.get("type")
    return value if isinstance(value, str) else ""
