"""Character sets for the ReDoS analysis: sorted disjoint inclusive spans, case-folded.

`first_chars` and `alphabet_of` say which characters a node's matches can start with or
contain; two parts of a pattern are ambiguous when those sets overlap.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from syncbot.regexsafe.tree import Alt, Anchor, Chars, Group, Node, Other, Repeat, Seq, walk

_MAX_CP = sys.maxunicode


@dataclass(frozen=True)
class CharSet:
    spans: tuple[tuple[int, int], ...]

    @staticmethod
    def of(spans: Iterable[tuple[int, int]]) -> CharSet:
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(spans):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        return CharSet(tuple(merged))

    def __or__(self, other: CharSet) -> CharSet:
        return CharSet.of(self.spans + other.spans)

    def invert(self) -> CharSet:
        edges, start = [], 0
        for lo, hi in self.spans:
            if lo > start:
                edges.append((start, lo - 1))
            start = hi + 1
        if start <= _MAX_CP:
            edges.append((start, _MAX_CP))
        return CharSet(tuple(edges))

    def overlaps(self, other: CharSet) -> bool:
        i = j = 0
        while i < len(self.spans) and j < len(other.spans):
            (a, b), (c, d) = self.spans[i], other.spans[j]
            if a <= d and c <= b:
                return True
            i, j = (i + 1, j) if b < d else (i, j + 1)
        return False

    def __contains__(self, cp: int) -> bool:
        return any(lo <= cp <= hi for lo, hi in self.spans)


EMPTY = CharSet(())
ALL = CharSet(((0, _MAX_CP),))
_PY_SPACE: tuple[tuple[int, int], ...] = (
    (9, 13),
    (28, 32),
    (133, 133),
    (160, 160),
    (5760, 5760),
    (8192, 8202),
    (8232, 8233),
)
_PY_SPACE += ((8239, 8239), (8287, 8287), (12288, 12288))
# Digits and word characters are over-approximated (all non-ASCII included): they are
# rejected as non-portable anyway, and a larger set only makes the analysis stricter.
_CATEGORY_SETS = {
    "space": CharSet.of(_PY_SPACE),
    "digit": CharSet.of([(48, 57), (128, _MAX_CP)]),
    "word": CharSet.of([(48, 57), (65, 90), (95, 95), (97, 122), (128, _MAX_CP)]),
}
_CATEGORY_SETS["not_space"] = _CATEGORY_SETS["space"].invert()
_CATEGORY_SETS["not_digit"] = CharSet.of([(48, 57)]).invert()
_CATEGORY_SETS["not_word"] = CharSet.of([(48, 57), (65, 90), (95, 95), (97, 122)]).invert()


@functools.lru_cache(maxsize=4096)
def charset_of(node: Chars) -> CharSet:
    spans = [fold for span in node.spans for fold in _fold_span(*span)]
    base = CharSet.of(spans)
    for category in node.categories:
        base = base | _CATEGORY_SETS.get(category, ALL)
    return base.invert() if node.negated else base


def _fold_span(lo: int, hi: int) -> Iterator[tuple[int, int]]:
    yield lo, hi
    for a, b, shift in ((65, 90, 32), (97, 122, -32)):
        if lo <= b and a <= hi:
            yield max(lo, a) + shift, min(hi, b) + shift
    if hi >= 128 and hi - max(lo, 128) > 256:
        yield 128, _MAX_CP  # too many to fold one by one: over-approximate
    elif hi >= 128:
        for cp in range(max(lo, 128), hi + 1):
            for other in (chr(cp).lower(), chr(cp).upper()):
                if len(other) == 1:
                    yield ord(other), ord(other)


def first_chars(node: Node) -> tuple[CharSet, bool]:
    """Characters a match of node can start with, and whether it can match empty."""
    if isinstance(node, Chars):
        return charset_of(node), False
    if isinstance(node, Seq):
        return first_chars_of(node.items)
    if isinstance(node, Alt):
        firsts = [first_chars(b) for b in node.branches]
        return _union(f for f, _ in firsts), any(n for _, n in firsts)
    if isinstance(node, Group):
        return first_chars(node.body)
    if isinstance(node, Repeat):
        chars, nullable = first_chars(node.body)
        return chars, nullable or node.lo == 0
    if isinstance(node, Anchor):
        return EMPTY, True
    return ALL, True


def first_chars_of(items: Iterable[Node]) -> tuple[CharSet, bool]:
    acc = EMPTY
    for item in items:
        chars, nullable = first_chars(item)
        acc = acc | chars
        if not nullable:
            return acc, False
    return acc, True


def _union(sets: Iterable[CharSet]) -> CharSet:
    return CharSet.of(span for s in sets for span in s.spans)


def alphabet_of(node: Node) -> CharSet:
    """Every character a match of node can contain."""
    if isinstance(node, Chars):
        return charset_of(node)
    if isinstance(node, Other):
        return ALL
    return _union(charset_of(n) for n in walk(node) if isinstance(n, Chars))


def can_be_empty(node: Node) -> bool:
    return first_chars(node)[1]
