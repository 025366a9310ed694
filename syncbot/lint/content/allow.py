"""skill.yaml `allow` entries applied to findings: only ALLOWABLE_RULES can be waived."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence

from syncbot.files.skill_schemas import ALLOWABLE_RULES
from syncbot.lint.findings import Finding


def filter_allowed(
    findings: Iterable[Finding],
    allows: Sequence[tuple[str, str | None]],
    *,
    skill_dir: str | None = None,
) -> list[Finding]:
    """Drop the findings covered by a skill.yaml `allow` entry `(rule, path or None)`.

    Paths are relative to the skill folder: by default `skills/<name>` taken from each
    finding's file. A path names a file or a directory; None covers the whole skill.
    Only ALLOWABLE_RULES can be allowed: secrets and file or Unicode findings always stay.
    """
    return [f for f in findings if not _is_allowed(f, allows, skill_dir)]


def _is_allowed(
    finding: Finding, allows: Sequence[tuple[str, str | None]], skill_dir: str | None
) -> bool:
    if finding.rule not in ALLOWABLE_RULES:
        return False
    relative = _skill_relative(finding.file, skill_dir)
    if relative is None:
        return False
    return any(rule == finding.rule and _covers(where, relative) for rule, where in allows)


def _skill_relative(file: str, skill_dir: str | None) -> str | None:
    if skill_dir is None:
        parts = file.split("/")
        return "/".join(parts[2:]) if len(parts) > 2 and parts[0] == "skills" else file
    prefix = skill_dir.rstrip("/") + "/"
    return file[len(prefix) :] if file.startswith(prefix) else None


def _covers(where: str | None, relative: str) -> bool:
    if where is None:
        return True
    target = posixpath.normpath(where.strip("/"))
    return target == "." or relative == target or relative.startswith(target + "/")
