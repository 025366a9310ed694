"""The parse tree of a pattern: our own node types, built by the one adapter of re's parser.

Every check reads this tree instead of re's private structures, so a Python upgrade that
changes them breaks in `parse` alone. `parse` also drops the marker groups of the V8 view
(see `v8`), so both readings of a pattern come out as the same node types.
"""

from __future__ import annotations

import functools
import importlib
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from syncbot.regexsafe.v8 import BRANCH_MARK

# A bounded repeat above this count backtracks like an unbounded one.
_WIDE = 16


@dataclass(frozen=True)
class Chars:
    """One character from a set: literals and ranges as inclusive code point spans."""

    spans: tuple[tuple[int, int], ...]
    categories: tuple[str, ...] = ()
    negated: bool = False


@dataclass(frozen=True)
class Seq:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Alt:
    branches: tuple[Seq, ...]


@dataclass(frozen=True)
class Group:
    body: Seq
    capturing: bool
    scoped_flags: bool = False


@dataclass(frozen=True)
class Repeat:
    lo: int
    hi: int | None  # None: unbounded
    kind: Literal["greedy", "lazy", "possessive"]
    body: Seq


@dataclass(frozen=True)
class Anchor:
    kind: str  # "start", "end", or re's name for anything else (AT_BOUNDARY ...)


@dataclass(frozen=True)
class Other:
    """A construct outside the whitelist; body kept so the ReDoS rules still see inside."""

    what: str
    body: Seq | None = None


Node = Chars | Seq | Alt | Group | Repeat | Anchor | Other


@dataclass(frozen=True)
class Parsed:
    tree: Seq
    nodes: tuple[Node, ...]
    warnings: tuple[str, ...]
    named_groups: tuple[str, ...]
    global_flags: bool


# Literal characters are by far the most common node; sharing them keeps parsing cheap.
_LITERALS: dict[int, Chars] = {}
_REPEAT_KINDS: dict[str, Literal["greedy", "lazy", "possessive"]] = {
    "MAX_REPEAT": "greedy",
    "MIN_REPEAT": "lazy",
    "POSSESSIVE_REPEAT": "possessive",
}
_OTHER_NAMES = {
    "ATOMIC_GROUP": "atomic group (?>...)",
    "GROUPREF": "backreference",
    "GROUPREF_EXISTS": "conditional group (?(...)...)",
}


@functools.lru_cache(maxsize=1 << 16)  # see check._check_cached, routing.PATTERN_CACHE_SIZE
def parse(pattern: str) -> Parsed | str:
    """Parse with re's own parser (pinned to Python 3.11); a str result is the syntax error.

    This is the only code that touches the private `re._parser` API, so a Python upgrade
    that changes it breaks in one place (tests/test_regexsafe.py pins the shapes). It is
    one function on purpose, at the cost of length.
    """
    sre = importlib.import_module("re._parser")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parsed = sre.parse(pattern, re.IGNORECASE)
        except re.error as exc:
            return f"does not compile with Python re: {exc}{_escape_hint(exc)}"
        except (RecursionError, OverflowError) as exc:
            return f"does not compile with Python re: {exc}"

    groups = parsed.state.groupdict
    markers = {number for name, number in groups.items() if name.startswith(BRANCH_MARK)}

    def seq(sub: Any) -> Seq:
        if not markers:
            return Seq(tuple(node(op.name, av) for op, av in sub))
        items: list[Node] = []
        for op, av in sub:  # a marker group from regex_v8 is dropped, its body kept
            if op.name == "SUBPATTERN" and av[0] in markers:
                items += seq(av[3]).items
            else:
                items.append(node(op.name, av))
        return Seq(tuple(items))

    def chars(members: Any) -> Chars:
        names = [(op.name, av) for op, av in members]
        spans = [
            (av, av) if op == "LITERAL" else av for op, av in names if op in ("LITERAL", "RANGE")
        ]
        cats = tuple(
            av.name.removeprefix("CATEGORY_").lower() for op, av in names if op == "CATEGORY"
        )
        return Chars(tuple(spans), cats, any(op == "NEGATE" for op, _ in names))

    def node(op: str, av: Any) -> Node:
        if op == "LITERAL":
            return _LITERALS.get(av) or _LITERALS.setdefault(av, Chars(((av, av),)))
        if op in ("NOT_LITERAL", "ANY"):
            return Chars(((av, av) if op == "NOT_LITERAL" else (10, 10),), (), True)
        if op == "IN":
            return chars(av)
        if op == "BRANCH":
            return Alt(tuple(seq(b) for b in av[1]))
        if op == "SUBPATTERN":
            return Group(seq(av[3]), av[0] is not None, bool(av[1] or av[2]))
        if op in _REPEAT_KINDS:
            hi = None if av[1] == sre.MAXREPEAT else av[1]
            return Repeat(av[0], hi, _REPEAT_KINDS[op], seq(av[2]))
        if op == "AT":
            return Anchor({"AT_BEGINNING": "start", "AT_END": "end"}.get(av.name, av.name))
        if op in ("ASSERT", "ASSERT_NOT"):
            what = "lookahead" if av[0] == 1 else "lookbehind"
            return Other(f"{what} assertion", seq(av[1]))
        if op == "ATOMIC_GROUP":
            return Other(_OTHER_NAMES[op], seq(av))
        return Other(_OTHER_NAMES.get(op, op))

    if "(?<" in pattern:  # lookbehind width is checked by re's compiler, not its parser
        try:
            re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            return f"does not compile with Python re: {exc}"
    baseline = re.IGNORECASE | re.UNICODE
    tree = seq(parsed)
    return Parsed(
        tree=tree,
        nodes=tuple(walk(tree)),
        warnings=tuple(str(w.message) for w in caught),
        named_groups=tuple(name for name in groups if not name.startswith(BRANCH_MARK)),
        global_flags=int(parsed.state.flags) != int(baseline),
    )


def _escape_hint(exc: re.error) -> str:
    if "bad escape" in str(exc):
        return " (JavaScript would silently read an unknown escape as the plain letter)"
    return ""


def walk(node: Node) -> list[Node]:
    """Every node of the subtree, parents before children (iterative: this is a hot path)."""
    found: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(reversed(_children(current)))
    return found


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Seq):
        return node.items
    if isinstance(node, Alt):
        return node.branches
    if isinstance(node, Group | Repeat):
        return (node.body,)
    if isinstance(node, Other) and node.body is not None:
        return (node.body,)
    return ()


# Shapes of repeats, read by the ReDoS rules and the probe.


def is_wide(node: Node) -> bool:
    return isinstance(node, Repeat) and (node.hi is None or node.hi > _WIDE)


def repeats_many(node: Node) -> bool:
    return isinstance(node, Repeat) and (node.hi is None or node.hi >= 2)


def is_variable(node: Node) -> bool:
    return isinstance(node, Repeat) and (node.hi is None or node.hi > node.lo)


def flatten(items: Iterable[Node]) -> list[Node]:
    flat: list[Node] = []
    for item in items:
        if isinstance(item, Group):
            flat += flatten(item.body.items)
        else:
            flat.append(item)
    return flat
