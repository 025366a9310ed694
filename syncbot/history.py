"""Renders the run records of `syncbot history`: the listing, and one run's plan and journal.

Pure functions of the records. Free text in a record (actor, reason, journal values) may
come from a person or from an API answer, so control characters are shown escaped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from syncbot.plan import Plan
from syncbot.render import render_text
from syncbot.targets.postgres import RunRecord

# columns of a journal entry shown in their own place; the rest follow as key=value
_JOURNAL_FIXED = ("at", "op", "skill", "outcome", "error")


def printable(text: str) -> str:
    """`text` with control and other non-printable characters escaped (\\x1b, \\u202e)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def utc(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def short_commit(commit: str | None) -> str:
    if not commit:
        return "work tree"
    return commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")


def run_dict(run: RunRecord) -> dict[str, Any]:
    """The listing's fields of one run, as `--format json` prints them."""
    return {
        "id": run.id,
        "environment": run.environment,
        "started_at": utc(run.started_at),
        "finished_at": utc(run.finished_at),
        "commit": run.commit,
        "actor": run.actor,
        "changes": run.changes,
        "status": run.status,
        "reason": run.error,
        "summary": dict(run.summary) if run.summary is not None else None,
    }


def run_line(run: RunRecord) -> str:
    changes = "?" if run.changes is None else str(run.changes)
    line = (
        f"#{run.id:<5} {run.started_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z  "
        f"{short_commit(run.commit):<18} {printable(run.actor):<16} {changes:>5} changes  "
        f"{run.status}"
    )
    return line + (f"  {printable(run.error)}" if run.error else "")


def render_list(runs: Iterable[RunRecord]) -> str:
    lines = [run_line(run) for run in runs]
    return "\n".join(lines) if lines else "no runs yet"


def render_show(run: RunRecord) -> str:
    """One run: its record, the plan it made (as `plan` prints it) and its journal."""
    lines = _header(run)
    lines += ["", *_plan_lines(run.plan), ""]
    lines += _journal_lines(run.journal)
    return "\n".join(lines)


def show_dict(run: RunRecord) -> dict[str, Any]:
    return {
        "run": run_dict(run),
        "plan": dict(run.plan) if run.plan is not None else None,
        "journal": [dict(e) for e in run.journal],
    }


def _header(run: RunRecord) -> list[str]:
    summary = run.summary or {}
    counts = f"{'?' if run.changes is None else run.changes}"
    if summary.get("blocked"):
        counts += f" ({summary['blocked']} blocked by policy)"
    if summary.get("uploads"):
        counts += f", {summary['uploads']} uploads"
    rows = [
        ("commit", run.commit or "the work tree (no commit)"),
        ("actor", printable(run.actor)),
        ("started", utc(run.started_at)),
        ("finished", utc(run.finished_at) or "not finished"),
        ("changes", counts),
    ]
    if run.error:
        rows.append(("reason", printable(run.error)))
    head = f"Run {run.id} ({run.environment}): {run.status}"
    return [head, *(f"  {name:<9} {value}" for name, value in rows)]


def _plan_lines(plan: Mapping[str, Any] | None) -> list[str]:
    if plan is None:
        return ["No plan stored: the run stopped before it had one."]
    try:
        parsed = Plan.from_dict(plan)
        text = render_text(parsed)
    except (KeyError, TypeError, ValueError) as exc:
        return [f"The stored plan cannot be shown as text ({exc}); see --format json."]
    return [printable(line) for line in text.rstrip("\n").split("\n")]


def _journal_lines(journal: tuple[Mapping[str, Any], ...]) -> list[str]:
    if not journal:
        return ["Journal: empty (nothing was written)."]
    lines = [f"Journal ({len(journal)} entries):"]
    lines.extend(f"  {_journal_entry(entry)}" for entry in journal)
    return lines


def _journal_entry(entry: Mapping[str, Any]) -> str:
    parts = [
        str(entry.get("at", "-")),
        f"{entry.get('op', '?')!s:<9}",
        f"{entry.get('skill', '-')!s:<24}",
        f"{entry.get('outcome', '?')!s:<8}",
    ]
    extra = [f"{k}={_value(v)}" for k, v in sorted(entry.items()) if k not in _JOURNAL_FIXED]
    if "error" in entry:
        extra.append(f"error: {entry['error']}")
    return printable(" ".join(parts + extra).rstrip())


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
