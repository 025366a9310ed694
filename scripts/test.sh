#!/usr/bin/env bash
# The whole test suite: formatting, lint, types, then pytest against the real services.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test
.venv/bin/ruff format --check syncbot tests bench
.venv/bin/ruff check syncbot tests bench
.venv/bin/mypy
.venv/bin/pytest "$@"
