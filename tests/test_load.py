from __future__ import annotations

import os
from pathlib import Path

import git
import pytest
from helpers import build_tree, commit_all, skill_md, skill_yaml, valid_files, write_tree

from syncbot.desired import Pattern, RolloutPolicy, SkillFile, content_sha256
from syncbot.errors import ConfigError, ConfigErrors
from syncbot.files.gittree import GitTree
from syncbot.files.load import build_desired, load_repo, read_repo
from syncbot.files.source import SourceError, SourceFile
from syncbot.files.worktree import WorkTree


def rules(errors: list[ConfigError]) -> list[tuple[str, str, int]]:
    return [(e.rule, e.location.file, e.location.line) for e in errors]


def load_errors(root: Path) -> list[tuple[str, str, int]]:
    with pytest.raises(ConfigErrors) as caught:
        load_repo(WorkTree(root))
    return rules(caught.value.errors)


# --- sources ---------------------------------------------------------------------------------


def test_work_tree_lists_config_files_sorted(tmp_path: Path) -> None:
    files = valid_files()
    files.update(
        {
            "skills/contract-analysis/__pycache__/run.cpython-311.pyc": b"\x00\x01",
            "registry/nested/deep.yaml": "routes: []\n",
            "registry/notes.txt": "not config\n",
            "README.md": "# repo\n",
        }
    )
    root = build_tree(tmp_path, files)
    paths = [f.path for f in WorkTree(root).files()]
    assert paths == sorted(paths)
    assert "skills/contract-analysis/__pycache__/run.cpython-311.pyc" in paths
    assert "registry/routes.yaml" in paths and "syncbot.yaml" in paths
    assert "README.md" not in paths
    # files the bot does not read are listed as ignored, so that validate reports them
    ignored = {f.path for f in WorkTree(root).files() if f.ignored}
    assert ignored == {"registry/nested/deep.yaml", "registry/notes.txt"}


def test_work_tree_never_follows_symlinks(tmp_path: Path) -> None:
    root = build_tree(tmp_path, valid_files())
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    os.symlink(secret, root / "skills/contract-analysis/link.txt")
    os.symlink(tmp_path, root / "skills/contract-analysis/linked-dir")
    by_path = {f.path: f for f in WorkTree(root).files()}
    assert by_path["skills/contract-analysis/link.txt"] == SourceFile(
        "skills/contract-analysis/link.txt", None, True
    )
    assert by_path["skills/contract-analysis/linked-dir"].is_symlink
    assert not any(p.startswith("skills/contract-analysis/linked-dir/") for p in by_path)


def test_work_tree_commit(tmp_path: Path) -> None:
    plain = build_tree(tmp_path / "a", valid_files())
    assert WorkTree(plain).commit is None
    repo = build_tree(tmp_path / "b", valid_files(), commit=True)
    assert WorkTree(repo).commit == git.Repo(repo).head.commit.hexsha


def test_git_tree_reads_a_commit_not_the_work_tree(tmp_path: Path) -> None:
    root = build_tree(tmp_path, valid_files(), commit=True)
    first = git.Repo(root).head.commit.hexsha
    write_tree(root, {"skills/contract-analysis/scripts/run.py": "print('changed')\n"})
    os.symlink("run.py", root / "skills/contract-analysis/scripts/alias.py")
    second = commit_all(root, "change")
    old = {f.path: f for f in GitTree(root, first).files()}
    new = {f.path: f for f in GitTree(root, "HEAD").files()}
    assert GitTree(root, "HEAD~1").commit == first and GitTree(root, "HEAD").commit == second
    assert old["skills/contract-analysis/scripts/run.py"].data == b"print('hello')\n"
    assert new["skills/contract-analysis/scripts/run.py"].data == b"print('changed')\n"
    assert new["skills/contract-analysis/scripts/alias.py"] == SourceFile(
        "skills/contract-analysis/scripts/alias.py", None, True
    )
    assert [f.path for f in GitTree(root, first).files()] == [
        f.path for f in WorkTree(root).files() if f.path in old
    ]


def test_git_tree_in_a_subdirectory(tmp_path: Path) -> None:
    root = build_tree(tmp_path, {f"config/{k}": v for k, v in valid_files().items()}, commit=True)
    paths = [f.path for f in GitTree(root / "config", "HEAD").files()]
    assert "syncbot.yaml" in paths and "skills/nda-drafting/SKILL.md" in paths


@pytest.mark.parametrize("ref", ["no-such-branch", "0123456789abcdef0123", "HEAD~5"])
def test_git_tree_unknown_ref(tmp_path: Path, ref: str) -> None:
    root = build_tree(tmp_path, valid_files(), commit=True)
    with pytest.raises(SourceError, match="unknown git revision"):
        GitTree(root, ref)


def test_git_tree_outside_a_repository(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not inside a git repository"):
        GitTree(tmp_path, "HEAD")


# --- load_repo -------------------------------------------------------------------------------


def test_load_valid_repository(tmp_path: Path) -> None:
    root = build_tree(tmp_path, valid_files())
    repo = load_repo(WorkTree(root))
    assert sorted(repo.skills) == ["contract-analysis", "nda-drafting"]
    skill = repo.skills["contract-analysis"]
    assert skill.complete and skill.body_line == 5
    text = (root / "registry/routes.yaml").read_text().splitlines()
    expected = text.index("- skill: nda-drafting") + 1
    assert repo.locate("registry/routes.yaml", ("routes", 1, "skill")).line == expected
    assert repo.locate("skills/nda-drafting/SKILL.md", ("description",)).line == 3
    assert repo.locate("missing.yaml", ("x",)).line == 1


def test_all_errors_of_all_files_in_one_run(tmp_path: Path) -> None:
    files = valid_files()
    files["syncbot.yaml"] = "categories: analysis\n"
    files["skills/nda-drafting/skill.yaml"] = "display_name: X\ntype: other\n"
    files["rollouts/staging.yaml"] = "contract-analysis: '5'\n"
    files["registry/routes.yaml"] = "routes:\n  - skill: x\n  - skill: x\n    skill: y\n"
    found = load_errors(build_tree(tmp_path, files))
    assert ("schema", "syncbot.yaml", 1) in found
    assert ("schema", "skills/nda-drafting/skill.yaml", 2) in found
    assert ("schema", "rollouts/staging.yaml", 1) in found
    assert ("yaml-duplicate-key", "registry/routes.yaml", 4) in found
    assert found == sorted(found, key=lambda r: (r[1], r[2]))


def test_missing_syncbot_yaml_uses_defaults(tmp_path: Path) -> None:
    files = valid_files()
    del files["syncbot.yaml"]
    repo = load_repo(WorkTree(build_tree(tmp_path, files)))
    assert repo.config.categories == ["analysis", "drafting", "research", "compliance"]
    assert build_desired(repo, "production").policy == RolloutPolicy()


def test_missing_skill_files(tmp_path: Path) -> None:
    files = valid_files()
    files["skills/empty-skill/references/notes.md"] = "notes\n"
    del files["skills/nda-drafting/skill.yaml"]
    assert load_errors(build_tree(tmp_path, files)) == [
        ("skill-missing-file", "skills/empty-skill/SKILL.md", 1),
        ("skill-missing-file", "skills/empty-skill/skill.yaml", 1),
        ("skill-missing-file", "skills/nda-drafting/skill.yaml", 1),
    ]


def test_skill_name_mismatch_is_at_the_name_line(tmp_path: Path) -> None:
    files = valid_files()
    files["skills/nda-drafting/SKILL.md"] = "---\ndescription: d\nname: nda-draft\n---\nbody\n"
    assert load_errors(build_tree(tmp_path, files)) == [
        ("skill-name-mismatch", "skills/nda-drafting/SKILL.md", 3)
    ]


def test_front_matter_errors_use_file_lines(tmp_path: Path) -> None:
    files = valid_files()
    files["skills/nda-drafting/SKILL.md"] = (
        "---\nname: nda-drafting\ndescription: d\nversion: 2\n---\n# Body\n"
    )
    files["skills/contract-analysis/SKILL.md"] = "# no front matter\n"
    assert load_errors(build_tree(tmp_path, files)) == [
        ("skill-frontmatter", "skills/contract-analysis/SKILL.md", 1),
        ("skill-frontmatter-key", "skills/nda-drafting/SKILL.md", 4),
    ]


def test_max_file_bytes_comes_from_syncbot_yaml(tmp_path: Path) -> None:
    files = valid_files()
    files["syncbot.yaml"] = "limits: {max_file_bytes: 200}\n"
    found = load_errors(build_tree(tmp_path, files))
    assert ("yaml-too-large", "registry/routes.yaml", 1) in found
    assert not any(f == "syncbot.yaml" for _, f, _ in found)


def test_symlinked_yaml_is_refused(tmp_path: Path) -> None:
    root = build_tree(tmp_path, valid_files())
    os.symlink(root / "rollouts/staging.yaml", root / "rollouts/qa.yaml")
    assert ("file-symlink", "rollouts/qa.yaml", 1) in load_errors(root)


# --- build_desired ---------------------------------------------------------------------------


def test_build_desired(tmp_path: Path) -> None:
    files = valid_files()
    files["rollouts/staging.yaml"] = {"contract-analysis": 12.5, "nda-drafting": 0.01}
    root = build_tree(tmp_path, files, commit=True)
    desired = build_desired(load_repo(WorkTree(root)), "production")
    skill = desired.skills["contract-analysis"]
    assert [f.path for f in skill.files] == ["SKILL.md", "scripts/run.py"]
    assert skill.files[1] == SkillFile("scripts/run.py", b"print('hello')\n")
    assert skill.content_sha256 == content_sha256(skill.files)
    assert (skill.type, skill.version, skill.category, skill.critical) == (
        "code",
        "1.0.0",
        "analysis",
        False,
    )
    assert desired.routes[0].patterns[1] == Pattern("review.*agreement", 0.6)
    assert desired.rollouts["contract-analysis"].basis_points == 500
    assert desired.rollouts["contract-analysis"].salt == "contract-analysis"
    assert desired.policy == RolloutPolicy((0, 5, 25, 50, 100), 72.0)
    assert desired.commit == git.Repo(root).head.commit.hexsha
    staging = build_desired(load_repo(WorkTree(root)), "staging")
    assert staging.rollouts["contract-analysis"].basis_points == 1250
    assert staging.rollouts["nda-drafting"].basis_points == 1
    assert staging.policy == RolloutPolicy()


@pytest.mark.parametrize(
    ("percentage", "points"),
    [(33.33, 3333), (0.29, 29), (57.57, 5757), (99.99, 9999), (100, 10000)],
)
def test_basis_points_are_exact(tmp_path: Path, percentage: float, points: int) -> None:
    files = valid_files()
    files["rollouts/staging.yaml"] = {"contract-analysis": percentage}
    desired = build_desired(load_repo(WorkTree(build_tree(tmp_path, files))), "staging")
    assert desired.rollouts["contract-analysis"].basis_points == points


def test_content_hash_ignores_skill_yaml_and_mtime(tmp_path: Path) -> None:
    files = valid_files()
    one = build_desired(load_repo(WorkTree(build_tree(tmp_path / "a", files))), "staging")
    files["skills/contract-analysis/skill.yaml"] = skill_yaml(display_name="Renamed", type="code")
    two = build_desired(load_repo(WorkTree(build_tree(tmp_path / "b", files))), "staging")
    a, b = one.skills["contract-analysis"], two.skills["contract-analysis"]
    assert a.content_sha256 == b.content_sha256 and a.display_name != b.display_name


def test_unknown_environment(tmp_path: Path) -> None:
    repo = load_repo(WorkTree(build_tree(tmp_path, valid_files())))
    with pytest.raises(ConfigError) as caught:
        build_desired(repo, "qa")
    assert caught.value.rule == "unknown-environment"
    assert caught.value.location.file == "syncbot.yaml"
    assert "production, staging" in caught.value.reason


def test_read_repo_keeps_what_parsed(tmp_path: Path) -> None:
    files = valid_files()
    files["skills/nda-drafting/SKILL.md"] = skill_md("nda-drafting", description="")
    repo, errors = read_repo(WorkTree(build_tree(tmp_path, files)))
    assert rules(errors) == [("skill-description", "skills/nda-drafting/SKILL.md", 3)]
    assert repo.skills["nda-drafting"].meta is not None
    assert repo.skills["nda-drafting"].front_matter is None
    assert repo.skills["contract-analysis"].complete


def test_a_commit_and_the_work_tree_report_the_same_ignored_files(tmp_path: Path) -> None:
    files = valid_files()
    files["rollouts/staging.yml"] = files.pop("rollouts/staging.yaml")
    files["registry/sub/more.yaml"] = "routes: []\n"
    files["extra.yaml"] = "a: 1\n"
    files[".pre-commit-config.yaml"] = "repos: []\n"
    root = build_tree(tmp_path, files, commit=True)
    expected = {
        "rollouts/staging.yml": "only rollouts/*.yaml files are read (spelled .yaml)",
        "registry/sub/more.yaml": "only files directly in registry/ are read, not in subfolders",
        "extra.yaml": "unknown top-level YAML file: syncbot reads only syncbot.yaml and "
        "routes-queries.yaml at the top",
    }
    for source in (WorkTree(root), GitTree(root, "HEAD")):
        assert {f.path: f.ignored for f in source.files() if f.ignored} == expected
    _, errors = read_repo(WorkTree(root))
    assert {(e.rule, e.location.file) for e in errors if e.rule == "file-ignored"} == {
        ("file-ignored", path) for path in expected
    }


def test_a_registry_that_is_a_file_is_ignored_in_a_commit_too(tmp_path: Path) -> None:
    files = {k: v for k, v in valid_files().items() if not k.startswith("registry/")}
    root = build_tree(tmp_path, {**files, "registry": "routes: []\n"}, commit=True)
    for source in (WorkTree(root), GitTree(root, "HEAD")):
        (found,) = [f for f in source.files() if f.ignored]
        assert found.path == "registry" and "must be a folder" in str(found.ignored)
