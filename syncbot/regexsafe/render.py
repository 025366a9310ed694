"""Nodes rendered back to pattern text, so that messages quote the part they are about."""

from __future__ import annotations

import re

from syncbot.regexsafe.tree import Alt, Anchor, Chars, Group, Node, Repeat, Seq


def render(node: Node) -> str:
    if isinstance(node, Chars):
        return _render_chars(node)
    if isinstance(node, Seq):
        return "".join(_render_item(item, len(node.items)) for item in node.items)
    if isinstance(node, Alt):
        return "|".join(render(b) for b in node.branches)
    if isinstance(node, Group):
        return ("(" if node.capturing else "(?:") + render(node.body) + ")"
    if isinstance(node, Repeat):
        return _render_atom(node.body) + _quantifier(node)
    if isinstance(node, Anchor):
        return {"start": "^", "end": "$"}.get(node.kind, "")
    return f"<{node.what}>"


def _render_item(item: Node, siblings: int) -> str:
    text = render(item)
    return f"(?:{text})" if isinstance(item, Alt) and siblings > 1 else text


def _render_atom(body: Seq) -> str:
    text = render(body)
    single = len(body.items) == 1 and isinstance(body.items[0], Chars | Group)
    return text if single else f"(?:{text})"


def _quantifier(node: Repeat) -> str:
    lo, hi = node.lo, node.hi
    counted = f"{{{lo}}}" if lo == hi else f"{{{lo},{'' if hi is None else hi}}}"
    text = {(0, None): "*", (1, None): "+", (0, 1): "?"}.get((lo, hi), counted)
    return text + {"greedy": "", "lazy": "?", "possessive": "+"}[node.kind]


CATEGORY_TEXT = {
    "space": r"\s",
    "not_space": r"\S",
    "digit": r"\d",
    "not_digit": r"\D",
    "word": r"\w",
    "not_word": r"\W",
}


def _render_chars(node: Chars) -> str:
    if node.negated and node.spans == ((10, 10),) and not node.categories:
        return "."
    parts = [render_span(lo, hi) for lo, hi in node.spans]
    parts += [CATEGORY_TEXT.get(c, c) for c in node.categories]
    if (
        not node.negated
        and len(parts) == 1
        and (node.categories or node.spans[0][0] == node.spans[0][1])
    ):
        return parts[0]
    return "[" + ("^" if node.negated else "") + "".join(parts) + "]"


def render_span(lo: int, hi: int) -> str:
    def one(cp: int) -> str:
        ch = chr(cp)
        return re.escape(ch) if ch.isprintable() else f"\\u{cp:04x}"

    return one(lo) if lo == hi else f"{one(lo)}-{one(hi)}"
