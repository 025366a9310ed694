"""Rules that `syncbot validate` enforces, each with a stable rule id."""
