"""Whether a secret finding is already in git history, which changes the fix.

A secret in a file that no commit holds can simply be removed before committing; one a
commit holds has been copied to every clone and must be revoked where it was issued.
The scanner sees bytes only; this looks the finding's line up in the repository.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from syncbot.files.pickaxe import commit_holding
from syncbot.lint.content.secrets import REVOKE
from syncbot.lint.findings import Finding

_DEFAULT_REVOKE = "revoke it where it was issued"
_TOKEN = re.compile(r"[^\s'\"`<>]+")
_MIN_NEEDLE = 12  # shorter than this, look for the whole line instead


def with_exposure(findings: list[Finding], root: Path | None, committed: bool) -> list[Finding]:
    """Each secret finding told whether it is in git history (`committed`: the files come
    from a commit, so it is), with the matching fix."""
    return [_told(f, root, committed) if f.rule.startswith("secret-") else f for f in findings]


def _told(finding: Finding, root: Path | None, committed: bool) -> Finding:
    revoke = REVOKE.get(finding.rule, _DEFAULT_REVOKE)
    sha = "" if committed or root is None else _commit_holding(finding, root)
    if committed or sha:
        where = f" (commit {sha})" if sha else ""
        tail = f"; it is in git history{where}: {revoke} now"
    else:
        tail = "; no commit holds it yet: remove it before committing"
    return replace(finding, message=finding.message + tail)


def _commit_holding(finding: Finding, root: Path) -> str:
    needle = _needle(root / finding.file, finding)
    return commit_holding(root, finding.file, needle) if needle else ""


def _needle(path: Path, finding: Finding) -> str:
    """The secret itself (from its column) when it can be cut out, else its whole line."""
    try:
        text = path.read_text("utf-8", errors="replace")
        line = text.splitlines()[finding.line - 1]
    except (OSError, IndexError):
        return ""
    start = (finding.column or 1) - 1
    token = _TOKEN.match(line, start) if finding.column else None
    if token is not None and len(token.group()) >= _MIN_NEEDLE:
        return token.group()
    return line.strip()
