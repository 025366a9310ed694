"""The shipped CODEOWNERS puts the policy and what enforces it under the platform owners."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLATFORM = "@legal-ai/platform"


def rules() -> list[tuple[str, list[str]]]:
    text = (ROOT / ".github" / "CODEOWNERS").read_text("utf-8")
    found = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            found.append((words[0], words[1:]))
    return found


def matches(pattern: str, path: str) -> bool:
    """GitHub's rules for the anchored patterns this file uses: `/dir/` owns everything
    below it, `/file` only that file."""
    anchored = pattern.lstrip("/")
    if anchored.endswith("/"):
        return path.startswith(anchored)
    return fnmatch.fnmatchcase(path, anchored)


def owners(path: str) -> list[str]:
    """The last matching rule wins, as on GitHub."""
    found: list[str] = []
    for pattern, names in rules():
        if matches(pattern, path):
            found = names
    return found


@pytest.mark.parametrize(
    "path",
    [
        "syncbot.yaml",
        ".github/workflows/pr.yml",
        ".github/workflows/apply.yml",
        ".github/scripts/no-commands",
        ".github/CODEOWNERS",
        "syncbot/policy.py",
        "pyproject.toml",
    ],
)
def test_policy_and_its_enforcement_need_the_platform_owners(path: str) -> None:
    assert (ROOT / path).exists(), path
    assert owners(path) == [PLATFORM]


@pytest.mark.parametrize("path", ["skills/x/SKILL.md", "rollouts/production.yaml"])
def test_everyday_changes_need_no_platform_review(path: str) -> None:
    assert owners(path) == []


def test_every_rule_names_an_owner() -> None:
    assert rules() and all(names and all(n.startswith("@") for n in names) for _, names in rules())
