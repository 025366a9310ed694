"""Which (version, content) pairs a skill folder has held in the git history of a commit.

A version names one content forever, so `validate --base` asks the history two questions
about a changed skill: did some earlier commit hold exactly this pair (then this is a
rollback, e.g. a `git revert`), and did some earlier commit give this version to other
content (then the version is reused). Only the commits that changed the asked folders are
read (one `git log` with a path filter), and each distinct folder tree is hashed once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import git

from syncbot.files.skills import read_skill
from syncbot.files.source import GitTree, SourceError, SourceFile, git_file
from syncbot.files.yamlsafe import DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class VersionUse:
    """A folder state of one commit: the version skill.yaml named and the content hash."""

    commit: str
    version: str
    content_sha256: str


class SkillHistory:
    """The history reachable from one commit of a GitTree (the base of a change)."""

    def __init__(self, tree: GitTree) -> None:
        self._repo = tree.repo
        self._tip = tree.commit
        self._prefix = tree.prefix
        self._by_tree: dict[str, tuple[str, str] | None] = {}

    def uses(self, names: Iterable[str]) -> dict[str, list[VersionUse]]:
        """Every state of each `skills/<name>` with a readable version, newest commit first."""
        wanted = sorted(set(names))
        found: dict[str, list[VersionUse]] = {name: [] for name in wanted}
        for name, sha in self._changes(wanted):
            if name not in found:
                continue  # a path the filter matched that is not one of the folders
            pair = self._pair(name, self._repo.commit(sha), self._path(f"skills/{name}"))
            if pair is not None:
                found[name].append(VersionUse(sha, *pair))
        return found

    def _changes(self, names: list[str]) -> list[tuple[str, str]]:
        """(skill, commit) for each commit that changed one of the folders: ONE git log."""
        if not names:
            return []
        folders = [self._path(f"skills/{name}") for name in names]
        # --full-history and -m: a version used on a merged side branch counts too, even
        # when the merge brought no net change; --no-renames: a moved folder shows both ends.
        args = ["--full-history", "-m", "--no-renames", "--name-only", "--format=@%H"]
        try:
            out = self._repo.git.log(*args, self._tip, "--", *folders)
        except git.GitCommandError as exc:
            raise SourceError(f"cannot read the git history of skills/: {exc}") from exc
        return _skill_commits(str(out), self._prefix)

    def _pair(self, name: str, commit: Any, folder: str) -> tuple[str, str] | None:
        try:
            tree = commit.tree / folder
        except KeyError:
            return None  # the commit deleted the folder
        if tree.hexsha not in self._by_tree:
            self._by_tree[tree.hexsha] = self._read_pair(name, tree)
        return self._by_tree[tree.hexsha]

    def _read_pair(self, name: str, tree: Any) -> tuple[str, str] | None:
        if tree.type != "tree":
            return None
        files = tuple(sorted(self._file(item) for item in tree.traverse() if item.type != "tree"))
        # The loader's own reading and hashing, so the pairs compare with the head's exactly.
        skill = read_skill(name, files, DEFAULT_MAX_BYTES, [], {})
        if skill.meta is None:
            return None
        return skill.meta.version, skill.content_sha256

    def _file(self, item: Any) -> SourceFile:
        path = str(item.path)
        return git_file(path[len(self._prefix) + 1 :] if self._prefix else path, item)

    def _path(self, path: str) -> str:
        return f"{self._prefix}/{path}" if self._prefix else path


def _skill_commits(log: str, prefix: str) -> list[tuple[str, str]]:
    """Parse `--format=@%H --name-only` output into unique (skill, commit), in log order."""
    seen: dict[tuple[str, str], None] = {}
    commit = ""
    start = f"{prefix}/skills/" if prefix else "skills/"
    for line in log.splitlines():
        if line.startswith("@"):
            commit = line[1:]
        elif line.startswith(start):
            name = line[len(start) :].split("/", 1)[0]
            seen.setdefault((name, commit), None)
    return list(seen)
