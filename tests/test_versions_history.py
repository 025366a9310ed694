"""`validate --base`: a version names one content forever, and a `git revert` passes.

Every test builds a real git repository and runs validate on two of its commits, the way
the pull-request workflow does (head against the PR's base).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import git
import pytest
from helpers import Content, build_tree, commit_all, skill_md, skill_yaml, valid_files, write_tree

from syncbot.files.gittree import GitTree
from syncbot.files.history import SkillHistory, VersionUse
from syncbot.lint.findings import Finding
from syncbot.lint.validate import validate

NDA = "skills/nda-drafting"
NEW = "skills/clause-search"


def nda(version: str, text: str = "Instructions.") -> dict[str, Content]:
    return {
        f"{NDA}/skill.yaml": skill_yaml(
            display_name="NDA Drafting", category="drafting", version=version
        ),
        f"{NDA}/SKILL.md": skill_md("nda-drafting", "Drafts NDAs.") + text + "\n",
    }


def clause_search(version: str = "1.0.0", text: str = "Searches.") -> dict[str, Content]:
    return {
        f"{NEW}/skill.yaml": skill_yaml(display_name="Clause Search", version=version),
        f"{NEW}/SKILL.md": skill_md("clause-search") + text + "\n",
    }


def start(tmp_path: Path, files: dict[str, Content] | None = None) -> Path:
    tree = valid_files()
    tree.update(nda("1.0.0"))
    tree.update(files or {})
    return build_tree(tmp_path, tree, commit=True)


def change(root: Path, files: dict[str, Content], message: str = "change") -> str:
    write_tree(root, files)
    return commit_all(root, message)


def revert(root: Path, ref: str = "HEAD") -> str:
    repo = git.Repo(root)
    repo.git.revert(ref, no_edit=True)
    return str(repo.head.commit.hexsha)


def check(root: Path, head: str = "HEAD", base: str = "HEAD~1") -> list[tuple[str, str]]:
    return [(f.rule, f.file) for f in errors(root, head, base)]


def errors(root: Path, head: str = "HEAD", base: str = "HEAD~1") -> list[Finding]:
    found = validate(GitTree(root, head), base=GitTree(root, base))
    return [f for f in found if f.severity == "error"]


def test_revert_of_a_version_bump_passes(tmp_path: Path) -> None:
    root = start(tmp_path)
    change(root, nda("1.1.0", "New clause."))
    assert check(root) == []
    revert(root)
    assert check(root) == []  # 1.0.0 < 1.1.0, but (1.0.0, old content) is in history


def test_revert_of_a_revert_passes(tmp_path: Path) -> None:
    root = start(tmp_path)
    change(root, nda("1.1.0", "New clause."))
    revert(root)
    revert(root)
    assert check(root) == []


def test_revert_of_a_new_skill_and_its_return(tmp_path: Path) -> None:
    root = start(tmp_path)
    change(root, clause_search())
    revert(root)
    assert check(root) == []
    revert(root)  # the skill comes back with the (version, content) it had
    assert check(root) == []


def test_revert_of_a_rollout_increase_passes(tmp_path: Path) -> None:
    root = start(tmp_path)
    change(root, {"rollouts/production.yaml": {"contract-analysis": 25, "nda-drafting": 25}})
    assert check(root) == []
    revert(root)
    assert check(root) == []


def test_squash_merged_revert_passes(tmp_path: Path) -> None:
    root = start(tmp_path)
    change(root, nda("1.1.0", "New clause."))
    repo = git.Repo(root)
    main = repo.active_branch.name
    # The PR branch: the revert's content, arriving as one squashed commit (no revert
    # message, no link to the bump) plus an unrelated change.
    repo.git.checkout("-b", "rollback", main)
    repo.git.checkout("HEAD~1", "--", NDA)
    change(root, {"skills/contract-analysis/scripts/extra.md": "notes\n"}, "squash")
    write_tree(root, {"skills/contract-analysis/scripts/extra.md": None})
    commit_all(root, "drop notes")
    repo.git.checkout(main)
    repo.git.merge("--squash", "rollback")
    commit_all(root, "Roll back nda-drafting (#12)")
    assert check(root, "HEAD", "HEAD~1") == []
    assert check(root, "rollback", main + "~1") == []  # the PR branch against the bump too


def test_reusing_a_version_for_other_content_is_an_error(tmp_path: Path) -> None:
    root = start(tmp_path)
    bump = change(root, nda("1.1.0", "New clause."))
    revert(root)
    change(root, nda("1.1.0", "A different new clause."))
    [finding] = errors(root)
    assert (finding.rule, finding.file, finding.line) == (
        "skill-version-reused",
        f"{NDA}/skill.yaml",
        5,
    )
    assert f"version 1.1.0 already named other content in commit {bump[:12]}" in finding.message
    assert "higher than 1.1.0" in finding.message
    change(root, nda("1.2.0", "A different new clause."))
    assert check(root, "HEAD", "HEAD~2") == []  # a fresh version is fine


def test_a_returning_skill_cannot_reuse_its_old_version_for_new_content(tmp_path: Path) -> None:
    root = start(tmp_path)
    change(root, clause_search("1.0.0"))
    change(root, {f"{NEW}/skill.yaml": None, f"{NEW}/SKILL.md": None})
    change(root, clause_search("1.0.0", "Searches differently."))
    assert check(root) == [("skill-version-reused", f"{NEW}/skill.yaml")]


def test_content_change_without_a_bump_is_still_an_error(tmp_path: Path) -> None:
    root = start(tmp_path)
    change(root, nda("1.1.0", "New clause."))
    change(root, nda("1.1.0", "Edited clause."))
    [finding] = errors(root)
    assert finding.rule == "skill-version-not-bumped"
    assert "version 1.1.0 is not higher than 1.1.0" in finding.message


def test_going_down_to_a_version_with_other_content_is_an_error(tmp_path: Path) -> None:
    root = start(tmp_path)
    change(root, nda("1.1.0", "New clause."))
    change(root, nda("1.0.0", "Not the 1.0.0 text."))
    assert check(root) == [("skill-version-not-bumped", f"{NDA}/skill.yaml")]


def test_a_version_used_on_a_merged_side_branch_counts(tmp_path: Path) -> None:
    root = start(tmp_path)
    repo = git.Repo(root)
    main = repo.active_branch.name
    repo.git.checkout("-b", "experiment")
    side = change(root, nda("1.1.0", "Experimental clause."))
    revert(root)
    repo.git.checkout(main)
    change(root, {"skills/contract-analysis/scripts/extra.md": "notes\n"})
    repo.git.merge("--no-ff", "--no-edit", "experiment")
    change(root, nda("1.1.0", "Another clause."))
    [finding] = errors(root)
    assert finding.rule == "skill-version-reused" and side[:12] in finding.message


def test_configuration_in_a_subfolder_of_the_git_repository(tmp_path: Path) -> None:
    files = valid_files()
    files.update(nda("1.0.0"))
    top = build_tree(tmp_path, {f"config/{k}": v for k, v in files.items()}, commit=True)
    change(top, {f"config/{k}": v for k, v in nda("1.1.0", "New clause.").items()})
    revert(top)
    assert check(top / "config") == []
    change(top, {f"config/{k}": v for k, v in nda("1.1.0", "Other.").items()})
    assert check(top / "config") == [("skill-version-reused", f"{NDA}/skill.yaml")]


def test_metadata_only_change_reads_no_history(tmp_path: Path) -> None:
    root = start(tmp_path)
    meta = skill_yaml(display_name="NDA Drafting v2", category="drafting", version="0.9.0")
    change(root, {f"{NDA}/skill.yaml": meta})
    assert check(root) == []  # the uploaded content is unchanged: no version rule applies


def test_history_is_read_only_for_skills_whose_content_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = start(tmp_path)
    change(root, nda("1.1.0", "New clause."))
    change(root, {**nda("1.2.0", "Newer clause."), **clause_search()})
    asked: list[str] = []
    original = SkillHistory.uses

    def spy(self: SkillHistory, names: Iterable[str]) -> dict[str, list[VersionUse]]:
        wanted = list(names)
        asked.extend(wanted)
        return original(self, wanted)

    monkeypatch.setattr(SkillHistory, "uses", spy)
    assert check(root) == []
    assert sorted(asked) == ["clause-search", "nda-drafting"]  # not contract-analysis
