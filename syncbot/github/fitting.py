"""Markdown cut to GitHub's size limits at a whole line, with open blocks closed."""

from __future__ import annotations

import re

# GitHub answers 422 "Body is too long" past 65,536 characters (comments and issue bodies).
COMMENT_LIMIT = 65_536
# Per step; past it the summary upload is aborted ("supports content up to a size of 1024k").
SUMMARY_LIMIT = 1024 * 1024
CLOSERS_RESERVE = 200  # room for the fence and </details> lines _closers() may add
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


def fit(text: str, limit: int, note: str) -> str:
    """Return `text`, or its longest run of whole lines that fits `limit` with `note` added.

    Sizes are UTF-8 bytes: never fewer than characters, so the result fits whichever
    GitHub counts. A Markdown code fence or `<details>` left open by the cut is closed
    first, so the note renders as text.
    """
    if utf8_size(text) <= limit:
        return text
    kept = _whole_lines(text, limit - utf8_size(note) - CLOSERS_RESERVE)
    return kept + _closers(kept) + note


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def _whole_lines(text: str, budget: int) -> str:
    kept: list[str] = []
    for line in text.splitlines(keepends=True):
        budget -= utf8_size(line)
        if budget < 0:
            break
        kept.append(line)
    return "".join(kept)


def _closers(kept: str) -> str:
    fence: str | None = None
    for line in kept.splitlines():
        match = _FENCE.match(line)
        if match is None:
            continue
        mark = match.group(1)
        if fence is None:
            fence = mark
        elif mark[0] == fence[0] and len(mark) >= len(fence) and not line.strip(" `~"):
            fence = None
    open_details = kept.count("<details") - kept.count("</details>")
    closing = "" if fence is None else f"{fence[:20]}\n"
    return closing + "</details>\n" * max(0, min(open_details, 5))
