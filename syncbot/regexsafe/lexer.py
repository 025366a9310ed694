"""The lexical tokens of a pattern, read from its text before any parser rewrites it.

The portability scan reports constructs by their text and position, the V8 view wraps
alternation branches token by token, and the probe un-captures groups by token.
"""

from __future__ import annotations

import re

# A lexical token of a pattern: (kind, text, position); kind is a group name of TOKEN
# ("other", "escape", "cls", "ext", "quant", "brace", "comment").
Token = tuple[str, str, int]

TOKEN = re.compile(
    r"""
    (?P<comment>\(\?\#[^)]*\)?)
  | (?P<escape>\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.))
  | (?P<cls>\[\^?\]?(?:\\.|[^\]\\])*\]?)
  | (?P<ext>\(\?(?:P[<=>]|<[=!]|.))
  | (?P<quant>(?:\{\d+(?:,\d*)?\}|[*+?])[?+]?)
  | (?P<brace>[{}\]])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def tokenize(pattern: str) -> list[Token]:
    """The pattern's lexical tokens: (kind, text, position), kind a group name of TOKEN."""
    return [(m.lastgroup or "other", m.group(), m.start()) for m in TOKEN.finditer(pattern)]
