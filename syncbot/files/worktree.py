"""The work tree: the configuration files on disk, listed as git would commit them.

In a git work tree the listing is what git tracks (plus, marked, what it does not track
and does not ignore), so it matches what a commit would hold; outside git every file on
disk is listed. Symlinked folders are listed as one refused entry, never descended.
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

import git

from syncbot.files.layout import CONFIG_ROOTS, FOLDERS, ignored_reason, is_config_path
from syncbot.files.source import SourceError, SourceFile


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
        listing = self._git_listing()
        if listing is None:
            paths, untracked = list(self._walk()), set[str]()
        else:
            tracked, untracked = listing
            paths = [*tracked, *sorted(untracked)]
        links = _linked_folders(self.root, paths)
        found = [self._entry(path, path in untracked) for path in paths if not _behind(path, links)]
        return tuple(sorted(f for f in found if f is not None))

    def _entry(self, path: str, untracked: bool) -> SourceFile | None:
        is_folder = path not in FOLDERS  # a top-level folder is listed only when it is not one
        why = ignored_reason(path, is_folder=is_folder)
        if why is not None:
            return SourceFile(path, None, os.path.islink(self.root / path), why)
        return self._read(path, untracked) if is_config_path(path) else None

    def _git_listing(self) -> tuple[list[str], set[str]] | None:
        """(tracked, untracked) paths when git versions this folder, else None.

        What git tracks is what a commit holds, so it is what the bot reads: an untracked
        file is listed (to be reported) and files git ignores are not listed at all. A
        folder in which git tracks nothing (a fresh `git init`, or a home directory that
        is a dotfiles repository) is not versioned: every file on disk is read.
        """
        try:
            git.Repo(self.root, search_parent_directories=True).close()
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            return None
        runner = git.Git(self.root)
        try:
            tracked = list(dict.fromkeys(_ls_files(runner, "--cached")))  # once if conflicted
            untracked = _ls_files(runner, "--others", "--exclude-standard")
        except git.GitCommandError as exc:
            detail = str(exc.stderr).strip() or str(exc)
            raise SourceError(f"git cannot list the files of {self.root}: {detail}") from exc
        if not tracked:
            return None
        return tracked, set(untracked)

    def _walk(self) -> Iterator[str]:
        for top in FOLDERS:
            directory = self.root / top
            if os.path.lexists(directory) and (directory.is_symlink() or not directory.is_dir()):
                yield top
            else:
                yield from self._walk_dir(directory, top)
        for entry in sorted(os.listdir(self.root)):
            if entry not in FOLDERS and not os.path.isdir(self.root / entry):
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
        """One file (path relative to the root), without listing the rest; None when it
        is not there. Whether git tracks it is not asked (promote reads two files)."""
        return self._read(path)

    def _read(self, path: str, untracked: bool = False) -> SourceFile | None:
        """The file's entry, sized but not read; None when it is not there any more (a
        tracked file deleted in the work tree, or one behind a symlinked folder)."""
        full = self.root / path
        try:
            info = os.lstat(full)
        except (FileNotFoundError, NotADirectoryError):  # deleted, or a folder now a file
            return None
        if stat.S_ISLNK(info.st_mode):
            return SourceFile(path, None, True, untracked=untracked)
        if not stat.S_ISREG(info.st_mode):
            return SourceFile(path, None, False, untracked=untracked)
        opener = functools.partial(_open_binary, full)
        return SourceFile(path, size=info.st_size, opener=opener, untracked=untracked)


# the folders, and every file at the top (`*` does not cross `/` in a glob pathspec)
_PATHSPECS = (*FOLDERS, ":(glob)*")


def _ls_files(runner: git.Git, *options: str) -> list[str]:
    # -z: names exactly as stored, bytes that are not UTF-8 included (decoded as os.walk
    # would, so that validate can name them); a nested repository is listed as "dir/".
    out = runner.ls_files("-z", *options, "--", *_PATHSPECS, stdout_as_string=False)
    return [os.fsdecode(name).rstrip("/") for name in out.split(b"\0") if name]


def _open_binary(path: Path) -> BinaryIO:
    return open(path, "rb")  # the caller closes it: SourceFile.chunks reads it in a `with`


def _folders(path: str) -> Iterator[str]:
    parts = path.split("/")[:-1]
    return ("/".join(parts[: i + 1]) for i in range(len(parts)))


def _linked_folders(root: Path, paths: list[str]) -> set[str]:
    """The folders (of those the paths go through) that are symlinks, each checked once."""
    folders = {folder for path in paths for folder in _folders(path)}
    return {folder for folder in folders if os.path.islink(root / folder)}


def _behind(path: str, links: set[str]) -> bool:
    return bool(links) and any(folder in links for folder in _folders(path))
