"""Portability: text both Python and JavaScript accept but read differently is refused.

Three layers: a lexical scan of the pattern text (escapes, classes, group syntax,
quantifiers, braces, invisible or astral characters), a whitelist over the parse tree
that backs it up, and a case-folding comparison of the sets non-ASCII letters form under
Python's IGNORECASE and under JavaScript's `i` without `u`.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections.abc import Iterable

from syncbot.regexsafe.lexer import Token
from syncbot.regexsafe.render import CATEGORY_TEXT, render, render_span
from syncbot.regexsafe.tree import Anchor, Chars, Group, Node, Other, Parsed, Repeat

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


def portability_problems(pattern: str, parsed: Parsed, tokens: list[Token]) -> list[str]:
    problems = _lexical_problems(tokens) + _character_problems(pattern)
    if not problems:
        # The tree whitelist backs up the lexical scan; run only when the scan found
        # nothing so one construct is not reported twice.
        problems = _tree_problems(parsed)
    return problems + _case_problems(parsed.nodes)


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


def _tree_problems(parsed: Parsed) -> list[str]:
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
            f"{CATEGORY_TEXT.get(bad[0], bad[0])} is not portable; write an explicit class"
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
        f"{render(node)}: case-insensitive matching differs between Python and JavaScript for "
        f"{differing!r}; list every case form you mean explicitly in a class, e.g. [ßẞ]"
    )


@functools.lru_cache(maxsize=256)
def _case_difference(spans: tuple[tuple[int, int], ...]) -> str:
    """Characters that one engine's `i` matching accepts for this set and the other does not."""
    members = [cp for lo, hi in spans for cp in range(lo, hi + 1)]
    klass = re.compile("[" + "".join(render_span(lo, hi) for lo, hi in spans) + "]", re.IGNORECASE)
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
