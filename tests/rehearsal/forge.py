"""A real git repository as GitHub holds it: a bare `origin`, a developer's clone with
branches, pull requests (with the `refs/pull/N/merge` commit GitHub tests), merges, and
the event each of these sends to the workflows."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ROOT", "SHIPPED", "Event", "Forge", "PullRequest", "git"]

ROOT = Path(__file__).resolve().parents[2]
# The example configuration and the workflows with their scripts, as the repository ships them.
SHIPPED = (
    ".github",
    "skills",
    "registry",
    "rollouts",
    "schemas",
    "syncbot.yaml",
    "routes-queries.yaml",
)
_GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Dev Eloper",
    "GIT_AUTHOR_EMAIL": "dev@example.invalid",
    "GIT_COMMITTER_NAME": "Dev Eloper",
    "GIT_COMMITTER_EMAIL": "dev@example.invalid",
    "GIT_TERMINAL_PROMPT": "0",
}


def git(cwd: Path, *args: str) -> str:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd), **_GIT_ENV}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {done.stderr.strip()}")
    return done.stdout.strip()


@dataclass(frozen=True)
class Event:
    """What triggers a workflow: its name, payload, `github.sha`, `github.ref` and, for the
    `paths:` filters, the files it changes (None: the event has no paths)."""

    name: str
    payload: dict[str, Any]
    sha: str
    ref: str
    changed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PullRequest:
    number: int
    branch: str
    head_sha: str
    base_sha: str
    merge_sha: str
    head_repo: str


class Forge:
    """`origin` (bare) and `dev` (the developer's clone) under `root`."""

    def __init__(self, root: Path, repository: str) -> None:
        self.repository = repository
        self.origin = root / "origin.git"
        self.dev = root / "dev"
        self._pulls = 0
        self.origin.mkdir(parents=True)
        git(self.origin, "init", "-q", "--bare", "-b", "main")
        # GitHub serves any reachable commit by sha, which `actions/checkout` relies on.
        git(self.origin, "config", "uploadpack.allowAnySHA1InWant", "true")
        self.dev.mkdir()
        git(self.dev, "init", "-q", "-b", "main")
        git(self.dev, "remote", "add", "origin", self.origin.as_uri())
        for name in SHIPPED:
            source, target = ROOT / name, self.dev / name
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, target)
        self.commit("the example configuration")
        git(self.dev, "push", "-q", "origin", "main")

    # --- the developer's work tree ---------------------------------------------------

    def write(self, files: Mapping[str, str | None]) -> None:
        """Write text files (None deletes one) in the developer's clone."""
        for rel, text in files.items():
            path = self.dev / rel
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    def read(self, rel: str) -> str:
        return (self.dev / rel).read_text(encoding="utf-8")

    def move(self, old: str, new: str) -> None:
        git(self.dev, "mv", old, new)

    def commit(self, message: str) -> str:
        git(self.dev, "add", "--all")
        git(self.dev, "commit", "-q", "-m", message)
        return self.head()

    def revert(self, commit: str) -> str:
        """`git revert` of `commit` (of a merge commit: against its first parent, as
        GitHub's "Revert" button does) on the current branch."""
        merge = (
            ["-m", "1"]
            if len(git(self.dev, "rev-list", "--parents", "-n1", commit).split()) > 2
            else []
        )
        git(self.dev, "revert", "--no-edit", *merge, commit)
        return self.head()

    def head(self, ref: str = "HEAD") -> str:
        return git(self.dev, "rev-parse", ref)

    def branch(self, name: str, start: str = "main") -> None:
        git(self.dev, "checkout", "-q", "-b", name, start)

    def main(self) -> str:
        return git(self.origin, "rev-parse", "refs/heads/main")

    # --- GitHub's side -----------------------------------------------------------------

    def open_pr(self, branch: str, *, fork: str | None = None) -> PullRequest:
        """Push `branch` and open a PR into main; `fork` names the head repository."""
        git(self.dev, "push", "-q", "--force", "origin", f"{branch}:refs/heads/{branch}")
        self._pulls += 1
        number = self._pulls
        base, head = self.main(), self.head(branch)
        tree = git(self.dev, "merge-tree", "--write-tree", base, head)
        message = f"Merge {head} into {base}"
        merge = git(self.dev, "commit-tree", tree, "-p", base, "-p", head, "-m", message)
        git(self.dev, "push", "-q", "--force", "origin", f"{head}:refs/pull/{number}/head")
        git(self.dev, "push", "-q", "--force", "origin", f"{merge}:refs/pull/{number}/merge")
        return PullRequest(number, branch, head, base, merge, fork or self.repository)

    def pull_request_event(self, pr: PullRequest) -> Event:
        repo = {"full_name": self.repository, "default_branch": "main"}
        payload = {
            "action": "opened",
            "number": pr.number,
            "pull_request": {
                "number": pr.number,
                "head": {"ref": pr.branch, "sha": pr.head_sha, "repo": {"full_name": pr.head_repo}},
                "base": {"ref": "main", "sha": pr.base_sha, "repo": repo},
            },
            "repository": repo,
        }
        changed = self._changed(pr.base_sha, pr.merge_sha)
        return Event("pull_request", payload, pr.merge_sha, f"refs/pull/{pr.number}/merge", changed)

    def merge(self, pr: PullRequest) -> Event:
        """Merge the PR into main with a merge commit (GitHub's default) and push."""
        before = self.main()
        git(self.dev, "checkout", "-q", "main")
        git(self.dev, "merge", "-q", "--ff-only", before)
        message = f"Merge pull request #{pr.number} from {pr.branch}"
        git(self.dev, "merge", "-q", "--no-ff", "-m", message, pr.head_sha)
        git(self.dev, "push", "-q", "origin", "main")
        return self.push_event(before)

    def push_event(self, before: str) -> Event:
        after = self.main()
        payload = {
            "ref": "refs/heads/main",
            "before": before,
            "after": after,
            "repository": {"full_name": self.repository, "default_branch": "main"},
        }
        return Event("push", payload, after, "refs/heads/main", self._changed(before, after))

    def scheduled_event(self) -> Event:
        payload = {"schedule": "17 * * * *"}
        return Event("schedule", payload, self.main(), "refs/heads/main")

    def _changed(self, base: str, head: str) -> tuple[str, ...]:
        names = git(self.dev, "diff", "--name-only", "--no-renames", base, head)
        return tuple(names.splitlines())
