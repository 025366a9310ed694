"""How the bot finds its own comment or issue again, and what it did to it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from syncbot.errors import TargetError

_MARKER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class Outcome:
    """What a command did: created, updated, unchanged, closed or nothing; and the page."""

    action: str
    url: str | None = None

    def __str__(self) -> str:
        return self.action if self.url is None else f"{self.action} {self.url}"


def check_marker(marker: str) -> str:
    """A marker goes inside an HTML comment, so only a safe alphabet is allowed."""
    if not _MARKER.fullmatch(marker):
        raise ValueError(f"{marker!r}: use letters, digits, '.', '_' and '-' (at most 100)")
    return marker


def marker_tag(marker: str) -> str:
    """The hidden first line by which the bot finds its own comment or issue again."""
    return f"<!-- syncbot:{check_marker(marker)} -->"


def pr_number_from_event(event_path: str | None) -> int:
    """The pull request number from the event payload GitHub writes to GITHUB_EVENT_PATH."""
    if not event_path:
        raise TargetError("github", "no --pr given and GITHUB_EVENT_PATH not set")
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TargetError("github", f"cannot read the event payload {event_path}: {exc}") from exc
    pull = event.get("pull_request") if isinstance(event, dict) else None
    number = pull.get("number") if isinstance(pull, dict) else None
    if not isinstance(number, int) or isinstance(number, bool):
        raise TargetError("github", f"{event_path} is not a pull_request event; pass --pr")
    return number
