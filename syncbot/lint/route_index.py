"""A literal prefilter over route patterns: which routes could match a query at all.

Checking every example against every route costs examples x patterns regex searches (36
million for 2,000 routes), far over validate's 2 s budget. Most patterns contain a
literal that any match must contain (`contract` in `contract.*analy[sz]is`); each route
is indexed by those literals (`regexsafe.required_substrings`), and a query only reaches
the routes one of whose literals occurs in it. A pattern without such a literal makes
its route a candidate for every query: the index may over-approximate, never miss.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from syncbot.desired import Route
from syncbot.regexsafe import fold_for_prefilter, required_substrings

_PREFIX = 3  # required_substrings only returns literals of at least 3 characters


class RouteIndex:
    """Candidate routes for a query: a superset of the routes with a matching pattern."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self._always: list[int] = []
        self._by_prefix: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for index, route in enumerate(routes):
            needs = [required_substrings(p.regex) for p in route.patterns]
            if not needs or any(not need for need in needs):
                self._always.append(index)
                continue
            for literal in {lit for need in needs if need for lit in need}:
                self._by_prefix[literal[:_PREFIX]].append((literal, index))

    def candidates(self, query: str) -> list[int]:
        """Indices (ascending) of the routes that could match `query`."""
        folded = fold_for_prefilter(query)
        found = set(self._always)
        prefixes = {folded[i : i + _PREFIX] for i in range(len(folded) - _PREFIX + 1)}
        for prefix in prefixes:
            for literal, index in self._by_prefix.get(prefix, ()):
                if index not in found and literal in folded:
                    found.add(index)
        return sorted(found)
