"""GitHub for the workflows: the sticky plan comment, the job summary, the drift issue.

- client.py: GitHubSettings (from the Actions variables) and GitHubClient, a small REST
  client (get/post/patch, pagination, errors as TargetError with the token masked).
- markers.py: the hidden tag by which the bot finds its own comment or issue, Outcome.
- fitting.py: Markdown cut to GitHub's size limits.
- comments.py, summary.py, issues.py: the sticky comment, the job summary, the drift issue.
- combine.py: several environments' plans in one document.
"""

from syncbot.github.client import GitHubClient, GitHubSettings
from syncbot.github.combine import combine_plans
from syncbot.github.comments import upsert_comment
from syncbot.github.fitting import COMMENT_LIMIT, SUMMARY_LIMIT, fit
from syncbot.github.issues import DRIFT_LABEL, close_drift_issue, report_drift
from syncbot.github.markers import Outcome, check_marker, marker_tag, pr_number_from_event
from syncbot.github.summary import append_summary

__all__ = [
    "COMMENT_LIMIT",
    "DRIFT_LABEL",
    "SUMMARY_LIMIT",
    "GitHubClient",
    "GitHubSettings",
    "Outcome",
    "append_summary",
    "check_marker",
    "close_drift_issue",
    "combine_plans",
    "fit",
    "marker_tag",
    "pr_number_from_event",
    "report_drift",
    "upsert_comment",
]
