"""The default metrics source: the `skill_executions` table the AI service writes.

One statement answers for every skill: count, failures and the exact 95th percentile
(percentile_cont) of the durations in the window, grouped by skill.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from syncbot.promote.metrics import Health
from syncbot.targets.postgres import Database

_HEALTH = """
SELECT skill_name, count(*) AS requests, count(*) FILTER (WHERE NOT success) AS failures,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms
FROM skill_executions
WHERE environment = %(environment)s AND started_at >= %(start)s AND started_at < %(end)s
  AND skill_name = ANY(%(skills)s)
GROUP BY skill_name
"""


class PostgresMetrics:
    """Reads the window from the database the bot manages (DATABASE_URL)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def health(
        self, environment: str, skills: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, Health]:
        if not skills:
            return {}
        params = {"environment": environment, "start": start, "end": end, "skills": list(skills)}
        rows = self._db.fetch_all("cannot read skill_executions", _HEALTH, params)
        return {
            r["skill_name"]: Health(
                r["skill_name"],
                int(r["requests"]),
                int(r["failures"]),
                None if r["p95_ms"] is None else float(r["p95_ms"]),
            )
            for r in rows
        }
