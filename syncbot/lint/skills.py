"""Rules over skill folders: size, content, category, display names, stray files."""

from __future__ import annotations

from collections.abc import Iterator

from syncbot.files.load import LoadedRepo
from syncbot.files.skills import SKILL_MD, SkillSource
from syncbot.files.source import SourceFile
from syncbot.lint.content import filter_allowed, scan_skill_file
from syncbot.lint.findings import Finding


def skill_findings(repo: LoadedRepo) -> list[Finding]:
    findings = [*_stray_files(repo), *_display_name_duplicates(repo), *_unreachable(repo)]
    for skill in repo.skills.values():
        findings += _content(repo, skill)
        findings += _too_large(repo, skill)
        findings += _unknown_category(repo, skill)
    return findings


def _stray_files(repo: LoadedRepo) -> Iterator[Finding]:
    for item in repo.files:
        if item.path.count("/") == 1 and item.path.startswith("skills/"):
            if item.data is None:
                yield from scan_skill_file(item.path, b"", is_symlink=item.is_symlink)
                continue
            message = "file outside any skill folder: skills/ holds only skill folders"
            yield Finding(item.path, 1, "skill-stray-file", message, "warning")


def _content(repo: LoadedRepo, skill: SkillSource) -> list[Finding]:
    """Content findings of every file, minus those an `allow` entry (with reason) covers."""
    found = [finding for item in skill.files for finding in _scan(item)]
    if skill.meta is None or not skill.meta.allow:
        return found
    allows = [(entry.rule, entry.path) for entry in skill.meta.allow]
    kept = filter_allowed(found, allows, skill_dir=skill.folder)
    return kept + list(_unused_allows(repo, skill, found, allows))


def _scan(item: SourceFile) -> list[Finding]:
    if item.data is None and not item.is_symlink:
        message = "not a regular file (a git submodule?): skills hold regular files only"
        return [Finding(item.path, 1, "file-not-regular", message)]
    return scan_skill_file(item.path, item.data or b"", is_symlink=item.is_symlink)


def _unused_allows(
    repo: LoadedRepo,
    skill: SkillSource,
    found: list[Finding],
    allows: list[tuple[str, str | None]],
) -> Iterator[Finding]:
    # An allow that covers nothing is stale, or names the wrong path: say so.
    for index, allow in enumerate(allows):
        if len(filter_allowed(found, [allow], skill_dir=skill.folder)) == len(found):
            rule, path = allow
            scope = f" for {path}" if path else ""
            message = f"allow entry for {rule}{scope} matches no finding; remove it"
            at = repo.locate(f"{skill.folder}/skill.yaml", ("allow", index))
            yield Finding(at.file, at.line, "skill-allow-unused", message, "warning")


def _too_large(repo: LoadedRepo, skill: SkillSource) -> Iterator[Finding]:
    limit = repo.config.limits.max_skill_bytes
    size = skill.uploaded_bytes
    if size > limit:
        message = f"the skill uploads {size} bytes, over limits.max_skill_bytes ({limit})"
        yield Finding(f"{skill.folder}/{SKILL_MD}", 1, "skill-too-large", message)


def _unknown_category(repo: LoadedRepo, skill: SkillSource) -> Iterator[Finding]:
    categories = repo.config.categories
    if skill.meta is not None and skill.meta.category not in categories:
        message = (
            f"category {skill.meta.category!r} is not one of syncbot.yaml categories: "
            f"{', '.join(categories)}"
        )
        where = repo.locate(f"{skill.folder}/skill.yaml", ("category",))
        yield Finding(where.file, where.line, "skill-unknown-category", message)


def _display_name_duplicates(repo: LoadedRepo) -> Iterator[Finding]:
    """Every folder sharing a display name is reported, each naming the others: a copied
    folder is flagged where the person who copied it is looking, whatever the names' order."""
    holders: dict[str, list[str]] = {}
    for name, skill in sorted(repo.skills.items()):
        if skill.meta is not None:
            key = " ".join(skill.meta.display_name.split()).casefold()
            holders.setdefault(key, []).append(name)
    for names in holders.values():
        if len(names) < 2:
            continue
        for name in names:
            skill = repo.skills[name]
            assert skill.meta is not None
            others = ", ".join(f"skills/{other}" for other in names if other != name)
            message = (
                f"display_name {skill.meta.display_name!r} is also used by {others}: "
                "display names must be unique (a copied folder needs its own)"
            )
            where = repo.locate(f"{skill.folder}/skill.yaml", ("display_name",))
            yield Finding(where.file, where.line, "skill-display-name-duplicate", message)


def _unreachable(repo: LoadedRepo) -> Iterator[Finding]:
    """A skill no route names is never recommended, and one an environment's rollout file
    does not list is served to nobody there: legal, but rarely what its author meant."""
    routed = {route.skill for registry in repo.registry.values() for route in registry.routes}
    for name, skill in sorted(repo.skills.items()):
        if skill.meta is None:
            continue  # skill.yaml did not parse: already an error
        at = f"{skill.folder}/skill.yaml"
        if name not in routed:
            message = (
                f"no route in registry/ names {name!r}: it is never recommended "
                f"(add a route with patterns and examples, e.g. `syncbot new skill` makes one)"
            )
            yield Finding(at, 1, "skill-no-route", message, "warning")
        for environment in sorted(repo.config.environments):
            rollout = repo.rollouts.get(environment)
            if rollout is None and _present(repo, f"rollouts/{environment}.yaml"):
                continue  # the file did not parse: already an error
            if rollout is None or name not in rollout.root:
                message = (
                    f"rollouts/{environment}.yaml has no entry for {name!r}: nobody in "
                    f"{environment} gets it (add `{name}: 0` and raise it step by step)"
                )
                yield Finding(at, 1, "skill-no-rollout", message, "warning")


def _present(repo: LoadedRepo, path: str) -> bool:
    return any(item.path == path for item in repo.files)
