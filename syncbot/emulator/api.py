"""The Skills API endpoints, independent of HTTP plumbing: request in, response out."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncbot.emulator.bundle import DEFAULT_MAX_UPLOAD_BYTES
from syncbot.emulator.dialects import (
    Dialect,
    render_deleted_skill,
    render_deleted_version,
    render_skill,
    render_version,
)
from syncbot.emulator.errors import invalid_request
from syncbot.emulator.multipart import FormData, parse_form
from syncbot.emulator.pagination import paginate, parse_limit
from syncbot.emulator.records import SkillRecord, VersionRecord
from syncbot.emulator.state import EmulatorState, VersionKey

# emulator policy: the bare `files` name is accepted too (one report says the API refuses it).
FILE_FIELDS = ("files[]", "files")
TITLE_MAX = 255
LIST_SKILLS_MAX = {Dialect.CURRENT: 1000, Dialect.LEGACY: 100}
LIST_VERSIONS_MAX = 1000
# emulator policy: filters accepted per dialect; other values are 400.
SOURCES = {
    Dialect.CURRENT: ("custom", "anthropic", "anthropic_example", "plugin"),
    Dialect.LEGACY: ("custom", "anthropic"),
}
TITLE_FIELD = {Dialect.CURRENT: "display_name", Dialect.LEGACY: "display_title"}


@dataclass(frozen=True)
class ApiRequest:
    method: str
    params: Mapping[str, str]
    query: Mapping[str, list[str]]
    dialect: Dialect
    content_type: str = ""
    body: bytes = b""

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass
class ApiResponse:
    body: dict[str, Any] | bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    upload: bool = False  # a successful create skill / create version


Endpoint = Callable[[ApiRequest], ApiResponse]


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern[str]
    endpoints: Mapping[str, str]  # method -> SkillsApi method name


def _route(template: str, **endpoints: str) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(template, re.compile(f"^{regex}$"), endpoints)


ROUTES = (
    _route("/v1/skills", GET="list_skills", POST="create_skill"),
    _route("/v1/skills/{skill_id}", GET="get_skill", DELETE="delete_skill"),
    _route("/v1/skills/{skill_id}/versions", GET="list_versions", POST="create_version"),
    _route("/v1/skills/{skill_id}/versions/{version}", GET="get_version", DELETE="delete_version"),
    _route("/v1/skills/{skill_id}/versions/{version}/content", GET="download_version"),
)


def match_route(path: str) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        found = route.pattern.match(path)
        if found:
            return route, found.groupdict()
    return None


class SkillsApi:
    """One method per endpoint; each raises EmulatorError for an API error answer."""

    def __init__(self, state: EmulatorState, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES):
        self.state = state
        self.max_upload_bytes = max_upload_bytes

    def endpoint(self, route: Route, method: str) -> Endpoint | None:
        name = route.endpoints.get(method)
        return None if name is None else getattr(self, name)

    def create_skill(self, request: ApiRequest) -> ApiResponse:
        form = parse_form(request.content_type, request.body)
        title = _title(form, TITLE_FIELD[request.dialect])
        skill = self.state.create_skill(
            _files(form),
            title=title,
            unique_title=request.dialect is Dialect.LEGACY,
            max_bytes=self.max_upload_bytes,
        )
        return ApiResponse(render_skill(skill, request.dialect), upload=True)

    def list_skills(self, request: ApiRequest) -> ApiResponse:
        dialect = request.dialect
        limit = parse_limit(request.arg("limit"), LIST_SKILLS_MAX[dialect])
        source = request.arg("source") or None
        if source is not None and source not in SOURCES[dialect]:
            raise invalid_request(
                f"source: Input should be one of {', '.join(SOURCES[dialect])}, got {source!r}"
            )
        page = paginate(
            self.state.skills(source),
            kind="skills",
            key=_skill_key,
            limit=limit,
            cursor=request.arg("page"),
            render=lambda skill: render_skill(skill, dialect),
        )
        return ApiResponse(page)

    def get_skill(self, request: ApiRequest) -> ApiResponse:
        skill = self.state.get_skill(request.params["skill_id"])
        return ApiResponse(render_skill(skill, request.dialect))

    def delete_skill(self, request: ApiRequest) -> ApiResponse:
        cascade = request.dialect is Dialect.CURRENT
        skill = self.state.delete_skill(request.params["skill_id"], cascade=cascade)
        return ApiResponse(render_deleted_skill(skill))

    def create_version(self, request: ApiRequest) -> ApiResponse:
        form = parse_form(request.content_type, request.body)
        _no_fields(form)
        version = self.state.create_version(
            request.params["skill_id"], _files(form), max_bytes=self.max_upload_bytes
        )
        return ApiResponse(render_version(version, request.dialect), upload=True)

    def list_versions(self, request: ApiRequest) -> ApiResponse:
        dialect = request.dialect
        skill = self.state.get_skill(request.params["skill_id"])
        page = paginate(
            list(reversed(skill.versions)),
            kind=f"versions:{skill.id}",
            key=_version_key,
            limit=parse_limit(request.arg("limit"), LIST_VERSIONS_MAX),
            cursor=request.arg("page"),
            render=lambda version: render_version(version, dialect),
        )
        return ApiResponse(page)

    def get_version(self, request: ApiRequest) -> ApiResponse:
        version = self._version(request)
        return ApiResponse(render_version(version, request.dialect))

    def delete_version(self, request: ApiRequest) -> ApiResponse:
        key, address = _version_address(request)
        version = self.state.delete_version(
            request.params["skill_id"],
            address,
            key,
            keep_one=request.dialect is Dialect.CURRENT,
        )
        return ApiResponse(render_deleted_version(version, request.dialect))

    def download_version(self, request: ApiRequest) -> ApiResponse:
        # emulator policy: the content type of this optional endpoint is unconfirmed.
        version = self._version(request)
        headers = {"Content-Type": "application/zip"}
        return ApiResponse(_zip(version), headers=headers)

    def _version(self, request: ApiRequest) -> VersionRecord:
        key, address = _version_address(request)
        return self.state.get_version(request.params["skill_id"], address, key)


def _skill_key(skill: SkillRecord) -> int:
    return skill.seq


def _version_key(version: VersionRecord) -> int:
    return int(version.version)


def _version_address(request: ApiRequest) -> tuple[VersionKey, str]:
    """Legacy requests address versions by epoch string, current ones by id."""
    address = request.params["version"]
    if address == "latest":
        # emulator policy: the SDK notes these endpoints reject the `latest` alias.
        raise invalid_request("Invalid version format: 'latest' is only valid in Messages.")
    if request.dialect is Dialect.LEGACY:
        if not (address.isascii() and address.isdigit()):
            raise invalid_request("Invalid version format")  # emulator policy: wording unconfirmed
        return "version", address
    return "id", address


def _files(form: FormData) -> list[tuple[str, bytes]]:
    files = []
    for name, filename, data in form.files:
        if name not in FILE_FIELDS:
            raise invalid_request(f"Unexpected file field: {name}")  # emulator policy
        files.append((filename, data))
    return files


def _title(form: FormData, field_name: str) -> str | None:
    """The optional label field; any other text field is refused (emulator policy)."""
    title: str | None = None
    for name, value in form.fields:
        if name != field_name or title is not None:
            raise invalid_request(f"Unexpected form field: {name}")
        title = value
    if title is not None and (
        not title.strip() or "\n" in title or "\r" in title or len(title) > TITLE_MAX
    ):
        raise invalid_request(
            f"{field_name} must be a single non-empty line of at most {TITLE_MAX} characters."
        )
    return title


def _no_fields(form: FormData) -> None:
    if form.fields:
        raise invalid_request(f"Unexpected form field: {form.fields[0][0]}")


def _zip(version: VersionRecord) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(version.files):
            archive.writestr(path, version.files[path])
    return buffer.getvalue()
