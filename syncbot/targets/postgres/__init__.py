"""The PostgreSQL target: schema migrations, batched state reads, the apply transaction.

Every public method turns a psycopg failure into one `TargetError("database", ...)` line
with the URL's password masked. Writes are batched: rows travel as one jsonb array that
`jsonb_to_recordset` unpacks on the server, so a 1,000-skill apply costs the same number
of round trips as a one-skill apply. `stats.round_trips` counts every statement sent,
plus BEGIN and COMMIT of explicit transactions.
"""

from syncbot.targets.postgres.connection import CONNECT_TIMEOUT_S, DbStats, migrations
from syncbot.targets.postgres.database import Database
from syncbot.targets.postgres.rows import FINAL_STATUSES, RUN_STATUSES, DbWrites, RunRecord

__all__ = [
    "CONNECT_TIMEOUT_S",
    "FINAL_STATUSES",
    "RUN_STATUSES",
    "Database",
    "DbStats",
    "DbWrites",
    "RunRecord",
    "migrations",
]
