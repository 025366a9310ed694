"""Policy travels with the base: the stricter policy judges a change, loosenings are loud."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from helpers import Content, build_tree, commit_all, valid_files, write_tree

from syncbot.desired import RolloutPolicy
from syncbot.files.gittree import GitTree
from syncbot.files.schemas import SyncbotConfig
from syncbot.files.worktree import WorkTree
from syncbot.lint.findings import Finding
from syncbot.lint.validate import validate
from syncbot.policy import Policy, loosenings, policy_of, strictest

LADDER = [0, 5, 25, 50, 100]


def config(steps: list[int] | None = LADDER, soak: float = 72, cap: int = 3) -> dict[str, Any]:
    production: dict[str, Any] = {}
    if steps is not None:
        production = {"rollout": {"steps": steps, "min_soak_hours": soak}}
    return {
        "categories": ["analysis", "drafting", "research", "compliance"],
        "environments": {"staging": {}, "production": production},
        "prune": {"max_deletions": cap},
    }


def model(**kwargs: Any) -> SyncbotConfig:
    return SyncbotConfig.model_validate(config(**kwargs))


# --- the pure comparison ---------------------------------------------------------------------


def test_strictest_takes_every_step_the_longer_soak_and_the_lower_cap() -> None:
    a = Policy({"production": RolloutPolicy((0, 5, 25, 50, 100), 72)}, 3)
    b = Policy({"production": RolloutPolicy((0, 10, 100), 24), "qa": RolloutPolicy((0, 100))}, 9)
    both = strictest(a, b)
    assert both.rollout("production") == RolloutPolicy((0, 5, 10, 25, 50, 100), 72)
    assert both.rollout("qa") == RolloutPolicy((0, 100))
    assert both.rollout("staging") == RolloutPolicy()
    assert both.max_deletions == 3
    assert strictest(b, a) == both


@pytest.mark.parametrize(
    ("new", "path", "text"),
    [
        (
            {"steps": [0, 100], "soak": 72},
            ("environments", "production", "rollout", "steps"),
            "production: steps 5, 25, 50 removed from the ladder ([0, 5, 25, 50, 100] -> [0, 100])",
        ),
        (
            {"soak": 1.5},
            ("environments", "production", "rollout", "min_soak_hours"),
            "production: min_soak_hours lowered from 72 to 1.5",
        ),
        ({"cap": 50}, ("prune", "max_deletions"), "prune.max_deletions raised from 3 to 50"),
        (
            {"steps": None},
            ("environments", "production", "rollout"),
            "production: the rollout policy was removed",
        ),
    ],
)
def test_each_loosening_is_named(new: dict[str, Any], path: tuple[str, ...], text: str) -> None:
    [found] = loosenings(model(), model(**new))
    assert found.path == path and found.message.startswith(text)


def test_tightening_or_an_equal_policy_is_no_loosening() -> None:
    assert loosenings(model(), model()) == []
    tighter = model(steps=[0, 1, 5, 25, 50, 100], soak=96, cap=1)
    assert loosenings(model(), tighter) == []
    assert {f.path[-1] for f in loosenings(tighter, model())} == {
        "steps",
        "min_soak_hours",
        "max_deletions",
    }


def test_policy_of_reads_only_environments_with_a_ladder() -> None:
    policy = policy_of(model())
    assert set(policy.rollouts) == {"production"} and policy.max_deletions == 3


# --- validate --------------------------------------------------------------------------------


def line_of(tmp_path: Path, needle: str) -> int:
    text = (tmp_path / "repo" / "syncbot.yaml").read_text("utf-8")
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def with_base(tmp_path: Path, after: Mapping[str, Content]) -> list[Finding]:
    root = build_tree(tmp_path, valid_files(), commit=True)
    write_tree(root, after)
    commit_all(root, "change")
    return validate(GitTree(root, "HEAD"), base=GitTree(root, "HEAD~1"))


def test_a_pr_cannot_loosen_the_ladder_and_use_it_at_once(tmp_path: Path) -> None:
    after = {
        "syncbot.yaml": config(steps=[0, 100], soak=0),
        "rollouts/production.yaml": {"contract-analysis": 100, "nda-drafting": 25},
    }
    found = {(f.rule, f.file, f.line, f.severity): f.message for f in with_base(tmp_path, after)}
    skipped = found.pop(("rollout-step-skipped", "rollouts/production.yaml", 1, "error"))
    assert "from 5% to 100% skips a step (next step: 25%)" in skipped
    steps = found.pop(("policy-loosened", "syncbot.yaml", line_of(tmp_path, "steps:"), "warning"))
    soak_line = line_of(tmp_path, "min_soak_hours:")
    soak = found.pop(("policy-loosened", "syncbot.yaml", soak_line, "warning"))
    assert found == {}
    for message in (steps, soak):
        assert message.startswith("POLICY LOOSENED: production: ")
        assert "requires platform-owner review" in message
    assert "min_soak_hours lowered from 72 to 0" in soak


def test_a_loosened_policy_alone_is_only_a_warning(tmp_path: Path) -> None:
    found = with_base(tmp_path, {"syncbot.yaml": config(cap=10)})
    line = line_of(tmp_path, "max_deletions:")
    assert [(f.rule, f.severity, f.line) for f in found] == [("policy-loosened", "warning", line)]


def test_removing_the_policy_still_judges_by_the_base_ladder(tmp_path: Path) -> None:
    after = {
        "syncbot.yaml": config(steps=None),
        "rollouts/production.yaml": {"contract-analysis": 30, "nda-drafting": 25},
    }
    found = [(f.rule, f.file, f.line) for f in with_base(tmp_path, after)]
    assert found == [
        ("rollout-off-ladder", "rollouts/production.yaml", 1),
        ("policy-loosened", "syncbot.yaml", line_of(tmp_path, "production:")),
    ]


def test_a_step_added_in_the_same_pr_can_be_used(tmp_path: Path) -> None:
    after = {
        "syncbot.yaml": config(steps=[0, 5, 10, 25, 50, 100]),
        "rollouts/production.yaml": {"contract-analysis": 10, "nda-drafting": 25},
    }
    assert with_base(tmp_path, after) == []


# --- off the ladder, without --base ----------------------------------------------------------


def test_off_ladder_percentage_is_an_error_without_base(tmp_path: Path) -> None:
    files = valid_files()
    files["rollouts/production.yaml"] = {"contract-analysis": 5, "nda-drafting": 30}
    files["rollouts/staging.yaml"] = {"contract-analysis": 30, "nda-drafting": 0}  # no ladder
    [finding] = validate(WorkTree(build_tree(tmp_path, files)))
    assert (finding.rule, finding.file, finding.line) == (
        "rollout-off-ladder",
        "rollouts/production.yaml",
        2,
    )
    assert "nda-drafting: 30 is not on the ladder [0, 5, 25, 50, 100]" in finding.message


def test_off_ladder_with_base_says_so_instead_of_a_skipped_step(tmp_path: Path) -> None:
    after = {"rollouts/production.yaml": {"contract-analysis": 30, "nda-drafting": 25}}
    [finding] = with_base(tmp_path, after)
    assert finding.rule == "rollout-off-ladder" and "30 is not on the ladder" in finding.message
