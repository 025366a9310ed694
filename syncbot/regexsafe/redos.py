"""ReDoS: structural deny rules on the parse tree, then the timed probe where needed.

The rules run on V8's reading of the pattern (alternatives tried one by one, see `v8`)
and on re's. They deny nested quantifiers, optional or alternative parts of a repeat that
the rest of it can also match, an unbounded repeat that can give characters back to a
later unbounded repeat, and too many ways to match one position. A pattern whose shape
bounds the work per start position to linear (`_provably_linear`) skips the probe.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from syncbot.regexsafe.charsets import (
    CharSet,
    alphabet_of,
    can_be_empty,
    charset_of,
    first_chars,
    first_chars_of,
)
from syncbot.regexsafe.lexer import Token
from syncbot.regexsafe.probe import probe_pattern
from syncbot.regexsafe.render import render
from syncbot.regexsafe.tree import (
    Alt,
    Anchor,
    Chars,
    Group,
    Node,
    Other,
    Parsed,
    Repeat,
    Seq,
    flatten,
    is_variable,
    is_wide,
    parse,
    repeats_many,
    walk,
)
from syncbot.regexsafe.v8 import branches_kept_apart

# Ways one start position can be matched (bounded counts, overlapping alternatives):
# up to _CHOICE_LIMIT the probe is skipped; above _CHOICE_DENY (or _CHOICE_DENY_WIDE when
# an unbounded repeat multiplies each of them by the query length) the pattern is denied.
_CHOICE_LIMIT = 16
_CHOICE_DENY = 1000
_CHOICE_DENY_WIDE = 64
_CHOICE_CAP = 1_000_000


def v8_view(pattern: str, parsed: Parsed, tokens: list[Token]) -> tuple[Parsed, str]:
    """The pattern's tree as V8 reads it, and the text that makes Python re run it so."""
    text = branches_kept_apart(pattern, tokens)
    if text is None:
        return parsed, pattern
    v8 = parse(text)
    return (v8, text) if isinstance(v8, Parsed) else (parsed, pattern)


def redos_problems(pattern: str, parsed: Parsed, tokens: list[Token]) -> list[str]:
    """Structural rules on V8's reading of the pattern, then on re's, then the probe."""
    v8, v8_text = v8_view(pattern, parsed, tokens)
    views = [v8] if v8 is parsed else [v8, parsed]
    linear = True
    for view in views:
        problems, view_linear = _structural(view)
        if problems:
            return problems
        linear = linear and view_linear
    if linear:
        return []
    probe = probe_pattern(pattern, parsed.tree, None if v8 is parsed else (v8_text, v8.tree))
    return [probe] if probe else []


def _structural(parsed: Parsed) -> tuple[list[str], bool]:
    """The deny rules' findings, and whether the shape alone proves the search linear."""
    repeats = [n for n in parsed.nodes if isinstance(n, Repeat)]
    wide = any(is_wide(r) for r in repeats)
    counted = any(
        isinstance(n, Alt) or (isinstance(n, Repeat) and not is_wide(n)) for n in parsed.nodes
    )
    choices = _choices(parsed.tree, last=True) if counted else 1
    rules = (
        _nested_repeat(repeats),
        _ambiguous_alternation(repeats),
        _overlapping_run(parsed) if wide else None,
        _too_many_ways(choices, wide),
    )
    problems = [p for p in rules if p]
    return problems, not problems and _provably_linear(parsed, repeats, choices)


_NESTED = (
    "nested quantifier: {outer} repeats {inner}, so a long input can be split between the two "
    "in exponentially many ways. Use one quantifier (e.g. (a+)+ -> a+) or make the repeated "
    "part fixed-length"
)
_OPTIONAL = (
    "{outer} repeats {inner}, and what follows it in the repeat can match the same "
    "characters, so one stretch of text splits into iterations in exponentially many ways. "
    "Make the optional part start with a character nothing after it can match "
    "(e.g. (a?a)+ -> a+)"
)
_AMBIGUOUS = (
    "{outer} repeats an alternation whose branches {pair} can match the same text (or "
    "nothing), case-insensitively. JavaScript tries the branches one by one and does not "
    "merge one-character branches into a set as Python does, so a failing input is tried "
    "in exponentially many ways there. Merge them into one class (e.g. (a|[a-z])+ -> "
    "[a-z]+), make the branches start differently, or factor out the common prefix "
    "(e.g. (a|ab)+ -> (ab?)+)"
)


def _nested_repeat(repeats: Iterable[Repeat]) -> str | None:
    for outer in repeats:
        if not repeats_many(outer):
            continue
        for inner in walk(outer.body):
            if is_wide(inner) or (is_wide(outer) and is_variable(inner) and repeats_many(inner)):
                return _NESTED.format(outer=render(outer), inner=render(inner))
        optional = _ambiguous_optional(outer) if is_wide(outer) else None
        if optional is not None:
            return _OPTIONAL.format(outer=render(outer), inner=render(optional))
    return None


def _ambiguous_optional(outer: Repeat) -> Node | None:
    """A `?`-like part of an unbounded repeat's body that the next part could also match.

    (ab?)+ is fine: after b? comes the next iteration's a. (a?a)+ is not: "aa" is one
    iteration or two, and n characters split in exponentially many ways. Optional parts
    below an alternation are not analysed and count as ambiguous.
    """
    items = flatten(outer.body.items)
    body_first, _ = first_chars(outer.body)
    for i, item in enumerate(items):
        if isinstance(item, Repeat) and is_variable(item):
            follow, nullable = first_chars_of(items[i + 1 :])
            if alphabet_of(item).overlaps(follow | body_first if nullable else follow):
                return item
        elif not isinstance(item, Chars | Anchor | Repeat):
            nested = [n for n in walk(item) if is_variable(n)]
            if nested:
                return nested[0]
    return None


def _ambiguous_alternation(repeats: Iterable[Repeat]) -> str | None:
    for outer in repeats:
        if is_wide(outer):
            for alt in walk(outer.body):
                pair = _overlapping_branches(alt) if isinstance(alt, Alt) else None
                if pair:
                    return _AMBIGUOUS.format(outer=render(outer), pair=pair)
    return None


def _overlapping_branches(alt: Alt) -> str | None:
    """Two branches that can match at the same position, or one that can match nothing.

    Branches are compared position by position over the characters every match of them
    starts with ("look up" and "lookup" part at the fifth, "xa+" and "xb+" at the second),
    and otherwise by their first character. Sets are case-folded: under the `i` flag `a`
    and `A`, or `a` and `[a-z]`, are two ways to match the same letter.
    """
    heads = [_head(b) for b in alt.branches]
    firsts = [first_chars(b) for b in alt.branches]
    for i, branch in enumerate(alt.branches):
        if firsts[i][1]:
            return f"'{render(branch)}' (empty)"
        for j in range(i + 1, len(alt.branches)):
            if firsts[i][0].overlaps(firsts[j][0]) and all(
                a.overlaps(b) for a, b in zip(heads[i], heads[j], strict=False)
            ):
                return f"'{render(branch)}' and '{render(alt.branches[j])}'"
    return None


def _head(branch: Seq) -> list[CharSet]:
    """The characters of a branch's first positions, as far as every match fixes them."""
    head: list[CharSet] = []
    for item in flatten(branch.items):
        if isinstance(item, Chars):
            head.append(charset_of(item))
            continue
        inner = flatten(item.body.items) if isinstance(item, Repeat) and item.lo >= 1 else []
        if inner and isinstance(inner[0], Chars):
            head.append(charset_of(inner[0]))
        break
    return head


_RUN = (
    "{first} can give characters back to what follows it, and the unbounded {later} after it "
    "re-runs for each of its O(n) splits: a search over a long query takes time growing like "
    "n^3 (over a second in Python re for 2,000 characters). Keep one unbounded repeat per "
    "pattern and move the rest to further patterns whose weights only reach min_confidence "
    "together (e.g. contract.*review and review.*clause, 0.5 each, min_confidence 0.75), or "
    "stop the first repeat at its separator with a negated class such as [^,]*"
)


def _overlapping_run(parsed: Parsed) -> str | None:
    for scope, is_root in _scopes(parsed.tree, parsed.nodes):
        items = flatten(scope.items)
        wide = [_contains_wide(n) for n in items]
        if sum(wide) < 2:
            continue
        reruns = [w and _reruns(items, j, is_root) for j, w in enumerate(wide)]
        for i, item in enumerate(items):
            later = [n for j, n in enumerate(items) if j > i and reruns[j]]
            if later and wide[i] and _gives_back(item, items[i + 1 :], is_root):
                rest = ", ".join(render(n) for n in later)
                return _RUN.format(first=render(item), later=rest)
    return None


def _reruns(items: list[Node], index: int, is_root: bool) -> bool:
    """Whether the item at index, which holds an unbounded repeat, costs O(n) again for
    every split of an earlier one.

    A bare repeat at the end of the pattern (only optional, non-anchor items after it)
    ends the search with a match on its first run, as in \\S+@\\S+, so it is not re-run.
    """
    item = items[index]
    if not is_wide(item):
        return True
    rest = items[index + 1 :]
    ends = is_root and all(can_be_empty(n) and not isinstance(n, Anchor | Other) for n in rest)
    return not ends


def _gives_back(item: Node, rest: list[Node], is_root: bool) -> bool:
    """Whether characters the item matched can be reused by what follows it.

    If the rest must start with a character the item cannot match, backtracking into the
    item fails at once and it behaves as if possessive (as in \\s+review). An optional
    rest at the end of a group defers to the group's context, which is not known here.
    """
    follow, nullable = first_chars_of(rest)
    return alphabet_of(item).overlaps(follow) or (nullable and not is_root)


def _scopes(tree: Seq, nodes: Iterable[Node]) -> Iterator[tuple[Seq, bool]]:
    """Sequences whose items are siblings (plain group bodies are inlined by `flatten`)."""
    for node in nodes:
        if isinstance(node, Alt):
            yield from ((b, False) for b in node.branches)
        elif isinstance(node, Repeat | Other) and node.body is not None:
            yield node.body, False
    yield tree, True


def _contains_wide(node: Node) -> bool:
    return not isinstance(node, Chars | Anchor) and any(is_wide(n) for n in walk(node))


def _provably_linear(parsed: Parsed, repeats: list[Repeat], choices: int) -> bool:
    """True when the shape alone bounds backtracking to linear work per start position.

    Called once the rules passed, so no unbounded repeat is followed by another one that
    can re-run for each of its splits (`_overlapping_run`). If moreover every repeat that
    can run more than once repeats one character class or a fixed string, and the other
    choices (alternation branches, bounded counts) multiply to at most _CHOICE_LIMIT,
    each unbounded repeat gives back at most n characters and each give-back costs a
    bounded amount of work: the probe could only confirm it. Anything else is probed.
    """
    if any(isinstance(n, Other) for n in parsed.nodes):
        return False
    if not all(_simple_repeat(r) for r in repeats if repeats_many(r)):
        return False
    return choices <= _CHOICE_LIMIT


def _too_many_ways(choices: int, wide: bool) -> str | None:
    limit = _CHOICE_DENY_WIDE if wide else _CHOICE_DENY
    if choices <= limit:
        return None
    extra = " and an unbounded repeat multiplies each by the query length" if wide else ""
    return (
        f"the pattern can match at one position in more than {limit} ways (bounded repeats "
        f"and alternatives that can match the same text multiply){extra}, so a failing search "
        "tries them all at every position. Use fewer or narrower bounded repeats, or "
        "alternatives that cannot match the same text"
    )


def _simple_repeat(node: Repeat) -> bool:
    inner = flatten(node.body.items)
    if len(inner) == 1 and (isinstance(inner[0], Chars) or _one_char_choice(inner[0])):
        return True
    fixed = all(isinstance(n, Chars | Anchor) for n in inner)
    return fixed and node.lo == node.hi


def _one_char_choice(node: Node) -> bool:
    """An alternation of single characters no two of which overlap: V8's spelling of a class."""
    if not isinstance(node, Alt) or not _exclusive(node):
        return False
    shapes = [_fixed_shape(b) for b in node.branches]
    return all(shape is not None and len(shape) == 1 for shape in shapes)


def _choices(node: Node, *, last: bool = False) -> int:
    """Upper bound on the ways a match can go at one start, wide repeats counted once.

    `last`: the node ends the pattern. Its alternatives are then tried one after another
    and the first that fits ends the search, so they add work instead of multiplying it.
    """
    limit = _CHOICE_CAP
    if isinstance(node, Seq):
        product = 1
        for i, item in enumerate(node.items):
            final = last and i == len(node.items) - 1
            product = min(product * _choices(item, last=final), limit)
        return product
    if isinstance(node, Alt):
        counts = [_choices(b, last=last) for b in node.branches]
        return max(counts) if last or _exclusive(node) else min(sum(counts), limit)
    if isinstance(node, Group):
        return _choices(node.body, last=last)
    if isinstance(node, Repeat):
        return _repeat_choices(node, limit)
    return 1


def _exclusive(alt: Alt) -> bool:
    """No two branches can match at the same position, so at most one leads anywhere."""
    return _overlapping_branches(alt) is None


def _fixed_shape(branch: Seq) -> list[CharSet] | None:
    items = flatten(branch.items)
    if not all(isinstance(n, Chars) for n in items):
        return None
    return [charset_of(n) for n in items if isinstance(n, Chars)]


def _repeat_choices(node: Repeat, limit: int) -> int:
    if is_wide(node):
        return 1
    body = _choices(node.body)
    hi = node.hi if node.hi is not None else node.lo
    total = 0
    for count in range(node.lo, hi + 1):
        total += min(body, limit) ** min(count, 8)
    return min(total, limit)
