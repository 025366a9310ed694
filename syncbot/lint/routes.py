"""Rules over registry/*.yaml: regex safety, missing skills, duplicates, examples."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from syncbot.desired import Route
from syncbot.files.load import LoadedRepo, to_route
from syncbot.files.schemas import RouteModel
from syncbot.lint.findings import Finding
from syncbot.regexsafe import check_pattern
from syncbot.routing import Recommendation, Router, SkillInfo


@dataclass(frozen=True)
class _Placed:
    """A route with where it came from: its file and index in that file's list."""

    file: str
    index: int
    model: RouteModel
    route: Route
    safe: bool  # every pattern passed check_pattern: the route may run in example checks


def route_findings(repo: LoadedRepo) -> list[Finding]:
    placed = _placed_routes(repo)
    findings = [finding for item in placed for finding in _pattern_findings(repo, item)]
    findings += _unknown_skills(repo, placed)
    findings += _duplicates(repo, placed)
    findings += _example_findings(repo, placed)
    return findings


def pattern_findings(repo: LoadedRepo) -> list[Finding]:
    """The regex rules alone: what every pattern must pass before it runs on a query."""
    return [finding for item in _placed_routes(repo) for finding in _pattern_findings(repo, item)]


def _placed_routes(repo: LoadedRepo) -> list[_Placed]:
    placed = []
    for file, registry in sorted(repo.registry.items()):
        for index, model in enumerate(registry.routes):
            route = to_route(model)
            safe = not any(check_pattern(p.regex) for p in route.patterns)
            placed.append(_Placed(file, index, model, route, safe))
    return placed


def _pattern_findings(repo: LoadedRepo, item: _Placed) -> Iterator[Finding]:
    for position, pattern in enumerate(item.route.patterns):
        for problem in check_pattern(pattern.regex):
            at = repo.locate(item.file, ("routes", item.index, "patterns", position))
            yield Finding(at.file, at.line, problem.rule, f"{pattern.regex!r}: {problem.message}")


def _unknown_skills(repo: LoadedRepo, placed: list[_Placed]) -> Iterator[Finding]:
    for item in placed:
        if item.route.skill not in repo.skills:
            at = repo.locate(item.file, ("routes", item.index, "skill"))
            message = f"route names skill {item.route.skill!r}, which has no folder in skills/"
            yield Finding(at.file, at.line, "route-unknown-skill", message)


def _duplicates(repo: LoadedRepo, placed: list[_Placed]) -> Iterator[Finding]:
    first: dict[str, str] = {}
    for item in placed:
        at = repo.locate(item.file, ("routes", item.index))
        key = item.route.key
        if key in first:
            message = f"route {key} is defined twice (first at {first[key]})"
            yield Finding(at.file, at.line, "route-duplicate", message)
        else:
            first[key] = f"{at.file}:{at.line}"


def _example_findings(repo: LoadedRepo, placed: list[_Placed]) -> list[Finding]:
    # Routes with an unsafe pattern are left out: they fail validate on their own, and
    # running a backtracking pattern here could hang the check.
    # Routes to a skill without a valid skill.yaml are left out too (reported elsewhere).
    infos = _skill_infos(repo)
    runnable = [item for item in placed if item.safe and item.route.skill in infos]
    checker = _ExampleChecker([item.route for item in runnable], infos)
    findings = []
    for item in runnable:
        examples = item.model.examples
        if examples is None:
            continue
        for kind, queries in (("match", examples.match), ("no_match", examples.no_match)):
            for position, query in enumerate(queries):
                problem = checker.problem(item.route, query, expect_first=kind == "match")
                if problem:
                    at = repo.locate(item.file, ("routes", item.index, "examples", kind, position))
                    findings.append(Finding(at.file, at.line, "route-example-mismatch", problem))
    return findings


def _skill_infos(repo: LoadedRepo) -> dict[str, SkillInfo]:
    return {
        name: SkillInfo(type=skill.meta.type, category=skill.meta.category)
        for name, skill in repo.skills.items()
        if skill.meta is not None
    }


class _ExampleChecker:
    """Recommendations for example queries: one Router (prefiltered) for all of them."""

    def __init__(self, routes: list[Route], skills: dict[str, SkillInfo]) -> None:
        self._router = Router(routes, skills)
        self._cache: dict[str, list[Recommendation]] = {}

    def recommend(self, query: str) -> list[Recommendation]:
        if query not in self._cache:
            self._cache[query] = self._router.recommend(query)
        return self._cache[query]

    def problem(self, route: Route, query: str, *, expect_first: bool) -> str | None:
        found = self.recommend(query)
        if expect_first:
            if found and found[0].skill == route.skill:
                return None
            instead = _describe(found[0]) if found else "nothing"
            return f"match example {query!r} should recommend {route.skill} first, got {instead}"
        hit = next((r for r in found if r.skill == route.skill), None)
        if hit is None:
            return None
        rank = found.index(hit) + 1
        return (
            f"no_match example {query!r} recommends {route.skill} (rank {rank}, "
            f"route {hit.route_key}, confidence {hit.confidence:.2f})"
        )


def _describe(rec: Recommendation) -> str:
    return (
        f"{rec.skill} (route {rec.route_key}, priority {rec.priority}, "
        f"confidence {rec.confidence:.2f})"
    )
