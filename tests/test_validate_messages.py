"""validate messages that name the file, the line and the fix (issue: messages that stop short)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from helpers import Content, build_tree, skill_md, skill_yaml, valid_files

from syncbot.files.worktree import WorkTree
from syncbot.lint.findings import Finding
from syncbot.lint.validate import validate

CA = "skills/contract-analysis"


def findings(tmp_path: Path, changes: Mapping[str, Content]) -> list[Finding]:
    files = valid_files()
    files.update(changes)
    return validate(WorkTree(build_tree(tmp_path, files)))


@pytest.mark.parametrize(
    ("wrong", "right"),
    [
        ("skill.md", "SKILL.md"),
        ("Skill.md", "SKILL.md"),
        ("SKILL.MD", "SKILL.md"),
        ("skill.yml", "skill.yaml"),
        ("Skill.YAML", "skill.yaml"),
    ],
)
def test_a_misnamed_metadata_file_is_named_with_the_rename(
    tmp_path: Path, wrong: str, right: str
) -> None:
    original = valid_files()[f"{CA}/{right}"]
    result = findings(tmp_path, {f"{CA}/{right}": None, f"{CA}/{wrong}": original})
    [missing] = [f for f in result if f.rule == "skill-missing-file"]
    assert missing.file == f"{CA}/{wrong}"
    assert missing.message == f"found {wrong}: the file must be named {right} (rename it)"


def test_a_missing_file_without_a_lookalike_says_it_is_missing(tmp_path: Path) -> None:
    result = findings(tmp_path, {f"{CA}/skill.yaml": None, f"{CA}/notes.md": "x\n"})
    [missing] = [f for f in result if f.rule == "skill-missing-file"]
    assert missing.message == "the skill folder has no skill.yaml"


_ = (skill_md, skill_yaml)
