"""Rules over rollouts/<environment>.yaml: unknown environments and unknown skills."""

from __future__ import annotations

from collections.abc import Iterator

from syncbot.files.load import LoadedRepo, rollout_file
from syncbot.lint.findings import Finding


def rollout_findings(repo: LoadedRepo) -> list[Finding]:
    findings: list[Finding] = []
    for item in repo.files:
        if item.path.startswith("rollouts/"):
            environment = item.path.removeprefix("rollouts/").removesuffix(".yaml")
            findings += _unknown_environment(repo, environment, item.path)
    for environment, rollouts in sorted(repo.rollouts.items()):
        findings += _unknown_skills(repo, rollout_file(environment), sorted(rollouts.root))
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
