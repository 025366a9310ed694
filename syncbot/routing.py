"""Route recommendation: which skills a query should go to, best first.

A route's confidence is the noisy-OR of the weights of its patterns that match the query
case-insensitively (`re.search`): `1 - Π(1 - w)`, multiplied in the route's pattern order
and rounded to 9 decimal places so that mathematically equal values compare equal. A
route is recommended when that confidence is at least its rounded `min_confidence`.
Results are ordered by priority (ascending), confidence (descending), then skill name;
a skill appears once, with its best route. docs/algorithms.md describes the same rule for
other languages.

A query is read up to MAX_QUERY_LENGTH code points; the rest is ignored. Searching may
cost time quadratic in the query's length (any `x.*y` pattern does), so without a limit a
pasted document would stall every consumer; the limit is part of the contract so that
every implementation cuts at the same place and gives the same answer.

`recommend` is the reference implementation. `Router` gives the same answers for a fixed
route set, faster: a trigram prefilter skips patterns that cannot match, which matters
when `syncbot validate` checks thousands of examples against thousands of routes.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from syncbot.desired import Pattern, Route
from syncbot.regexsafe import fold_for_prefilter, required_substrings

CONFIDENCE_DIGITS = 9
MAX_QUERY_LENGTH = 4096  # code points, not UTF-16 units or bytes


@dataclass(frozen=True)
class SkillInfo:
    """The skill.yaml fields the optional filters apply to."""

    type: str
    category: str


@dataclass(frozen=True)
class Recommendation:
    skill: str
    route_key: str
    priority: int
    confidence: float
    matched: tuple[Pattern, ...]


# Sized for every pattern of a large repository (16,000 skills of 2 routes x 2 patterns):
# validate scans them in order, and an LRU smaller than that set hits nothing. Bounded so
# a long-running caller (a fuzzer) cannot grow it forever: about 1.7 KB a pattern with
# regexsafe's two caches.
PATTERN_CACHE_SIZE = 1 << 16


@functools.lru_cache(maxsize=PATTERN_CACHE_SIZE)
def compiled(regex: str) -> re.Pattern[str] | None:
    """The pattern compiled once; None if it does not compile (validate reports that)."""
    try:
        return re.compile(regex, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError):
        return None


def matches(regex: str, query: str) -> bool:
    """Case-insensitive search; a pattern that does not compile never matches."""
    pattern = compiled(regex)
    return pattern is not None and pattern.search(query) is not None


def clip_query(query: str) -> str:
    """The part of the query that routing reads: its first MAX_QUERY_LENGTH code points."""
    return query[:MAX_QUERY_LENGTH]


def confidence(weights: Iterable[float]) -> float:
    """Noisy-OR of the weights, rounded to CONFIDENCE_DIGITS decimal places."""
    miss = 1.0
    for weight in weights:
        miss *= 1.0 - weight
    return round(1.0 - miss, CONFIDENCE_DIGITS)


def recommend(
    routes: Sequence[Route],
    query: str,
    *,
    skills: Mapping[str, SkillInfo],
    type: str | None = None,
    category: str | None = None,
) -> list[Recommendation]:
    """The recommendation rule; routes naming skills not in `skills` are ignored."""
    query = clip_query(query)
    candidates = []
    for route in _eligible(routes, skills, type, category):
        matched = tuple(p for p in route.patterns if matches(p.regex, query))
        candidate = _recommendation(route, matched)
        if candidate is not None:
            candidates.append(candidate)
    return _best_per_skill(candidates)


def _eligible(
    routes: Iterable[Route],
    skills: Mapping[str, SkillInfo],
    type: str | None,
    category: str | None,
) -> Iterator[Route]:
    for route in routes:
        info = skills.get(route.skill)
        if info is not None and _passes(info, type, category):
            yield route


def _passes(info: SkillInfo, type: str | None, category: str | None) -> bool:
    return (type is None or info.type == type) and (category is None or info.category == category)


def _recommendation(route: Route, matched: tuple[Pattern, ...]) -> Recommendation | None:
    score = confidence(p.weight for p in matched)
    if score < round(route.min_confidence, CONFIDENCE_DIGITS):
        return None
    return Recommendation(route.skill, route.key, route.priority, score, matched)


def _best_per_skill(candidates: Iterable[Recommendation]) -> list[Recommendation]:
    """Sort, then keep each skill's first entry; the sort is stable, so ties keep route order."""
    ordered = sorted(candidates, key=lambda r: (r.priority, -r.confidence, r.skill))
    seen: set[str] = set()
    best = []
    for candidate in ordered:
        if candidate.skill not in seen:
            seen.add(candidate.skill)
            best.append(candidate)
    return best


class Router:
    """A route set prepared for many queries; same results as `recommend`.

    Each pattern is indexed under one trigram of each string it requires (see
    `regexsafe.required_substrings`); a query only evaluates the patterns indexed under
    its own trigrams, plus those with no required string. Patterns compile lazily, once.
    """

    def __init__(self, routes: Sequence[Route], skills: Mapping[str, SkillInfo]) -> None:
        self._skills = dict(skills)
        self._routes = tuple(r for r in routes if r.skill in self._skills)
        self._routes_of: dict[str, list[int]] = defaultdict(list)
        for number, route in enumerate(self._routes):
            for regex in dict.fromkeys(p.regex for p in route.patterns):
                self._routes_of[regex].append(number)
        self._index, self._unindexed = _build_index(self._routes_of)
        # A route whose min_confidence is 0 qualifies even when nothing matches.
        self._always = [n for n, r in enumerate(self._routes) if _recommendation(r, ()) is not None]

    def recommend(
        self, query: str, *, type: str | None = None, category: str | None = None
    ) -> list[Recommendation]:
        query = clip_query(query)
        hits = {regex for regex in self._candidates(query) if matches(regex, query)}
        numbers = {n for regex in hits for n in self._routes_of[regex]}.union(self._always)
        candidates = []
        for number in sorted(numbers):
            route = self._routes[number]
            if not _passes(self._skills[route.skill], type, category):
                continue
            matched = tuple(p for p in route.patterns if p.regex in hits)
            candidate = _recommendation(route, matched)
            if candidate is not None:
                candidates.append(candidate)
        return _best_per_skill(candidates)

    def _candidates(self, query: str) -> set[str]:
        found = set(self._unindexed)
        for key in _trigrams(fold_for_prefilter(query)):
            found.update(self._index.get(key, ()))
        return found


def _trigrams(text: str) -> set[str]:
    return {text[i : i + 3] for i in range(len(text) - 2)}


def _build_index(regexes: Iterable[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Index each pattern under the rarest trigram of each of its required strings."""
    required = {regex: required_substrings(regex) for regex in regexes}
    counts = Counter(t for subs in required.values() if subs for s in subs for t in _trigrams(s))
    index: dict[str, list[str]] = defaultdict(list)
    unindexed = []
    for regex, subs in required.items():
        if not subs:
            unindexed.append(regex)
            continue
        for sub in subs:
            index[min(_trigrams(sub), key=lambda t: (counts[t], t))].append(regex)
    return dict(index), unindexed
