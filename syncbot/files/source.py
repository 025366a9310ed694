"""What validate and load read: the Source protocol and SourceFile, one file of a source.

Two sources exist: the work tree (worktree.py) and one git commit (gittree.py). Both list
the same paths in the same sorted order (layout.py says which), never follow a symlink
(its `data` is None), and read nothing while listing: sizes come first, bytes only when
asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from syncbot.errors import SyncbotError


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


@dataclass(frozen=True)
class ReadFiles:
    """A Source of a few files already read (one syncbot.yaml, a rollouts file): for
    commands that need only those and must not read every skill of a large repository."""

    commit: str | None
    found: tuple[SourceFile, ...]

    def files(self) -> tuple[SourceFile, ...]:
        return self.found
