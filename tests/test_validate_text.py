"""validate refuses text that would rewrite a terminal or hide from reviewers: control
characters in any text field of any YAML file (a line break where one line is meant), and
hidden Unicode (bidirectional controls, zero-width characters) in every YAML file, raw or
written as a YAML escape. Each with its file, line and rule id."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from helpers import Content, build_tree, skill_md, skill_yaml, valid_files

from syncbot.files.worktree import WorkTree
from syncbot.lint.findings import Finding
from syncbot.lint.validate import validate

CA = "skills/contract-analysis"
CONTROLS = {
    "escape": "\x1b[8m",
    "carriage return": "\r",
    "nul": "\x00",
    "del": "\x7f",
    "c1": "\x9b",
}


def findings(tmp_path: Path, changes: Mapping[str, Content]) -> list[Finding]:
    files = valid_files()
    files.update(changes)
    return validate(WorkTree(build_tree(tmp_path, files)))


def _routes(**route: Any) -> dict[str, Any]:
    base = {
        "skill": "contract-analysis",
        "category": "legal_analysis",
        "priority": 1,
        "min_confidence": 0.5,
        "patterns": ["contract"],
    }
    return {"routes": [base | route]}


def _categories(text: str) -> dict[str, Any]:
    return {"categories": ["analysis", "drafting", text], "environments": {"staging": {}}}


# field -> (file, content with the text placed in that field, line of the field)
PLACES: dict[str, tuple[str, Callable[[str], Content], int]] = {
    "display_name": (f"{CA}/skill.yaml", lambda t: skill_yaml(display_name="A" + t), 1),
    "skill description": (f"{CA}/skill.yaml", lambda t: skill_yaml(description="d" + t), 2),
    "skill category": (f"{CA}/skill.yaml", lambda t: skill_yaml(category="analysis" + t), 4),
    "version": (f"{CA}/skill.yaml", lambda t: skill_yaml(version="1.0.0" + t), 5),
    "owners": (f"{CA}/skill.yaml", lambda t: skill_yaml(owners=["legal" + t]), 7),
    "route category": ("registry/routes.yaml", lambda t: _routes(category="drafting" + t), 3),
    "route pattern": ("registry/routes.yaml", lambda t: _routes(patterns=["con" + t]), 7),
    "route example": (
        "registry/routes.yaml",
        lambda t: _routes(examples={"match": ["contract" + t]}),
        10,
    ),
    "salt": (
        "rollouts/staging.yaml",
        lambda t: {"contract-analysis": {"percentage": 5, "salt": "s" + t}},
        3,
    ),
    "categories": ("syncbot.yaml", lambda t: _categories("x" + t), 4),
    "recorded query": ("routes-queries.yaml", lambda t: ["a query" + t], 1),
}


@pytest.mark.parametrize("control", sorted(CONTROLS))
@pytest.mark.parametrize("place", sorted(PLACES))
def test_a_control_character_is_refused_with_file_and_line(
    tmp_path: Path, place: str, control: str
) -> None:
    file, content, line = PLACES[place]
    found = findings(tmp_path, {file: content(CONTROLS[control])})
    ours = [f for f in found if f.rule == "text-control-character"]
    assert [(f.file, f.line) for f in ours] == [(file, line)], found
    assert ours[0].severity == "error"


@pytest.mark.parametrize("place", ["display_name", "route category", "salt", "categories"])
def test_a_line_break_is_refused_where_one_line_is_meant(tmp_path: Path, place: str) -> None:
    file, content, _ = PLACES[place]
    found = findings(tmp_path, {file: content("\n\n<!--")})
    assert "text-control-character" in {f.rule for f in found}, found


def test_a_multi_line_skill_md_description_is_still_accepted(tmp_path: Path) -> None:
    text = skill_md("contract-analysis", description="Line one.\nLine two.")
    assert not findings(tmp_path, {f"{CA}/SKILL.md": text})


HIDDEN = {"unicode-bidi": "\u202e", "unicode-invisible": "\u200b"}


@pytest.mark.parametrize("rule", sorted(HIDDEN))
@pytest.mark.parametrize(
    "file", ["registry/routes.yaml", "rollouts/staging.yaml", "syncbot.yaml", "routes-queries.yaml"]
)
def test_hidden_unicode_is_refused_in_every_yaml_file(tmp_path: Path, file: str, rule: str) -> None:
    root = build_tree(tmp_path, valid_files() | {"routes-queries.yaml": ["a contract query"]})
    path = root / file
    path.write_text(path.read_text("utf-8") + f"# a comment{HIDDEN[rule]} at the end\n", "utf-8")
    line = len(path.read_text("utf-8").splitlines())
    found = [(f.rule, f.file, f.line) for f in validate(WorkTree(root))]
    assert (rule, file, line) in found, found


@pytest.mark.parametrize("rule", sorted(HIDDEN))
def test_hidden_unicode_written_as_a_yaml_escape_is_refused(tmp_path: Path, rule: str) -> None:
    escaped = f"\\u{ord(HIDDEN[rule]):04x}"
    text = f'contract-analysis:\n  percentage: 5\n  salt: "salt{escaped}"\n'
    found = [(f.rule, f.file, f.line) for f in findings(tmp_path, {"rollouts/staging.yaml": text})]
    assert (rule, "rollouts/staging.yaml", 3) in found, found
