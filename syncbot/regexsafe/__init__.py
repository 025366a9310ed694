"""Safety checks for routing patterns: syntax, Python/JavaScript portability, ReDoS.

A routing pattern is matched case-insensitively with `re.search` by syncbot and, in
production, by an AI service that may be written in Python (`re`) or JavaScript
(`new RegExp(pattern, "i")`, no `u` flag). `check_pattern` accepts a pattern only if it
compiles with `re`, means the same in both engines, and cannot backtrack
catastrophically. The checks run in layers and fail closed: anything they cannot prove
safe is refused.

1. `regex-too-long` / `regex-syntax`: a length cap, then Python's own parser (`tree`).
2. `regex-portability` (`portability`): a lexical scan of the pattern text (for text both
   parsers accept but read differently), a whitelist over the parse tree, and a
   case-folding comparison for non-ASCII letters.
3. `regex-redos` (`redos`): structural deny rules on the parse tree (nested quantifiers,
   optional or alternative parts of a repeat that the rest of it can also match, an
   unbounded repeat that can give characters back to a later unbounded repeat, too many
   ways to match one position), then a dynamic probe (`probe`): pumped inputs searched
   with the `regex` module under `timeout=`, and at half the length with Python's own
   `re` under a CPU-time signal (main thread only). The probe is skipped only for
   patterns whose shape bounds the work per start position to linear (see
   `redos._provably_linear`). Both run on V8's reading of the pattern too, where
   alternatives stay apart instead of merging into a set (`v8`); tests/test_redos_node.py
   times the accepted patterns in Node itself.

   Policy: searching is allowed to cost O(n^2) in the query length (any `x.*y` pattern
   does, on a query that repeats x); O(n^3) and worse, and exponential shapes, are not.

Known residual differences that no pattern text can avoid (documented in
docs/algorithms.md): Python's `$` also matches before a final newline; `.` does not
match `\\r`, U+2028 or U+2029 in JavaScript; `\\s` differs on U+001C-U+001F, U+0085 and
U+FEFF; under `i` Python also lets `i`, `k`, `s`, `å`, `ω` match the special characters
in `portability._RESIDUAL`; JavaScript without `u` sees characters above U+FFFF as two
code units.

Modules, low to high: `lexer` (tokens of the text), `v8` (V8's reading of alternations),
`tree` (the parse tree), `render` (nodes back to text), `charsets` (character sets),
`portability`, `probe`, `redos`, `check` (all rules, cached) and `prefilter` (required
substrings for routing).
"""

from syncbot.regexsafe.check import MAX_PATTERN_LENGTH, PatternProblem, check_pattern
from syncbot.regexsafe.prefilter import fold_for_prefilter, required_substrings

__all__ = [
    "MAX_PATTERN_LENGTH",
    "PatternProblem",
    "check_pattern",
    "fold_for_prefilter",
    "required_substrings",
]
