#!/usr/bin/env bash
# Shared set-up for demo.sh, test.sh and .ci/run: start PostgreSQL and Redis if they are
# not answering, then create .venv and install the project.
#   bash scripts/bootstrap.sh main   # what the main job (demo.sh) needs: `pip install -e .`
#   bash scripts/bootstrap.sh [test] # the default: also the test tools ('.[test]': pytest,
#                                    # ruff, mypy, zizmor…) and Prometheus's binaries
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-test}
case "$mode" in
  main | test) ;;
  *) echo "usage: bash scripts/bootstrap.sh [main|test]" >&2; exit 2 ;;
esac

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi

# The Prometheus metrics source is tested against a real server the test starts itself
# (tests/prometheus_support.py); only the binaries are needed, never the system service.
if [ "$mode" = test ] && { ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing prometheus (Debian package; its service is not started)"
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; } \
      > /tmp/syncbot-apt-prometheus.log 2>&1 || { cat /tmp/syncbot-apt-prometheus.log; exit 1; }
  else
    echo "warning: prometheus/promtool missing; install Debian's prometheus package or tests/test_prometheus.py fails" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# the test install includes the main one, so its stamp satisfies both modes
test_stamp=.venv/.syncbot-installed
if [ "$mode" = test ]; then stamp=$test_stamp target='.[test]' what="syncbot and its test dependencies"
else stamp=.venv/.syncbot-installed-main target=. what=syncbot
  if [ -f "$test_stamp" ] && [ ! pyproject.toml -nt "$test_stamp" ]; then stamp=$test_stamp; fi
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "installing $what into .venv (log: .venv/pip-install.log)"
  if ! { .venv/bin/python -m pip install --upgrade pip &&
         .venv/bin/python -m pip install -e "$target"; } > .venv/pip-install.log 2>&1; then
    cat .venv/pip-install.log
    echo "pip install failed (log above)" >&2
    exit 1
  fi
  touch "$stamp"
fi
