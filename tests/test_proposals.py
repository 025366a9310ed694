"""The names, titles and text of promote's PRs (the PR flow itself: tests/e2e)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncbot.errors import SyncbotError
from syncbot.files.schemas import RolloutGates
from syncbot.promote.decide import Decision, Evidence
from syncbot.promote.proposals import _BRANCH, _escape, branch_name, labels, title

AT = datetime(2026, 12, 1, 10, tzinfo=UTC)


def decision(action: str, current: float, target: float | None) -> Decision:
    evidence = Evidence(AT, AT, 300, 3, 1.0, 1200.0, RolloutGates(), None, "passed")
    return Decision("nda-drafting", "production", action, current, target, "why", evidence)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("action", "current", "target", "branch"),
    [
        ("promote", 5, 25, "syncbot/promote/production/nda-drafting/5-to-25"),
        ("promote", 12.5, 33.33, "syncbot/promote/production/nda-drafting/12.5-to-33.33"),
        ("rollback", 25, 0, "syncbot/rollback/production/nda-drafting/25-to-0"),
    ],
)
def test_one_branch_per_step_and_it_parses_back(
    action: str, current: float, target: float, branch: str
) -> None:
    assert branch_name(decision(action, current, target)) == branch
    match = _BRANCH.fullmatch(branch)
    assert match is not None
    assert (match["env"], match["skill"]) == ("production", "nda-drafting")
    assert (float(match["old"]), float(match["new"])) == (current, target)


def test_rollbacks_are_urgent_and_labelled() -> None:
    rollback = decision("rollback", 25, 0)
    assert title(rollback) == "URGENT: roll back nda-drafting in production to 0% (syncbot promote)"
    assert labels(rollback) == ("syncbot-rollback", "urgent")
    promotion = decision("promote", 5, 25)
    assert title(promotion) == (
        "Promote nda-drafting in production from 5% to 25% (syncbot promote)"
    )
    assert labels(promotion) == ("syncbot-promote",)


def test_a_hold_is_not_a_proposal() -> None:
    with pytest.raises(SyncbotError, match="a hold is not a proposal"):
        branch_name(decision("hold", 5, None))


def test_reasons_reach_the_pr_body_as_text_not_markup() -> None:
    assert _escape("p95 <b>9500</b> ms [x](y)\n# head") == (
        r"p95 \<b\>9500\</b\> ms \[x\]\(y\) \# head"
    )
