"""Skill changes explained: files changed since the deployed commit, SKILL.md diffs, re-pins."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence

from syncbot.desired import (
    DesiredState,
    Skill,
    SkillFile,
    content_sha256,
)
from syncbot.live import LiveState, SkillRow, VersionRow
from syncbot.plan import Change, Plan
from syncbot.semantic.common import (
    DIRTY,
    MAX_DIFF_CHARS,
    MAX_DIFF_LINE_CHARS,
    MAX_DIFF_LINES,
    MAX_FILES,
    SHA,
    SKILL_MD,
    code,
)
from syncbot.textsafe import md_fence


def content_changes(plan: Plan, desired: DesiredState, live: LiveState) -> dict[str, str]:
    """Skill name -> the object id that carries its content explanation.

    A skill whose uploaded content differs from the live row's (or is new); the API
    change carries it when there is one (that is where the upload or re-pin shows), else
    the database row (the Skills API disabled).
    """
    owners: dict[str, str] = {}
    for change in sorted(plan.changes, key=lambda c: c.target != "api"):
        skill = desired.skills.get(change.key)
        if change.kind != "skill" or change.action == "delete" or skill is None:
            continue
        row = live.db.skills.get(change.key)
        if row is None or row.content_sha256 != skill.content_sha256:
            owners.setdefault(change.key, change.object_id)
    return owners


def content_lines(skill: Skill, row: SkillRow | None, old: Mapping[str, bytes] | None) -> list[str]:
    if row is None:
        return [_new_skill_line(skill)]
    return _changed_content_lines(skill, row, old)


def repin_lines(change: Change, versions: Sequence[VersionRow]) -> list[str]:
    version = str((change.after or {}).get("version_id"))
    uploads = [v for v in versions if v.skill_name == change.key and v.version_id == version]
    first = min(uploads, key=_upload_order, default=None)
    line = (
        f"Re-pins the earlier version {code(version)} without upload: "
        "the API already holds this content"
    )
    if first is None or not first.commit:
        return [f"{line} (the commit that first uploaded it is not recorded)."]
    when = f", {first.uploaded_at:%Y-%m-%d %H:%M}Z" if first.uploaded_at else ""
    return [f"{line}; commit {code(first.commit[:12])} first uploaded it{when}."]


def _upload_order(version: VersionRow) -> tuple[bool, str, str]:
    return (version.uploaded_at is None, str(version.uploaded_at or ""), version.commit or "")


def _new_skill_line(skill: Skill) -> str:
    size = sum(len(f.data) for f in skill.files)
    paths = _paths(f.path for f in skill.files)
    return f"New skill: {len(skill.files)} files, {size:,} bytes: {paths}."


def _paths(paths: Iterable[str]) -> str:
    listed = sorted(paths)
    shown = ", ".join(code(p) for p in listed[:MAX_FILES])
    return shown + (f" and {len(listed) - MAX_FILES} more" if len(listed) > MAX_FILES else "")


def _changed_content_lines(
    skill: Skill, row: SkillRow, old: Mapping[str, bytes] | None
) -> list[str]:
    deployed = deployed_commit(row.commit)
    if old is None:
        return [_unavailable_line(row, deployed)]
    new = {f.path: f.data for f in skill.files}
    where = f"the deployed commit `{deployed[:12]}`" if deployed else "the deployed commit"
    lines = [_files_line(old, new, where), *_provenance(row, old)]
    if old.get(SKILL_MD) != new.get(SKILL_MD):
        lines += skill_md_diff(old.get(SKILL_MD), new.get(SKILL_MD), deployed or "deployed")
    return lines


def deployed_commit(commit: str | None) -> str | None:
    """The commit sha a row names, without the `-dirty` mark of an uncommitted work tree."""
    sha = (commit or "").removesuffix(DIRTY)
    return sha if SHA.fullmatch(sha) else None


def _unavailable_line(row: SkillRow, deployed: str | None) -> str:
    if deployed is None:
        why = (
            "the live row records no commit"
            if not row.commit
            else f"{code(row.commit)} is not a commit sha"
        )
    else:
        why = f"commit `{deployed[:12]}` is not in this repository (a shallow clone?)"
    return (
        f"Content changed (deployed sha256 {code(row.content_sha256[:12])}); "
        f"the old content is not available locally: {why}."
    )


def _files_line(old: Mapping[str, bytes], new: Mapping[str, bytes], where: str) -> str:
    status = {p: "added" for p in new.keys() - old.keys()}
    status |= {p: "removed" for p in old.keys() - new.keys()}
    status |= {p: "modified" for p in old.keys() & new.keys() if old[p] != new[p]}
    if not status:
        return f"No uploaded file differs from {where}."
    listed = sorted(status)
    shown = ", ".join(f"{code(p)} {status[p]}" for p in listed[:MAX_FILES])
    more = f" and {len(listed) - MAX_FILES} more" if len(listed) > MAX_FILES else ""
    return f"Files changed since {where}: {shown}{more}."


def _provenance(row: SkillRow, old: Mapping[str, bytes]) -> list[str]:
    """A warning when the commit's files are not what the row says is deployed."""
    files = [SkillFile(path, data) for path, data in old.items()]
    if content_sha256(files) == row.content_sha256:
        return []
    dirty = (
        " (it was applied from a work tree with uncommitted changes)"
        if (row.commit or "").endswith(DIRTY)
        else ""
    )
    return [
        f"Note: the files of that commit do not hash to the deployed content sha256 "
        f"{code(row.content_sha256[:12])}{dirty}; live may differ from what this diff shows."
    ]


def skill_md_diff(old: bytes | None, new: bytes | None, deployed: str) -> list[str]:
    """A summary line and a bounded unified diff block of SKILL.md."""
    diff = list(
        difflib.unified_diff(
            _text(old), _text(new), f"a/{SKILL_MD} ({deployed[:12]})", f"b/{SKILL_MD}", lineterm=""
        )
    )
    added = sum(1 for line in diff[2:] if line.startswith("+"))
    removed = sum(1 for line in diff[2:] if line.startswith("-"))
    kept = _bounded(diff)
    cut = "" if len(kept) == len(diff) else f" (diff cut to {len(kept)} of {len(diff)} lines)"
    fence = _fence(kept)
    return [f"`{SKILL_MD}`: +{added} −{removed} lines{cut}", f"{fence}diff", *kept, fence]


def _fence(lines: list[str]) -> str:
    """Backticks longer than any run in the block, so SKILL.md's own fences stay inside."""
    return md_fence(lines)


def _text(data: bytes | None) -> list[str]:
    return [] if data is None else data.decode("utf-8", errors="replace").splitlines()


def _bounded(diff: list[str]) -> list[str]:
    kept: list[str] = []
    budget = MAX_DIFF_CHARS
    for line in diff[:MAX_DIFF_LINES]:
        line = line if len(line) <= MAX_DIFF_LINE_CHARS else line[: MAX_DIFF_LINE_CHARS - 1] + "…"
        budget -= len(line) + 1
        if budget < 0:
            break
        kept.append(line)
    return kept


def deployed_commits(plan: Plan, desired: DesiredState, live: LiveState) -> dict[str, list[str]]:
    """Commit -> the skills it deployed whose content this plan changes (sorted names):
    the files `explain` compares with, read by the caller."""
    by_commit: dict[str, list[str]] = {}
    for name in sorted(content_changes(plan, desired, live)):
        row = live.db.skills.get(name)
        sha = deployed_commit(row.commit) if row else None
        if sha is not None:
            by_commit.setdefault(sha, []).append(name)
    return by_commit
