"""`syncbot validate`: every rule (README, validate section), all problems reported in one run."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from syncbot.errors import ConfigError
from syncbot.files.gittree import GitTree
from syncbot.files.history import SkillHistory
from syncbot.files.load import LoadedRepo, read_repo
from syncbot.files.source import Source, SourceFile
from syncbot.lint.base import base_findings
from syncbot.lint.content import scan_config_files
from syncbot.lint.content.exposure import with_exposure
from syncbot.lint.findings import Finding
from syncbot.lint.report import FORMATS, render_findings, summary
from syncbot.lint.rollouts import rollout_findings
from syncbot.lint.routes import route_findings
from syncbot.lint.skills import skill_findings
from syncbot.policy import Policy, policy_of, strictest

__all__ = ["FORMATS", "render_findings", "summary", "validate", "validate_and_load"]


def validate(source: Source, *, base: Source | None = None) -> list[Finding]:
    """Every finding of `source` (and of its changes since `base`), sorted by place.

    A file that does not parse only loses the rules that need its content: the other
    files are still checked, and every problem is reported in the same run.
    """
    return validate_and_load(source, base=base)[1]


def validate_and_load(
    source: Source, *, base: Source | None = None
) -> tuple[LoadedRepo, list[Finding]]:
    """The findings, and the repository they were found in (parsed once, for plan).

    When no finding is an error, the LoadedRepo is complete: `build_desired` accepts it.
    """
    repo, errors = read_repo(source)
    # The base's own problems are not this change's, and unchanged skills need no
    # comparison: only the folders that differ (and the other files) are parsed again.
    changed_only = _ChangedOnly(base, repo.files) if base is not None else None
    base_repo = read_repo(changed_only)[0] if changed_only is not None else None
    policy = judging_policy(repo, base_repo)
    findings = [_finding(error) for error in errors]
    findings += skill_findings(repo)
    findings += scan_config_files(repo.files)
    findings += route_findings(repo)
    findings += rollout_findings(repo, policy)
    if base is not None and base_repo is not None and changed_only is not None:
        history = SkillHistory(base) if isinstance(base, GitTree) else None
        unchanged = changed_only.unchanged
        findings += base_findings(repo, base_repo, policy, history, unchanged)
    return repo, with_exposure(_unique(findings), _root(source), isinstance(source, GitTree))


def _root(source: Source) -> Path | None:
    root = getattr(source, "root", None)
    return root if isinstance(root, Path) else None


def judging_policy(head: LoadedRepo, base: LoadedRepo | None) -> Policy:
    """The policy a change is judged by: the stricter of the base's and its own."""
    own = policy_of(head.config)
    return own if base is None else strictest(policy_of(base.config), own)


class _ChangedOnly:
    """The base tree without the skill folders that are byte-identical in the head."""

    def __init__(self, base: Source, head_files: tuple[SourceFile, ...]) -> None:
        self._base = base
        self._head = head_files
        self.unchanged: frozenset[str] = frozenset()  # skill names, known after files()

    @property
    def commit(self) -> str | None:
        return self._base.commit

    def files(self) -> tuple[SourceFile, ...]:
        base_files = self._base.files()
        unchanged = _folders(base_files) - _folders(set(base_files) ^ set(self._head))
        self.unchanged = frozenset(str(name) for name in unchanged)
        return tuple(f for f in base_files if _folder(f.path) not in unchanged)


def _folder(path: str) -> str | None:
    parts = path.split("/", 2)
    return parts[1] if len(parts) == 3 and parts[0] == "skills" else None


def _folders(files: Iterable[SourceFile]) -> set[str | None]:
    return {_folder(f.path) for f in files} - {None}


def _finding(error: ConfigError) -> Finding:
    where = error.location
    return Finding(where.file, where.line, error.rule, error.reason, column=where.column)


def _unique(findings: list[Finding]) -> list[Finding]:
    """Sorted, one finding per (file, line, rule): two checks may see the same problem."""
    seen: dict[tuple[str, int, str], Finding] = {}
    for finding in findings:
        seen.setdefault((finding.file, finding.line, finding.rule), finding)
    return sorted(seen.values())
