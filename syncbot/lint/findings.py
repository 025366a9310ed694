"""The one value every validation rule produces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Finding:
    """One problem: file is a POSIX path relative to the repository root, line is 1-based."""

    file: str
    line: int
    rule: str
    message: str
    severity: Severity = "error"
    column: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
        }


def first_and_count(findings: Sequence[Finding], hint: str = "") -> str:
    """The first finding as `file:line: rule: message`, and how many more there are (with
    `hint`, e.g. what to run to see them): the one line a refusal prints."""
    first = findings[0]
    more = f" (and {len(findings) - 1} more{hint})" if len(findings) > 1 else ""
    return f"{first.file}:{first.line}: {first.rule}: {first.message}{more}"
