"""Route recommendation (docs/algorithms.md): table cases, ordering, Router equivalence."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from helpers import Content, build_tree, valid_files
from hypothesis import given, settings
from hypothesis import strategies as st

from syncbot import cli as cli_module
from syncbot import routing
from syncbot.desired import Pattern, Route
from syncbot.routing import Recommendation, Router, SkillInfo, confidence, recommend

NODE = shutil.which("node")
DOCS = Path(__file__).resolve().parent.parent / "docs" / "algorithms.md"

SKILLS = {
    "contract-analysis-ro": SkillInfo("code", "analysis"),
    "statute-lookup": SkillInfo("prompt", "research"),
    "gdpr-check": SkillInfo("code", "compliance"),
    "nda-drafter": SkillInfo("prompt", "drafting"),
}
SPEC_ROUTE = Route(
    "contract-analysis-ro",
    "legal_analysis",
    1,
    0.7,
    (
        Pattern("contract.*analy[sz]is"),
        Pattern("analiz[ăa].*contract"),
        Pattern("review.*agreement", 0.6),
    ),
)


def route(skill: str, priority: int, *patterns: Pattern, minimum: float = 0.5) -> Route:
    return Route(skill, f"{skill}-route-{priority}", priority, minimum, tuple(patterns))


def skills_of(found: list[Recommendation]) -> list[str]:
    return [r.skill for r in found]


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ([], 0.0),
        ([1.0], 1.0),
        ([0.6], 0.6),
        ([0.5, 0.5], 0.75),
        ([0.1, 0.2], 0.28),
        ([0.08, 0.25], 0.31),
        ([0.6, 1.0, 0.3], 1.0),
    ],
)
def test_noisy_or(weights: list[float], expected: float) -> None:
    assert confidence(weights) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Please run a contract analysis on this NDA", ["contract-analysis-ro"]),
        ("CONTRACT ANALYSIS", ["contract-analysis-ro"]),
        ("contract analyzis", ["contract-analysis-ro"]),
        ("Analiză contract de închiriere", ["contract-analysis-ro"]),
        ("ANALIZĂ CONTRACT", ["contract-analysis-ro"]),
        ("analiza contractului", ["contract-analysis-ro"]),
        ("What is the weather in Cluj?", []),
        ("please review this agreement", []),  # 0.6 < min_confidence 0.7
        ("analysis of a contract", []),  # order matters in the pattern
    ],
)
def test_spec_example(query: str, expected: list[str]) -> None:
    assert skills_of(recommend([SPEC_ROUTE], query, skills=SKILLS)) == expected


def test_weighted_patterns_combine() -> None:
    both = Route("nda-drafter", "d", 1, 0.7, (Pattern("nda", 0.5), Pattern("draft", 0.5)))
    assert recommend([both], "an nda", skills=SKILLS) == []
    (found,) = recommend([both], "draft an NDA", skills=SKILLS)
    assert found.confidence == 0.75
    assert found.matched == both.patterns


def test_rounding_meets_a_threshold_that_float_arithmetic_misses() -> None:
    # 1 - (1 - 0.08) * (1 - 0.25) is 0.30999999999999994 in binary floating point.
    assert 1 - (1 - 0.08) * (1 - 0.25) < 0.31
    item = route("gdpr-check", 1, Pattern("gdpr", 0.08), Pattern("rgpd", 0.25), minimum=0.31)
    assert skills_of(recommend([item], "gdpr / rgpd", skills=SKILLS)) == ["gdpr-check"]


def test_order_is_priority_then_confidence_then_name() -> None:
    routes = [
        route("statute-lookup", 2, Pattern("law")),
        route("nda-drafter", 1, Pattern("law", 0.6)),
        route("gdpr-check", 1, Pattern("law", 0.6)),
        route("contract-analysis-ro", 1, Pattern("law", 0.9)),
    ]
    found = recommend(routes, "law", skills=SKILLS)
    assert skills_of(found) == [
        "contract-analysis-ro",
        "gdpr-check",
        "nda-drafter",
        "statute-lookup",
    ]
    assert [r.confidence for r in found] == [0.9, 0.6, 0.6, 1.0]


def test_a_skill_keeps_only_its_best_route() -> None:
    routes = [
        route("gdpr-check", 3, Pattern("privacy")),
        route("gdpr-check", 1, Pattern("privacy", 0.6)),
        route("statute-lookup", 2, Pattern("privacy")),
    ]
    found = recommend(routes, "privacy policy", skills=SKILLS)
    assert skills_of(found) == ["gdpr-check", "statute-lookup"]
    assert found[0].route_key == "gdpr-check:gdpr-check-route-1"


def test_routes_to_unknown_skills_are_ignored() -> None:
    routes = [route("ghost", 1, Pattern("x")), route("nda-drafter", 2, Pattern("x"))]
    assert skills_of(recommend(routes, "x", skills=SKILLS)) == ["nda-drafter"]
    assert skills_of(Router(routes, SKILLS).recommend("x")) == ["nda-drafter"]


ALL_MATCH = [route(name, 1, Pattern("law")) for name in SKILLS]


@pytest.mark.parametrize(
    ("type_", "category", "expected"),
    [
        (None, None, sorted(SKILLS)),
        ("code", None, ["contract-analysis-ro", "gdpr-check"]),
        ("prompt", "research", ["statute-lookup"]),
        (None, "drafting", ["nda-drafter"]),
        ("code", "drafting", []),
        (None, "legal_analysis", []),  # filters use skill.yaml's category, not the route's
    ],
)
def test_filters(type_: str | None, category: str | None, expected: list[str]) -> None:
    found = recommend(ALL_MATCH, "law", skills=SKILLS, type=type_, category=category)
    assert skills_of(found) == expected
    router = Router(ALL_MATCH, SKILLS)
    assert router.recommend("law", type=type_, category=category) == found


def test_a_pattern_that_does_not_compile_never_matches() -> None:
    item = route("gdpr-check", 1, Pattern("("), Pattern("gdpr"))
    (found,) = recommend([item], "( gdpr", skills=SKILLS)
    assert found.matched == (Pattern("gdpr"),)


def test_zero_min_confidence_is_a_catch_all() -> None:
    routes = [
        route("nda-drafter", 9, Pattern("never"), minimum=0.0),
        route("gdpr-check", 1, Pattern("gdpr")),
    ]
    assert skills_of(recommend(routes, "hello", skills=SKILLS)) == ["nda-drafter"]
    assert skills_of(recommend(routes, "gdpr", skills=SKILLS)) == ["gdpr-check", "nda-drafter"]
    assert Router(routes, SKILLS).recommend("hello") == recommend(routes, "hello", skills=SKILLS)


def test_patterns_compile_once() -> None:
    routing.compiled.cache_clear()
    for _ in range(3):
        recommend([SPEC_ROUTE], "contract analysis", skills=SKILLS)
    info = routing.compiled.cache_info()
    assert info.misses == 3 and info.hits == 6


@pytest.mark.parametrize(
    "query",
    ["KİT", "kıt", "\u212aIT", "ſis", "caſe", "ANALYSIS", "data\u00a0protection", "", "kit"],
)
def test_router_prefilter_respects_case_folding(query: str) -> None:
    routes = [
        route("gdpr-check", 1, Pattern("kit")),
        route("statute-lookup", 1, Pattern("sis|case")),
        route("nda-drafter", 1, Pattern("analysis")),
    ]
    assert Router(routes, SKILLS).recommend(query) == recommend(routes, query, skills=SKILLS)


# --- properties ------------------------------------------------------------------------

POOL = [
    "contract",
    "analy[sz]is",
    "contract.*analysis",
    "(gdpr|rgpd)",
    "^review",
    "agreement$",
    "nda",
    "a.*b",
    "kit",
    "[ăa]n",
    "x?yz",
    "data protection",
    "(",
    "",
]
WORDS = ["contract", "analysis", "ANALYSIS", "gdpr", "RGPD", "review", "agreement", "nda"]
WORDS += ["kit", "KİT", "ı", "ſ", "\u212a", " ", "ăn", "yz", "data protection", "b", "x"]

patterns = st.builds(Pattern, st.sampled_from(POOL), st.sampled_from([0.1, 0.25, 0.5, 0.6, 1.0]))
routes_strategy = st.lists(
    st.builds(
        Route,
        st.sampled_from([*SKILLS, "ghost"]),
        st.sampled_from(["a", "b"]),
        st.integers(1, 3),
        st.sampled_from([0.0, 0.1, 0.28, 0.5, 0.7, 1.0]),
        st.lists(patterns, max_size=4).map(tuple),
    ),
    max_size=8,
)
queries = st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join)
filters = st.sampled_from(
    [(None, None), ("code", None), (None, "research"), ("prompt", "drafting")]
)


@settings(max_examples=300, deadline=None)
@given(routes_strategy, queries, filters)
def test_router_equals_recommend(
    routes: list[Route], query: str, chosen: tuple[str | None, str | None]
) -> None:
    type_, category = chosen
    expected = recommend(routes, query, skills=SKILLS, type=type_, category=category)
    assert Router(routes, SKILLS).recommend(query, type=type_, category=category) == expected


@settings(max_examples=300, deadline=None)
@given(routes_strategy, queries)
def test_recommendations_are_ordered_unique_and_justified(routes: list[Route], query: str) -> None:
    found = recommend(routes, query, skills=SKILLS)
    keys = [(r.priority, -r.confidence, r.skill) for r in found]
    assert keys == sorted(keys)
    assert len({r.skill for r in found}) == len(found)
    for item in found:
        assert all(re.search(p.regex, query, re.IGNORECASE) for p in item.matched)
        assert item.confidence == confidence(p.weight for p in item.matched)


@settings(max_examples=300, deadline=None)
@given(routes_strategy, queries)
def test_every_qualifying_route_is_represented(routes: list[Route], query: str) -> None:
    found = {r.skill: r for r in recommend(routes, query, skills=SKILLS)}
    for item in routes:
        if item.skill not in SKILLS:
            assert item.skill not in found
            continue
        matched = [p for p in item.patterns if routing.matches(p.regex, query)]
        score = confidence(p.weight for p in matched)
        if score >= round(item.min_confidence, 9):
            best = found[item.skill]
            assert (best.priority, -best.confidence) <= (item.priority, -score)


# --- the JavaScript description in docs/algorithms.md ----------------------------------


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_documented_javascript_recommend_agrees() -> None:
    snippet = re.search(r"In JavaScript:\n\n```js\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert snippet is not None
    routes = [
        SPEC_ROUTE,
        route("gdpr-check", 1, Pattern("gdpr", 0.08), Pattern("rgpd", 0.25), minimum=0.31),
        route("statute-lookup", 2, Pattern("law|lege")),
        route("nda-drafter", 1, Pattern("nda", 0.6), Pattern("draft", 0.5)),
        route("nda-drafter", 2, Pattern("law")),
        route("ghost", 1, Pattern("law")),
    ]
    cases = ["ANALIZĂ contract gdpr rgpd", "draft an NDA under law", "lege", "nothing", ""]
    # the query length limit, counted in code points (an emoji is two UTF-16 units)
    cases += [
        f * (routing.MAX_QUERY_LENGTH - n) + "lege" for f in ("x", "\U0001f600") for n in (4, 3)
    ]
    payload = {
        "routes": [r.as_dict() for r in routes],
        "skills": {n: {"type": s.type, "category": s.category} for n, s in SKILLS.items()},
        "queries": cases,
    }
    script = snippet.group(1) + (
        "const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
        "const out = input.queries.map((q) => recommend(input.routes, input.skills, q)"
        ".map((r) => [r.skill, r.route_key, r.priority, r.confidence]));\n"
        "process.stdout.write(JSON.stringify(out));\n"
    )
    done = subprocess.run(
        [NODE or "node", "-e", script],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for query, got in zip(cases, json.loads(done.stdout), strict=True):
        found = recommend(routes, query, skills=SKILLS)
        assert got == [[r.skill, r.route_key, r.priority, r.confidence] for r in found], query


# --- the query length limit -----------------------------------------------------------

LIMIT = routing.MAX_QUERY_LENGTH
LEGE = route("statute-lookup", 2, Pattern("lege$"))


@pytest.mark.parametrize(
    ("filler", "room", "routed"),
    [("x", 4, True), ("x", 3, False), ("\U0001f600", 4, True), ("\U0001f600", 3, False)],
)
def test_a_query_is_read_up_to_the_limit_in_code_points(
    filler: str, room: int, routed: bool
) -> None:
    # An emoji is one code point (two UTF-16 units): the limit counts code points.
    query = filler * (LIMIT - room) + "lege"
    expected = ["statute-lookup"] if routed else []
    assert skills_of(recommend([LEGE], query, skills=SKILLS)) == expected
    assert Router([LEGE], SKILLS).recommend(query) == recommend([LEGE], query, skills=SKILLS)
    assert routing.clip_query(query) == query[:LIMIT]


def test_a_long_query_costs_no_more_than_one_at_the_limit() -> None:
    # x.*y patterns cost O(n^2) on a query that repeats x: 56 KB of "review " took 35 s
    # with the shipped patterns before the limit.
    shipped = route("contract-analysis-ro", 1, Pattern("(review|check).*(contract|agreement)"))
    started = time.perf_counter()
    assert recommend([shipped], "review " * 8000, skills=SKILLS) == []
    assert time.perf_counter() - started < 5


# --- syncbot routes test ------------------------------------------------------------------


def run_cli(root: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli_module.run(["--repo", str(root), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def registry_with(pattern: str) -> dict[str, Content]:
    files = valid_files()
    registry = files["registry/routes.yaml"]
    assert isinstance(registry, dict)
    registry["routes"][1]["patterns"] = ["draft.*nda", pattern]
    return files


def test_routes_test_refuses_a_pattern_validate_rejects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # This pattern took over 10 minutes on a 55-character query before the check.
    root = build_tree(tmp_path, registry_with("([a-z ]*)*!"))
    started = time.perf_counter()
    code, out, err = run_cli(root, "routes", "test", "a" * 55, capsys=capsys)
    assert time.perf_counter() - started < 10
    lines = (root / "registry/routes.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "([a-z ]*)*!" in text)
    assert code == 1 and out == ""
    assert f"registry/routes.yaml:{line}: regex-redos:" in err
    assert len(err.strip().splitlines()) == 1


def test_routes_test_reads_a_long_query_up_to_the_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_tree(tmp_path, valid_files())
    query = "please draft an nda " + "x" * LIMIT + " contract analysis"
    code, out, err = run_cli(root, "routes", "test", query, capsys=capsys)
    assert code == 0
    assert "nda-drafting" in out and "contract-analysis" not in out
    assert f"routing reads only the first {LIMIT:,}" in err
