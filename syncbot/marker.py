"""The ownership marker: a nonce our upload request alone carries, in SKILL.md's metadata.

Every create and every new version the bot sends carries a fresh random nonce under
`metadata.syncbot-nonce` in its SKILL.md front matter, and the nonce is journaled in the
environment's own database before the request leaves. An API skill whose content (read
back through the version content endpoint) carries a nonce that this environment
journaled was made by this environment; nothing else is proof (a name, a display name,
a time and even identical content all match another environment's upload of the same
commit).

The marker is added at upload time only: git content, `content_sha256` and every
comparison the planner makes ignore it.
"""

from __future__ import annotations

import io
import re
import secrets
import zipfile
from collections.abc import Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from syncbot.desired import SkillFile
from syncbot.errors import SyncbotError

MARKER_KEY = "syncbot-nonce"
SKILL_MD = "SKILL.md"
_NONCE = re.compile(r"[0-9a-f]{32}")
_DELIMITER = "---"
_METADATA_LINE = re.compile(r"metadata:[ \t]*(#.*)?")
_MARKER_LINE = re.compile(rf'[ \t]*{MARKER_KEY}: "[0-9a-f]{{32}}"[ \t]*')
# a SKILL.md front matter is small; a zip member claiming more is not read
_SKILL_MD_READ_CAP = 1024 * 1024


class MarkerError(SyncbotError):
    """The marker cannot be added to a SKILL.md (it is not the valid file validate passed)."""


def new_nonce() -> str:
    return secrets.token_hex(16)


def with_marker(files: Sequence[SkillFile], nonce: str) -> list[SkillFile]:
    """The files to upload: SKILL.md carries the nonce, every other file is unchanged."""
    if not _NONCE.fullmatch(nonce):
        raise ValueError("a nonce is 32 lowercase hex digits")
    return [
        SkillFile(f.path, mark_skill_md(f.data, nonce)) if f.path == SKILL_MD else f for f in files
    ]


def mark_skill_md(content: bytes, nonce: str) -> bytes:
    """SKILL.md with `metadata.syncbot-nonce: "<nonce>"` set, the rest as written.

    A line is inserted where that is unambiguous (no `metadata` yet, or a block mapping);
    any other shape is rewritten through ruamel's round-trip mode. Either way the result
    is checked to mean exactly the original plus the marker.
    """
    text = content.decode("utf-8")
    lines = text.splitlines(keepends=True)
    end = _closing_line(lines)
    original = _load(lines[1:end])
    eol = "\r\n" if lines[0].endswith("\r\n") else "\n"
    marked = _insert_line(lines, end, original, nonce, eol) or _round_trip(lines, end, nonce)
    expected = dict(original)
    expected["metadata"] = {**(original.get("metadata") or {}), MARKER_KEY: nonce}
    if _load(marked[1 : _closing_line(marked)]) != expected:
        raise MarkerError("SKILL.md: the ownership marker could not be added faithfully")
    return "".join(marked).encode("utf-8")


def read_marker(content: bytes) -> str | None:
    """The nonce a SKILL.md carries, or None (no marker, or not a readable SKILL.md)."""
    try:
        lines = content.decode("utf-8").splitlines(keepends=True)
        data = _load(lines[1 : _closing_line(lines)])
    except (UnicodeDecodeError, MarkerError):
        return None
    metadata = data.get("metadata")
    value = metadata.get(MARKER_KEY) if isinstance(metadata, dict) else None
    return value if isinstance(value, str) and _NONCE.fullmatch(value) else None


def without_marker(content: bytes) -> bytes:
    """SKILL.md as git holds it: the lines `mark_skill_md` inserted are removed."""
    text = content.decode("utf-8")
    lines = text.splitlines(keepends=True)
    try:
        end = _closing_line(lines)
    except MarkerError:
        return content
    kept = list(lines)
    for index in range(end - 1, 0, -1):
        if _MARKER_LINE.fullmatch(kept[index].rstrip("\r\n")):
            del kept[index]
            if index == end - 1 and kept[index - 1].rstrip("\r\n") == "metadata:":
                del kept[index - 1]  # the key was added with the marker
            break
    return "".join(kept).encode("utf-8")


def files_from_zip(archive: bytes, max_bytes: int = 30 * 1024 * 1024) -> dict[str, bytes]:
    """A version's content zip as {path inside the skill folder: bytes}.

    Raises ValueError for a zip that is not one skill folder or that inflates past
    `max_bytes` (the API's own upload limit): what the API sends is still input.
    """
    files: dict[str, bytes] = {}
    total = 0
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        for info in zipped.infolist():
            if info.is_dir():
                continue
            if "/" not in info.filename:
                raise ValueError(f"zip member outside a skill folder: {info.filename!r}")
            with zipped.open(info) as member:
                data = member.read(max_bytes - total + 1)
            total += len(data)
            if total > max_bytes:
                raise ValueError(f"the zip inflates past {max_bytes} bytes")
            files[info.filename.split("/", 1)[1]] = data
    return files


def marker_of_zip(archive: bytes) -> str | None:
    """The nonce in the SKILL.md of a version's content zip; None when absent or unreadable."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            names = [
                n for n in zipped.namelist() if n.count("/") == 1 and n.endswith("/" + SKILL_MD)
            ]
            if len(names) != 1:
                return None
            with zipped.open(names[0]) as member:
                skill_md = member.read(_SKILL_MD_READ_CAP + 1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError):
        return None
    if len(skill_md) > _SKILL_MD_READ_CAP:
        return None
    return read_marker(skill_md)


# --------------------------------------------------------------------- helpers


def _closing_line(lines: Sequence[str]) -> int:
    if not lines or lines[0].removeprefix("\ufeff").rstrip() != _DELIMITER:
        raise MarkerError("SKILL.md does not start with front matter")
    for index in range(1, len(lines)):
        if lines[index].rstrip() == _DELIMITER:
            return index
    raise MarkerError("SKILL.md front matter is not closed")


def _load(lines: Sequence[str]) -> dict[str, Any]:
    try:
        data = YAML(typ="safe", pure=True).load("".join(lines))
    except YAMLError:
        raise MarkerError("SKILL.md front matter is not valid YAML") from None
    if not isinstance(data, dict):
        raise MarkerError("SKILL.md front matter is not a mapping")
    return data


def _insert_line(
    lines: list[str], end: int, data: dict[str, Any], nonce: str, eol: str
) -> list[str] | None:
    entry = f'{MARKER_KEY}: "{nonce}"'
    if "metadata" not in data:
        return [*lines[:end], f"metadata:{eol}", f"  {entry}{eol}", *lines[end:]]
    metadata = data["metadata"]
    if not isinstance(metadata, dict) or MARKER_KEY in metadata:
        return None
    at = next((i for i in range(1, end) if _METADATA_LINE.fullmatch(lines[i].rstrip("\r\n"))), None)
    if at is None:
        return None  # a flow mapping or an unusual spelling: round-trip instead
    indent = _child_indent(lines[at + 1 : end]) if metadata else "  "
    return [*lines[: at + 1], f"{indent}{entry}{eol}", *lines[at + 1 :]]


def _child_indent(lines: Sequence[str]) -> str:
    for line in lines:
        stripped = line.lstrip(" ")
        if stripped.strip() and not stripped.startswith("#"):
            return line[: len(line) - len(stripped)] or "  "
    return "  "


def _round_trip(lines: list[str], end: int, nonce: str) -> list[str]:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    try:
        data = yaml.load("".join(lines[1:end]))
    except YAMLError:
        raise MarkerError("SKILL.md front matter is not valid YAML") from None
    if not isinstance(data.get("metadata"), dict):
        data["metadata"] = CommentedMap()
    data["metadata"][MARKER_KEY] = DoubleQuotedScalarString(nonce)
    out = io.StringIO()
    yaml.dump(data, out)
    return [lines[0], *out.getvalue().splitlines(keepends=True), *lines[end:]]
