"""Pure renderers of a Plan: text for terminals, JSON for machines, Markdown for PRs.

Output depends only on the plan (and the explanations of syncbot.semantic, when given),
so the same inputs give byte-identical output. JSON never carries explanations: it is
the saved plan that `apply --plan` reads.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from syncbot.plan import Change, Plan
from syncbot.textsafe import md_block_line, md_code, md_fence, md_html, md_inline, visible

Explanations = Mapping[str, tuple[str, ...]]

_SIGN = {"create": "+", "update": "~", "delete": "-", "repin": "@"}
_MAX_VALUE = 120
_FENCE = re.compile(r"(`{3,})\S*$")
_LIST_MARKER = re.compile(r"([-+*]|[0-9]+[.)])(\s|$)")
_TEXT_SUBITEMS = 3  # per explanation line in a terminal; Markdown shows them all
_NONE: Explanations = {}


def render_plan(plan: Plan, fmt: str, explanations: Explanations | None = None) -> str:
    if fmt == "json":
        return (
            json.dumps(plan.as_dict(), indent=2, sort_keys=True, ensure_ascii=False, default=str)
            + "\n"
        )
    if fmt == "markdown":
        return render_markdown(plan, explanations=explanations)
    return render_text(plan, explanations=explanations)


def summary_line(plan: Plan) -> str:
    where = f"{visible(plan.environment, multiline=False)} at {_short(plan.commit)}"
    if plan.is_empty and not plan.complete:
        return f"No changes found for {where} in the targets that could be read."
    if plan.is_empty:
        return f"No changes for {where}: live matches the configuration."
    counts = Counter(c.target for c in plan.changes)
    parts = ", ".join(f"{t} {counts[t]}" for t in ("api", "db", "cache") if counts[t])
    return f"Plan for {where}: {len(plan.changes)} changes ({parts})"


def render_text(plan: Plan, explanations: Explanations | None = None) -> str:
    explained = explanations or _NONE
    lines = [*banner_lines(plan), summary_line(plan)]
    for change in plan.changes:
        lines.append(
            f"  {_SIGN[change.action]} {change.target:<5} {change.action:<6} {change.kind} "
            f"{_line(change.key)}  [{_line(change.reason)}]"
        )
        if change.detail:
            lines.append(f"      {_line(change.detail)}")
        lines.extend(f"      {line}" for line in field_diff(change))
        lines.extend(f"      = {line}" for line in short_form(explained.get(change.object_id, ())))
        if change.blocked:
            lines.append(f"      ! blocked: {_line(change.blocked)}")
    lines.extend(f"note: {_line(note)}" for note in plan.notes)
    return "\n".join(lines) + "\n"


def banner_lines(plan: Plan) -> list[str]:
    """What a reader must see first: apply will refuse this plan, or it is incomplete."""
    lines: list[str] = []
    refused = plan.refused
    if refused:
        lines.append(
            f"! APPLY WILL REFUSE THIS PLAN: {len(refused)} "
            f"{'change is' if len(refused) == 1 else 'changes are'} refused by policy"
        )
        lines += [
            f"!   {_line(r.object_id)}: {_line(r.reason)} -> {_line(r.when)}" for r in refused
        ]
    for target, why in sorted(plan.uncompared.items()):
        lines.append(f"! NOT COMPARED: {target} could not be read ({_line(why)}); {_UNKNOWN}")
    return lines


_UNKNOWN = "this plan cannot say whether it differs"


def _line(text: str) -> str:
    """Configuration text on one terminal line: a newline in it cannot forge another."""
    return visible(text, multiline=False)


def short_form(explanation: Iterable[str]) -> Iterator[str]:
    """The explanation for a terminal: no detail blocks or bold marks, few sub-items."""
    hidden = shown = 0
    for is_block, lines in segments(explanation):
        line = lines[0]
        if is_block:
            continue
        if not line.startswith("  "):
            yield from _hidden(hidden)
            hidden = shown = 0
        elif shown >= _TEXT_SUBITEMS:
            hidden += 1
            continue
        else:
            shown += 1
        yield visible(line.replace("**", ""), multiline=False)
    yield from _hidden(hidden)


def _hidden(count: int) -> Iterator[str]:
    if count:
        yield f"  … {count} more lines in --format markdown"


def segments(explanation: Iterable[str]) -> Iterator[tuple[bool, list[str]]]:
    """(is_block, lines): single explanation lines, and fenced detail blocks whole.

    The format is syncbot.semantic's: a block opens with a line of 3+ backticks and a
    language and closes at the line of exactly those backticks (closed here if missing).
    """
    fence: str | None = None
    block: list[str] = []
    for line in explanation:
        if fence is None:
            match = _FENCE.match(line)
            if match is None:
                yield False, [line]
            else:
                fence, block = match.group(1), [line]
        else:
            block.append(line)
            if line == fence:
                yield True, block
                fence = None
    if fence is not None:
        yield True, [*block, fence]


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
    text = visible(text, multiline=False)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _short(commit: str | None) -> str:
    if not commit:
        return "the work tree"
    return visible(commit[:12], multiline=False) + ("-dirty" if commit.endswith("-dirty") else "")


BANNER_START = "<!-- syncbot:banner -->"
BANNER_END = "<!-- /syncbot:banner -->"


def markdown_banner(plan: Plan) -> list[str]:
    """The refusal and not-compared alerts, between markers so that a combined comment
    can lift them to its very top."""
    out: list[str] = []
    refused = plan.refused
    if refused:
        out += [
            "> [!CAUTION]",
            f"> **Apply will refuse this plan** for {md_code(plan.environment)}: {len(refused)} "
            f"{'change is' if len(refused) == 1 else 'changes are'} refused by policy.",
        ]
        out += [
            f"> - {md_code(r.object_id)}: {md_inline(r.reason)}. **{md_inline(r.when)}**"
            for r in refused
        ]
    for target, why in sorted(plan.uncompared.items()):
        if out:
            out.append("")
        out += [
            "> [!WARNING]",
            f"> **Not compared**: {md_code(target)} of {md_code(plan.environment)} could not "
            f"be read ({md_inline(why)}); {_UNKNOWN}.",
        ]
    return [BANNER_START, *out, "", BANNER_END, ""] if out else []


def render_markdown(plan: Plan, explanations: Explanations | None = None) -> str:
    # Every piece of configuration or live text goes through syncbot.textsafe: nothing
    # from it can open a comment or <details>, close a fence, start a block or mention.
    out = [f"### syncbot plan: {md_code(plan.environment)} at {md_code(_short(plan.commit))}", ""]
    out += markdown_banner(plan)
    if plan.is_empty and not plan.complete:
        out.append(f"No changes found in the targets that could be read: {_UNKNOWN}.")
    elif plan.is_empty:
        out.append("No changes: live matches the configuration.")
    else:
        out += [f"**{md_inline(summary_line(plan))}**", ""]
        out.append("| | target | action | object | reason | detail |")
        out.append("|---|---|---|---|---|---|")
        out += [_md_row(c) for c in plan.changes]
        out += _md_details(plan, explanations or _NONE)
    if plan.notes:  # a blank line first: right after </details> they would be raw HTML
        out += ["", *(f"> {md_inline(note)}" for note in plan.notes)]
    return "\n".join(out) + "\n"


def _md_row(change: Change) -> str:
    blocked = f" **blocked: {md_inline(change.blocked)}**" if change.blocked else ""
    cells = [
        _SIGN[change.action],
        change.target,
        change.action,
        f"{change.kind} {md_code(change.key, in_table=True)}",
        md_inline(change.reason),
        md_inline(change.detail) + blocked,
    ]
    return "| " + " | ".join(_md_cell(c) for c in cells) + " |"


def _md_cell(text: str) -> str:
    return text.replace("\n", " ")  # cells arrive escaped: pipes are entities or \|


def _md_details(plan: Plan, explanations: Explanations) -> list[str]:
    lines: list[str] = []
    for change in plan.changes:
        explained = explanations.get(change.object_id, ())
        diff = list(field_diff(change))
        title = f"{change.target} {change.kind} <code>{md_html(change.key)}</code>"
        if explained:
            heading = f"{_SIGN[change.action]} {change.target} {change.action} {change.kind}"
            blocked = f" (blocked: {md_inline(change.blocked)})" if change.blocked else ""
            lines += ["", f"**{heading} {md_code(change.key)}**{blocked}", ""]
            lines += _md_explanation(explained)
            title = "field changes"
        if diff:
            body = [md_block_line(line) for line in diff]
            fence = md_fence(body)
            lines += _md_collapsed(title, [fence, *body, fence])
    return lines


def _md_explanation(explanation: Iterable[str]) -> list[str]:
    """Lines as a bullet list (two leading spaces nest), blocks collapsed in <details>."""
    out: list[str] = []
    for is_block, lines in segments(explanation):
        if is_block:
            body = [md_block_line(line) for line in lines[1:-1]]
            out += _md_collapsed("show the diff", [lines[0], *body, lines[-1]])
        else:
            nested = lines[0].startswith("  ")
            out.append(("  - " if nested else "- ") + _not_a_marker(lines[0].strip()))
    return out


def _not_a_marker(text: str) -> str:
    """Escape a leading `+ `, `- `, `1. `: inside a bullet it would open a nested list."""
    return "\\" + text if _LIST_MARKER.match(text) else text


def _md_collapsed(summary: str, body: list[str]) -> list[str]:
    # blank lines around the body: GitHub renders Markdown inside <details> only then
    return ["", f"<details><summary>{summary}</summary>", "", *body, "", "</details>"]
