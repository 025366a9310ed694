"""One skill folder: its SKILL.md front matter, its skill.yaml and its uploaded files."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from syncbot.canonical import framed_sha256
from syncbot.desired import SkillFile
from syncbot.errors import ConfigError, ConfigErrors, Location
from syncbot.files.schema_errors import parse_model
from syncbot.files.skill_schemas import SkillFrontMatter, SkillMeta
from syncbot.files.source import SourceFile
from syncbot.files.text import parse_storable, unstorable_text
from syncbot.files.yamlsafe import LineMap, decode_utf8, load_yaml, split_front_matter

SKILL_MD = "SKILL.md"
SKILL_YAML = "skill.yaml"


@dataclass(frozen=True)
class SkillSource:
    """A folder `skills/<name>`; the models are None when their file did not parse."""

    name: str
    files: tuple[SourceFile, ...]
    front_matter: SkillFrontMatter | None = None
    meta: SkillMeta | None = None
    body_line: int = 1  # 1-based line of SKILL.md where the Markdown body starts

    @property
    def folder(self) -> str:
        return f"skills/{self.name}"

    @property
    def complete(self) -> bool:
        return self.front_matter is not None and self.meta is not None

    @cached_property
    def _uploaded_sources(self) -> tuple[tuple[str, SourceFile], ...]:
        """Every regular file of the folder except skill.yaml, by path relative to it."""
        prefix = self.folder + "/"
        found = [
            (f.path.removeprefix(prefix), f)
            for f in self.files
            if f.size is not None and f.path != prefix + SKILL_YAML
        ]
        return tuple(sorted(found, key=lambda pair: pair[0]))

    @cached_property
    def uploaded(self) -> tuple[SkillFile, ...]:
        """The uploaded files with their bytes (read here, if not read before)."""
        return tuple(SkillFile(path, f.data or b"") for path, f in self._uploaded_sources)

    @cached_property
    def content_sha256(self) -> str:
        """The same hash as `desired.content_sha256(self.uploaded)`, streamed from the files."""
        entries = self._uploaded_sources
        return framed_sha256((path, f.size or 0, f.chunks()) for path, f in entries)

    @property
    def uploaded_bytes(self) -> int:
        return sum(f.size or 0 for _, f in self._uploaded_sources)


def group_skills(files: tuple[SourceFile, ...]) -> dict[str, tuple[SourceFile, ...]]:
    """Files of each `skills/<name>/` folder; entries directly in `skills/` are left out."""
    groups: dict[str, list[SourceFile]] = defaultdict(list)
    for item in files:
        parts = item.path.split("/", 2)
        if len(parts) == 3 and parts[0] == "skills":
            groups[parts[1]].append(item)
    return {name: tuple(items) for name, items in sorted(groups.items())}


def read_skill(
    name: str,
    files: tuple[SourceFile, ...],
    max_bytes: int,
    errors: list[ConfigError],
    lines: dict[str, LineMap],
) -> SkillSource:
    """Parse the folder's two metadata files; problems are appended to `errors`."""
    by_path = {f.path: f for f in files}
    folder = f"skills/{name}"
    front_matter, body_line = None, 1
    md = _required(by_path, f"{folder}/{SKILL_MD}", errors)
    if md is not None:
        front_matter, body_line = _read_skill_md(name, md, max_bytes, errors, lines)
    meta = None
    yml = _required(by_path, f"{folder}/{SKILL_YAML}", errors)
    if yml is not None:
        meta = _collect(errors, lambda: _read_meta(yml, max_bytes, lines, errors))
    return SkillSource(name, files, front_matter, meta, body_line)


def _required(
    by_path: dict[str, SourceFile], path: str, errors: list[ConfigError]
) -> tuple[str, bytes] | None:
    item = by_path.get(path)
    file_name = path.rsplit("/", 1)[-1]
    if item is None and any(e.location.file == path for e in errors):
        return None  # there, but refused before reading (its size): already reported
    if item is None:
        folder = path.rsplit("/", 1)[0]
        near = _misnamed(by_path, folder, file_name)
        message = f"the skill folder has no {file_name}"
        if near is not None:
            message = f"found {near}: the file must be named {file_name} (rename it)"
            path = f"{folder}/{near}"
        errors.append(ConfigError("skill-missing-file", Location(path, 1), message))
        return None
    if item.data is None:
        message = f"{file_name} must be a regular file, not a symbolic link"
        errors.append(ConfigError("file-symlink", Location(path, 1), message))
        return None
    return path, item.data


# the spellings a person means when they write one of the two metadata file names
_SAME_KIND = {SKILL_MD: (".md", ".markdown"), SKILL_YAML: (".yaml", ".yml")}


def _misnamed(by_path: dict[str, SourceFile], folder: str, wanted: str) -> str | None:
    """A file of `folder` that is `wanted` in another case or extension (skill.md, skill.yml)."""
    stem = wanted.rsplit(".", 1)[0].casefold()
    for path in sorted(by_path):
        parent, _, name = path.rpartition("/")
        base, dot, ext = name.rpartition(".")
        same_kind = f".{ext.casefold()}" in _SAME_KIND[wanted]
        if parent == folder and dot and base.casefold() == stem and same_kind:
            return name
    return None


def _collect(errors: list[ConfigError], read: Any) -> Any:
    try:
        return read()
    except ConfigErrors as exc:
        errors.extend(exc.errors)
    except ConfigError as exc:
        errors.append(exc)
    return None


def _read_meta(
    item: tuple[str, bytes], max_bytes: int, lines: dict[str, LineMap], errors: list[ConfigError]
) -> SkillMeta:
    path, data = item
    value, line_map = load_yaml(data, path, max_bytes=max_bytes)
    lines[path] = line_map
    unstorable = unstorable_text(value, path, line_map, data)
    return parse_storable(lambda: parse_model(SkillMeta, value, path, line_map), unstorable, errors)


def _read_skill_md(
    name: str,
    item: tuple[str, bytes],
    max_bytes: int,
    errors: list[ConfigError],
    lines: dict[str, LineMap],
) -> tuple[SkillFrontMatter | None, int]:
    path, data = item
    split = _collect(errors, lambda: split_front_matter(decode_utf8(data, path), path))
    if split is None:
        return None, 1
    front, _, offset = split
    body_line = offset + front.count("\n") + 2
    loaded = _collect(
        errors, lambda: load_yaml(front, path, max_bytes=max_bytes, line_offset=offset)
    )
    if loaded is None:
        return None, body_line
    value, line_map = loaded
    lines[path] = line_map
    unstorable = unstorable_text(value, path, line_map, front)
    mismatch = _name_mismatch(name, value, path, line_map)
    if mismatch is not None:
        errors.append(mismatch)

    def parse() -> SkillFrontMatter:
        return parse_model(SkillFrontMatter, value, path, line_map)

    model = _collect(errors, lambda: parse_storable(parse, unstorable, errors))
    return model, body_line


def _name_mismatch(folder: str, value: Any, path: str, line_map: LineMap) -> ConfigError | None:
    name = value.get("name") if isinstance(value, dict) else None
    if not isinstance(name, str) or name == folder:
        return None
    message = (
        f"name {name!r} does not match the folder name {folder!r} "
        "(the Skills API requires them to be equal)"
    )
    return ConfigError("skill-name-mismatch", Location(path, line_map.line(("name",))), message)
