"""Pure renderers of a Plan: text for terminals, JSON for machines, Markdown for PRs.

Output depends only on the plan, so the same inputs give byte-identical output.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from syncbot.plan import Change, Plan

_SIGN = {"create": "+", "update": "~", "delete": "-", "repin": "@"}
_MAX_VALUE = 120


def render_plan(plan: Plan, fmt: str) -> str:
    if fmt == "json":
        return (
            json.dumps(plan.as_dict(), indent=2, sort_keys=True, ensure_ascii=False, default=str)
            + "\n"
        )
    if fmt == "markdown":
        return render_markdown(plan)
    return render_text(plan)


def summary_line(plan: Plan) -> str:
    where = f"{plan.environment} at {_short(plan.commit)}"
    if plan.is_empty:
        return f"No changes for {where}: live matches the configuration."
    counts = Counter(c.target for c in plan.changes)
    parts = ", ".join(f"{t} {counts[t]}" for t in ("api", "db", "cache") if counts[t])
    return f"Plan for {where}: {len(plan.changes)} changes ({parts})"


def render_text(plan: Plan) -> str:
    lines = [summary_line(plan)]
    for change in plan.changes:
        lines.append(
            f"  {_SIGN[change.action]} {change.target:<5} {change.action:<6} {change.kind} "
            f"{change.key}  [{change.reason}]"
        )
        if change.detail:
            lines.append(f"      {change.detail}")
        lines.extend(f"      {line}" for line in field_diff(change))
        if change.blocked:
            lines.append(f"      ! blocked: {change.blocked}")
    lines.extend(f"note: {note}" for note in plan.notes)
    return "\n".join(lines) + "\n"


def field_diff(change: Change) -> Iterator[str]:
    before, after = change.before, change.after
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(before.keys() | after.keys()):
            if before.get(key) != after.get(key):
                yield f"{key}: {_value(before.get(key))} -> {_value(after.get(key))}"
    elif change.action != "delete" and after is not None and not isinstance(after, dict):
        yield f"-> {_value(after)}"


def _value(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _short(commit: str | None) -> str:
    if not commit:
        return "the work tree"
    return commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")


def render_markdown(plan: Plan) -> str:
    out = [f"### syncbot plan: `{plan.environment}` at `{_short(plan.commit)}`", ""]
    if plan.is_empty:
        out.append("No changes: live matches the configuration.")
    else:
        out += [f"**{summary_line(plan)}**", "", "| | target | action | object | reason | detail |"]
        out.append("|---|---|---|---|---|---|")
        out += [_md_row(c) for c in plan.changes]
        out += _md_details(plan)
    out += [f"> {note}" for note in plan.notes]
    return "\n".join(out) + "\n"


def _md_row(change: Change) -> str:
    detail = change.detail + (f" **blocked: {change.blocked}**" if change.blocked else "")
    cells = [
        _SIGN[change.action],
        change.target,
        change.action,
        f"{change.kind} `{change.key}`",
        change.reason,
        detail,
    ]
    return "| " + " | ".join(_md_cell(c) for c in cells) + " |"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_details(plan: Plan) -> list[str]:
    lines: list[str] = []
    for change in plan.changes:
        diff = list(field_diff(change))
        if diff:
            lines += [
                "",
                f"<details><summary>{change.target} {change.kind} "
                f"<code>{change.key}</code></summary>",
                "",
                "```",
                *diff,
                "```",
                "</details>",
            ]
    return lines
