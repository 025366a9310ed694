"""The uploaded files of skills at an earlier commit (what a plan's explanations compare)."""

from __future__ import annotations

from pathlib import Path

from syncbot.files.gittree import GitTree
from syncbot.files.skills import SkillSource, group_skills
from syncbot.files.source import SourceError


def skill_files_at(root: Path, sha: str, names: list[str]) -> dict[str, dict[str, bytes]]:
    """Skill name -> {path in the skill folder: bytes} at `sha`; {} when the commit is not
    in the repository (a shallow clone, another repository)."""
    try:
        groups = group_skills(GitTree(root, sha).files())
    except SourceError:
        return {}
    return {
        name: {f.path: f.data for f in SkillSource(name, groups.get(name, ())).uploaded}
        for name in names
    }
