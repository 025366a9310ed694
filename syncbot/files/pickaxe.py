"""Whether some commit of a repository holds a given string in a given file."""

from __future__ import annotations

from pathlib import Path

import git


def commit_holding(root: Path, file: str, needle: str) -> str:
    """The short sha of the newest commit (any branch) that added or removed `needle` in
    `file`, or "" when none did (or `root` is not in a git repository)."""
    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return ""
    try:
        return str(repo.git.log("--all", "-1", "--format=%h", "-S", needle, "--", file)).strip()
    except git.GitCommandError:
        return ""
    finally:
        repo.close()
