"""validate messages that name the file, the line and the fix (issue: messages that stop short)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from helpers import Content, build_tree, commit_all, valid_files

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


GH_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def secret_message(tmp_path: Path) -> str:
    result = validate(WorkTree(tmp_path))
    [finding] = [f for f in result if f.rule == "secret-github-token"]
    assert GH_TOKEN[4:] not in finding.message
    return finding.message


def test_an_uncommitted_secret_is_not_called_exposed(tmp_path: Path) -> None:
    tmp_path = build_tree(tmp_path, valid_files(), commit=True)
    (tmp_path / CA / "scripts/run.py").write_text(f"TOKEN = {GH_TOKEN!r}\n")
    message = secret_message(tmp_path)
    assert "no commit holds it yet: remove it before committing" in message
    assert "git history" not in message


def test_a_committed_secret_says_revoke_with_the_commit(tmp_path: Path) -> None:
    tmp_path = build_tree(tmp_path, valid_files(), commit=True)
    (tmp_path / CA / "scripts/run.py").write_text(f"TOKEN = {GH_TOKEN!r}\n")
    sha = commit_all(tmp_path, "oops")
    message = secret_message(tmp_path)
    assert f"it is in git history (commit {sha[:7]}" in message
    assert "revoke it in GitHub" in message


def test_a_secret_outside_any_git_repository_is_not_called_exposed(tmp_path: Path) -> None:
    tmp_path = build_tree(tmp_path, valid_files())
    (tmp_path / CA / "scripts/run.py").write_text(f"TOKEN = {GH_TOKEN!r}\n")
    assert "remove it before committing" in secret_message(tmp_path)
