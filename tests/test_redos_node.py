"""Differential ReDoS check: every pattern validate accepts stays fast in Node's V8.

V8 backtracks differently from Python's re: it tries alternatives one by one and never
merges one-character branches into a set, so a pattern can be instant in Python and
exponential in Node. Here the shipped registry's patterns and a seeded corpus generated
from a small grammar go through `check_pattern`; each accepted one is searched in Node
with `new RegExp(p, "i").test(s)` on pumped inputs (a prefix that reaches a repeat, one
unit of it many times, a suffix that makes the match fail), all in one Node process, and
every search must finish within the budget. The five patterns from the bug report and
their siblings must be rejected, and Node must really be slow on them, which shows this
harness can fail.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from syncbot.files.load import load_repo, to_route
from syncbot.files.worktree import WorkTree
from syncbot.regexsafe import check_pattern

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")
REPO_ROOT = Path(__file__).resolve().parent.parent

BUDGET_MS = 50.0
PUMP = 30
SEED = 9_2026
CORPUS_SIZE = 400

# An attack: the input is prefix + unit * n + suffix.
Attack = tuple[str, str, str]

# Node pumps each attack at growing counts and stops at the first one over the budget,
# so an exponential pattern costs a few seconds, not hours. Each over-budget time is
# measured again (best of three) so that a busy machine is not mistaken for backtracking.
# Results are written line by line, synchronously, so a hang still names its pattern.
_NODE_SCRIPT = r"""
const fs = require("fs");
const { budget, steps, cases } = JSON.parse(fs.readFileSync(0, "utf8"));
function time(re, s) {
  let best = Infinity;
  for (let k = 0; k < 3 && best > budget; k++) {
    const t = process.hrtime.bigint();
    re.test(s);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return best;
}
cases.forEach(([pattern, attacks], i) => {
  const re = new RegExp(pattern, "i");
  let worst = [0, null, 0];
  for (const [prefix, unit, suffix] of attacks) {
    for (const n of steps) {
      const ms = time(re, prefix + unit.repeat(n) + suffix);
      if (ms > worst[0]) worst = [ms, [prefix, unit, suffix], n];
      if (ms > budget) break;
    }
    if (worst[0] > budget) break;
  }
  fs.writeSync(1, JSON.stringify([i, ...worst]) + "\n");
});
"""


@dataclass(frozen=True)
class Timing:
    pattern: str
    ms: float
    attack: Attack | None
    count: int


def node_timings(cases: list[tuple[str, list[Attack]]], steps: list[int]) -> list[Timing]:
    """The slowest pumped search of each pattern in V8, from one Node process."""
    payload = {"budget": BUDGET_MS, "steps": steps, "cases": cases}
    assert NODE is not None
    try:
        done = subprocess.run(
            [NODE, "-e", _NODE_SCRIPT],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        hung = cases[len(out.splitlines())][0]
        pytest.fail(f"node did not finish; it hung on {hung!r}")
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row[0] for row in rows] == list(range(len(cases)))
    return [
        Timing(cases[i][0], ms, tuple(attack) if attack else None, n) for i, ms, attack, n in rows
    ]


# --- a tiny regex grammar whose trees know what they match ---------------------------------

# Characters the attacks are built from: letters in both cases (the `i` flag makes them
# overlap), digits, a space and a separator. `!` never matches anything in the corpus.
_ALPHABET = "aAbBxXyz05 ,"
_FAIL = "!"


_ATOMS = [
    "a",
    "A",
    "b",
    "x",
    "0",
    " ",
    "[ab]",
    "[a-z]",
    "[A-Z]",
    "[xy]",
    "[0-5]",
    "[0-9]",
    "[^b]",
    "[^,]",
    ".",
    r"\s",
    r"\S",
    "[a-c]",
]
_QUANTIFIERS = ["", "", "", "*", "+", "?", "{1,3}", "{2,}", "{0,20}", "*?", "+?", "{2}"]


class Grammar:
    """Seeded random patterns: sequences of atoms, groups with alternatives, quantifiers."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def pattern(self) -> str:
        start = self.rng.choice(["", "", "^"])
        end = self.rng.choice(["", "$", "x", "c", ","])
        return start + self.sequence(0) + end

    def alternation(self) -> str:
        """A repeated group of short alternatives: the shape V8 and Python run differently."""
        branches = [
            "".join(self.rng.choice(_ATOMS[:12]) for _ in range(self.rng.randint(1, 2)))
            for _ in range(self.rng.randint(2, 3))
        ]
        group = self.rng.choice(["(", "(?:"]) + "|".join(branches) + ")"
        quantifier = self.rng.choice(["*", "+", "{2,}", "{1,40}", "*?"])
        start = self.rng.choice(["", "^", "x"])
        return start + group + quantifier + self.rng.choice(["", "$", "x", "c", ","])

    def sequence(self, depth: int) -> str:
        return "".join(self.item(depth) for _ in range(self.rng.randint(1, 3)))

    def item(self, depth: int) -> str:
        if depth < 2 and self.rng.random() < 0.45:
            branches = [self.sequence(depth + 1) for _ in range(self.rng.randint(1, 3))]
            base = self.rng.choice(["(", "(?:"]) + "|".join(branches) + ")"
        else:
            base = self.rng.choice(_ATOMS)
        return base + self.rng.choice(_QUANTIFIERS)


def corpus(seed: int = SEED, size: int = CORPUS_SIZE) -> list[str]:
    grammar = Grammar(seed)
    made = dict.fromkeys(grammar.alternation() if i % 2 else grammar.pattern() for i in range(size))
    return [p for p in made if _compiles(p)]


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern, re.IGNORECASE)
    except re.error:
        return False
    return True


# --- attacks -------------------------------------------------------------------------------

# Split a pattern into its top-level items: a group with its quantifier, a class, an
# escape, or one character, each with any quantifier after it.
_ITEM = re.compile(
    r"""(?:\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)|\[\^?\]?[^\]]*\]|\\.|[^()|])"""
    r"""(?:[*+?]|\{\d+(?:,\d*)?\})?\??"""
)


def attacks(pattern: str) -> list[Attack]:
    """Pumped inputs for each repeated part of the pattern, reached through its prefix.

    Units are everything a part can match from the small alphabet, single characters and
    pairs (so `a` then `A`, or one branch then another, are both tried), plus the words
    of the pattern; each is followed by a character that makes the search fail.
    """
    found: list[Attack] = []
    for prefix, part in _parts(pattern):
        units = _units(part)
        found += [(prefix, unit, suffix) for unit in units for suffix in (_FAIL, " " + _FAIL)]
    words = re.findall(r"[a-zăâîșț]{2,}", pattern.lower())
    found += [("", word + " ", _FAIL) for word in dict.fromkeys(words)]
    return list(dict.fromkeys(found))


def _parts(pattern: str) -> Iterator[tuple[str, str]]:
    """(a string reaching the part, the part) for every part at every depth."""
    yield "", pattern
    body = pattern[1:] if pattern.startswith("^") else pattern
    prefix = ""
    for match in _ITEM.finditer(body):
        item = match.group()
        yield prefix, item
        inner = re.match(r"\((?:\?:)?(.*)\)", item)
        if inner:
            for branch in _branches(inner.group(1)):
                yield from ((prefix + p, part) for p, part in _parts(branch))
        prefix += _one_sample(item)


def _branches(body: str) -> list[str]:
    depth, start, found = 0, 0, []
    for i, ch in enumerate(body):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "|" and depth == 0 and (i == 0 or body[i - 1] != "\\"):
            found.append(body[start:i])
            start = i + 1
    return [*found, body[start:]]


def _samples(fragment: str) -> list[str]:
    try:
        compiled = re.compile(fragment, re.IGNORECASE)
    except re.error:
        return []
    singles = [ch for ch in _ALPHABET if compiled.fullmatch(ch)]
    pairs = [a + b for a in _ALPHABET for b in _ALPHABET if compiled.fullmatch(a + b)]
    return singles + pairs


def _one_sample(item: str) -> str:
    found = _samples(item)
    return found[0] if found else ""


def _units(part: str) -> list[str]:
    body = re.sub(r"(?:[*+?]|\{\d+(?:,\d*)?\})\??$", "", part)
    units = [u for u in _samples(body) if u]
    units += [a + b for a in units[:4] for b in units[:4] if a != b]
    return list(dict.fromkeys(units))[:24]


def registry_patterns() -> list[str]:
    repo = load_repo(WorkTree(REPO_ROOT))
    found = [
        p.regex
        for registry in repo.registry.values()
        for m in registry.routes
        for p in to_route(m).patterns
    ]
    return list(dict.fromkeys(found))


def accepted(patterns: list[str]) -> list[str]:
    return [p for p in patterns if not check_pattern(p)]


# --- the bug report's patterns and their siblings ------------------------------------------

REPORTED = ["(?:a|A)+$", "(a|[a-z])+$", "(?:[0-9]|[0-5])+x", "(a|[ab])+c", "(?:x|[xy])*z"]


def siblings() -> list[str]:
    """Quantified alternations whose branches overlap only once case is folded or sets merged."""
    pairs = [
        ("a", "A"),
        ("A", "a"),
        ("b", "[a-c]"),
        ("[a-z]", "x"),
        ("[0-9]", "5"),
        ("[0-5]", "[3-9]"),
        ("x", "[X-Z]"),
        ("[a-f]", "[A-F]"),
        (" ", r"\s"),
        ("[^,]", "a"),
        (".", "b"),
        ("ab", "AB"),
        ("a", "[ab]c"),
        ("x", "y", "[xy]"),
    ]
    found = []
    for branches in pairs:
        alternation = "|".join(branches)
        for quantifier in ("+", "*", "{2,}", "{1,40}"):
            for end in ("$", "!", "c"):
                found.append(f"(?:{alternation}){quantifier}{end}")
            found.append(f"^x({alternation}){quantifier}y")
    return found


def test_reported_patterns_and_siblings_are_rejected() -> None:
    missed = [p for p in [*REPORTED, *siblings()] if "regex-redos" not in _rules(p)]
    assert missed == []


def test_node_really_is_slow_on_the_reported_patterns() -> None:
    # The harness below can fail: on each reported pattern, V8 goes over the budget.
    timings = node_timings([(p, attacks(p)) for p in REPORTED], list(range(10, PUMP + 1, 2)))
    fast = [(t.pattern, t.ms) for t in timings if t.ms <= BUDGET_MS]
    assert fast == []


def test_shipped_registry_patterns_are_fast_in_node() -> None:
    patterns = registry_patterns()
    assert len(patterns) > 20 and accepted(patterns) == patterns
    _assert_fast_in_node(patterns)


def test_generated_accepted_patterns_are_fast_in_node() -> None:
    patterns = corpus()
    passing = accepted(patterns)
    # The corpus must exercise both verdicts, including the shape the bug was about.
    assert len(patterns) > 350 and 100 < len(passing) < len(patterns) - 100
    overlapping = [p for p in patterns if re.search(r"\((?:\?:)?(?:a\|A|A\|a)", p)]
    assert overlapping and not set(overlapping) <= set(passing)
    _assert_fast_in_node(passing)


def _assert_fast_in_node(patterns: list[str]) -> None:
    cases = [(p, attacks(p)) for p in patterns]
    steps = [10, 14, 18, 22, 26, PUMP]
    slow = [t for t in node_timings(cases, steps) if t.ms > BUDGET_MS]
    assert slow == [], "\n".join(
        f"{t.pattern!r}: {t.ms:.0f} ms on {t.attack} x{t.count}" for t in slow
    )


def _rules(pattern: str) -> list[str]:
    return [p.rule for p in check_pattern(pattern)]
