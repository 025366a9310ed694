"""validate messages that name the file, the line and the fix (issue: messages that stop short)."""

from __future__ import annotations

import json
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


PG_PASSWORD = "Zq7" + "vR2xLp9"


@pytest.mark.parametrize(
    "text",
    [
        f"Connect with postgres://app:{PG_PASSWORD}@db.internal:5432/contracts",
        f"export DATABASE_URL='postgresql://app:{PG_PASSWORD}@10.0.0.5/x'",
        f"see https://bot:{PG_PASSWORD}@git.corp.local/repo.git",
        f"redis://:{PG_PASSWORD}@cache:6379/0",
    ],
)
def test_a_password_in_a_url_is_a_secret_finding(tmp_path: Path, text: str) -> None:
    result = findings(tmp_path, {f"{CA}/SKILL.md": _skill_md_with(text)})
    [finding] = [f for f in result if f.rule == "secret-url-credentials"]
    assert finding.file == f"{CA}/SKILL.md" and finding.line == 8
    assert PG_PASSWORD not in finding.message and "app" not in finding.message.split("(")[1]
    assert finding.severity == "error"


@pytest.mark.parametrize(
    "text",
    [
        "postgres://user:password@localhost:5432/db",
        "postgresql://app:${DB_PASSWORD}@db:5432/x",
        "postgresql://app:$PGPASSWORD@db:5432/x",
        "https://user:<password>@host/path",
        "mysql://root:****@db/x",
        "postgres://app:changeme@db/x",
        f"postgres://app:{PG_PASSWORD}@db.example.com/x",
        "https://example.com/a:b@c",
        "Clause 4: see http://www.example.org/terms for details.",
    ],
)
def test_a_placeholder_url_is_not_flagged(tmp_path: Path, text: str) -> None:
    result = findings(tmp_path, {f"{CA}/SKILL.md": _skill_md_with(text)})
    assert not [f for f in result if f.rule == "secret-url-credentials"], result


def test_a_password_in_a_helper_script_url_is_flagged(tmp_path: Path) -> None:
    script = f'DSN = "postgres://svc:{PG_PASSWORD}@pg.prod:5432/app"\n'
    result = findings(tmp_path, {f"{CA}/scripts/run.py": script})
    assert [(f.rule, f.line) for f in result] == [("secret-url-credentials", 1)]


def _skill_md_with(text: str) -> str:
    front = "---\nname: contract-analysis\ndescription: Does a useful thing.\n---\n"
    return front + "\n# Contract analysis\n\n" + text + "\n"


def test_a_skill_without_route_or_rollout_gets_warnings_at_its_skill_yaml(tmp_path: Path) -> None:
    files = valid_files()
    files["skills/new-skill/SKILL.md"] = _skill_md_with("x").replace(
        "contract-analysis", "new-skill"
    )
    files["skills/new-skill/skill.yaml"] = {
        "display_name": "New Skill",
        "description": "d",
        "type": "prompt",
        "category": "analysis",
        "version": "0.1.0",
    }
    files["rollouts/staging.yaml"] = {"new-skill": 0}
    result = validate(WorkTree(build_tree(tmp_path, files)))
    mine = [(f.rule, f.file, f.line, f.severity) for f in result if f.file.startswith("skills/new")]
    at = "skills/new-skill/skill.yaml"
    assert mine == [
        ("skill-no-rollout", at, 1, "warning"),
        ("skill-no-route", at, 1, "warning"),
    ]
    [rollout] = [f for f in result if f.rule == "skill-no-rollout" and f.file == at]
    assert "rollouts/production.yaml has no entry for 'new-skill'" in rollout.message


def test_the_shipped_example_repository_has_no_reachability_warnings() -> None:
    root = Path(__file__).resolve().parent.parent
    result = validate(WorkTree(root))
    assert not [f for f in result if f.rule in ("skill-no-route", "skill-no-rollout")]


def _properties(node: object) -> list[tuple[str, dict[str, object]]]:
    found: list[tuple[str, dict[str, object]]] = []
    if isinstance(node, dict):
        for name, value in (node.get("properties") or {}).items():
            found.append((name, value))
        for value in node.values():
            found += _properties(value)
    elif isinstance(node, list):
        for value in node:
            found += _properties(value)
    return found


def test_every_property_of_the_shipped_schemas_has_a_description() -> None:
    schemas = Path(__file__).resolve().parent.parent / "schemas"
    files = sorted(schemas.glob("*.schema.json"))
    assert len(files) == 6
    for path in files:
        props = _properties(json.loads(path.read_text("utf-8")))
        missing = [name for name, value in props if not value.get("description")]
        assert not missing, f"{path.name}: no description for {missing}"
    assert sum(len(_properties(json.loads(p.read_text("utf-8")))) for p in files) > 40


def test_a_skill_yaml_description_over_1024_characters_is_an_error(tmp_path: Path) -> None:
    long = "x" * 3000
    meta = dict(valid_files()[f"{CA}/skill.yaml"])  # type: ignore[arg-type]
    meta["description"] = long
    result = findings(tmp_path, {f"{CA}/skill.yaml": meta})
    [finding] = [f for f in result if f.file == f"{CA}/skill.yaml" and f.severity == "error"]
    assert finding.line == 2
    assert "description: is 3000 characters, over the limit of 1024" in finding.message
