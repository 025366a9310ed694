"""`syncbot new skill`: what it writes passes validate at once; it refuses bad input and
writes nothing then; the files it edits keep their comments."""

from __future__ import annotations

from pathlib import Path

import git
import pytest
from helpers import build_tree, valid_files

from syncbot import cli as cli_module
from syncbot.files.worktree import WorkTree
from syncbot.lint.validate import validate
from syncbot.scaffold import name_problem, route_stub
from syncbot.yamledit import EditError, add_rollouts, add_routes


@pytest.fixture
def root(tmp_path: Path) -> Path:
    files = valid_files()
    files["rollouts/staging.yaml"] = "# staging: keep this comment\ncontract-analysis: 100\n"
    return build_tree(tmp_path, files, commit=True)


def run(root: Path, *args: str) -> tuple[int, str]:
    return cli_module.run(["--repo", str(root), *args]), ""


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.parts
    }


@pytest.mark.parametrize("skill_type", ["prompt", "code"])
def test_a_new_skill_passes_validate_at_once(root: Path, skill_type: str) -> None:
    code, _ = run(
        root, "new", "skill", "lease-review", "--category", "analysis", "--type", skill_type
    )
    assert code == 0
    with git.Repo(root) as repo:
        repo.git.add("--all")
    assert [f for f in validate(WorkTree(root)) if f.severity == "error"] == []
    folder = root / "skills/lease-review"
    assert "TODO" in (folder / "SKILL.md").read_text()
    assert f"type: {skill_type}" in (folder / "skill.yaml").read_text()
    assert (folder / "scripts/main.py").exists() == (skill_type == "code")
    staging = (root / "rollouts/staging.yaml").read_text()
    assert staging.startswith("# staging: keep this comment\ncontract-analysis: 100\n")
    assert "lease-review: 0" in staging
    assert "lease-review: 0" in (root / "rollouts/production.yaml").read_text()
    registry = (root / "registry/analysis.yaml").read_text()
    assert "skill: lease-review" in registry and "Please help me with lease review" in registry


def test_two_new_skills_in_a_row_without_git_add_in_between(root: Path) -> None:
    assert run(root, "new", "skill", "lease-review", "--category", "analysis")[0] == 0
    assert run(root, "new", "skill", "deed-check", "--category", "research")[0] == 0
    with git.Repo(root) as repo:
        repo.git.add("--all")
    assert [f for f in validate(WorkTree(root)) if f.severity == "error"] == []


@pytest.mark.parametrize(
    ("name", "category", "message"),
    [
        ("nda-drafting", "drafting", "exists already"),
        ("Bad--name", "analysis", "not a valid skill name"),
        ("claude-helper", "analysis", "reserved word 'claude'"),
        ("lease-review", "tax", "unknown category 'tax'"),
    ],
)
def test_refusals_write_nothing(
    root: Path, name: str, category: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(root)
    code = cli_module.run(["--repo", str(root), "new", "skill", name, "--category", category])
    assert code == 1
    assert message in capsys.readouterr().err
    assert snapshot(root) == before


def test_a_display_name_taken_by_another_skill_is_refused(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "contract-analysis" is the display name "Contract Analysis": a new skill of
    # another folder name with the same words would repeat it
    (root / "skills/contract-analysis/skill.yaml").write_text(
        (root / "skills/contract-analysis/skill.yaml")
        .read_text()
        .replace("Contract Analysis", "Lease Review")
    )
    before = snapshot(root)
    code = cli_module.run(
        ["--repo", str(root), "new", "skill", "lease-review", "--category", "analysis"]
    )
    assert code == 1
    assert "skill-display-name-duplicate" in capsys.readouterr().err
    assert snapshot(root) == before


def test_name_rules_match_validate() -> None:
    assert name_problem("contract-analysis-ro") is None
    for bad in ("-x", "x-", "a--b", "A", "", "x" * 65, "my-anthropic-skill"):
        assert name_problem(bad) is not None


def test_round_trip_edits_keep_comments_and_refuse_a_taken_name() -> None:
    text = "# header\n# more\na: 5  # why five\nb:\n  percentage: 25\n  salt: b  # kept\n"
    edited = add_rollouts(text, {"c": 0}, "rollouts/x.yaml", "new")
    assert edited == text + "c: 0  # new\n"
    assert add_rollouts("# only a comment\n", {"c": 0}, "p") == "# only a comment\nc: 0\n"
    assert add_rollouts("{}\n", {"c": 0}, "p") == "c: 0\n"
    with pytest.raises(EditError, match="already has an entry for a"):
        add_rollouts(text, {"a": 0}, "rollouts/x.yaml")


def test_a_route_is_appended_quoted_whatever_its_text() -> None:
    text = "# routes\nroutes:\n  - skill: a  # first\n    category: x\n"
    stub = route_stub("b", "x") | {"patterns": ["x: y? [z]"]}
    edited = add_routes(text, [stub], "registry/x.yaml")
    assert edited.startswith(text)
    assert '      - "x: y? [z]"\n' in edited
    assert '        - "What is the weather in Cluj tomorrow?"\n' in edited
