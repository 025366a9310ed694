"""`syncbot promote --open-prs` with `metrics.source: prometheus`: the health comes from a
real Prometheus server, the PR goes to the local GitHub API, the branch to a bare origin."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import git
import psycopg
import pytest
from live_support import Cli, Repo
from prometheus_support import FAST, SLOW, Profile, openmetrics, prometheus_server
from test_github_cli import REPO, TOKEN, FakeGitHub, serve_fake_github

from e2e.conftest import base_files

SERIES = {
    ("production", "contract-review"): Profile(10, 0.05, FAST),  # 600/h, 0.5%, p95 1750
    ("production", "nda-drafting"): Profile(10, 0, SLOW),  # p95 9500 ms: failing
    ("staging", "contract-review"): Profile(10, 9, FAST),  # another environment
}


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # up to a minute ago: the window promote reads ends now (set here, not at import)
    end = (int(time.time()) // 60 - 1) * 60
    with prometheus_server(tmp_path_factory.mktemp("prometheus"), openmetrics(SERIES, end)) as url:
        yield url


@pytest.fixture
def repo_files(prometheus_url: str) -> dict[str, str]:
    syncbot_yaml = f"""\
categories: [analysis, drafting, research, compliance]
environments:
  staging: {{}}
  production:
    rollout:
      steps: [0, 5, 25, 50, 100]
      min_soak_hours: 72
      gates:
        failure_limit: 1
        metrics:
          source: prometheus
          prometheus:
            url: {prometheus_url}
"""
    rollouts = "# canaries\ncontract-review: 5\nnda-drafting: 5  # watched\n"
    return base_files() | {"syncbot.yaml": syncbot_yaml, "rollouts/production.yaml": rollouts}


@pytest.fixture
def github(
    repo: Repo, tmp_path: Path, live_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeGitHub]:
    bare = git.Repo.init(tmp_path / "origin.git", bare=True)
    repo.git.git.branch("-M", "main")
    repo.git.create_remote("origin", str(bare.working_dir))
    repo.git.git.push("origin", "main")
    repo.git.git.fetch("origin")
    with serve_fake_github() as fake:
        for name, value in {
            "GITHUB_API_URL": fake.url,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": REPO,
        }.items():
            monkeypatch.setenv(name, value)
        yield fake


def test_prometheus_health_drives_one_promotion_and_one_rollback_pr(
    cli: Cli, github: FakeGitHub, pg_url: str
) -> None:
    assert cli("apply", "--env", "production").code == 0
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE skill_rollouts SET changed_at = now() - interval '4 days'")

    result = cli("promote", "--env", "production", "--open-prs")
    again = cli("promote", "--env", "production", "--open-prs")

    assert result.code == 0, result.err
    assert "metrics from prometheus" in result.out
    assert "PROMOTE  contract-review  5% -> 25%" in result.out
    assert "ROLLBACK nda-drafting  5% -> 0%" in result.out
    titles = sorted(p["title"] for p in github.pulls)
    assert titles == [
        "Promote contract-review in production from 5% to 25% (syncbot promote)",
        "URGENT: roll back nda-drafting in production to 0% (syncbot promote)",
    ]
    promotion = next(p for p in github.pulls if p["title"].startswith("Promote"))
    # an hour at 10 a minute; increase() extrapolates, and the data ends a little before now
    requests = re.search(r"\| Requests \| (\d+) \| at least 200 \|", promotion["body"])
    assert requests is not None and 550 <= int(requests.group(1)) <= 610
    assert "| p95 latency | 1750 ms | below 5000 ms |" in promotion["body"]
    # the second run: the promotion holds on its open PR, the rollback PR is the same one
    assert again.code == 0, again.err
    assert "a proposal for this skill is already open" in again.out
    assert len(github.pulls) == 2
