"""Rules that compare the tree with a base revision (`validate --base REF`)."""

from __future__ import annotations

from collections.abc import Iterator

from syncbot.desired import format_percentage
from syncbot.files.load import LoadedRepo, basis_points, rollout_file
from syncbot.files.schemas import RolloutEntry, RolloutValue
from syncbot.files.semver import is_higher, is_semver
from syncbot.lint.findings import Finding


def base_findings(head: LoadedRepo, base: LoadedRepo) -> list[Finding]:
    label = (base.commit or "base")[:12]
    findings = list(_versions(head, base, label))
    for environment in sorted(head.rollouts):
        findings += _rollout_changes(head, base, environment, label)
    return findings


def _versions(head: LoadedRepo, base: LoadedRepo, label: str) -> Iterator[Finding]:
    for name, skill in sorted(head.skills.items()):
        old = base.skills.get(name)
        if skill.meta is None or old is None or old.meta is None:
            continue  # a new skill, or a schema error reported elsewhere
        new_version, old_version = skill.meta.version, old.meta.version
        if skill.content_sha256 == old.content_sha256 or not is_semver(old_version):
            continue
        if not is_higher(new_version, old_version):
            at = head.locate(f"{skill.folder}/skill.yaml", ("version",))
            message = (
                f"uploaded content changed since {label} but version {new_version} is not "
                f"higher than {old_version}: bump it (semver)"
            )
            yield Finding(at.file, at.line, "skill-version-not-bumped", message)


def _rollout_changes(
    head: LoadedRepo, base: LoadedRepo, environment: str, label: str
) -> Iterator[Finding]:
    file = rollout_file(environment)
    env = head.config.environments.get(environment)
    policy = env.rollout if env is not None else None
    steps = [step * 100 for step in policy.steps] if policy else []
    new_entries = head.rollouts[environment].root
    old_file = base.rollouts.get(environment)
    old_entries = old_file.root if old_file else {}
    for skill, value in sorted(new_entries.items()):
        old_value = old_entries.get(skill)
        at = head.locate(file, (skill,))
        skipped = _skipped_step(steps, old_value, value)
        if skipped:
            yield Finding(at.file, at.line, "rollout-step-skipped", f"{skill}: {skipped}")
        if old_value is not None and _salt(skill, old_value) != _salt(skill, value):
            message = (
                f"{skill}: salt changed from {_salt(skill, old_value)!r} to "
                f"{_salt(skill, value)!r} since {label}: this reshuffles which users are in"
            )
            yield Finding(at.file, at.line, "rollout-salt-changed", message, "warning")


def _skipped_step(steps: list[int], old: RolloutValue | None, new: RolloutValue) -> str | None:
    before = _basis_points(old) if old is not None else 0
    after = _basis_points(new)
    if not steps or after <= before:
        return None  # no policy, or a decrease: the rollback path is always open
    higher = [step for step in steps if step > before]
    if higher and after == higher[0]:
        return None
    target = f"{format_percentage(higher[0])}%" if higher else "none"
    return (
        f"increase from {format_percentage(before)}% to {format_percentage(after)}% skips a step "
        f"(next step: {target})"
    )


def _basis_points(value: RolloutValue) -> int:
    return basis_points(value.percentage if isinstance(value, RolloutEntry) else value)


def _salt(skill: str, value: RolloutValue) -> str:
    return (value.salt if isinstance(value, RolloutEntry) else None) or skill
