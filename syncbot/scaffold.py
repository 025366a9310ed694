"""Files for a new skill (`syncbot new skill`), and the check that files about to be
written pass validate, run over the repository as it would be after writing them.

Everything here is pure except `validate_overlay`, which reads the work tree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncbot.files.load import LoadedRepo
from syncbot.files.source import SourceFile
from syncbot.files.worktree import WorkTree
from syncbot.lint.findings import Finding
from syncbot.lint.validate import validate_and_load

NAME_RULE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
RESERVED_WORDS = ("anthropic", "claude")
TYPES = ("prompt", "code")


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a skill (the rules validate applies), or None."""
    if not 1 <= len(name) <= 64 or not NAME_RULE.fullmatch(name):
        return (
            f"{name!r} is not a valid skill name: 1-64 characters of a-z, 0-9 and '-', "
            "without a leading, trailing or doubled hyphen"
        )
    reserved = [word for word in RESERVED_WORDS if word in name]
    if reserved:
        return f"{name!r} is not a valid skill name: it contains the reserved word {reserved[0]!r}"
    return None


def display_name(name: str) -> str:
    return " ".join(word.capitalize() for word in name.split("-"))


def skill_files(name: str, category: str, skill_type: str) -> dict[str, bytes]:
    """The folder of a new skill, by path relative to it; passes validate as written."""
    title = display_name(name)
    files = {
        "SKILL.md": _SKILL_MD.format(name=name, title=title),
        "skill.yaml": _SKILL_YAML.format(title=title, type=skill_type, category=category),
    }
    if skill_type == "code":
        files["scripts/main.py"] = _SCRIPT.format(name=name)
    return {path: text.encode("utf-8") for path, text in files.items()}


def route_stub(name: str, category: str) -> dict[str, Any]:
    """A route for the new skill: one literal pattern and examples, for the author to widen."""
    words = " ".join(name.split("-"))
    return {
        "skill": name,
        "category": category,
        "priority": 1,
        "min_confidence": 0.5,
        "patterns": [words],
        "examples": {
            "match": [f"Please help me with {words}"],
            "no_match": ["What is the weather in Cluj tomorrow?"],
        },
    }


_SKILL_MD = """\
---
name: {name}
description: "TODO: say in one or two sentences what {title} does and when to use it."
---
# {title}

TODO: the instructions Claude follows when this skill is used. Write them for a capable
colleague who has never seen the task.

## When to use

- TODO: the requests this skill is for.
- TODO: the requests it is NOT for (and which skill handles them instead).

## Steps

1. TODO: what to read or ask for first.
2. TODO: what to check, in order.
3. TODO: what to produce.

## Output

TODO: the shape of the answer (headings, a table, a checklist), and its language.

## Examples

**Request:** TODO: a typical request.

**Good answer:** TODO: what a good answer contains.
"""

_SKILL_YAML = """\
# yaml-language-server: $schema=../../schemas/skill.schema.json
display_name: {title}
description: "TODO: what this skill does, for the platform's catalogue"
type: {type}
category: {category}
version: "1.0.0"
"""

_SCRIPT = '''\
"""Helper script of the {name} skill: TODO describe what it computes."""

import sys


def main(argv: list[str]) -> int:
    print("TODO: implement", *argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
'''


# --------------------------------------------------------------------- checking


@dataclass(frozen=True)
class _Overlay:
    """A Source: the work tree with some files replaced or added (not written yet)."""

    commit: str | None
    found: tuple[SourceFile, ...]

    def files(self) -> tuple[SourceFile, ...]:
        return self.found


def validate_overlay(root: Path, overlay: Mapping[str, bytes]) -> tuple[LoadedRepo, list[Finding]]:
    """Validate the repository at `root` as it would be with `overlay` (path -> bytes) written
    and every file `git add`ed: files not tracked yet (a skill scaffolded a minute ago) are
    read as if they were."""
    tree = WorkTree(root)
    kept = [_as_tracked(f) for f in tree.files() if f.path not in overlay]
    added = [SourceFile(path, data) for path, data in overlay.items()]
    return validate_and_load(_Overlay(tree.commit, tuple(sorted([*kept, *added]))))


def _as_tracked(item: SourceFile) -> SourceFile:
    if not item.untracked or item.is_symlink or item.data is None:
        return item
    return SourceFile(item.path, item.data)


def errors_in(findings: list[Finding], prefixes: tuple[str, ...]) -> list[Finding]:
    """The error findings in files under any of `prefixes`."""
    return [f for f in findings if f.severity == "error" and f.file.startswith(prefixes)]
