"""Required substrings of a pattern, for the routing prefilter.

Routing indexes each pattern under the strings every match of it contains, and only
evaluates the patterns whose strings occur in the (folded) query.
"""

from __future__ import annotations

from collections.abc import Iterable

from syncbot.regexsafe.tree import Alt, Chars, Group, Node, Repeat, Seq, parse


def required_substrings(pattern: str) -> frozenset[str] | None:
    """Strings (lower-case ASCII, 3+ characters) at least one of which every match contains.

    A prefilter aid for routing: fold the query with `fold_for_prefilter`, and a pattern
    can only match if one of these is a substring. None: no such guarantee.
    """
    parsed = parse(pattern)
    return None if isinstance(parsed, str) else _required(parsed.tree)


_PREFILTER_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})


def fold_for_prefilter(text: str) -> str:
    """Lower-case text so that every character `re.I` matches to an ASCII letter becomes it."""
    return text.translate(_PREFILTER_FOLD).lower()


def _required(node: Node) -> frozenset[str] | None:
    if isinstance(node, Seq):
        return _required_in_sequence(node.items)
    if isinstance(node, Alt):
        options = [_required(b) for b in node.branches]
        present = [o for o in options if o is not None]
        return frozenset().union(*present) if len(present) == len(options) else None
    if isinstance(node, Group):
        return _required(node.body)
    if isinstance(node, Repeat) and node.lo >= 1:
        return _required(node.body)
    return None


def _required_in_sequence(items: Iterable[Node]) -> frozenset[str] | None:
    candidates: list[frozenset[str]] = []
    run = ""
    for item in [*items, None]:
        char = _ascii_literal(item)
        if char is not None:
            run += char
            continue
        if len(run) >= 3:
            candidates.append(frozenset({run}))
        run = ""
        sub = _required(item) if item is not None else None
        if sub:
            candidates.append(sub)
    return max(candidates, key=lambda s: (min(map(len, s)), -len(s)), default=None)


def _ascii_literal(node: Node | None) -> str | None:
    if not isinstance(node, Chars) or node.negated or node.categories or len(node.spans) != 1:
        return None
    lo, hi = node.spans[0]
    return chr(lo).lower() if lo == hi and lo < 128 else None
