"""Semantic explanations of a plan: routing flips, rollout shares, SKILL.md diffs, re-pins.

Each scenario is a real git repository (two or more commits): the live state is what an
apply of the first commit would have written, the desired state is a later commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import Content, build_tree, commit_all, skill_md, valid_files, write_tree

from syncbot import cli as cli_module
from syncbot import semantic
from syncbot.desired import DesiredState, Route
from syncbot.emulator.server import EmulatorServer
from syncbot.errors import ConfigErrors
from syncbot.files.gittree import GitTree
from syncbot.files.load import LoadedRepo, build_desired, load_repo
from syncbot.files.worktree import WorkTree
from syncbot.live import (
    ApiListing,
    ApiSkill,
    CacheState,
    DbState,
    LiveState,
    RolloutRow,
    RouteRow,
    SkillRow,
    VersionRow,
)
from syncbot.plan import Plan
from syncbot.planner import make_plan
from syncbot.reader import read_deployed_files
from syncbot.render import render_markdown, render_text, segments
from syncbot.routing import SkillInfo, recommend
from syncbot.semantic import MAX_DIFF_LINES, explain

ROUTE = "db:route:contract-analysis:legal_analysis"
UPLOADED = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


# --- building the scenarios ------------------------------------------------------------------


def loaded_at(root: Path, commit: str) -> tuple[LoadedRepo, DesiredState]:
    loaded = load_repo(GitTree(root, commit))
    return loaded, build_desired(loaded, "production")


def live_from(desired: DesiredState, commit: str | None) -> LiveState:
    """What an apply of `desired` at `commit` leaves in the database (the cache is off)."""
    skills = {n: _row(n, desired, commit) for n in desired.skills}
    versions = tuple(
        VersionRow(n, f"skill_{n}", f"v_{n}_{commit}", s.content_sha256, UPLOADED, commit)
        for n, s in desired.skills.items()
    )
    routes = {
        r.key: RouteRow(r.skill, r.category, r.priority, r.min_confidence, r.patterns)
        for r in desired.routes
    }
    rollouts = {n: RolloutRow(n, r.basis_points, r.salt) for n, r in desired.rollouts.items()}
    listing = ApiListing(
        tuple(
            ApiSkill(row.skill_id, row.display_name, row.version_id, "custom", "t0", "t0")
            for row in skills.values()
        )
    )
    db = DbState("production", skills, versions, routes, rollouts)
    return LiveState(listing, db, CacheState(available=False))


def _row(name: str, desired: DesiredState, commit: str | None) -> SkillRow:
    skill = desired.skills[name]
    ids = {"skill_id": f"skill_{name}", "version_id": f"v_{name}_{commit}"}
    return SkillRow.from_values(name, {**ids, **skill.metadata()}, commit=commit)


class Scenario:
    """A repository whose first commit is deployed; `change` commits the next state."""

    def __init__(self, tmp_path: Path, extra: dict[str, Content] | None = None) -> None:
        self.root = build_tree(tmp_path, {**valid_files(), **(extra or {})}, commit=True)
        self.deployed = _head(self.root)
        _, desired = loaded_at(self.root, self.deployed)
        self.live = live_from(desired, self.deployed)
        assert make_plan(desired, self.live).is_empty  # the live state is an exact apply

    def change(self, files: dict[str, Content]) -> tuple[Plan, dict[str, tuple[str, ...]]]:
        write_tree(self.root, files)
        head = commit_all(self.root, "change")
        loaded, desired = loaded_at(self.root, head)
        plan = make_plan(desired, self.live)
        old = read_deployed_files(self.root, plan, desired, self.live)
        return plan, explain(plan, desired, self.live, loaded, old)


def _head(root: Path) -> str:
    commit = WorkTree(root).commit
    assert commit is not None
    return commit


def routes_with(**changes: Any) -> dict[str, Any]:
    """registry/routes.yaml of valid_files() with the contract-analysis route changed."""
    registry: dict[str, Any] = valid_files()["registry/routes.yaml"]  # type: ignore[assignment]
    registry["routes"][0].update(changes)
    return registry


# --- routes-queries.yaml ---------------------------------------------------------------------


def test_routes_queries_file_is_loaded_and_validated(tmp_path: Path) -> None:
    queries = ["Please review this agreement", "Draft an NDA for the supplier"]
    root = build_tree(tmp_path, {**valid_files(), "routes-queries.yaml": queries})
    assert load_repo(WorkTree(root)).queries == tuple(queries)
    write_tree(root, {"routes-queries.yaml": "- ''\n- 5\n- {q: x}\n"})
    with pytest.raises(ConfigErrors) as caught:
        load_repo(WorkTree(root))
    assert [(e.location.file, e.location.line) for e in caught.value.errors] == [
        ("routes-queries.yaml", 1),
        ("routes-queries.yaml", 2),
        ("routes-queries.yaml", 3),
    ]


def test_routes_queries_file_is_optional_and_read_from_git(tmp_path: Path) -> None:
    root = build_tree(tmp_path, valid_files(), commit=True)
    assert load_repo(GitTree(root, "HEAD")).queries == ()
    write_tree(root, {"routes-queries.yaml": ["What is the weather in Cluj?"]})
    head = commit_all(root, "queries")
    assert load_repo(GitTree(root, head)).queries == ("What is the weather in Cluj?",)


# --- routes ----------------------------------------------------------------------------------


def test_a_route_change_lists_the_recorded_examples_that_flip(tmp_path: Path) -> None:
    scenario = Scenario(tmp_path, {"routes-queries.yaml": ["Please review this agreement"]})
    plan, explanations = scenario.change(
        {"registry/routes.yaml": routes_with(patterns=["contract.*review", "agreement.*review"])}
    )
    assert [c.object_id for c in plan.changes] == [ROUTE]
    lines = explanations[ROUTE]
    assert lines[0] == "Patterns changed:"
    assert "  added `contract.*review` (weight 1)" in lines
    assert "  removed `contract.*analy[sz]is` (weight 1)" in lines
    assert "  removed `review.*agreement` (weight 0.6)" in lines
    # 4 recorded queries: 3 registry examples and 1 from routes-queries.yaml
    assert "2 of 4 recorded queries route differently:" in lines
    assert "  `Please run a contract analysis on this`: `contract-analysis` → (no skill)" in lines
    assert "  `Please review this agreement`: `contract-analysis` → (no skill)" in lines
    markdown = render_markdown(plan, explanations=explanations)
    assert "- 2 of 4 recorded queries route differently:" in markdown
    assert (
        "  - `Please run a contract analysis on this`: `contract-analysis` → (no skill)" in markdown
    )


def test_a_route_change_that_moves_no_query_says_so(tmp_path: Path) -> None:
    _, explanations = Scenario(tmp_path).change(
        {"registry/routes.yaml": routes_with(min_confidence=0.55)}
    )
    assert explanations[ROUTE] == (
        "None of the 3 recorded queries routes differently for `contract-analysis`.",
    )


def test_a_new_route_lists_the_queries_it_takes(tmp_path: Path) -> None:
    registry = routes_with()
    registry["routes"].append(
        {
            "skill": "nda-drafting",
            "category": "review",
            "priority": 1,
            "min_confidence": 0.5,
            "patterns": ["weather"],
        }
    )
    _, explanations = Scenario(tmp_path).change({"registry/routes.yaml": registry})
    assert explanations["db:route:nda-drafting:review"] == (
        "1 of 3 recorded queries route differently:",
        "  `What is the weather in Cluj?`: (no skill) → `nda-drafting`",
    )


@pytest.mark.parametrize("direct", [0, 50])
def test_only_queries_a_moved_route_answers_are_routed_twice(
    tmp_path: Path, direct: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The prefilter and the Router shortcut give the brute-force answer."""
    monkeypatch.setattr(semantic.routes, "_DIRECT", direct)
    queries = ["Please review this agreement", "Draft an NDA for us", "review the nda draft"]
    scenario = Scenario(tmp_path, {"routes-queries.yaml": queries})
    registry = routes_with(priority=3, patterns=["review", "agreement"])
    registry["routes"][1]["patterns"] = ["draft.*nda", "nda.*draft", "agreement"]
    plan, _ = scenario.change({"registry/routes.yaml": registry})
    loaded, desired = loaded_at(scenario.root, _head(scenario.root))
    asked = semantic.recorded_queries(loaded)
    flips, total = semantic.routing_flips(plan, desired, scenario.live, asked)
    assert (flips, total) == (_brute_force(desired, scenario.live, asked), len(asked))
    moved = ["Please run a contract analysis on this", "Please review this agreement"]
    assert [f.query for f in flips] == [*moved, "review the nda draft"]


def _brute_force(
    desired: DesiredState, live: LiveState, queries: tuple[str, ...]
) -> tuple[Any, ...]:
    info = {n: SkillInfo(s.type, s.category) for n, s in desired.skills.items()}
    old_routes = [
        Route(r.skill, r.category, r.priority, r.min_confidence, r.patterns)
        for r in live.db.routes.values()
    ]
    flips = []
    for query in queries:
        was = tuple(r.skill for r in recommend(old_routes, query, skills=info))
        now = tuple(r.skill for r in recommend(desired.routes, query, skills=info))
        if was[:1] != now[:1] or set(was) != set(now):
            flips.append(semantic.Flip(query, was, now))
    return tuple(flips)


# --- rollouts --------------------------------------------------------------------------------


def test_a_rollout_increase_reports_the_units_that_enter(tmp_path: Path) -> None:
    _, explanations = Scenario(tmp_path).change(
        {"rollouts/production.yaml": {**_rollouts(), "contract-analysis": 25}}
    )
    assert explanations["db:rollout:contract-analysis"] == (
        "+20.00% of units enter (5% → 25%); every unit already in stays in.",
    )


def test_a_rollout_decrease_reports_the_units_that_leave(tmp_path: Path) -> None:
    _, explanations = Scenario(tmp_path).change(
        {"rollouts/production.yaml": {**_rollouts(), "nda-drafting": 0}}
    )
    assert explanations["db:rollout:nda-drafting"] == (
        "-25.00% of units leave (25% → 0%); no unit enters.",
    )


def test_a_salt_change_is_reported_loudly_as_a_reshuffle(tmp_path: Path) -> None:
    plan, explanations = Scenario(tmp_path).change(
        {
            "rollouts/production.yaml": {
                **_rollouts(),
                "nda-drafting": {"percentage": 25, "salt": "nda-drafting-v2"},
            }
        }
    )
    lines = explanations["db:rollout:nda-drafting"]
    assert lines[0] == (
        "⚠️ **RESHUFFLE: the salt changes** (`nda-drafting` → `nda-drafting-v2`): "
        "every unit is drawn again."
    )
    # independent draws at 25%: 25% + 25% - 2 x 6.25% flip
    assert lines[1].startswith("37.50% of units flip (25% → 25%): 18.75% enter, 18.75% leave")
    assert "RESHUFFLE: the salt changes" in render_text(plan, explanations)


def _rollouts() -> dict[str, Any]:
    rollouts: dict[str, Any] = valid_files()["rollouts/production.yaml"]  # type: ignore[assignment]
    return rollouts


# --- skill content ---------------------------------------------------------------------------

NEW_MD = skill_md("contract-analysis").replace("Instructions.", "Read the whole contract first.")


def test_a_skill_md_change_shows_a_unified_diff_against_the_deployed_commit(
    tmp_path: Path,
) -> None:
    scenario = Scenario(tmp_path)
    plan, explanations = scenario.change(
        {
            "skills/contract-analysis/SKILL.md": NEW_MD,
            "skills/contract-analysis/scripts/run.py": None,
            "skills/contract-analysis/references/terms.md": "# Terms\n",
        }
    )
    lines = explanations["api:skill:contract-analysis"]
    short = scenario.deployed[:12]
    assert lines[0] == (
        f"Files changed since the deployed commit `{short}`: `SKILL.md` modified, "
        "`references/terms.md` added, `scripts/run.py` removed."
    )
    assert lines[1] == "`SKILL.md`: +1 −1 lines"
    assert lines[2:5] == ("```diff", f"--- a/SKILL.md ({short})", "+++ b/SKILL.md")
    assert "-Instructions." in lines and "+Read the whole contract first." in lines
    assert lines[-1] == "```"
    assert "db:skill:contract-analysis" not in explanations  # said once, on the upload
    markdown = render_markdown(plan, explanations=explanations)
    assert "<details><summary>show the diff</summary>\n\n```diff\n" in markdown
    text = render_text(plan, explanations)
    assert "+Read the whole contract" not in text and "`SKILL.md`: +1 −1 lines" in text


def test_old_content_missing_locally_is_said_plainly(tmp_path: Path) -> None:
    scenario = Scenario(tmp_path)
    rows = dict(scenario.live.db.skills)
    unknown = "f" * 40
    rows["contract-analysis"] = _with_commit(rows["contract-analysis"], unknown)
    rows["nda-drafting"] = _with_commit(rows["nda-drafting"], None)
    scenario.live = _with_rows(scenario.live, rows)
    _, explanations = scenario.change(
        {
            "skills/contract-analysis/SKILL.md": NEW_MD,
            "skills/nda-drafting/SKILL.md": skill_md("nda-drafting", "Drafts NDAs."),
        }
    )
    assert explanations["api:skill:contract-analysis"][0].endswith(
        f"the old content is not available locally: commit `{unknown[:12]}` is not in this "
        "repository (a shallow clone?)."
    )
    assert explanations["api:skill:nda-drafting"][0].endswith(
        "the old content is not available locally: the live row records no commit."
    )


def test_a_dirty_deploy_is_compared_with_its_commit_and_flagged(tmp_path: Path) -> None:
    scenario = Scenario(tmp_path)
    rows = dict(scenario.live.db.skills)
    dirty = _with_commit(rows["contract-analysis"], scenario.deployed + "-dirty")
    rows["contract-analysis"] = _replace_sha(dirty, "0" * 64)
    scenario.live = _with_rows(scenario.live, rows)
    _, explanations = scenario.change({"skills/contract-analysis/SKILL.md": NEW_MD})
    lines = explanations["api:skill:contract-analysis"]
    assert "`SKILL.md` modified" in lines[0]
    assert lines[1].startswith("Note: the files of that commit do not hash to the deployed")
    assert "uncommitted changes" in lines[1]


def test_the_diff_is_bounded_and_fenced_safely(tmp_path: Path) -> None:
    body = "\n".join(f"Step {i}: ```check``` the clause." for i in range(500))
    _, explanations = Scenario(tmp_path).change(
        {"skills/contract-analysis/SKILL.md": skill_md("contract-analysis") + body + "\n"}
    )
    lines = explanations["api:skill:contract-analysis"]
    assert re.fullmatch(r"`SKILL.md`: \+500 −0 lines \(diff cut to 60 of 506 lines\)", lines[1])
    assert lines[2] == "````diff" and lines[-1] == "````"  # longer than the ``` inside
    assert len(lines) - 4 <= MAX_DIFF_LINES
    assert sum(len(line) for line in lines) < 7000


# --- re-pins ---------------------------------------------------------------------------------


def test_a_revert_re_pins_the_earlier_version_without_upload(tmp_path: Path) -> None:
    scenario = Scenario(tmp_path)
    first = scenario.deployed
    files = valid_files()
    _, desired_b = _commit(scenario, {"skills/contract-analysis/SKILL.md": NEW_MD})
    second = _head(scenario.root)
    # live: the second commit is deployed; the first commit's upload is still in the API
    live = live_from(desired_b, second)
    versions = (*scenario.live.db.versions, *live.db.versions)
    scenario.live = replace(live, db=replace(live.db, versions=versions))
    plan, explanations = scenario.change(
        {"skills/contract-analysis/SKILL.md": files["skills/contract-analysis/SKILL.md"]}
    )
    assert [c.action for c in plan.by_target("api")] == ["repin"]
    lines = explanations["api:skill:contract-analysis"]
    assert lines[0] == (
        f"Re-pins the earlier version `v_contract-analysis_{first}` without upload: the API "
        f"already holds this content; commit `{first[:12]}` first uploaded it, 2025-03-01 09:30Z."
    )
    assert (
        lines[1] == f"Files changed since the deployed commit `{second[:12]}`: `SKILL.md` modified."
    )
    assert "+Instructions." in lines
    assert "re-pins the earlier version" in render_markdown(plan, explanations=explanations).lower()


def _commit(scenario: Scenario, files: dict[str, Content]) -> tuple[LoadedRepo, DesiredState]:
    write_tree(scenario.root, files)
    return loaded_at(scenario.root, commit_all(scenario.root, "next"))


def _with_commit(row: SkillRow, commit: str | None) -> SkillRow:
    return replace(row, commit=commit)


def _replace_sha(row: SkillRow, sha: str) -> SkillRow:
    return replace(row, content_sha256=sha)


def _with_rows(live: LiveState, rows: dict[str, SkillRow]) -> LiveState:
    return replace(live, db=replace(live.db, skills=rows))


# --- the whole Markdown ----------------------------------------------------------------------


def mixed_change() -> dict[str, Content]:
    return {
        "registry/routes.yaml": routes_with(patterns=["contract.*review"]),
        "rollouts/production.yaml": {**_rollouts(), "contract-analysis": 25},
        "skills/contract-analysis/SKILL.md": NEW_MD,
    }


def test_the_markdown_of_a_mixed_plan_explains_each_change_deterministically(
    tmp_path: Path,
) -> None:
    scenario = Scenario(tmp_path)
    plan, explanations = scenario.change(mixed_change())
    markdown = render_markdown(plan, explanations=explanations)
    expected_in_order = [
        "**~ api update skill `contract-analysis`**",
        f"- Files changed since the deployed commit `{scenario.deployed[:12]}`: `SKILL.md`",
        "+Read the whole contract first.",
        "**~ db update route `contract-analysis:legal_analysis`**",
        "- 1 of 3 recorded queries route differently:",
        "  - `Please run a contract analysis on this`: `contract-analysis` → (no skill)",
        "**~ db update rollout `contract-analysis`**",
        "- +20.00% of units enter (5% → 25%); every unit already in stays in.",
    ]
    positions = [markdown.index(piece) for piece in expected_in_order]
    assert positions == sorted(positions)
    assert markdown.count("<details>") == markdown.count("</details>")
    assert len(re.findall(r"^`{3,}", markdown, re.M)) % 2 == 0  # every fence closed
    # the same inputs, computed again from scratch, give byte-identical output
    loaded, desired = loaded_at(scenario.root, _head(scenario.root))
    again = explain(
        plan,
        desired,
        scenario.live,
        loaded,
        read_deployed_files(scenario.root, plan, desired, scenario.live),
    )
    assert render_markdown(plan, explanations=again) == markdown


def test_explanation_blocks_are_split_whole_for_the_renderers() -> None:
    lines = ("one", "  sub", "````diff", "+```", "````", "two", "```diff", "-open")
    assert list(segments(lines)) == [
        (False, ["one"]),
        (False, ["  sub"]),
        (True, ["````diff", "+```", "````"]),
        (False, ["two"]),
        (True, ["```diff", "-open", "```"]),  # an unclosed block is closed
    ]


# --- the plan command against the emulator, PostgreSQL and Redis ------------------------------

API_KEY = "sk-test-semantic-0123456789"
FIRST_STEP = {"contract-analysis": 5, "nda-drafting": 5}  # production's policy: start at 5%


@pytest.fixture
def production(
    pg_url: str, redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    with EmulatorServer(api_key=API_KEY) as emulator:
        env = {
            "ANTHROPIC_API_KEY": API_KEY,
            "ANTHROPIC_BASE_URL": emulator.base_url,
            "DATABASE_URL": pg_url,
            "REDIS_URL": redis_url,
            "SYNCBOT_REDIS_PREFIX": redis_prefix,
            "SYNCBOT_ENV": "production",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("ANTHROPIC_SKILLS_BETA_VERSION", raising=False)
        monkeypatch.delenv("ANTHROPIC_SKILLS_ENABLED", raising=False)
        yield


@pytest.mark.usefixtures("production")
def test_plan_markdown_from_the_cli_carries_the_explanations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {**valid_files(), "rollouts/production.yaml": FIRST_STEP}
    root = build_tree(tmp_path, files, commit=True)
    assert cli_module.run(["--repo", str(root), "apply"]) == 0
    deployed = _head(root)
    rollouts = {**FIRST_STEP, "contract-analysis": 25}
    write_tree(root, {**mixed_change(), "rollouts/production.yaml": rollouts})
    commit_all(root, "mixed change")
    capsys.readouterr()
    code = cli_module.run(["--repo", str(root), "plan", "--format", "markdown"])
    markdown = capsys.readouterr().out
    assert code == 1, markdown  # 5% -> 25% is still in its soak: apply will refuse it
    assert markdown.index("Apply will refuse this plan") < markdown.index("| | target |")
    assert f"--- a/SKILL.md ({deployed[:12]})" in markdown
    assert "`Please run a contract analysis on this`: `contract-analysis` → (no skill)" in markdown
    assert "+20.00% of units enter (5% → 25%)" in markdown
