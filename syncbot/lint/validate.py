"""`syncbot validate`: every rule of SPEC section 3, all problems reported in one run."""

from __future__ import annotations

from syncbot.errors import ConfigError
from syncbot.files.load import read_repo
from syncbot.files.source import Source
from syncbot.lint.base import base_findings
from syncbot.lint.findings import Finding
from syncbot.lint.report import FORMATS, render_findings, summary
from syncbot.lint.rollouts import rollout_findings
from syncbot.lint.routes import route_findings
from syncbot.lint.skills import skill_findings

__all__ = ["FORMATS", "render_findings", "summary", "validate"]


def validate(source: Source, *, base: Source | None = None) -> list[Finding]:
    """Every finding of `source` (and of its changes since `base`), sorted by place.

    A file that does not parse only loses the rules that need its content: the other
    files are still checked, and every problem is reported in the same run.
    """
    repo, errors = read_repo(source)
    findings = [_finding(error) for error in errors]
    findings += skill_findings(repo)
    findings += route_findings(repo)
    findings += rollout_findings(repo)
    if base is not None:
        base_repo, _ = read_repo(base)  # the base's own problems are not this change's
        findings += base_findings(repo, base_repo)
    return _unique(findings)


def _finding(error: ConfigError) -> Finding:
    where = error.location
    return Finding(where.file, where.line, error.rule, error.reason, column=where.column)


def _unique(findings: list[Finding]) -> list[Finding]:
    """Sorted, one finding per (file, line, rule): two checks may see the same problem."""
    seen: dict[tuple[str, int, str], Finding] = {}
    for finding in findings:
        seen.setdefault((finding.file, finding.line, finding.rule), finding)
    return sorted(seen.values())
