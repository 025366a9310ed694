"""What a plan's changes mean, for reviewers: explanations beside the field diffs.

`explain` is pure: it reads the plan, the desired and live states, the loaded repository
(for the registry examples and routes-queries.yaml) and the files of the commits that
deployed the live skills, and returns, per changed object id, lines of explanation:

* a route change: the recorded queries whose recommendation changes (live routes from
  the database versus the routes after this apply);
* a rollout change: the share of units that enter or leave, and a loud warning when a
  new salt reshuffles who is in;
* a skill content change: the files added, removed or modified since the deployed
  commit, with a bounded unified diff of SKILL.md;
* a re-pin: the earlier version re-used without upload, and the commit that uploaded it.

Line format (what the renderers rely on): a line is Markdown inline text; two leading
spaces make it a sub-item of the line above; a block opened by a line of three or more
backticks plus a language (` ```diff `) runs to the line of exactly those backticks and is
detail (collapsed in Markdown, left out of text). No content line inside a block starts
with a backtick, so the block always ends where it should.

`read_deployed_files` is the one I/O step: it reads those commits through GitTree, only
for skills whose content changes, so an unchanged repository costs nothing.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncbot.bucketing import flip_share
from syncbot.desired import (
    DesiredState,
    Rollout,
    Route,
    Skill,
    SkillFile,
    content_sha256,
    format_percentage,
)
from syncbot.files.gittree import GitTree
from syncbot.files.load import LoadedRepo
from syncbot.files.skills import SkillSource, group_skills
from syncbot.files.source import SourceError
from syncbot.live import LiveState, RolloutRow, SkillRow, VersionRow
from syncbot.plan import Change, Plan
from syncbot.routing import Router, SkillInfo, recommend
from syncbot.textsafe import md_code, md_fence

__all__ = ["Explanations", "content_changes", "explain", "read_deployed_files"]

Explanations = Mapping[str, tuple[str, ...]]
OldFiles = Mapping[str, Mapping[str, bytes]]

MAX_QUERIES = 15  # flipped queries listed per route change; the rest are counted
MAX_QUERY_CHARS = 120
_DIRECT = 50  # up to this many candidate queries, `recommend` beats building a Router
MAX_FILES = 20  # changed paths listed per skill
MAX_DIFF_LINES = 60  # a bounded diff keeps two environments' plans under GitHub's limit
MAX_DIFF_CHARS = 6000
MAX_DIFF_LINE_CHARS = 200
SKILL_MD = "SKILL.md"
_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
DIRTY = "-dirty"


def explain(
    plan: Plan,
    desired: DesiredState,
    live: LiveState,
    loaded_repo: LoadedRepo,
    old_files: OldFiles,
) -> dict[str, tuple[str, ...]]:
    """Object id -> explanation lines, for the changes that have something to explain."""
    out: dict[str, list[str]] = {}
    if any(c.kind == "route" for c in plan.changes):
        flips, total = routing_flips(plan, desired, live, recorded_queries(loaded_repo))
        for change in plan.changes:
            if change.kind == "route":
                lines = pattern_lines(change) + route_lines(_route_skill(change), flips, total)
                out[change.object_id] = lines
    for change in plan.changes:
        if change.kind == "rollout" and change.target == "db":
            out[change.object_id] = rollout_lines(change.key, desired, live)
        if change.action == "repin":
            out[change.object_id] = repin_lines(change, live.db.versions)
    for name, object_id in sorted(content_changes(plan, desired, live).items()):
        lines = _content_lines(desired.skills[name], live.db.skills.get(name), old_files.get(name))
        out.setdefault(object_id, []).extend(lines)
    return {key: tuple(lines) for key, lines in sorted(out.items()) if lines}


# --- routes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flip:
    """A query whose recommended skills (best first) differ after the apply."""

    query: str
    before: tuple[str, ...]
    after: tuple[str, ...]

    def concerns(self, skill: str) -> bool:
        """The skill entered or left the recommendations, or became or stopped being top."""
        moved = (skill in self.before) != (skill in self.after)
        top = self.before[:1] != self.after[:1] and skill in self.before[:1] + self.after[:1]
        return moved or top


def recorded_queries(repo: LoadedRepo) -> tuple[str, ...]:
    """Every registry example (match and no_match), then routes-queries.yaml, deduplicated."""
    found: list[str] = []
    for _, registry in sorted(repo.registry.items()):
        for route in registry.routes:
            if route.examples is not None:
                found += route.examples.match + route.examples.no_match
    return tuple(dict.fromkeys([*found, *repo.queries]))


@dataclass(frozen=True)
class _Side:
    """The routes and skills of one side (live, or after the apply)."""

    routes: tuple[Route, ...]
    skills: Mapping[str, SkillInfo]

    def router(self, keys: Set[str] | None = None) -> Router:
        chosen = [r for r in self.routes if keys is None or r.key in keys]
        return Router(chosen, self.skills)


def routing_flips(
    plan: Plan, desired: DesiredState, live: LiveState, queries: Sequence[str]
) -> tuple[tuple[Flip, ...], int]:
    """The queries whose top skill or recommended set changes, and how many were tried."""
    before = _Side(_live_routes(live), _live_skills(live))
    skills_after = _skills_after(plan, desired, live)
    after = _Side(tuple(r for r in desired.routes if r.skill in skills_after), skills_after)
    candidates = _may_move(queries, before, after, _moved_keys(plan, before, after))
    if not candidates:
        return (), len(queries)
    # a Router costs an index over every pattern: worth it only for many queries
    old, new = (before.router(), after.router()) if len(candidates) > _DIRECT else (None, None)
    flips = []
    for query in candidates:
        was, now = _skills_for(before, old, query), _skills_for(after, new, query)
        if was[:1] != now[:1] or set(was) != set(now):
            flips.append(Flip(query, was, now))
    return tuple(flips), len(queries)


def _moved_keys(plan: Plan, before: _Side, after: _Side) -> set[str]:
    """Routes that may answer differently: changed ones, and those whose skill comes or goes.

    Every other route is the same on both sides, so a query none of these routes
    recommends on either side gets the same recommendations before and after.
    """
    keys = {c.key for c in plan.changes if c.kind == "route"}
    for route in (*before.routes, *after.routes):
        if (route.skill in before.skills) != (route.skill in after.skills):
            keys.add(route.key)
    return keys


def _may_move(queries: Sequence[str], before: _Side, after: _Side, keys: set[str]) -> list[str]:
    old, new = before.router(keys), after.router(keys)
    return [q for q in queries if old.recommend(q) or new.recommend(q)]


def _skills_for(side: _Side, router: Router | None, query: str) -> tuple[str, ...]:
    found = router.recommend(query) if router else recommend(side.routes, query, skills=side.skills)
    return tuple(r.skill for r in found)


def _live_routes(live: LiveState) -> tuple[Route, ...]:
    rows = [live.db.routes[key] for key in sorted(live.db.routes)]
    return tuple(Route(r.skill, r.category, r.priority, r.min_confidence, r.patterns) for r in rows)


def _live_skills(live: LiveState) -> dict[str, SkillInfo]:
    return {name: SkillInfo(row.type, row.category) for name, row in live.db.skills.items()}


def _skills_after(plan: Plan, desired: DesiredState, live: LiveState) -> dict[str, SkillInfo]:
    """The desired skills the database holds after the apply (live rows plus creations)."""
    created = {c.key for c in _db_skills(plan) if c.action == "create"}
    present = (set(live.db.skills) | created) & set(desired.skills)
    return {n: SkillInfo(desired.skills[n].type, desired.skills[n].category) for n in present}


def _db_skills(plan: Plan) -> Iterable[Change]:
    return (c for c in plan.changes if c.target == "db" and c.kind == "skill")


def _route_skill(change: Change) -> str:
    return change.key.partition(":")[0]  # route keys are "<skill>:<category>"


def pattern_lines(change: Change) -> list[str]:
    """Patterns added, removed or re-weighted by a route update (the field diff cuts them)."""
    if not (isinstance(change.before, dict) and isinstance(change.after, dict)):
        return []
    old, new = _weights(change.before), _weights(change.after)
    items = [f"  added {code(r)} (weight {new[r]:g})" for r in new if r not in old]
    items += [f"  removed {code(r)} (weight {old[r]:g})" for r in old if r not in new]
    items += [
        f"  re-weighted {code(r)}: {old[r]:g} → {new[r]:g}"
        for r in new
        if old.get(r, new[r]) != new[r]
    ]
    return ["Patterns changed:", *items] if items else []


def _weights(route: Mapping[str, Any]) -> dict[str, float]:
    return {str(p["regex"]): float(p["weight"]) for p in route.get("patterns", [])}


def route_lines(skill: str, flips: Sequence[Flip], total: int) -> list[str]:
    if total == 0:
        return [
            "No recorded queries to check: add `examples` to the routes or a routes-queries.yaml."
        ]
    mine = [f for f in flips if f.concerns(skill)]
    if not mine:
        return [f"None of the {total} recorded queries routes differently for {code(skill)}."]
    lines = [f"{len(mine)} of {total} recorded queries route differently:"]
    lines += [f"  {code(_clip(f.query))}: {_skills(f.before)} → {_skills(f.after)}" for f in mine]
    del lines[MAX_QUERIES + 1 :]
    if len(mine) > MAX_QUERIES:
        lines.append(f"  … and {len(mine) - MAX_QUERIES} more")
    return lines


def _skills(names: tuple[str, ...]) -> str:
    return ", ".join(code(n) for n in names) if names else "(no skill)"


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_QUERY_CHARS else flat[: MAX_QUERY_CHARS - 1] + "…"


def code(text: str) -> str:
    """`text` as a Markdown code span whatever it holds (backticks, newlines, controls)."""
    return md_code(text)


# --- rollouts --------------------------------------------------------------------------------


def rollout_lines(skill: str, desired: DesiredState, live: LiveState) -> list[str]:
    old = _live_rollout(live.db.rollouts.get(skill))
    new = desired.rollouts.get(skill)
    move = f"{_pct(old)}% → {_pct(new)}%"
    share = _percent(flip_share(old, new))
    if old is None or new is None or old.salt == new.salt:
        return [_nested_line(old, new, share, move)]
    if not old.basis_points or not new.basis_points:
        no_one = "nobody is in at 0%, so nothing reshuffles"
        return [
            _nested_line(old, new, share, move),
            f"The salt changes ({_salts(old, new)}); {no_one}.",
        ]
    return _reshuffle_lines(old, new, share, move)


def _live_rollout(row: RolloutRow | None) -> Rollout | None:
    return None if row is None else Rollout(row.skill_name, row.basis_points, row.salt)


def _nested_line(old: Rollout | None, new: Rollout | None, share: str, move: str) -> str:
    delta = _bp(new) - _bp(old)
    if delta > 0:
        return f"+{share} of units enter ({move}); every unit already in stays in."
    if delta < 0:
        return f"-{share} of units leave ({move}); no unit enters."
    return f"No unit changes side ({move})."


def _reshuffle_lines(old: Rollout, new: Rollout, share: str, move: str) -> list[str]:
    p1, p2 = old.basis_points / 10_000, new.basis_points / 10_000
    return [
        f"⚠️ **RESHUFFLE: the salt changes** ({_salts(old, new)}): every unit is drawn again.",
        f"{share} of units flip ({move}): {_percent((1 - p1) * p2)} enter, "
        f"{_percent(p1 * (1 - p2))} leave; only {_percent(p1 * p2)} of units are in both before "
        "and after.",
    ]


def _salts(old: Rollout, new: Rollout) -> str:
    return f"{code(old.salt)} → {code(new.salt)}"


def _bp(rollout: Rollout | None) -> int:
    return rollout.basis_points if rollout else 0


def _pct(rollout: Rollout | None) -> str:
    return format_percentage(_bp(rollout))


def _percent(share: float) -> str:
    return f"{share * 100:.2f}%"


# --- skills ----------------------------------------------------------------------------------


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


def _content_lines(
    skill: Skill, row: SkillRow | None, old: Mapping[str, bytes] | None
) -> list[str]:
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
    deployed = _deployed_commit(row.commit)
    if old is None:
        return [_unavailable_line(row, deployed)]
    new = {f.path: f.data for f in skill.files}
    where = f"the deployed commit `{deployed[:12]}`" if deployed else "the deployed commit"
    lines = [_files_line(old, new, where), *_provenance(row, old)]
    if old.get(SKILL_MD) != new.get(SKILL_MD):
        lines += skill_md_diff(old.get(SKILL_MD), new.get(SKILL_MD), deployed or "deployed")
    return lines


def _deployed_commit(commit: str | None) -> str | None:
    """The commit sha a row names, without the `-dirty` mark of an uncommitted work tree."""
    sha = (commit or "").removesuffix(DIRTY)
    return sha if _SHA.fullmatch(sha) else None


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


# --- I/O: the files of the deployed commits ---------------------------------------------------


def read_deployed_files(
    root: Path, plan: Plan, desired: DesiredState, live: LiveState
) -> dict[str, dict[str, bytes]]:
    """Skill name -> {path in the skill folder: bytes} at the commit that deployed it.

    Only for skills whose content changes; a commit missing from the repository (a
    shallow clone, another repository) is simply left out, and `explain` says so.
    """
    by_commit: dict[str, list[str]] = {}
    for name in sorted(content_changes(plan, desired, live)):
        row = live.db.skills.get(name)
        sha = _deployed_commit(row.commit) if row else None
        if sha is not None:
            by_commit.setdefault(sha, []).append(name)
    found: dict[str, dict[str, bytes]] = {}
    for sha, names in sorted(by_commit.items()):
        found.update(_files_at(root, sha, names))
    return found


def _files_at(root: Path, sha: str, names: list[str]) -> dict[str, dict[str, bytes]]:
    try:
        groups = group_skills(GitTree(root, sha).files())
    except SourceError:
        return {}
    return {
        name: {f.path: f.data for f in SkillSource(name, groups.get(name, ())).uploaded}
        for name in names
    }
