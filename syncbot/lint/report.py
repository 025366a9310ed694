"""Render findings: text for people, JSON for machines, GitHub workflow commands for CI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from syncbot.lint.findings import Finding
from syncbot.textsafe import visible

Format = Literal["text", "json", "github"]
FORMATS: tuple[Format, ...] = ("text", "json", "github")


def render_findings(findings: Sequence[Finding], fmt: str = "text") -> str:
    """The findings in one of FORMATS, ending with a newline; sorted by file and line."""
    ordered = sorted(findings)
    if fmt == "text":
        return _text(ordered)
    if fmt == "json":
        return _json(ordered)
    if fmt == "github":
        return _github(ordered)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def summary(findings: Sequence[Finding]) -> str:
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    if not findings:
        return "no problems found"
    return f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _text(findings: Sequence[Finding]) -> str:
    lines = [
        visible(f"{f.file}:{f.line}: {f.severity} {f.rule}: {f.message}", multiline=False)
        for f in findings
    ]
    return "\n".join([*lines, summary(findings)]) + "\n"


def _json(findings: Sequence[Finding]) -> str:
    errors = sum(1 for f in findings if f.severity == "error")
    document = {
        "version": 1,
        "summary": {"errors": errors, "warnings": len(findings) - errors},
        "findings": [f.as_dict() for f in findings],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _github(findings: Sequence[Finding]) -> str:
    lines = [_annotation(f) for f in findings]
    return "\n".join([*lines, summary(findings)]) + "\n"


def _annotation(finding: Finding) -> str:
    command = "error" if finding.severity == "error" else "warning"
    properties = [f"file={_property(finding.file)}", f"line={finding.line}"]
    if finding.column is not None:
        properties.append(f"col={finding.column}")
    properties.append(f"title={_property(finding.rule)}")
    # line breaks stay (escaped below, as GitHub expects); other controls show as escapes
    message = "\r\n".join(visible(part) for part in finding.message.split("\r\n"))
    return f"::{command} {','.join(properties)}::{_data(message)}"


def _data(text: str) -> str:
    # The escaping of @actions/core (toCommandValue / escapeData).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(visible(text, multiline=False)).replace(":", "%3A").replace(",", "%2C")
