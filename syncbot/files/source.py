"""Read-only views of the configuration files: the work tree, or one git commit.

Both list the same paths in the same sorted order: everything under `skills/` (compiled
files and symlinks included, so that validate can report them), `registry/*.yaml`,
`rollouts/*.yaml`, `syncbot.yaml` and `routes-queries.yaml`. Symlinks are never followed:
their `data` is None. In a git work tree the listing is what git tracks (plus, marked,
what it does not track and does not ignore), so it matches what a commit would hold.
Nothing is read while listing: sizes come first, bytes only when asked for.

The same listing also carries, marked `ignored` with the reason, every file the bot would
otherwise skip without a word: `rollouts/x.yml`, `registry/sub/x.yaml`, a `registry` that
is a file or a symlink, an unknown top-level YAML file. Loading reports them as errors.
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import git
from git.exc import BadName, BadObject

from syncbot.errors import SyncbotError

SYMLINK_MODE = 0o120000
_FILE_KINDS = {"registry", "rollouts"}
# Sample queries for the plan's routing explanations; they never reach a live system.
QUERIES_FILE = "routes-queries.yaml"
_ROOT_FILES = ("syncbot.yaml", QUERIES_FILE)


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


Opener = Callable[[], AbstractContextManager[Readable]]
_CHUNK = 1 << 20


class SourceFile:
    """One file: POSIX path relative to the repository root, its size, and its bytes.

    The bytes are read on first use of `data`, never before: a file refused for its size
    is never read (a stat, or a git blob's header, gives the size). `data` and `size` are
    None for a symlink or anything else that is not a regular file. `ignored` says why the
    bot would not read it (reported, never skipped). `untracked` marks a file of a git work
    tree that git does not track: listed, so that validate can report it, never uploaded.
    """

    __slots__ = ("_data", "_opener", "ignored", "is_symlink", "path", "size", "untracked")

    def __init__(
        self,
        path: str,
        data: bytes | None = None,
        is_symlink: bool = False,
        ignored: str | None = None,
        *,
        size: int | None = None,
        opener: Opener | None = None,
        untracked: bool = False,
    ) -> None:
        self.path = path
        self.is_symlink = is_symlink
        self.ignored = ignored
        self.untracked = untracked
        self._data = data
        self._opener = opener
        self.size = len(data) if data is not None else (size if opener is not None else None)

    @property
    def readable(self) -> bool:
        """Whether the bot reads this file at all (not skipped, not untracked)."""
        return self.ignored is None and not self.untracked

    @property
    def data(self) -> bytes | None:
        if self._data is None and self._opener is not None:
            self._data = b"".join(self.chunks())
        return self._data

    def chunks(self) -> Iterator[bytes]:
        """The bytes in pieces of at most 1 MiB, read without holding the whole file.

        Reads stop at the size that was listed: a file that grew since is an error, not a
        bigger read.
        """
        if self._data is not None or self._opener is None or self.size is None:
            yield self._data or b""
            return
        left = self.size
        with self._opener() as stream:
            while left > 0:
                piece = stream.read(min(left, _CHUNK))
                if not piece:
                    break
                left -= len(piece)
                yield piece
            if left or stream.read(1):
                raise SourceError(f"{self.path} changed while it was being read; run again")

    def _key(self) -> tuple[str, bool, int | None]:
        return (self.path, self.is_symlink, self.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SourceFile):
            return NotImplemented
        # Sizes first: two files of different sizes differ without reading either.
        return self._key() == other._key() and self.data == other.data

    def __hash__(self) -> int:
        return hash(self._key())

    def __lt__(self, other: SourceFile) -> bool:
        return self._key() < other._key()

    def __repr__(self) -> str:
        kind = "symlink" if self.is_symlink else f"{self.size} bytes"
        return f"SourceFile({self.path!r}, {kind}{', untracked' if self.untracked else ''})"


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
        is_folder = path not in _FOLDERS  # a top-level folder is listed only when it is not one
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
_PATHSPECS = (*_FOLDERS, ":(glob)*")


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
