"""Several plans (one per environment) in one Markdown document, refusals lifted to the top."""

from __future__ import annotations

from syncbot.render import BANNER_END, BANNER_START

_MAX_BANNER_LINES = 40  # per environment, lifted to the top of a combined comment


def combine_plans(title: str, plans: list[str]) -> str:
    """One Markdown document of several plans (one per environment), under `title`.

    Every refusal and not-compared banner is also lifted to the very top, so that a
    reviewer sees "apply will refuse this" before any table.
    """
    banners = [block for plan in plans for block in _banners(plan)]
    out = [f"## {title}", ""]
    for block in banners:
        out += [*block, ""]
    for plan in plans:
        out += [plan.rstrip("\n"), ""]
    return "\n".join(out)


def _banners(plan: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in plan.splitlines():
        if line == BANNER_START:
            current = []
        elif line == BANNER_END and current is not None:
            blocks.append(_trim(current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def _trim(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if len(lines) <= _MAX_BANNER_LINES:
        return lines
    return [*lines[:_MAX_BANNER_LINES], "> … (the full list is in the plan below)"]
