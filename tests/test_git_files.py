"""In a git work tree the bot reads what git tracks: the same files a commit would hold,
so a local apply uploads what the pull request showed. Untracked files are reported,
ignored files are skipped as git skips them, and outside git every file on disk counts."""

from __future__ import annotations

from pathlib import Path

import git
import pytest
from faults.support import base_files
from helpers import build_tree, commit_all, valid_files, write_tree
from live_support import Cli, Repo

from syncbot.emulator.server import EmulatorServer
from syncbot.files.load import build_desired, load_repo, read_repo
from syncbot.files.worktree import WorkTree
from syncbot.lint.validate import validate

CA = "skills/contract-analysis"


def uploaded(root: Path, skill: str = "contract-analysis") -> list[str]:
    repo, _ = read_repo(WorkTree(root))
    return [f.path for f in repo.skills[skill].uploaded]


def errors(root: Path) -> list[tuple[str, str]]:
    return [(f.rule, f.file) for f in validate(WorkTree(root)) if f.severity == "error"]


def test_an_untracked_file_is_an_error_and_never_read(tmp_path: Path) -> None:
    root = build_tree(tmp_path, valid_files(), commit=True)
    write_tree(root, {f"{CA}/NOTES.txt": "my local notes\n"})
    assert errors(root) == [("file-untracked", f"{CA}/NOTES.txt")]
    assert "NOTES.txt" not in uploaded(root)
    git.Repo(root).git.add(f"{CA}/NOTES.txt")  # staged is tracked: read, and dirty
    assert errors(root) == []
    assert "NOTES.txt" in uploaded(root)
    assert str(WorkTree(root).commit).endswith("-dirty")


def test_ignored_files_are_skipped_as_git_skips_them(tmp_path: Path) -> None:
    files = valid_files()
    files[".gitignore"] = "__pycache__/\n.DS_Store\n"
    root = build_tree(tmp_path, files, commit=True)
    write_tree(
        root,
        {
            f"{CA}/scripts/__pycache__/run.cpython-311.pyc": b"\x00compiled",
            f"{CA}/.DS_Store": b"\x00\x00\x00\x01Bud1",
        },
    )
    assert errors(root) == []
    assert uploaded(root) == ["SKILL.md", "scripts/run.py"]
    assert WorkTree(root).commit == git.Repo(root).head.commit.hexsha  # not dirty


def test_a_tracked_file_is_read_from_the_work_tree(tmp_path: Path) -> None:
    root = build_tree(tmp_path, valid_files(), commit=True)
    write_tree(root, {f"{CA}/scripts/run.py": "print('edited, not committed')\n"})
    repo = load_repo(WorkTree(root))
    files = {f.path: f.data for f in repo.skills["contract-analysis"].uploaded}
    assert files["scripts/run.py"] == b"print('edited, not committed')\n"
    assert str(repo.commit).endswith("-dirty")


def test_a_tracked_file_deleted_in_the_work_tree_is_gone(tmp_path: Path) -> None:
    root = build_tree(tmp_path, valid_files(), commit=True)
    (root / CA / "scripts" / "run.py").unlink()
    assert errors(root) == []
    assert uploaded(root) == ["SKILL.md"]


def test_a_new_skill_folder_must_be_added_to_git(tmp_path: Path) -> None:
    root = build_tree(tmp_path, valid_files(), commit=True)
    write_tree(root, {"skills/new-skill/SKILL.md": "---\nname: new-skill\n---\n"})
    assert errors(root) == [("file-untracked", "skills/new-skill/SKILL.md")]
    assert "new-skill" not in load_repo_or_none(root)


def load_repo_or_none(root: Path) -> set[str]:
    repo, _ = read_repo(WorkTree(root))
    return set(repo.skills)


def test_outside_git_every_file_on_disk_is_read(tmp_path: Path) -> None:
    root = build_tree(tmp_path, valid_files())
    write_tree(root, {f"{CA}/NOTES.txt": "notes\n"})
    assert errors(root) == []
    assert "NOTES.txt" in uploaded(root)


def test_a_repository_that_tracks_nothing_here_is_not_versioned(tmp_path: Path) -> None:
    # a fresh `git init`, or a home directory that is a dotfiles repository
    root = build_tree(tmp_path, valid_files())
    git.Repo.init(root).close()
    write_tree(root, {f"{CA}/NOTES.txt": "notes\n"})
    assert errors(root) == []
    assert "NOTES.txt" in uploaded(root)


def test_a_subfolder_repository_reads_its_own_tracked_files(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    config = build_tree(outer, valid_files())  # outer/repo
    handle = git.Repo.init(outer)
    with handle.config_writer() as cfg:
        cfg.set_value("user", "name", "t")
        cfg.set_value("user", "email", "t@example.invalid")
    commit_all(outer, "config in a subfolder")
    write_tree(config, {f"{CA}/NOTES.txt": "notes\n"})
    assert errors(config) == [("file-untracked", f"{CA}/NOTES.txt")]
    desired = build_desired(read_repo(WorkTree(config))[0], "staging")
    assert [f.path for f in desired.skills["contract-analysis"].files] == [
        "SKILL.md",
        "scripts/run.py",
    ]


# --- against the live systems: a local apply ---------------------------------------------


@pytest.fixture
def repo_files() -> dict[str, str]:
    files = base_files()
    files[".gitignore"] = "__pycache__/\n.DS_Store\n"
    return files


def test_local_apply_refuses_untracked_files_and_skips_ignored_ones(
    cli: Cli, repo: Repo, emulator: EmulatorServer
) -> None:
    repo.write({"skills/nda-drafting/NOTES.txt": "local notes\n"})
    refused = cli("apply")
    assert refused.code == 1
    assert "file-untracked" in refused.err
    assert emulator.stats.uploads == 0
    (repo.path / "skills/nda-drafting/NOTES.txt").unlink()
    ignored = {
        "skills/nda-drafting/__pycache__/x.pyc": "compiled",
        "skills/nda-drafting/.DS_Store": "x",
    }
    repo.write(ignored)
    applied = cli("apply")
    assert applied.code == 0, applied.err
    [skill] = emulator.state.find_by_name("nda-drafting")
    assert skill.latest is not None
    assert sorted(skill.latest.files) == ["nda-drafting/SKILL.md"]
    assert cli("plan", "--detailed-exitcode").code == 0


def test_a_tracked_folder_replaced_by_a_file_is_reported_not_a_crash(tmp_path: Path) -> None:
    root = build_tree(tmp_path, valid_files(), commit=True)
    (root / "registry" / "routes.yaml").unlink()
    (root / "registry").rmdir()
    (root / "registry").write_text("routes: []\n")
    assert ("file-ignored", "registry") in errors(root)
