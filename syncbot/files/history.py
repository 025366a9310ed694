"""Which (version, content) pairs a skill folder has held in the git history of a commit.

A version names one content forever, so `validate --base` asks the history two questions
about a changed skill: did some earlier commit hold exactly this pair (then this is a
rollback, e.g. a `git revert`), and did some earlier commit give this version to other
content (then the version is reused). Only the asked folders are read, with a bounded
number of git processes: one `git log` with a path filter lists the commits that changed
them, one `git cat-file --batch-check` names the folder's tree at each, and the content
of a tree is read and hashed only when its version is the one asked about.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import git

from syncbot.files.gittree import GitTree, git_file
from syncbot.files.skills import SKILL_YAML, read_skill
from syncbot.files.source import SourceError, SourceFile
from syncbot.files.yamlsafe import DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class VersionUse:
    """A folder state of one commit: the version its skill.yaml named, and its git tree."""

    commit: str
    version: str
    tree: str


class SkillHistory:
    """The history reachable from one commit of a GitTree (the base of a change)."""

    def __init__(self, tree: GitTree) -> None:
        self._repo = tree.repo
        self._tip = tree.commit
        self._prefix = tree.prefix
        self._versions: dict[str, str | None] = {}
        self._contents: dict[str, str] = {}

    def uses(self, names: Iterable[str]) -> dict[str, list[VersionUse]]:
        """Every state of each `skills/<name>` with a readable version, newest commit first."""
        wanted = sorted(set(names))
        found: dict[str, list[VersionUse]] = {name: [] for name in wanted}
        changes = [(n, c) for n, c in self._changes(wanted) if n in found]
        trees = self._folder_trees([(self._folder(n), c) for n, c in changes])
        for (name, commit), tree in zip(changes, trees, strict=True):
            version = self._version(name, tree) if tree else None
            if tree and version is not None:
                found[name].append(VersionUse(commit, version, tree))
        return found

    def content_sha256(self, name: str, use: VersionUse) -> str:
        """The uploaded-content hash of that state, exactly as the loader computes it."""
        if use.tree not in self._contents:
            skill = read_skill(name, self._files(name, use.tree), DEFAULT_MAX_BYTES, [], {})
            self._contents[use.tree] = skill.content_sha256
        return self._contents[use.tree]

    def _changes(self, names: list[str]) -> list[tuple[str, str]]:
        """(skill, commit) for each commit that changed one of the folders: ONE git log."""
        if not names:
            return []
        # --full-history and -m: a version used on a merged side branch counts too, even
        # when the merge brought no net change; --no-renames: a moved folder shows both ends.
        args = ["--full-history", "-m", "--no-renames", "--name-only", "--format=@%H"]
        folders = [self._folder(name) for name in names]
        try:
            out = self._repo.git.log(*args, self._tip, "--", *folders)
        except git.GitCommandError as exc:
            raise SourceError(f"cannot read the git history of skills/: {exc}") from exc
        return _skill_commits(str(out), self._prefix)

    def _folder_trees(self, places: list[tuple[str, str]]) -> list[str | None]:
        """The tree sha of each (folder, commit); None where the commit has no such folder."""
        if not places:
            return []
        with tempfile.TemporaryFile() as requests:
            requests.write("".join(f"{commit}:{folder}\n" for folder, commit in places).encode())
            requests.seek(0)
            try:
                out = self._repo.git.execute(
                    [git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git", "cat-file", "--batch-check"],
                    istream=requests,
                )
            except git.GitCommandError as exc:
                raise SourceError(f"cannot read the git history of skills/: {exc}") from exc
        answers = str(out).splitlines()
        return [_tree_sha(line) for line in answers]

    def _version(self, name: str, tree: str) -> str | None:
        """The version of one folder state, reading its skill.yaml only."""
        if tree not in self._versions:
            try:
                item = self._tree(name, tree) / SKILL_YAML
            except KeyError:
                item = None
            files = (git_file(str(item.path), item),) if item is not None else ()
            # An unreadable skill.yaml named no version: it cannot be reused or returned to.
            meta = read_skill(name, files, DEFAULT_MAX_BYTES, [], {}).meta
            self._versions[tree] = meta.version if meta is not None else None
        return self._versions[tree]

    def _files(self, name: str, tree: str) -> tuple[SourceFile, ...]:
        items = self._tree(name, tree).traverse()
        return tuple(sorted(git_file(str(i.path), i) for i in items if i.type != "tree"))

    def _tree(self, name: str, tree: str) -> Any:
        # paths relative to the configuration root, as the loader names them
        return git.Tree(self._repo, bytes.fromhex(tree), path=f"skills/{name}")

    def _folder(self, name: str) -> str:
        return f"{self._prefix}/skills/{name}" if self._prefix else f"skills/{name}"


def _tree_sha(line: str) -> str | None:
    """One answer of `cat-file --batch-check`: `<sha> tree <size>`, or `<request> missing`."""
    parts = line.split()
    return parts[0] if len(parts) == 3 and parts[1] == "tree" else None


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
