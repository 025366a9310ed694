"""`check_pattern`: every rule family run on one pattern, the result cached per pattern."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from syncbot.regexsafe.lexer import tokenize
from syncbot.regexsafe.portability import portability_problems
from syncbot.regexsafe.redos import redos_problems
from syncbot.regexsafe.tree import parse

MAX_PATTERN_LENGTH = 256


@dataclass(frozen=True)
class PatternProblem:
    rule: str
    message: str


def check_pattern(pattern: str) -> list[PatternProblem]:
    """All problems of one routing pattern; an empty list means it is safe to ship."""
    return list(_check_cached(pattern))


# As large as tree.parse: validate checks every pattern of the repository in order, more
# than once; an LRU smaller than that set hits nothing (5,000 skills are 20,000 patterns).
@functools.lru_cache(maxsize=1 << 16)
def _check_cached(pattern: str) -> tuple[PatternProblem, ...]:
    if len(pattern) > MAX_PATTERN_LENGTH:
        message = f"pattern is {len(pattern)} characters long; the limit is {MAX_PATTERN_LENGTH}"
        return (PatternProblem("regex-too-long", message),)
    parsed = parse(pattern)
    if isinstance(parsed, str):
        return (PatternProblem("regex-syntax", parsed),)
    tokens = tokenize(pattern)
    portability = [
        PatternProblem("regex-portability", m)
        for m in portability_problems(pattern, parsed, tokens)
    ]
    redos = [PatternProblem("regex-redos", m) for m in redos_problems(pattern, parsed, tokens)]
    return tuple(portability + redos)
