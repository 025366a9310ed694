"""One git commit's configuration files (a branch, tag, sha or `HEAD~1`), via GitPython."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import git
from git.exc import BadName, BadObject

from syncbot.files.layout import ignored_reason, is_config_path
from syncbot.files.source import SourceError, SourceFile

SYMLINK_MODE = 0o120000


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
    # The size comes from the object header; the bytes are read only if they are used.
    return SourceFile(path, size=int(item.size), opener=lambda: _BlobReader(item.data_stream))


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


class _BlobReader:
    """A git object stream as a context manager, for SourceFile.chunks."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def read(self, size: int) -> bytes:
        return bytes(self._stream.read(size))

    def __enter__(self) -> _BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        return None
