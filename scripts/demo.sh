#!/usr/bin/env bash
# The main job: validate, plan and apply the example configuration against the embedded
# Skills API emulator and the local PostgreSQL and Redis, then show the status.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh main
exec .venv/bin/syncbot demo "$@"
