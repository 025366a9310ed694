"""Progressive delivery: `syncbot promote` decides, from soak time and health, which
canaries move up the ladder, hold, or roll back; the decisions are proposed as PRs."""
