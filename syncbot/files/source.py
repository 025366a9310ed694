"""Read-only views of the configuration files: the work tree, or one git commit.

Both list the same paths in the same sorted order: everything under `skills/` (compiled
files and symlinks included, so that validate can report them), `registry/*.yaml`,
`rollouts/*.yaml`, `syncbot.yaml` and `routes-queries.yaml`. Symlinks are never followed:
their `data` is None.

The same listing also carries, marked `ignored` with the reason, every file the bot would
otherwise skip without a word: `rollouts/x.yml`, `registry/sub/x.yaml`, a `registry` that
is a file or a symlink, an unknown top-level YAML file. Loading reports them as errors.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import git
from git.exc import BadName, BadObject

from syncbot.errors import SyncbotError

SYMLINK_MODE = 0o120000
_FILE_KINDS = {"registry", "rollouts"}
# Sample queries for the plan's routing explanations; they never reach a live system.
QUERIES_FILE = "routes-queries.yaml"
_ROOT_FILES = ("syncbot.yaml", QUERIES_FILE)


@dataclass(frozen=True, order=True)
class SourceFile:
    """One file: POSIX path relative to the repository root; data None for a symlink."""

    path: str
    data: bytes | None
    is_symlink: bool = False
    ignored: str | None = None  # why the bot would not read it (reported, never skipped)


class Source(Protocol):
    """What validate and load_repo read: sorted config files and the commit they are at."""

    @property
    def commit(self) -> str | None: ...

    def files(self) -> tuple[SourceFile, ...]: ...


class SourceError(SyncbotError):
    """The tree cannot be read: an unknown git revision, or not a git repository."""


CONFIG_ROOTS = ("skills", "registry", "rollouts", "syncbot.yaml")
ROOT_MARKER = "syncbot.yaml"


def find_repo_root(start: Path) -> Path:
    """The nearest folder at or above `start` that holds syncbot.yaml, as git finds .git.

    Run from `skills/` the root is still found; run from a folder outside any
    configuration repository, nothing is read: reading there would see no files, and a
    plan of "no files" deletes everything.
    """
    here = Path(start).resolve()
    if not here.is_dir():
        raise SourceError(f"{start} is not a folder")
    for folder in (here, *here.parents):
        if (folder / ROOT_MARKER).is_file():
            return folder
    raise SourceError(
        f"not inside a syncbot repository: no {ROOT_MARKER} in {here} or any folder above it "
        "(run from the repository, or pass --repo PATH)"
    )


def is_config_path(path: str) -> bool:
    """Whether a repository path is one of the configuration files syncbot reads."""
    top, _, rest = path.partition("/")
    if top == "skills":
        return bool(rest)
    if top in _FILE_KINDS:
        return "/" not in rest and rest.endswith(".yaml")
    return path in _ROOT_FILES


_FOLDERS = ("skills", *sorted(_FILE_KINDS))
_YAML = (".yaml", ".yml")


def ignored_reason(path: str, *, is_folder: bool = True) -> str | None:
    """Why the bot would skip this path, or None (read, or none of its business).

    `is_folder` says whether a top-level `skills`, `registry` or `rollouts` is a real
    folder (not a file or a symlink)."""
    top, _, rest = path.partition("/")
    if not rest:
        return _top_level_reason(top, is_folder)
    name = rest.rsplit("/", 1)[-1]
    if top not in _FILE_KINDS or name.startswith("."):
        return None
    if "/" in rest:
        return f"only files directly in {top}/ are read, not in subfolders"
    if not rest.endswith(".yaml"):
        return f"only {top}/*.yaml files are read (spelled .yaml)"
    return None


def _top_level_reason(name: str, is_folder: bool) -> str | None:
    if name in _FOLDERS:
        return None if is_folder else f"{name} must be a folder, not a file or a symlink"
    if name.startswith(".") or not name.endswith(_YAML) or name in _ROOT_FILES:
        return None
    known = " and ".join(_ROOT_FILES)
    return f"unknown top-level YAML file: syncbot reads only {known} at the top"


class WorkTree:
    """The files on disk under `root` (the repository root)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @cached_property
    def commit(self) -> str | None:
        """HEAD's sha when `root` is inside a git repository with a commit, else None.

        Uncommitted configuration changes make it `<sha>-dirty`: no commit put that state
        there, and the database's `commit` column must not claim otherwise.
        """
        try:
            repo = git.Repo(self.root, search_parent_directories=True)
            sha = str(repo.head.commit.hexsha)
            paths = [str(self.root.resolve() / p) for p in CONFIG_ROOTS]
            dirty = bool(repo.git.status("--porcelain", "--untracked-files=all", "--", *paths))
            repo.close()
        except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
            return None
        return f"{sha}-dirty" if dirty else sha

    def files(self) -> tuple[SourceFile, ...]:
        found = []
        for path in self._walk():
            is_folder = path not in _FOLDERS  # a top-level folder is listed only when it is not one
            why = ignored_reason(path, is_folder=is_folder)
            if why is not None:
                found.append(SourceFile(path, None, os.path.islink(self.root / path), why))
            elif is_config_path(path):
                found.append(self._read(path))
        return tuple(sorted(found))

    def _walk(self) -> Iterator[str]:
        for top in _FOLDERS:
            directory = self.root / top
            if os.path.lexists(directory) and (directory.is_symlink() or not directory.is_dir()):
                yield top
            else:
                yield from self._walk_dir(directory, top)
        for entry in sorted(os.listdir(self.root)):
            if entry not in _FOLDERS and not os.path.isdir(self.root / entry):
                yield entry

    def _walk_dir(self, directory: Path, prefix: str) -> Iterator[str]:
        if directory.is_symlink() or not directory.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(directory):
            relative = Path(dirpath).relative_to(self.root).as_posix()
            # A symlinked directory is listed as one (refused) entry, never descended.
            links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            dirnames[:] = sorted(d for d in dirnames if d not in links)
            for name in [*filenames, *links]:
                yield f"{relative}/{name}"

    def read(self, path: str) -> SourceFile | None:
        """One file (path relative to the root), without listing the rest."""
        return self._read(path) if os.path.lexists(self.root / path) else None

    def _read(self, path: str) -> SourceFile:
        full = self.root / path
        mode = os.lstat(full).st_mode
        if stat.S_ISLNK(mode):
            return SourceFile(path, None, True)
        if not stat.S_ISREG(mode):
            return SourceFile(path, None, False)
        return SourceFile(path, full.read_bytes(), False)


class GitTree:
    """The files of one commit (`ref`: a branch, tag, sha or `HEAD~1`) via GitPython."""

    def __init__(self, root: Path, ref: str) -> None:
        self.root = Path(root)
        self.ref = ref
        self._repo = _open_repo(self.root)
        self._commit = _resolve(self._repo, ref)

    @property
    def commit(self) -> str | None:
        return str(self._commit.hexsha)

    @property
    def repo(self) -> git.Repo:
        return self._repo

    def read(self, path: str) -> SourceFile | None:
        """One file of the commit (path relative to the root), without listing the rest."""
        full = f"{self.prefix}/{path}" if self.prefix else path
        try:
            item = self._commit.tree / full
        except KeyError:
            return None
        return None if item.type == "tree" else git_file(path, item)

    def files(self) -> tuple[SourceFile, ...]:
        tree = self._commit.tree
        prefix = self.prefix
        if prefix:
            try:
                tree = tree / prefix
            except KeyError:
                return ()
        found = []
        for item in tree.traverse():
            # traverse() from a subtree still yields paths from the repository root.
            path = str(item.path)[len(prefix) + 1 :] if prefix else str(item.path)
            if item.type == "tree":
                continue
            why = ignored_reason(path, is_folder=False)
            if why is not None:
                found.append(SourceFile(path, None, item.mode == SYMLINK_MODE, why))
            elif is_config_path(path):
                found.append(git_file(path, item))
        return tuple(sorted(found))

    @cached_property
    def prefix(self) -> str:
        """Where the configuration root is inside the git repository ('' at its top)."""
        top = Path(self._repo.working_tree_dir or self.root).resolve()
        relative = self.root.resolve().relative_to(top).as_posix()
        return "" if relative == "." else relative


def git_file(path: str, item: Any) -> SourceFile:
    """The SourceFile of one tree entry: symlinks and submodules carry no data."""
    if item.mode == SYMLINK_MODE:
        return SourceFile(path, None, True)
    if item.type != "blob":
        return SourceFile(path, None, False)  # a submodule: no content in this tree
    return SourceFile(path, item.data_stream.read(), False)


def _open_repo(root: Path) -> git.Repo:
    try:
        return git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise SourceError(f"{root} is not inside a git repository") from exc


def _resolve(repo: git.Repo, ref: str) -> Any:
    try:
        return repo.commit(ref)
    except (BadName, BadObject, ValueError, git.GitCommandError) as exc:
        raise SourceError(f"unknown git revision {ref!r} (not a branch, tag or commit)") from exc
