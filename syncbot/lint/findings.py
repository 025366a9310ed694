"""The one value every validation rule produces."""

from __future__ import annotations

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
