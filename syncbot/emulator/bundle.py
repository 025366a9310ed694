"""An uploaded file set ("bundle"): path rules, size limit and its SKILL.md."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from syncbot.emulator.errors import EmulatorError, invalid_request
from syncbot.emulator.frontmatter import parse_skill_md

SKILL_MD = "SKILL.md"
DEFAULT_MAX_UPLOAD_BYTES = 30 * 1024 * 1024
_ONE_TOP_FOLDER = (
    "All files must be in the same top-level directory and must include a SKILL.md file "
    "at the root of that directory."
)
_SKILL_MD_PLACE = "SKILL.md file must be exactly in the top-level folder."


@dataclass(frozen=True)
class Bundle:
    """A validated upload: `directory` is its top folder, `files` maps full paths to bytes."""

    directory: str
    name: str
    description: str
    files: Mapping[str, bytes]

    @property
    def size(self) -> int:
        return sum(len(data) for data in self.files.values())


def build_bundle(
    parts: Iterable[tuple[str, bytes]], *, max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
) -> Bundle:
    """Check an upload as the API does and return it; raise EmulatorError otherwise."""
    files = _collect(parts)
    if sum(len(data) for data in files.values()) > max_bytes:
        raise EmulatorError(413)  # emulator policy: 413 (not 400) for the skill size limit
    directory = _top_folder(files)
    meta = parse_skill_md(files[f"{directory}/{SKILL_MD}"])
    if meta.name != directory:
        raise invalid_request(
            f"The folder name '{directory}' must match the skill name '{meta.name}' in SKILL.md."
        )
    return Bundle(directory, meta.name, meta.description, MappingProxyType(files))


def _collect(parts: Iterable[tuple[str, bytes]]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path, data in parts:
        _check_path(path)
        if path in files:
            raise invalid_request(f"Duplicate file path in upload: {path}")  # emulator policy
        files[path] = data
    if not files:
        raise invalid_request("No files provided")
    return files


def _check_path(path: str) -> None:
    # emulator policy: the SDK's own extractor refuses such paths; the API's answer is unknown.
    segments = path.split("/")
    bad = (
        not path
        or path.startswith("/")
        or "\\" in path
        or "\x00" in path
        or (len(segments[0]) == 2 and segments[0][1] == ":")
        or any(segment in ("", ".", "..") for segment in segments)
    )
    if bad:
        raise invalid_request(f"Invalid file path in upload: {path!r}")


def _top_folder(files: Mapping[str, bytes]) -> str:
    tops = set()
    for path in files:
        if "/" not in path:
            raise invalid_request(_SKILL_MD_PLACE if path == SKILL_MD else _ONE_TOP_FOLDER)
        tops.add(path.split("/", 1)[0])
    if len(tops) != 1:
        raise invalid_request(_ONE_TOP_FOLDER)
    directory = tops.pop()
    if f"{directory}/{SKILL_MD}" not in files:
        raise invalid_request(_SKILL_MD_PLACE)
    return directory
