"""Rules over rollouts/<environment>.yaml: unknown environments and skills, off-ladder values."""

from __future__ import annotations

from collections.abc import Iterator

from syncbot.desired import format_percentage
from syncbot.files.load import LoadedRepo, basis_points, rollout_file
from syncbot.files.schemas import RolloutEntry, RolloutFile
from syncbot.lint.findings import Finding
from syncbot.policy import Policy, policy_of


def rollout_findings(repo: LoadedRepo, policy: Policy | None = None) -> list[Finding]:
    """`policy` gives the ladders (the stricter of base and head with --base); default: the
    repository's own syncbot.yaml."""
    ladders = policy or policy_of(repo.config)
    findings: list[Finding] = []
    for item in repo.files:
        if item.path.startswith("rollouts/"):
            environment = item.path.removeprefix("rollouts/").removesuffix(".yaml")
            findings += _unknown_environment(repo, environment, item.path)
    for environment, rollouts in sorted(repo.rollouts.items()):
        findings += _unknown_skills(repo, rollout_file(environment), sorted(rollouts.root))
        findings += _off_ladder(repo, environment, rollouts, ladders)
    return findings


def _unknown_environment(repo: LoadedRepo, environment: str, file: str) -> Iterator[Finding]:
    known = repo.config.environments
    if environment not in known:
        message = (
            f"environment {environment!r} is not defined in syncbot.yaml "
            f"(environments: {', '.join(sorted(known))})"
        )
        yield Finding(file, 1, "rollout-unknown-environment", message)


def _unknown_skills(repo: LoadedRepo, file: str, skills: list[str]) -> Iterator[Finding]:
    for skill in skills:
        if skill not in repo.skills:
            at = repo.locate(file, (skill,))
            message = f"rollout for skill {skill!r}, which has no folder in skills/"
            yield Finding(at.file, at.line, "rollout-unknown-skill", message)


def _off_ladder(
    repo: LoadedRepo, environment: str, rollouts: RolloutFile, policy: Policy
) -> Iterator[Finding]:
    """With a ladder, every percentage must be one of its steps: a value between two steps
    would make "the next step" meaningless (decreases included: 0 is always a step)."""
    steps = policy.rollout(environment).steps
    if not steps:
        return
    ladder = f"[{', '.join(map(str, steps))}]"
    for skill, value in sorted(rollouts.root.items()):
        points = basis_points(value.percentage if isinstance(value, RolloutEntry) else value)
        if points not in {step * 100 for step in steps}:
            at = repo.locate(rollout_file(environment), (skill,))
            message = (
                f"{skill}: {format_percentage(points)} is not on the ladder {ladder} of "
                f"{environment} (syncbot.yaml rollout.steps)"
            )
            yield Finding(at.file, at.line, "rollout-off-ladder", message)
