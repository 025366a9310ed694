"""Which listed files are read at all, decided before a byte of them is read.

A file is refused, with an error naming it, when its name is not UTF-8 (no target can
store or print such a path); when the bot would skip it (`rollouts/x.yml`: skipped
quietly, a renamed rollouts file would turn every skill off); when git does not track it
(a commit would not hold it, so a local apply and the pull request would disagree); or
when its size alone breaks a limit: a skill file over `limits.max_skill_bytes`, a skill
folder whose files add up to more (its helper files are then left unread), a YAML file
over `limits.max_file_bytes`. Sizes come from the listing (a stat, a git object header),
so a huge file costs nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from syncbot.errors import ConfigError, Location
from syncbot.files.schemas import Limits
from syncbot.files.source import SourceFile

SKILL_MD = "SKILL.md"
SKILL_YAML = "skill.yaml"


def printable_path(path: str) -> str:
    """The path with bytes that are not UTF-8 written as `\\xNN`, so it can be shown."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def admit(
    files: Iterable[SourceFile], limits: Limits, errors: list[ConfigError]
) -> tuple[SourceFile, ...]:
    """The files that may be read; an error is appended for each one refused."""
    named = [f for f in files if _name_ok(f, errors) and _read_by_us(f, errors)]
    over = _skills_over_budget(named, limits.max_skill_bytes, errors)
    sized = [f for f in named if _size_ok(f, limits, errors)]
    return tuple(f for f in sized if not _unread_helper(f, over))


def _name_ok(item: SourceFile, errors: list[ConfigError]) -> bool:
    try:
        item.path.encode("utf-8")
    except UnicodeEncodeError:
        shown = printable_path(item.path)
        message = (
            "the file name is not valid UTF-8: rename it "
            "(git, the Skills API and the database need names that are text)"
        )
        errors.append(ConfigError("file-name-encoding", Location(shown, 1), message))
        return False
    return True


def _read_by_us(item: SourceFile, errors: list[ConfigError]) -> bool:
    if item.ignored:
        message = f"{item.ignored}: rename or move it"
        errors.append(ConfigError("file-ignored", Location(item.path, 1), message))
        return False
    if item.untracked:
        message = (
            "git does not track this file, so no commit holds it and apply does not read it: "
            "`git add` it, delete it, or list it in .gitignore"
        )
        errors.append(ConfigError("file-untracked", Location(item.path, 1), message))
    return not item.untracked


def _skill_part(path: str) -> tuple[str, str] | None:
    parts = path.split("/", 2)
    return (parts[1], parts[2]) if len(parts) == 3 and parts[0] == "skills" else None


def _size_ok(item: SourceFile, limits: Limits, errors: list[ConfigError]) -> bool:
    if item.size is None or item.path == "syncbot.yaml":  # its limit is its own: load.py
        return True
    # everything under skills/ but skill.yaml is uploaded (or is a stray file there)
    uploaded = item.path.startswith("skills/") and not item.path.endswith("/" + SKILL_YAML)
    limit = limits.max_skill_bytes if uploaded else limits.max_file_bytes
    if item.size <= limit:
        return True
    if uploaded:
        message = f"the file is {item.size} bytes, over limits.max_skill_bytes ({limit}); not read"
        errors.append(ConfigError("skill-too-large", Location(item.path, 1), message))
    else:
        message = f"file is {item.size} bytes, over the limit of {limit}"
        errors.append(ConfigError("yaml-too-large", Location(item.path, 1), message))
    return False


def _skills_over_budget(files: list[SourceFile], limit: int, errors: list[ConfigError]) -> set[str]:
    """The skill folders whose uploaded files add up past `limit` (each one reported)."""
    totals: dict[str, int] = defaultdict(int)
    for item in files:
        part = _skill_part(item.path)
        if part is not None and part[1] != SKILL_YAML:
            totals[part[0]] += item.size or 0
    over = {name for name, total in totals.items() if total > limit}
    for name in sorted(over):
        message = f"the skill uploads {totals[name]} bytes, over limits.max_skill_bytes ({limit})"
        where = Location(f"skills/{name}/{SKILL_MD}", 1)
        errors.append(ConfigError("skill-too-large", where, message))
    return over


def _unread_helper(item: SourceFile, over: set[str]) -> bool:
    part = _skill_part(item.path)
    return part is not None and part[0] in over and part[1] not in (SKILL_MD, SKILL_YAML)
