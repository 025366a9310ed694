"""What the explanation modules share: limits, and the Markdown code span."""

from __future__ import annotations

import re
from collections.abc import Mapping

from syncbot.textsafe import md_code

Explanations = Mapping[str, tuple[str, ...]]
OldFiles = Mapping[str, Mapping[str, bytes]]

MAX_QUERIES = 15  # flipped queries listed per route change; the rest are counted
MAX_QUERY_CHARS = 120
MAX_FILES = 20  # changed paths listed per skill
MAX_DIFF_LINES = 60  # a bounded diff keeps two environments' plans under GitHub's limit
MAX_DIFF_CHARS = 6000
MAX_DIFF_LINE_CHARS = 200
SKILL_MD = "SKILL.md"
SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
DIRTY = "-dirty"


def code(text: str) -> str:
    """`text` as a Markdown code span whatever it holds (backticks, newlines, controls)."""
    return md_code(text)
