"""The sticky plan comment: one per marker on a pull request, created or updated in place."""

from __future__ import annotations

from typing import Any

from syncbot.github.client import GitHubClient
from syncbot.github.fitting import COMMENT_LIMIT, fit
from syncbot.github.markers import Outcome, marker_tag


def upsert_comment(
    client: GitHubClient, pr: int, marker: str, text: str, *, author: str | None
) -> Outcome:
    """Create the one sticky comment of `marker` on the PR, or update it in place."""
    note = (
        "\n---\n**Truncated**: GitHub limits a comment to 65,536 characters. "
        f"The full text is in the job summary of {client.settings.run_link()}.\n"
    )
    body = fit(f"{marker_tag(marker)}\n{text}", COMMENT_LIMIT, note)
    existing = _find_comment(client, pr, marker_tag(marker), author)
    if existing is None:
        created = client.post(f"{client.repo_path}/issues/{pr}/comments", {"body": body})
        return Outcome("created", created.get("html_url"))
    if existing.get("body") == body:
        return Outcome("unchanged", existing.get("html_url"))
    path = f"{client.repo_path}/issues/comments/{existing['id']}"
    return Outcome("updated", client.patch(path, {"body": body}).get("html_url"))


def _find_comment(
    client: GitHubClient, pr: int, tag: str, author: str | None
) -> dict[str, Any] | None:
    # Filtering by author keeps a human's comment that quotes the marker from being taken
    # over, and keeps the plan in a comment that PR authors cannot edit.
    for comment in client.paginate(f"{client.repo_path}/issues/{pr}/comments", {}):
        login = (comment.get("user") or {}).get("login")
        if str(comment.get("body") or "").startswith(tag) and author in (None, login):
            return comment
    return None
