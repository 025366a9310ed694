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

The caller reads those files (`reader.read_deployed_files`), only for the commits
`deployed_commits` names, so an unchanged repository costs nothing.

Modules: `routes`, `rollouts` and `skills` explain one kind of change each; `common`
holds their limits and the Markdown code span.
"""

from __future__ import annotations

from syncbot.desired import DesiredState
from syncbot.files.load import LoadedRepo
from syncbot.live import LiveState
from syncbot.plan import Plan
from syncbot.semantic.common import MAX_DIFF_LINES, Explanations, OldFiles, code
from syncbot.semantic.rollouts import rollout_lines
from syncbot.semantic.routes import (
    Flip,
    pattern_lines,
    recorded_queries,
    route_lines,
    route_skill,
    routing_flips,
)
from syncbot.semantic.skills import content_changes, content_lines, deployed_commits, repin_lines

__all__ = [
    "MAX_DIFF_LINES",
    "Explanations",
    "Flip",
    "code",
    "content_changes",
    "deployed_commits",
    "explain",
    "recorded_queries",
    "routing_flips",
]


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
                lines = pattern_lines(change) + route_lines(route_skill(change), flips, total)
                out[change.object_id] = lines
    for change in plan.changes:
        if change.kind == "rollout" and change.target == "db":
            out[change.object_id] = rollout_lines(change.key, desired, live)
        if change.action == "repin":
            out[change.object_id] = repin_lines(change, live.db.versions)
    for name, object_id in sorted(content_changes(plan, desired, live).items()):
        lines = content_lines(desired.skills[name], live.db.skills.get(name), old_files.get(name))
        out.setdefault(object_id, []).extend(lines)
    return {key: tuple(lines) for key, lines in sorted(out.items()) if lines}
