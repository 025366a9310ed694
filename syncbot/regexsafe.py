"""Safety checks for routing patterns: syntax, Python/JavaScript portability, ReDoS.

A routing pattern is matched case-insensitively with `re.search` by syncbot and, in
production, by an AI service that may be written in Python (`re`) or JavaScript
(`new RegExp(pattern, "i")`, no `u` flag). `check_pattern` accepts a pattern only if it
compiles with `re`, means the same in both engines, and cannot backtrack
catastrophically. The checks run in layers and fail closed (reliability-notes 2.5):

1. `regex-too-long` / `regex-syntax`: a length cap, then Python's own parser.
2. `regex-portability`: a lexical scan of the pattern text (for text both parsers accept
   but read differently), a whitelist over the parse tree, and a case-folding
   comparison for non-ASCII letters.
3. `regex-redos`: structural deny rules on the parse tree (nested quantifiers, optional
   or alternative parts of a repeat that the rest of it can also match, an unbounded
   repeat that can give characters back to a later unbounded repeat, too many ways to
   match one position), then a dynamic probe: pumped inputs searched with the `regex`
   module under `timeout=`, and at half the length with Python's own `re` under a
   CPU-time signal (main thread only). The probe is skipped only for patterns whose
   shape bounds the work per start position to linear (see `_provably_linear`).
   Both run on V8's reading of the pattern too, where alternatives stay apart instead
   of merging into a set (see "Alternations as V8 runs them"); tests/test_redos_node.py
   times the accepted patterns in Node itself.

   Policy: searching is allowed to cost O(n^2) in the query length (any `x.*y` pattern
   does, on a query that repeats x); O(n^3) and worse, and exponential shapes, are not.

Known residual differences that no pattern text can avoid (documented in
docs/algorithms.md): Python's `$` also matches before a final newline; `.` does not
match `\\r`, U+2028 or U+2029 in JavaScript; `\\s` differs on U+001C-U+001F, U+0085 and
U+FEFF; under `i` Python also lets `i`, `k`, `s`, `å`, `ω` match the special characters
in `_RESIDUAL`; JavaScript without `u` sees characters above U+FFFF as two code units.
"""

from __future__ import annotations

import functools
import importlib
import re
import signal
import string
import sys
import threading
import time
import unicodedata
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import regex

from syncbot.regex_v8 import BRANCH_MARK, Token, branches_kept_apart

MAX_PATTERN_LENGTH = 256
PROBE_LENGTH = 2000
# Python re runs the same shapes at half the length: quadratic work (every `.*` pattern
# under search) stays far below the budget there, while cubic or exponential work does
# not, so the verdict does not hinge on the machine's speed.
RE_PROBE_LENGTH = 1000
PROBE_TIMEOUT = 0.05
# A bounded repeat above this count backtracks like an unbounded one.
_WIDE = 16
# Ways one start position can be matched (bounded counts, overlapping alternatives):
# up to _CHOICE_LIMIT the probe is skipped; above _CHOICE_DENY (or _CHOICE_DENY_WIDE when
# an unbounded repeat multiplies each of them by the query length) the pattern is denied.
_CHOICE_LIMIT = 16
_CHOICE_DENY = 1000
_CHOICE_DENY_WIDE = 64
_CHOICE_CAP = 1_000_000
_MAX_CP = sys.maxunicode

# Non-ASCII characters that Python's IGNORECASE ties to another character where
# JavaScript's `i` (no `u`) does not, so they are rejected in patterns; recomputed from
# CPython's tables and checked against node in tests/test_regexsafe.py.
_CASE_UNSAFE = frozenset(
    "\u00df\u0130\u0131\u017f\u0390\u0398\u03b0\u03b8\u03d1\u03f4\u1e9e"
    "\u1f80\u1f81\u1f82\u1f83\u1f84\u1f85\u1f86\u1f87\u1f88\u1f89\u1f8a\u1f8b\u1f8c"
    "\u1f8d\u1f8e\u1f8f\u1f90\u1f91\u1f92\u1f93\u1f94\u1f95\u1f96\u1f97\u1f98\u1f99"
    "\u1f9a\u1f9b\u1f9c\u1f9d\u1f9e\u1f9f\u1fa0\u1fa1\u1fa2\u1fa3\u1fa4\u1fa5\u1fa6"
    "\u1fa7\u1fa8\u1fa9\u1faa\u1fab\u1fac\u1fad\u1fae\u1faf\u1fb3\u1fbc\u1fc3\u1fcc"
    "\u1fd3\u1fe3\u1ff3\u1ffc\u2126\u212a\u212b\ufb05\ufb06"
)
_CASE_UNSAFE_MIN = min(map(ord, _CASE_UNSAFE))
# Compatibility characters (dotted/dotless i, long s, Kelvin, Angstrom and Ohm signs) that
# Python also matches for ordinary letters; ignored when comparing, since banning `i`,
# `k` or `s` is not an option. This is the documented residual difference.
_RESIDUAL = frozenset(map(ord, "\u0130\u0131\u017f\u212a\u212b\u2126"))


@dataclass(frozen=True)
class PatternProblem:
    rule: str
    message: str


def check_pattern(pattern: str) -> list[PatternProblem]:
    """All problems of one routing pattern; an empty list means it is safe to ship."""
    return list(_check_cached(pattern))


def required_substrings(pattern: str) -> frozenset[str] | None:
    """Strings (lower-case ASCII, 3+ characters) at least one of which every match contains.

    A prefilter aid for routing: fold the query with `fold_for_prefilter`, and a pattern
    can only match if one of these is a substring. None: no such guarantee.
    """
    parsed = _parsed(pattern)
    return None if isinstance(parsed, str) else _required(parsed.tree)


_PREFILTER_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})


def fold_for_prefilter(text: str) -> str:
    """Lower-case text so that every character `re.I` matches to an ASCII letter becomes it."""
    return text.translate(_PREFILTER_FOLD).lower()


# As large as _parsed: validate checks every pattern of the repository in order, more than
# once; an LRU smaller than that set hits nothing (5,000 skills are 20,000 patterns).
@functools.lru_cache(maxsize=1 << 16)
def _check_cached(pattern: str) -> tuple[PatternProblem, ...]:
    if len(pattern) > MAX_PATTERN_LENGTH:
        message = f"pattern is {len(pattern)} characters long; the limit is {MAX_PATTERN_LENGTH}"
        return (PatternProblem("regex-too-long", message),)
    parsed = _parsed(pattern)
    if isinstance(parsed, str):
        return (PatternProblem("regex-syntax", parsed),)
    tokens = _tokens(pattern)
    portability = [
        PatternProblem("regex-portability", m) for m in _portability(pattern, parsed, tokens)
    ]
    redos = [PatternProblem("regex-redos", m) for m in _redos(pattern, parsed, tokens)]
    return tuple(portability + redos)


# ---------------------------------------------------------------------------------------
# The parse tree: our own node types, so that re's private parser is used in one place.


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
class _Parsed:
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


@functools.lru_cache(maxsize=1 << 16)  # see _check_cached and routing.PATTERN_CACHE_SIZE
def _parsed(pattern: str) -> _Parsed | str:
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
    return _Parsed(
        tree=tree,
        nodes=tuple(_walk(tree)),
        warnings=tuple(str(w.message) for w in caught),
        named_groups=tuple(name for name in groups if not name.startswith(BRANCH_MARK)),
        global_flags=int(parsed.state.flags) != int(baseline),
    )


def _escape_hint(exc: re.error) -> str:
    if "bad escape" in str(exc):
        return " (JavaScript would silently read an unknown escape as the plain letter)"
    return ""


# ---------------------------------------------------------------------------------------
# Alternations as V8 runs them: branches tried one by one, never merged into a set
# (syncbot.regex_v8 explains why re's own reading is not enough).


def _v8_view(pattern: str, parsed: _Parsed, tokens: list[Token]) -> tuple[_Parsed, str]:
    """The pattern's tree as V8 reads it, and the text that makes Python re run it so."""
    text = branches_kept_apart(pattern, tokens)
    if text is None:
        return parsed, pattern
    v8 = _parsed(text)
    return (v8, text) if isinstance(v8, _Parsed) else (parsed, pattern)


def _walk(node: Node) -> list[Node]:
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


# ---------------------------------------------------------------------------------------
# Rendering nodes back to pattern text, for messages.


def _render(node: Node) -> str:
    if isinstance(node, Chars):
        return _render_chars(node)
    if isinstance(node, Seq):
        return "".join(_render_item(item, len(node.items)) for item in node.items)
    if isinstance(node, Alt):
        return "|".join(_render(b) for b in node.branches)
    if isinstance(node, Group):
        return ("(" if node.capturing else "(?:") + _render(node.body) + ")"
    if isinstance(node, Repeat):
        return _render_atom(node.body) + _quantifier(node)
    if isinstance(node, Anchor):
        return {"start": "^", "end": "$"}.get(node.kind, "")
    return f"<{node.what}>"


def _render_item(item: Node, siblings: int) -> str:
    text = _render(item)
    return f"(?:{text})" if isinstance(item, Alt) and siblings > 1 else text


def _render_atom(body: Seq) -> str:
    text = _render(body)
    single = len(body.items) == 1 and isinstance(body.items[0], Chars | Group)
    return text if single else f"(?:{text})"


def _quantifier(node: Repeat) -> str:
    lo, hi = node.lo, node.hi
    counted = f"{{{lo}}}" if lo == hi else f"{{{lo},{'' if hi is None else hi}}}"
    text = {(0, None): "*", (1, None): "+", (0, 1): "?"}.get((lo, hi), counted)
    return text + {"greedy": "", "lazy": "?", "possessive": "+"}[node.kind]


_CATEGORY_TEXT = {
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
    parts = [_render_span(lo, hi) for lo, hi in node.spans]
    parts += [_CATEGORY_TEXT.get(c, c) for c in node.categories]
    if (
        not node.negated
        and len(parts) == 1
        and (node.categories or node.spans[0][0] == node.spans[0][1])
    ):
        return parts[0]
    return "[" + ("^" if node.negated else "") + "".join(parts) + "]"


def _render_span(lo: int, hi: int) -> str:
    def one(cp: int) -> str:
        ch = chr(cp)
        return re.escape(ch) if ch.isprintable() else f"\\u{cp:04x}"

    return one(lo) if lo == hi else f"{one(lo)}-{one(hi)}"


# ---------------------------------------------------------------------------------------
# Portability: lexical scan, tree whitelist, case folding.


def _portability(pattern: str, parsed: _Parsed, tokens: list[Token]) -> list[str]:
    problems = _lexical_problems(tokens) + _character_problems(pattern)
    if not problems:
        # The tree whitelist backs up the lexical scan; run only when the scan found
        # nothing so one construct is not reported twice.
        problems = _tree_problems(parsed)
    return problems + _case_problems(parsed.nodes)


_TOKEN = re.compile(
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

_EXTENSIONS = {
    "(?P<": "named group (?P<name>...): Python-only syntax (JavaScript writes (?<name>...)); "
    "use a plain group (...) or (?:...)",
    "(?P=": "named backreference (?P=name): Python-only; repeat the text instead",
    "(?P>": "Python-only group syntax; use (?:...)",
    "(?<=": "lookbehind (?<=...): not on the whitelist; match the preceding text instead",
    "(?<!": "negative lookbehind (?<!...): not on the whitelist; rewrite without it",
    "(?=": "lookahead (?=...): not on the whitelist (its backtracking is hard to bound); "
    "rewrite without it",
    "(?!": "negative lookahead (?!...): not on the whitelist; rewrite without it",
    "(?>": "atomic group (?>...): Python 3.11+ only, JavaScript has none; use (?:...)",
    "(?(": "conditional group (?(...)...): Python-only; use an alternation (a|b)",
    "(?#": "comment (?#...): Python-only (JavaScript reads it as a group); "
    "put comments in the YAML instead",
}


def _tokens(pattern: str) -> list[Token]:
    """The pattern's lexical tokens: (kind, text, position), kind a group name of _TOKEN."""
    return [(m.lastgroup or "other", m.group(), m.start()) for m in _TOKEN.finditer(pattern)]


def _lexical_problems(tokens: list[Token]) -> list[str]:
    problems: list[str] = []
    for kind, text, pos in tokens:
        problem = _token_problem(kind, text, pos)
        if problem:
            problems.append(problem)
    return problems


def _token_problem(kind: str, text: str, pos: int) -> str | None:
    where = f" (at position {pos})"
    if kind == "comment":
        return _EXTENSIONS["(?#"] + where
    if kind == "escape":
        problem = _escape_problem(text, in_class=False)
        return problem + where if problem else None
    if kind == "cls":
        return _class_problem(text, pos)
    if kind == "ext":
        return None if text == "(?:" else _extension_problem(text) + where
    if kind == "quant" and text[-1] == "+" and len(text) > 1:
        return (
            f"possessive quantifier {text}{where}: Python 3.11+ only, a syntax error in "
            "JavaScript; drop the final +"
        )
    if kind == "brace":
        return (
            f"literal {text!r}{where}: braces and brackets are quantifier/class syntax, and "
            "JavaScript reads forms such as x{,3} or x{} differently from Python; "
            f"escape it as \\{text}"
        )
    return None


def _extension_problem(text: str) -> str:
    for prefix, message in _EXTENSIONS.items():
        if text.startswith(prefix):
            return message
    return (
        f"inline flags {text}...): Python-only (a syntax error in JavaScript); the service already "
        "matches case-insensitively, so remove the flag group"
    )


_ESCAPE_ADVICE = {
    "d": r"\d matches every Unicode digit in Python (e.g. Arabic-Indic digits) but only 0-9 in "
    "JavaScript; write [0-9]",
    "D": r"\D differs between Python and JavaScript (Unicode digits); write [^0-9]",
    "w": r"\w matches Romanian letters such as ă, ș, ț in Python but not in JavaScript; write an "
    r"explicit class such as [a-zăâîșț0-9_]",
    "W": r"\W differs between Python and JavaScript (Unicode letters such as ș); write an explicit "
    r"negated class such as [^a-zăâîșț0-9_]",
    "b": r"\b is defined by \w, which differs (ș is a word character in Python, not in "
    r"JavaScript); use (?:^|\s) / (?:\s|$) or an explicit class such as [^a-zăâîșț]",
    "B": r"\B is defined by \w, which differs between Python and JavaScript; rewrite without it",
    "A": r"\A is Python-only (JavaScript reads it as the letter A); use ^",
    "Z": r"\Z is Python-only (JavaScript reads it as the letter Z); use $",
    "a": r"\a is the BEL character in Python but the letter a in JavaScript; write \x07",
    "N": r"\N{...} named characters are Python-only; write the character itself or \uXXXX",
    "U": r"\U is Python-only; characters above U+FFFF cannot be written portably",
}
_PLAIN_ESCAPES = frozenset("tnrfvsSx") | frozenset(string.punctuation)


def _escape_problem(text: str, *, in_class: bool) -> str | None:
    letter = text[1]
    if letter == "u":
        return _unicode_escape_problem(text)
    if letter in _PLAIN_ESCAPES:
        return None
    if letter == "b" and in_class:
        return r"[\b] is a backspace in both engines but reads as a word boundary; write \x08"
    if letter in _ESCAPE_ADVICE:
        return _ESCAPE_ADVICE[letter]
    if letter.isdigit():
        return (
            f"\\{letter}: backreferences and octal escapes are read differently by Python and "
            "JavaScript; write the character as \\xHH or repeat the text"
        )
    if letter.isascii() and letter.isalpha():
        return f"unknown escape \\{letter}"
    return f"unnecessary escape \\{letter}: only punctuation may be escaped; drop the backslash"


def _unicode_escape_problem(text: str) -> str | None:
    code = int(text[2:], 16)
    if 0xD800 <= code <= 0xDFFF:
        return (
            f"{text} is a UTF-16 surrogate: JavaScript pairs surrogates into one character, Python "
            "does not; characters above U+FFFF cannot be written portably"
        )
    return None


_CLASS_TOKEN = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)|--|&&|~~|\|\||\[|.", re.DOTALL)


def _class_problem(text: str, pos: int) -> str | None:
    where = f" in the class at position {pos}"
    body = text[2:] if text.startswith("[^") else text[1:]
    if body.startswith("]"):
        return (
            f"{text[:3]}...{where}: JavaScript reads [] as an empty set and [^] as any character, "
            r"Python reads the ] as a literal; escape it as \]"
        )
    for token in _CLASS_TOKEN.findall(body[:-1] if body.endswith("]") else body):
        problem = _class_token_problem(token)
        if problem:
            return problem + where
    return None


def _class_token_problem(token: str) -> str | None:
    if token.startswith("\\"):
        return _escape_problem(token, in_class=True)
    if token == "[":
        return (
            "unescaped [ inside a class: Python warns of future nested sets and JavaScript's "
            r"v flag nests them; write \["
        )
    if len(token) == 2:
        return (
            f"{token} inside a class: Python warns that it will become a set operation, as it "
            "already is with JavaScript's v flag; escape one of the two characters"
        )
    return None


def _character_problems(pattern: str) -> list[str]:
    problems = []
    for ch in dict.fromkeys(pattern):
        if ord(ch) > 0xFFFF:
            problems.append(
                f"character {ch!r} (U+{ord(ch):04X}) is above U+FFFF: JavaScript without the "
                "u flag sees it as two UTF-16 units, so it cannot be written portably"
            )
        elif _invisible(ch):
            problems.append(
                f"invisible or control character U+{ord(ch):04X} in the pattern; "
                f"write it as \\u{ord(ch):04x}"
            )
    return problems


def _invisible(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category in ("Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp") or (
        category == "Zs" and ch != " "
    )


def _tree_problems(parsed: _Parsed) -> list[str]:
    problems = [_node_problem(node) for node in parsed.nodes]
    found = [p for p in problems if p]
    if parsed.named_groups:
        found.append(_EXTENSIONS["(?P<"])
    if parsed.global_flags:
        found.append(_extension_problem("(?"))
    found += [f"Python warns: {w}" for w in parsed.warnings]
    return list(dict.fromkeys(found))


def _node_problem(node: Node) -> str | None:
    if isinstance(node, Other):
        return f"{node.what} is not on the portable whitelist"
    if isinstance(node, Repeat) and node.kind == "possessive":
        return "possessive quantifiers are Python 3.11+ only, a syntax error in JavaScript"
    if isinstance(node, Anchor) and node.kind not in ("start", "end"):
        return f"{node.kind} is not on the portable whitelist; use ^ or $"
    if isinstance(node, Chars):
        bad = [c for c in node.categories if c not in ("space", "not_space")]
        return (
            f"{_CATEGORY_TEXT.get(bad[0], bad[0])} is not portable; write an explicit class"
            if bad
            else None
        )
    if isinstance(node, Group) and node.scoped_flags:
        return _extension_problem("(?")
    return None


def _case_problems(nodes: Iterable[Node]) -> list[str]:
    problems = []
    for node in nodes:
        if isinstance(node, Chars) and _touches_case_unsafe(node):
            differing = _case_difference(node.spans)
            if differing:
                problems.append(_case_message(node, differing))
    return list(dict.fromkeys(problems))


def _touches_case_unsafe(node: Chars) -> bool:
    if all(hi < _CASE_UNSAFE_MIN for _, hi in node.spans):
        return False
    return any(lo <= ord(c) <= hi for lo, hi in node.spans for c in _CASE_UNSAFE)


def _case_message(node: Chars, differing: str) -> str:
    return (
        f"{_render(node)}: case-insensitive matching differs between Python and JavaScript for "
        f"{differing!r}; list every case form you mean explicitly in a class, e.g. [ßẞ]"
    )


@functools.lru_cache(maxsize=256)
def _case_difference(spans: tuple[tuple[int, int], ...]) -> str:
    """Characters that one engine's `i` matching accepts for this set and the other does not."""
    members = [cp for lo, hi in spans for cp in range(lo, hi + 1)]
    klass = re.compile("[" + "".join(_render_span(lo, hi) for lo, hi in spans) + "]", re.IGNORECASE)
    canon = {_js_canonicalize(cp) for cp in members}
    python_side, js_side = set(), set()
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF or cp in _RESIDUAL:
            continue
        if klass.fullmatch(chr(cp)):
            python_side.add(cp)
        if _js_canonicalize(cp) in canon:
            js_side.add(cp)
    return "".join(chr(cp) for cp in sorted(python_side ^ js_side))


def _js_canonicalize(cp: int) -> int:
    """ECMA-262 Canonicalize for a non-unicode, ignoreCase RegExp (22.2.2.7.3)."""
    upper = chr(cp).upper()
    if len(upper) != 1 or (cp >= 128 and ord(upper) < 128):
        return cp
    return ord(upper)


# ---------------------------------------------------------------------------------------
# Character sets for the ReDoS analysis: sorted disjoint inclusive spans, case-folded.


@dataclass(frozen=True)
class _CharSet:
    spans: tuple[tuple[int, int], ...]

    @staticmethod
    def of(spans: Iterable[tuple[int, int]]) -> _CharSet:
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(spans):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        return _CharSet(tuple(merged))

    def __or__(self, other: _CharSet) -> _CharSet:
        return _CharSet.of(self.spans + other.spans)

    def invert(self) -> _CharSet:
        edges, start = [], 0
        for lo, hi in self.spans:
            if lo > start:
                edges.append((start, lo - 1))
            start = hi + 1
        if start <= _MAX_CP:
            edges.append((start, _MAX_CP))
        return _CharSet(tuple(edges))

    def overlaps(self, other: _CharSet) -> bool:
        i = j = 0
        while i < len(self.spans) and j < len(other.spans):
            (a, b), (c, d) = self.spans[i], other.spans[j]
            if a <= d and c <= b:
                return True
            i, j = (i + 1, j) if b < d else (i, j + 1)
        return False

    def __contains__(self, cp: int) -> bool:
        return any(lo <= cp <= hi for lo, hi in self.spans)


_EMPTY = _CharSet(())
_ALL = _CharSet(((0, _MAX_CP),))
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
    "space": _CharSet.of(_PY_SPACE),
    "digit": _CharSet.of([(48, 57), (128, _MAX_CP)]),
    "word": _CharSet.of([(48, 57), (65, 90), (95, 95), (97, 122), (128, _MAX_CP)]),
}
_CATEGORY_SETS["not_space"] = _CATEGORY_SETS["space"].invert()
_CATEGORY_SETS["not_digit"] = _CharSet.of([(48, 57)]).invert()
_CATEGORY_SETS["not_word"] = _CharSet.of([(48, 57), (65, 90), (95, 95), (97, 122)]).invert()


@functools.lru_cache(maxsize=4096)
def _charset(node: Chars) -> _CharSet:
    spans = [fold for span in node.spans for fold in _fold_span(*span)]
    base = _CharSet.of(spans)
    for category in node.categories:
        base = base | _CATEGORY_SETS.get(category, _ALL)
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


def _first(node: Node) -> tuple[_CharSet, bool]:
    """Characters a match of node can start with, and whether it can match empty."""
    if isinstance(node, Chars):
        return _charset(node), False
    if isinstance(node, Seq):
        return _first_of_sequence(node.items)
    if isinstance(node, Alt):
        firsts = [_first(b) for b in node.branches]
        return _union(f for f, _ in firsts), any(n for _, n in firsts)
    if isinstance(node, Group):
        return _first(node.body)
    if isinstance(node, Repeat):
        chars, nullable = _first(node.body)
        return chars, nullable or node.lo == 0
    if isinstance(node, Anchor):
        return _EMPTY, True
    return _ALL, True


def _first_of_sequence(items: Iterable[Node]) -> tuple[_CharSet, bool]:
    acc = _EMPTY
    for item in items:
        chars, nullable = _first(item)
        acc = acc | chars
        if not nullable:
            return acc, False
    return acc, True


def _union(sets: Iterable[_CharSet]) -> _CharSet:
    return _CharSet.of(span for s in sets for span in s.spans)


def _alphabet(node: Node) -> _CharSet:
    """Every character a match of node can contain."""
    if isinstance(node, Chars):
        return _charset(node)
    if isinstance(node, Other):
        return _ALL
    return _union(_charset(n) for n in _walk(node) if isinstance(n, Chars))


def _nullable(node: Node) -> bool:
    return _first(node)[1]


# ---------------------------------------------------------------------------------------
# ReDoS: structural rules, then the probe.


def _is_wide(node: Node) -> bool:
    return isinstance(node, Repeat) and (node.hi is None or node.hi > _WIDE)


def _repeats_many(node: Node) -> bool:
    return isinstance(node, Repeat) and (node.hi is None or node.hi >= 2)


def _is_variable(node: Node) -> bool:
    return isinstance(node, Repeat) and (node.hi is None or node.hi > node.lo)


def _redos(pattern: str, parsed: _Parsed, tokens: list[Token]) -> list[str]:
    """Structural rules on V8's reading of the pattern, then on re's, then the probe."""
    v8, v8_text = _v8_view(pattern, parsed, tokens)
    views = [v8] if v8 is parsed else [v8, parsed]
    linear = True
    for view in views:
        problems, view_linear = _structural(view)
        if problems:
            return problems
        linear = linear and view_linear
    if linear:
        return []
    probe = _probe(pattern, parsed.tree, None if v8 is parsed else (v8_text, v8.tree))
    return [probe] if probe else []


def _structural(parsed: _Parsed) -> tuple[list[str], bool]:
    """The deny rules' findings, and whether the shape alone proves the search linear."""
    repeats = [n for n in parsed.nodes if isinstance(n, Repeat)]
    wide = any(_is_wide(r) for r in repeats)
    counted = any(
        isinstance(n, Alt) or (isinstance(n, Repeat) and not _is_wide(n)) for n in parsed.nodes
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
        if not _repeats_many(outer):
            continue
        for inner in _walk(outer.body):
            if _is_wide(inner) or (
                _is_wide(outer) and _is_variable(inner) and _repeats_many(inner)
            ):
                return _NESTED.format(outer=_render(outer), inner=_render(inner))
        optional = _ambiguous_optional(outer) if _is_wide(outer) else None
        if optional is not None:
            return _OPTIONAL.format(outer=_render(outer), inner=_render(optional))
    return None


def _ambiguous_optional(outer: Repeat) -> Node | None:
    """A `?`-like part of an unbounded repeat's body that the next part could also match.

    (ab?)+ is fine: after b? comes the next iteration's a. (a?a)+ is not: "aa" is one
    iteration or two, and n characters split in exponentially many ways. Optional parts
    below an alternation are not analysed and count as ambiguous.
    """
    items = _flatten(outer.body.items)
    body_first, _ = _first(outer.body)
    for i, item in enumerate(items):
        if isinstance(item, Repeat) and _is_variable(item):
            follow, nullable = _first_of_sequence(items[i + 1 :])
            if _alphabet(item).overlaps(follow | body_first if nullable else follow):
                return item
        elif not isinstance(item, Chars | Anchor | Repeat):
            nested = [n for n in _walk(item) if _is_variable(n)]
            if nested:
                return nested[0]
    return None


def _ambiguous_alternation(repeats: Iterable[Repeat]) -> str | None:
    for outer in repeats:
        if _is_wide(outer):
            for alt in _walk(outer.body):
                pair = _overlapping_branches(alt) if isinstance(alt, Alt) else None
                if pair:
                    return _AMBIGUOUS.format(outer=_render(outer), pair=pair)
    return None


def _overlapping_branches(alt: Alt) -> str | None:
    """Two branches that can match at the same position, or one that can match nothing.

    Branches are compared position by position over the characters every match of them
    starts with ("look up" and "lookup" part at the fifth, "xa+" and "xb+" at the second),
    and otherwise by their first character. Sets are case-folded: under the `i` flag `a`
    and `A`, or `a` and `[a-z]`, are two ways to match the same letter.
    """
    heads = [_head(b) for b in alt.branches]
    firsts = [_first(b) for b in alt.branches]
    for i, branch in enumerate(alt.branches):
        if firsts[i][1]:
            return f"'{_render(branch)}' (empty)"
        for j in range(i + 1, len(alt.branches)):
            if firsts[i][0].overlaps(firsts[j][0]) and all(
                a.overlaps(b) for a, b in zip(heads[i], heads[j], strict=False)
            ):
                return f"'{_render(branch)}' and '{_render(alt.branches[j])}'"
    return None


def _head(branch: Seq) -> list[_CharSet]:
    """The characters of a branch's first positions, as far as every match fixes them."""
    head: list[_CharSet] = []
    for item in _flatten(branch.items):
        if isinstance(item, Chars):
            head.append(_charset(item))
            continue
        inner = _flatten(item.body.items) if isinstance(item, Repeat) and item.lo >= 1 else []
        if inner and isinstance(inner[0], Chars):
            head.append(_charset(inner[0]))
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


def _overlapping_run(parsed: _Parsed) -> str | None:
    for scope, is_root in _scopes(parsed.tree, parsed.nodes):
        items = _flatten(scope.items)
        wide = [_contains_wide(n) for n in items]
        if sum(wide) < 2:
            continue
        reruns = [w and _reruns(items, j, is_root) for j, w in enumerate(wide)]
        for i, item in enumerate(items):
            later = [n for j, n in enumerate(items) if j > i and reruns[j]]
            if later and wide[i] and _gives_back(item, items[i + 1 :], is_root):
                rest = ", ".join(_render(n) for n in later)
                return _RUN.format(first=_render(item), later=rest)
    return None


def _reruns(items: list[Node], index: int, is_root: bool) -> bool:
    """Whether the item at index, which holds an unbounded repeat, costs O(n) again for
    every split of an earlier one.

    A bare repeat at the end of the pattern (only optional, non-anchor items after it)
    ends the search with a match on its first run, as in \\S+@\\S+, so it is not re-run.
    """
    item = items[index]
    if not _is_wide(item):
        return True
    rest = items[index + 1 :]
    ends = is_root and all(_nullable(n) and not isinstance(n, Anchor | Other) for n in rest)
    return not ends


def _gives_back(item: Node, rest: list[Node], is_root: bool) -> bool:
    """Whether characters the item matched can be reused by what follows it.

    If the rest must start with a character the item cannot match, backtracking into the
    item fails at once and it behaves as if possessive (as in \\s+review). An optional
    rest at the end of a group defers to the group's context, which is not known here.
    """
    follow, nullable = _first_of_sequence(rest)
    return _alphabet(item).overlaps(follow) or (nullable and not is_root)


def _scopes(tree: Seq, nodes: Iterable[Node]) -> Iterator[tuple[Seq, bool]]:
    """Sequences whose items are siblings (plain group bodies are inlined by `_flatten`)."""
    for node in nodes:
        if isinstance(node, Alt):
            yield from ((b, False) for b in node.branches)
        elif isinstance(node, Repeat | Other) and node.body is not None:
            yield node.body, False
    yield tree, True


def _flatten(items: Iterable[Node]) -> list[Node]:
    flat: list[Node] = []
    for item in items:
        if isinstance(item, Group):
            flat += _flatten(item.body.items)
        else:
            flat.append(item)
    return flat


def _contains_wide(node: Node) -> bool:
    return not isinstance(node, Chars | Anchor) and any(_is_wide(n) for n in _walk(node))


def _provably_linear(parsed: _Parsed, repeats: list[Repeat], choices: int) -> bool:
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
    if not all(_simple_repeat(r) for r in repeats if _repeats_many(r)):
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
    inner = _flatten(node.body.items)
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


def _fixed_shape(branch: Seq) -> list[_CharSet] | None:
    items = _flatten(branch.items)
    if not all(isinstance(n, Chars) for n in items):
        return None
    return [_charset(n) for n in items if isinstance(n, Chars)]


def _repeat_choices(node: Repeat, limit: int) -> int:
    if _is_wide(node):
        return 1
    body = _choices(node.body)
    hi = node.hi if node.hi is not None else node.lo
    total = 0
    for count in range(node.lo, hi + 1):
        total += min(body, limit) ** min(count, 8)
    return min(total, limit)


# ---------------------------------------------------------------------------------------
# The dynamic probe.


@dataclass(frozen=True)
class _Context:
    """Where a repeat sits: a witness for the text before it, and the nodes after it."""

    prefix: str
    repeat: Repeat
    tail: tuple[Node, ...]


_SLOW = (
    "catastrophic backtracking: searching a {length}-character input built from {pump!r} took "
    "over {ms:.0f} ms with {engine}. Simplify the repeated part so each character can be "
    "matched only one way (e.g. a negated class such as [^,]*)"
)


def _probe(pattern: str, tree: Seq, v8: tuple[str, Seq] | None = None) -> str | None:
    """Time pumped inputs with the regex module and Python re; None if all stay fast.

    `v8`: the text from `branches_kept_apart` and its tree, when V8 reads the pattern differently
    from re. Python re then also runs that text, on inputs pumped from each branch, so
    the alternatives are tried one by one as in JavaScript.
    """
    shape = _uncaptured(pattern)
    try:
        compiled = regex.compile(shape, regex.IGNORECASE | regex.V0)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        return f"the backtracking probe could not compile the pattern with the regex module ({exc})"
    slow = next(((t, p) for t, p in _probe_inputs(tree) if _too_slow(compiled, t)), None)
    engine = "the regex module"
    if slow is None:
        slow = _python_re_probe(shape, _probe_inputs(tree, RE_PROBE_LENGTH))
        engine = "Python re"
    if slow is None and v8 is not None:
        slow = _python_re_probe(_uncaptured(v8[0]), _probe_inputs(v8[1], RE_PROBE_LENGTH))
        engine = "Python re trying the alternatives one by one, as JavaScript does"
    if slow is None:
        return None
    text, pump = slow
    return _SLOW.format(length=len(text), pump=pump[:40], ms=PROBE_TIMEOUT * 1000, engine=engine)


def _uncaptured(pattern: str) -> str:
    """The pattern with capturing groups made non-capturing.

    Captures do not change how much an engine backtracks, but the regex module saves
    them on every iteration: (a|b)*c is ten times slower than (?:a|b)*c there, and the
    probe should judge the shape, not that constant. An "other" token "(" is exactly a
    capturing group's opening parenthesis.
    """
    parts = [m.group() for m in _TOKEN.finditer(pattern)]
    kinds = [m.lastgroup for m in _TOKEN.finditer(pattern)]
    return "".join(
        "(?:" if k == "other" and t == "(" else t for t, k in zip(parts, kinds, strict=True)
    )


def _too_slow(compiled: regex.Pattern[str], text: str) -> bool:
    try:
        compiled.search(text, timeout=PROBE_TIMEOUT)
    except TimeoutError:
        return _slow_on_cpu(compiled, text)
    return False


def _slow_on_cpu(compiled: regex.Pattern[str], text: str) -> bool:
    """Confirm a wall-clock timeout by this thread's CPU time, so a busy machine is no verdict."""
    start = time.thread_time()
    try:
        compiled.search(text, timeout=PROBE_TIMEOUT * 4)
    except TimeoutError:
        return True
    return time.thread_time() - start > PROBE_TIMEOUT


class _CpuAlarm(Exception):
    pass


_ALARM_ARMED = [False]


def _python_re_probe(pattern: str, inputs: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The same inputs through Python's own re, bounded by a CPU-time signal.

    The regex module is a different engine: its safeguards make some patterns fast that
    re, the engine the Python service runs, takes seconds on. re has no timeout, but it
    checks for signals while matching, so an ITIMER_VIRTUAL alarm interrupts it. Signals
    only reach the main thread: elsewhere, or when someone else owns that timer, this
    step is skipped and the regex probe stands alone.
    """
    if not _can_interrupt():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # reported as regex-portability already
            compiled = re.compile(pattern, re.IGNORECASE)
    except re.error:
        return None  # Python-only constructs; regex-syntax/portability report them
    previous = signal.signal(signal.SIGVTALRM, _on_cpu_alarm)
    try:
        return next(((t, p) for t, p in inputs if _re_too_slow(compiled, t)), None)
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, signal.SIG_DFL if previous is None else previous)


def _can_interrupt() -> bool:
    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_VIRTUAL) == (0.0, 0.0)
    )


def _on_cpu_alarm(_signum: int, _frame: object) -> None:
    if _ALARM_ARMED[0]:
        raise _CpuAlarm


def _re_too_slow(compiled: re.Pattern[str], text: str) -> bool:
    """The alarm counts the whole process's CPU, so a verdict uses this thread's own time."""
    for _ in range(3):
        interrupted, spent = _alarmed_search(compiled, text)
        if not interrupted:
            return False
        if spent >= PROBE_TIMEOUT * 0.8:
            return True
    return True  # never finished without other threads' help: fail closed


def _alarmed_search(compiled: re.Pattern[str], text: str) -> tuple[bool, float]:
    start = time.thread_time()
    interrupted = False
    try:
        _ALARM_ARMED[0] = True
        signal.setitimer(signal.ITIMER_VIRTUAL, PROBE_TIMEOUT)
        compiled.search(text)
    except _CpuAlarm:
        interrupted = True
    finally:
        _ALARM_ARMED[0] = False
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
    return interrupted, time.thread_time() - start


def _probe_inputs(tree: Seq, length: int = PROBE_LENGTH) -> list[tuple[str, str]]:
    fail = _fail_char(tree)
    inputs: list[tuple[str, str]] = []
    pumps: list[str] = []
    for context in _contexts(tree, "", ()):
        tail = _witness_all(context.tail)
        for pump in _pumps(context):
            core = context.prefix + _pumped(pump, length)
            inputs += [(core + fail, pump), (core + fail + tail, pump)]
            pumps.append(pump)
    whole = _witness(tree)
    for pump in ("".join(dict.fromkeys(pumps)), whole):
        if pump:
            inputs.append((_pumped(pump, length) + fail, pump))
    if whole:
        inputs.append((whole[:-1] + fail, whole))
    return list(dict.fromkeys(inputs))


def _pumped(pump: str, length: int) -> str:
    return pump * (length // len(pump) + 1)


def _contexts(node: Node, prefix: str, tail: tuple[Node, ...]) -> Iterator[_Context]:
    if isinstance(node, Seq):
        for i, item in enumerate(node.items):
            before = prefix + _witness_all(node.items[:i])
            yield from _contexts(item, before, node.items[i + 1 :] + tail)
    elif isinstance(node, Alt):
        for branch in node.branches:
            yield from _contexts(branch, prefix, tail)
    elif isinstance(node, Repeat):
        if _is_variable(node) and _repeats_many(node):
            yield _Context(prefix, node, tail)
        yield from _contexts(node.body, prefix, tail)
    elif isinstance(node, Group | Other) and node.body is not None:
        yield from _contexts(node.body, prefix, tail)


def _pumps(context: _Context) -> list[str]:
    """Strings one iteration of the repeat can match, biased towards what follows it."""
    body = context.repeat.body
    pumps = [_witness(body)]
    branches = (
        body.items[0].branches if len(body.items) == 1 and isinstance(body.items[0], Alt) else ()
    )
    pumps += [_witness(b) for b in branches]
    inner = _flatten(body.items)
    if len(inner) == 1 and isinstance(inner[0], Chars):
        follow, _ = _first_of_sequence(context.tail)
        biased = _sample(_charset(inner[0]), follow)
        if biased:
            pumps.append(biased)
    return [p for p in dict.fromkeys(pumps) if p]


def _witness(node: Node) -> str:
    """A short string that node matches (first branch, minimum repeat count)."""
    if isinstance(node, Chars):
        return _sample(_charset(node), _ALL) or ""
    if isinstance(node, Seq):
        return _witness_all(node.items)
    if isinstance(node, Alt):
        return _witness(node.branches[0])
    if isinstance(node, Group):
        return _witness(node.body)
    if isinstance(node, Repeat):
        return _witness(node.body) * node.lo
    return ""


def _witness_all(items: Iterable[Node]) -> str:
    return "".join(_witness(item) for item in items)


_SAMPLE_PREFERENCE = [ord(c) for c in "a0 x-,.e"]


def _sample(chars: _CharSet, within: _CharSet) -> str | None:
    for cp in _SAMPLE_PREFERENCE:
        if cp in chars and cp in within:
            return chr(cp)
    for lo, hi in chars.spans:
        for other_lo, other_hi in within.spans:
            start = max(lo, other_lo, 32)
            if start <= min(hi, other_hi) and not 0xD800 <= start <= 0xDFFF:
                return chr(start)
    return None


def _fail_char(tree: Seq) -> str:
    alphabet = _alphabet(tree)
    for candidate in "!\x00~#\u2603":
        if ord(candidate) not in alphabet:
            return candidate
    return "!"


# ---------------------------------------------------------------------------------------
# Required substrings for the routing prefilter.


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
