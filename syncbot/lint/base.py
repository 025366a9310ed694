"""Rules that compare the tree with a base revision (`validate --base REF`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence, Set

from syncbot.desired import format_percentage
from syncbot.files.history import SkillHistory, VersionUse
from syncbot.files.load import CONFIG_FILE, LoadedRepo, basis_points, rollout_file
from syncbot.files.schemas import RolloutEntry, RolloutValue
from syncbot.files.semver import is_higher, is_semver
from syncbot.files.skills import SkillSource
from syncbot.lint.findings import Finding
from syncbot.policy import Policy, loosenings


def base_findings(
    head: LoadedRepo,
    base: LoadedRepo,
    policy: Policy,
    history: SkillHistory | None = None,
    unchanged: Set[str] = frozenset(),
) -> list[Finding]:
    """`policy` is the one the change is judged by: the stricter of the base's and the
    head's. `unchanged` names the skill folders identical in both (left out of `base`)."""
    label = (base.commit or "base")[:12]
    findings = list(_versions(head, base, history, unchanged, label))
    for environment in sorted(head.rollouts):
        findings += _rollout_changes(head, base, environment, policy, label)
    findings += _loosened(head, base)
    return findings


# --- versions --------------------------------------------------------------------------------


def _versions(
    head: LoadedRepo,
    base: LoadedRepo,
    history: SkillHistory | None,
    unchanged: Set[str],
    label: str,
) -> Iterator[Finding]:
    changed = [
        skill
        for name, skill in sorted(head.skills.items())
        if name not in unchanged
        and skill.meta is not None
        and _content_changed(skill, base.skills.get(name))
    ]
    # Only skills whose content differs read the history: unchanged ones need no answer.
    uses = history.uses(s.name for s in changed) if history else {}
    for skill in changed:
        old = base.skills.get(skill.name)
        old_version = old.meta.version if old is not None and old.meta is not None else None

        def same(use: VersionUse, name: str = skill.name, sha: str = skill.content_sha256) -> bool:
            return history is not None and history.content_sha256(name, use) == sha

        message = _version_problem(skill, old_version, uses.get(skill.name, []), same, label)
        if message is not None:
            at = head.locate(f"{skill.folder}/skill.yaml", ("version",))
            yield Finding(at.file, at.line, *message)


def _content_changed(skill: SkillSource, old: SkillSource | None) -> bool:
    if old is None:
        return True  # new, or back after a removal: history may know the version
    return old.meta is not None and skill.content_sha256 != old.content_sha256


def _version_problem(
    skill: SkillSource,
    old_version: str | None,
    uses: Sequence[VersionUse],
    same_content: Callable[[VersionUse], bool],
    label: str,
) -> tuple[str, str] | None:
    """(rule, message) when the new (version, content) pair breaks "a version names one
    content forever"; None for a proper bump and for a rollback to a pair history holds."""
    assert skill.meta is not None
    version = skill.meta.version
    earlier = [u for u in uses if u.version == version]  # only these need their content
    if any(same_content(u) for u in earlier):
        return None  # a rollback (a revert): this exact pair was committed before
    if version == old_version or (
        old_version is not None and is_semver(old_version) and not is_higher(version, old_version)
    ):
        return "skill-version-not-bumped", (
            f"uploaded content changed since {label} but version {version} is not "
            f"higher than {old_version}: bump it (semver)"
        )
    if not earlier:
        return None
    return "skill-version-reused", (
        f"version {version} already named other content in commit {earlier[0].commit[:12]}: "
        f"a version names one content forever; use a version never used before "
        f"(higher than {_highest(uses)})"
    )


def _highest(uses: Sequence[VersionUse]) -> str:
    versions = [u.version for u in uses if is_semver(u.version)]
    highest = versions[0] if versions else "0.0.0"
    for version in versions[1:]:
        if is_higher(version, highest):
            highest = version
    return highest


# --- rollouts --------------------------------------------------------------------------------


def _rollout_changes(
    head: LoadedRepo, base: LoadedRepo, environment: str, policy: Policy, label: str
) -> Iterator[Finding]:
    file = rollout_file(environment)
    steps = [step * 100 for step in policy.rollout(environment).steps]
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
    if not steps or after <= before or after not in steps:
        # no policy; a decrease (the rollback path is always open); or off the ladder,
        # which rollout-off-ladder reports in its own words
        return None
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


# --- the policy itself -----------------------------------------------------------------------


def _loosened(head: LoadedRepo, base: LoadedRepo) -> Iterator[Finding]:
    for loosening in loosenings(base.config, head.config):
        at = head.locate(CONFIG_FILE, loosening.path)
        message = (
            f"POLICY LOOSENED: {loosening.message}; this change is still judged by the "
            f"stricter policy of the base, and requires platform-owner review (CODEOWNERS)"
        )
        # A warning: a reviewed, approved policy change must be able to merge.
        yield Finding(at.file, at.line, "policy-loosened", message, "warning")
