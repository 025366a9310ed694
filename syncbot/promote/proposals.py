"""`syncbot promote --open-prs`: each promote or rollback decision becomes one PR.

One proposal is one step of one skill in one environment, and has one branch:
`syncbot/<promote|rollback>/<env>/<skill>/<from>-to-<to>`. Its commit is the round-trip
edit of `rollouts/<env>.yaml` on top of the remote's base branch, built with git plumbing
in a temporary index: the work tree and HEAD are never touched, and only that branch is
ever pushed (never the base branch). Then:

- an open PR for the branch: its title, body (the evidence) and labels are brought up to
  date; the branch is left alone (a reviewer may have pushed to it);
- a PR for the branch that a person closed unmerged since the rollout reached its current
  step: nothing is re-opened, and the outcome says so;
- otherwise: the branch is pushed (forced: it is the bot's own) and one PR is opened.

Rollback PRs carry the labels `syncbot-rollback` and `urgent` and "URGENT" in the title.
The open proposal PRs also tell `decide()` which skills already have a proposal (they hold).
"""

from __future__ import annotations

import base64
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import git

from syncbot.desired import RolloutPolicy, format_percentage
from syncbot.errors import SyncbotError, TargetError
from syncbot.files.gittree import GitTree
from syncbot.files.worktree import WorkTree
from syncbot.github import COMMENT_LIMIT, GitHubClient, GitHubSettings, Outcome, fit, marker_tag
from syncbot.promote import store
from syncbot.promote.decide import Decision, iso_utc
from syncbot.promote.metrics import MetricsSource
from syncbot.promote.report import gates_text
from syncbot.promote.rollout_edit import RolloutEdit, edit_rollout
from syncbot.promote.run import PromoteReport, promote
from syncbot.redact import redact_text
from syncbot.targets.postgres import Database

__all__ = [
    "PROMOTE_LABEL",
    "ROLLBACK_LABELS",
    "OpenProposal",
    "ProposalOutcome",
    "Proposer",
    "branch_name",
    "open_proposals",
    "promote_with_prs",
]

PROMOTE_LABEL = "syncbot-promote"
ROLLBACK_LABELS = ("syncbot-rollback", "urgent")
BRANCH_PREFIX = "syncbot/"
_BRANCH = re.compile(
    r"syncbot/(?P<kind>promote|rollback)/(?P<env>[a-z0-9][a-z0-9_-]*)/(?P<skill>[a-z0-9-]+)/"
    r"(?P<old>[0-9.]+)-to-(?P<new>[0-9.]+)"
)
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"


def branch_name(decision: Decision) -> str:
    kind = "rollback" if decision.action == "rollback" else "promote"
    old, new = _points(decision.current_percentage), _target_points(decision)
    step = f"{format_percentage(old)}-to-{format_percentage(new)}"
    return f"{BRANCH_PREFIX}{kind}/{decision.environment}/{decision.skill}/{step}"


@dataclass(frozen=True)
class OpenProposal:
    """An open PR of the bot: which skill, and the step it proposes (basis points)."""

    number: int
    url: str | None
    skill: str
    old_basis_points: int
    new_basis_points: int

    def stale_line(self, live_basis_points: int) -> str:
        old, new = map(format_percentage, (self.old_basis_points, self.new_basis_points))
        live = format_percentage(live_basis_points)
        return (
            f"stale proposal: PR #{self.number} ({self.url}) moves {self.skill} from {old}% to "
            f"{new}%, but live is {live}%: close it (the skill is decided as if it were not there)"
        )


def open_proposals(client: GitHubClient, environment: str, base_branch: str) -> list[OpenProposal]:
    """The bot's open PRs against `base_branch` for `environment` (one listing)."""
    found = []
    params = {"state": "open", "base": base_branch}
    for pr in client.paginate(f"{client.repo_path}/pulls", params):
        match = _own_branch(client, pr)
        if match is None or match["env"] != environment:
            continue
        old, new = (_points(float(match[key])) for key in ("old", "new"))
        found.append(OpenProposal(int(pr["number"]), pr.get("html_url"), match["skill"], old, new))
    return found


def _own_branch(client: GitHubClient, pr: dict[str, Any]) -> re.Match[str] | None:
    head = pr.get("head") or {}
    # a fork's branch of the same name is not the bot's
    if (head.get("repo") or {}).get("full_name") != client.settings.repository:
        return None
    return _BRANCH.fullmatch(str(head.get("ref") or ""))


@dataclass(frozen=True)
class ProposalOutcome:
    decision: Decision
    branch: str
    outcome: Outcome
    note: str = ""

    def line(self) -> str:
        d = self.decision
        move = f"{d.current_percentage:g}% -> {d.target_percentage:g}%"
        note = f" ({self.note})" if self.note else ""
        return f"{d.action} {d.skill} {move}: PR {self.outcome}{note}"


class Proposer:
    """Opens or updates the PR of each decision, against `base_branch` of `remote`."""

    def __init__(
        self,
        root: Path,
        client: GitHubClient,
        *,
        base_branch: str = "main",
        remote: str = "origin",
    ) -> None:
        self.root = root
        self.client = client
        self.base_branch = base_branch
        self.remote = remote
        try:
            self.repo = git.Repo(root, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise SyncbotError(f"--open-prs needs a git checkout: {root} is not one") from exc

    def close(self) -> None:
        self.repo.close()

    def base_commit(self) -> str:
        """The remote's base branch as this clone last fetched it."""
        ref = f"refs/remotes/{self.remote}/{self.base_branch}"
        try:
            return str(self.repo.commit(ref).hexsha)
        except (git.BadName, ValueError) as exc:
            raise SyncbotError(f"--open-prs: no {ref}: fetch {self.remote} first") from exc

    def check_checkout(self) -> str:
        """The base commit, refused unless the work tree is exactly it (decisions are made
        from the work tree, the PRs are built on the base: they must be the same)."""
        base = self.base_commit()
        here = WorkTree(self.root).commit
        if here != base:
            raise SyncbotError(
                f"--open-prs needs a clean checkout of {self.remote}/{self.base_branch} "
                f"({base[:12]}); this work tree is at {(here or 'no commit')[:18]}"
            )
        return base

    def propose(
        self, decision: Decision, policy: RolloutPolicy, others: list[int]
    ) -> ProposalOutcome:
        """`others`: open proposal PRs of the same skill (a rollback names them)."""
        branch = branch_name(decision)
        pulls = self._pulls(branch)
        open_pr = next((p for p in pulls if p.get("state") == "open"), None)
        closed = self._closed_by_a_person(_step_started(decision, policy), pulls)
        if open_pr is None and closed is not None:
            return _not_reopened(decision, branch, closed)
        base = self.base_commit()
        edit = self._edit(decision, base)
        if not edit.changed:
            note = f"{self.base_branch} already says {format_percentage(edit.new_basis_points)}%"
            return ProposalOutcome(decision, branch, Outcome("not needed"), note)
        superseded = [n for n in others if open_pr is None or n != open_pr["number"]]
        body = self._body(decision, edit, base, superseded)
        if open_pr is not None:
            return ProposalOutcome(decision, branch, self._update(open_pr, decision, body))
        self._push(self._commit(base, edit, decision), branch)
        return ProposalOutcome(decision, branch, self._create(branch, decision, body))

    def _edit(self, decision: Decision, base: str) -> RolloutEdit:
        tree = GitTree(self.root, base)
        try:
            target = _target_points(decision)
            return edit_rollout(tree, decision.environment, decision.skill, target)
        finally:
            tree.repo.close()  # its git cat-file processes, now rather than at exit

    # --- GitHub ---------------------------------------------------------------------------

    def _pulls(self, branch: str) -> list[dict[str, Any]]:
        owner = self.client.settings.repository.split("/")[0]
        params = {"head": f"{owner}:{branch}", "state": "all"}
        return [
            pr
            for pr in self.client.paginate(f"{self.client.repo_path}/pulls", params)
            if _own_branch(self.client, pr) is not None
            and (pr.get("head") or {}).get("ref") == branch
        ]

    def _closed_by_a_person(
        self, since: datetime | None, pulls: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        for pr in pulls:
            if pr.get("state") != "closed" or pr.get("merged_at"):
                continue
            closed_at = _when(pr.get("closed_at"))
            if since is None or closed_at is None or closed_at >= since:
                return pr
        return None

    def _create(self, branch: str, decision: Decision, body: str) -> Outcome:
        fields = {"title": title(decision), "head": branch, "base": self.base_branch, "body": body}
        pr = self.client.request("POST", f"{self.client.repo_path}/pulls", fields)
        self._label(pr, decision)
        return Outcome("created", pr.get("html_url"))

    def _update(self, pr: dict[str, Any], decision: Decision, body: str) -> Outcome:
        wanted = {"title": title(decision), "body": body}
        changed = {k: v for k, v in wanted.items() if pr.get(k) != v}
        if changed:
            path = f"{self.client.repo_path}/pulls/{pr['number']}"
            pr = {**pr, **self.client.request("PATCH", path, changed)}
        added = self._label(pr, decision)
        return Outcome("updated" if changed or added else "unchanged", pr.get("html_url"))

    def _label(self, pr: dict[str, Any], decision: Decision) -> bool:
        have = {
            str(label.get("name")) for label in pr.get("labels") or [] if isinstance(label, dict)
        }
        missing = [name for name in labels(decision) if name not in have]
        if missing:
            path = f"{self.client.repo_path}/issues/{pr['number']}/labels"
            self.client.request_list("POST", path, {"labels": missing})
        return bool(missing)

    # --- git ------------------------------------------------------------------------------

    def _commit(self, base: str, edit: RolloutEdit, decision: Decision) -> str:
        when = f"{self.repo.commit(base).committed_date} +0000"  # same inputs, same commit
        message = f"{title(decision)}\n\n{decision.reason}\n"
        with tempfile.TemporaryDirectory(prefix="syncbot-index-") as scratch:
            env = {
                "GIT_INDEX_FILE": str(Path(scratch) / "index"),
                "GIT_AUTHOR_NAME": BOT_NAME,
                "GIT_AUTHOR_EMAIL": BOT_EMAIL,
                "GIT_COMMITTER_NAME": BOT_NAME,
                "GIT_COMMITTER_EMAIL": BOT_EMAIL,
                "GIT_AUTHOR_DATE": when,
                "GIT_COMMITTER_DATE": when,
            }
            edited = Path(scratch) / "rollouts.yaml"
            edited.write_bytes((edit.after or "").encode("utf-8"))
            try:
                blob = self.repo.git.hash_object("-w", "--no-filters", str(edited))
                self.repo.git.read_tree(base, env=env)
                self.repo.git.update_index(
                    "--add", "--cacheinfo", f"100644,{blob},{edit.path}", env=env
                )
                tree = self.repo.git.write_tree(env=env)
                return str(self.repo.git.commit_tree(tree, "-p", base, "-m", message, env=env))
            except git.GitCommandError as exc:
                raise TargetError(
                    "git", f"cannot commit the proposal: {exc.stderr.strip()}"
                ) from exc

    def _push(self, commit: str, branch: str) -> None:
        if not branch.startswith(BRANCH_PREFIX) or branch == self.base_branch:
            raise SyncbotError(f"refusing to push to {branch!r}: only syncbot/ branches")
        env = {"GIT_TERMINAL_PROMPT": "0", **self._auth_env()}
        try:
            self.repo.git.push(self.remote, f"+{commit}:refs/heads/{branch}", env=env)
        except git.GitCommandError as exc:
            secrets = (self.client.settings.token,)
            message = redact_text(
                f"push of {branch} to {self.remote} failed: {exc.stderr.strip()}", secrets
            )
            raise TargetError("git", message) from None

    def _auth_env(self) -> dict[str, str]:
        """The token as an HTTP header for the GitHub server only, through git's
        GIT_CONFIG_* variables: never on a command line, never written to .git/config."""
        settings = self.client.settings
        url = self.repo.remote(self.remote).url if self.remote in self.repo.remotes else ""
        server = settings.server_url.rstrip("/")
        if not settings.token or not url.startswith(server + "/"):
            return {}
        basic = base64.b64encode(f"x-access-token:{settings.token}".encode()).decode()
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.{server}/.extraheader",
            "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
        }

    # --- text -----------------------------------------------------------------------------

    def _body(self, decision: Decision, edit: RolloutEdit, base: str, others: list[int]) -> str:
        lines = [
            marker_tag(f"promote-{decision.environment}-{decision.skill}"),
            *_heading(decision),
        ]
        lines += ["", _escape(decision.reason), "", *_evidence_table(decision), ""]
        lines += [f"Gates: {gates_text(decision.evidence.gates)}.", ""]
        diff = edit.diff().rstrip("\n")
        fence = _fence(diff)
        lines += [f"{fence}diff", diff, fence, ""]
        if others:
            refs = ", ".join(f"#{n}" for n in others)
            lines += [f"Open proposals for this skill that this one supersedes: {refs}.", ""]
        lines += _footer(decision, base[:12], self.client.settings.run_link())
        text = "\n".join(lines) + "\n"
        return fit(text, COMMENT_LIMIT, "\n**Truncated**: see the workflow run.\n")


def title(decision: Decision) -> str:
    d = decision
    target = f"{d.target_percentage:g}%"
    if d.action == "rollback":
        return f"URGENT: roll back {d.skill} in {d.environment} to {target} (syncbot promote)"
    move = f"from {d.current_percentage:g}% to {target}"
    return f"Promote {d.skill} in {d.environment} {move} (syncbot promote)"


def labels(decision: Decision) -> tuple[str, ...]:
    return ROLLBACK_LABELS if decision.action == "rollback" else (PROMOTE_LABEL,)


def _heading(d: Decision) -> list[str]:
    move = f"{d.current_percentage:g}% → {d.target_percentage:g}%"
    if d.action == "rollback":
        return [
            f"## URGENT: roll back `{d.skill}` in `{d.environment}`: {move}",
            "",
            "> [!CAUTION]",
            "> A health gate failed on consecutive windows. Merge this PR to turn the skill "
            "off; a decrease passes policy at once (no step, no soak).",
        ]
    return [f"## Promote `{d.skill}` in `{d.environment}`: {move}"]


def _evidence_table(d: Decision) -> list[str]:
    ev, g = d.evidence, d.evidence.gates
    rate = "-" if ev.error_rate_percent is None else f"{ev.error_rate_percent:.2f}%"
    p95 = "-" if ev.p95_ms is None else f"{ev.p95_ms:.0f} ms"
    span = f"{iso_utc(ev.window_start)} .. {iso_utc(ev.window_end)}"
    requests = "-" if ev.requests is None else str(ev.requests)
    streak = ev.consecutive_failures
    return [
        "| Evidence | Value | Gate |",
        "|---|---:|---|",
        f"| Window | {span} | {g.window_minutes} min |",
        f"| Requests | {requests} | at least {g.min_requests} |",
        f"| Error rate | {rate} | below {g.max_error_rate_percent:g}% |",
        f"| p95 latency | {p95} | below {g.max_p95_ms:g} ms |",
        f"| Failing windows in a row | {streak} | roll back at {g.failure_limit} |",
        f"| Soak ends | {iso_utc(ev.soak_ends_at) or '-'} | |",
        f"| Verdict | {ev.verdict or '-'} | |",
    ]


def _footer(d: Decision, base: str, run_link: str) -> list[str]:
    return [
        f"Proposed by `syncbot promote --env {d.environment} --open-prs` in {run_link}, "
        f"on top of `{base}`. Merging it lets the apply workflow make it live.",
        "",
        "Closing this PR unmerged skips this step: the bot does not open it again until "
        "the rollout changes. `syncbot promote history --env "
        f"{d.environment} --skill {d.skill}` shows every evaluation.",
    ]


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in `text` (a YAML comment may hold
    some): the diff can never close it and turn into Markdown."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _escape(text: str) -> str:
    """Reasons are the bot's own words with skill names and figures; still, no HTML or
    Markdown control sequence may reach the PR body from them."""
    return re.sub(r"([\\`*_{}\[\]<>()#+!|~])", r"\\\1", " ".join(text.split()))


def _not_reopened(decision: Decision, branch: str, closed: dict[str, Any]) -> ProposalOutcome:
    note = (
        f"closed unmerged {closed.get('closed_at')}: not re-opened for this step; "
        "re-open it, or set the rollout by hand"
    )
    return ProposalOutcome(decision, branch, Outcome("not re-opened", closed.get("html_url")), note)


def _step_started(decision: Decision, policy: RolloutPolicy) -> datetime | None:
    """When the live percentage was set: a PR closed before then was another step."""
    soak_end = decision.evidence.soak_ends_at
    if soak_end is None:
        return None
    return soak_end - timedelta(hours=policy.min_soak_hours)


def _points(percentage: float) -> int:
    return round(percentage * 100)


def _target_points(decision: Decision) -> int:
    if decision.action not in ("promote", "rollback") or decision.target_percentage is None:
        raise SyncbotError(f"{decision.skill}: a {decision.action} is not a proposal")
    return _points(decision.target_percentage)


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def promote_with_prs(
    root: Path,
    environment: str,
    db: Database,
    now: datetime,
    settings: GitHubSettings,
    *,
    base_branch: str = "main",
    source: MetricsSource | None = None,
) -> tuple[PromoteReport, list[str]]:
    """Decide (a skill with an open proposal PR for its current step holds), then open or
    update a PR for each promotion and rollback, rollbacks first. Returns the report and
    one line per PR (and per stale proposal PR found)."""
    with GitHubClient(settings) as client:
        proposer = Proposer(root, client, base_branch=base_branch)
        try:
            proposer.check_checkout()
            db.ensure_migrated()
            live = {s: r.basis_points for s, r in store.live_rollouts(db, environment).items()}
            pending = open_proposals(client, environment, base_branch)
            current = [p for p in pending if p.old_basis_points == live.get(p.skill, 0)]
            holding = {p.skill for p in current}
            report = promote(root, environment, db, now, open_proposals=holding, source=source)
            lines = [
                proposer.propose(
                    d, report.policy, [p.number for p in current if p.skill == d.skill]
                ).line()
                for d in proposals_of(report.decisions)
            ]
        finally:
            proposer.close()
    stale = [p.stale_line(live.get(p.skill, 0)) for p in pending if p not in current]
    return report, lines + stale


def proposals_of(decisions: tuple[Decision, ...]) -> Iterator[Decision]:
    """Rollbacks first: the urgent ones must not wait behind a failing promotion."""
    yield from (d for d in decisions if d.action == "rollback")
    yield from (d for d in decisions if d.action == "promote")
