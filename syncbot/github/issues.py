"""The drift issue of an environment: opened or updated with the plan, closed when resolved."""

from __future__ import annotations

from typing import Any

from syncbot.github.client import GitHubClient
from syncbot.github.fitting import COMMENT_LIMIT, fit
from syncbot.github.markers import Outcome, marker_tag
from syncbot.textsafe import md_code

DRIFT_LABEL = "syncbot-drift"


def report_drift(client: GitHubClient, env: str, plan: str, *, incomplete: bool = False) -> Outcome:
    """Open the drift issue of `env` with the plan, or update the body of the open one.

    `incomplete`: the check could not say that live equals `main` (a target could not be
    read, or apply would refuse the plan): the issue is opened or kept open, saying so.
    """
    tag = marker_tag(f"drift-{env}")
    settings = client.settings
    heading = _drift_heading(env, incomplete)
    text = f"{tag}\n{heading}\n\nFound by the drift check in {settings.run_link()}. "
    text += (
        "The top of the plan below says which target could not be compared, or what apply "
        "would refuse. This issue is closed only when every target was compared and "
        "nothing differs.\n\n"
        if incomplete
        else "Merge a change that describes the live state, or re-run the apply workflow "
        "to put `main` back.\n\n"
    )
    text += plan
    note = f"\n---\n**Truncated**: the full plan is in the job summary of {settings.run_link()}.\n"
    body = fit(text, COMMENT_LIMIT, note)
    issue = _find_drift_issue(client, tag)
    if issue is None:
        fields = {"title": f"syncbot: drift in {env}", "body": body, "labels": [DRIFT_LABEL]}
        return Outcome("created", client.post(f"{client.repo_path}/issues", fields).get("html_url"))
    if issue.get("body") == body:
        return Outcome("unchanged", issue.get("html_url"))
    path = f"{client.repo_path}/issues/{issue['number']}"
    return Outcome("updated", client.patch(path, {"body": body}).get("html_url"))


def _drift_heading(env: str, incomplete: bool) -> str:
    if incomplete:
        return f"## Live {md_code(env)} could not be checked against `main`"
    return f"## Live {md_code(env)} differs from `main`"


def close_drift_issue(client: GitHubClient, env: str) -> Outcome:
    """Close the open drift issue of `env` with a comment; nothing if none is open."""
    issue = _find_drift_issue(client, marker_tag(f"drift-{env}"))
    if issue is None:
        return Outcome("nothing to close")
    path = f"{client.repo_path}/issues/{issue['number']}"
    run = client.settings.run_link()
    note = f"Resolved: live {md_code(env)} matches `main` again (checked by {run})."
    client.post(f"{path}/comments", {"body": note})
    closed = client.patch(path, {"state": "closed", "state_reason": "completed"})
    return Outcome("closed", closed.get("html_url"))


def _find_drift_issue(client: GitHubClient, tag: str) -> dict[str, Any] | None:
    params = {"labels": DRIFT_LABEL, "state": "open"}
    for issue in client.paginate(f"{client.repo_path}/issues", params):
        # The issues list also returns pull requests; they carry a pull_request key.
        if "pull_request" not in issue and str(issue.get("body") or "").startswith(tag):
            return issue
    return None
