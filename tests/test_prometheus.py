"""The Prometheus metrics source against a real Prometheus server (see prometheus_support)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_support import FAST, SLOW, SNAPPY, Profile, openmetrics, prometheus_server

from syncbot.errors import TargetError
from syncbot.files.schemas import PrometheusQueries, PrometheusSource
from syncbot.promote.metrics import Health
from syncbot.promote.prometheus import PrometheusMetrics, promql_duration

END = (int(time.time()) // 60 - 5) * 60  # whole minutes, a little in the past
AT = datetime.fromtimestamp(END, UTC)
HOUR = (AT - timedelta(minutes=60), AT)
BULK = [f"bulk-skill-{n:04d}" for n in range(1000)]

SERIES = {
    # 20 per minute = 1,200 per hour, 1% failing, p95 1750 ms: healthy
    ("production", "contract-analysis-ro"): Profile(20, 0.2, FAST),
    # 5% failing
    ("production", "nda-drafting"): Profile(20, 1, FAST),
    # p95 9500 ms
    ("production", "statute-lookup"): Profile(20, 0, SLOW),
    # 60 per hour: too little traffic to judge
    ("production", "gdpr-compliance-check"): Profile(1, 0, FAST),
    # the same skill in staging: half failing, fast; must not leak into production
    ("staging", "contract-analysis-ro"): Profile(10, 5, SNAPPY),
} | {("bulk", skill): Profile(4, 0, FAST, minutes=70, step=300) for skill in BULK}


class Counting(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.queries: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.queries.append(request.content.decode())
        return super().handle_request(request)


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("prometheus")
    with prometheus_server(workdir, openmetrics(SERIES, END)) as url:
        yield url


def health(
    url: str,
    environment: str,
    skills: list[str],
    transport: httpx.BaseTransport | None = None,
    window: tuple[datetime, datetime] = HOUR,
    **queries: str,
) -> dict[str, Health]:
    config = PrometheusSource(url=url, queries=PrometheusQueries(**queries))
    return PrometheusMetrics(config, transport=transport).health(environment, skills, *window)


def test_health_of_every_skill_from_three_queries(prometheus_url: str) -> None:
    transport = Counting()
    skills = ["contract-analysis-ro", "nda-drafting", "statute-lookup", "gdpr-compliance-check"]
    found = health(prometheus_url, "production", [*skills, "no-traffic"], transport)

    assert set(found) == set(skills)  # no series: absent, as the interface allows
    healthy = found["contract-analysis-ro"]
    assert healthy.requests == 1200 and healthy.failures == 12
    assert healthy.error_rate_percent == pytest.approx(1.0)
    assert healthy.p95_ms == pytest.approx(1750)
    assert found["nda-drafting"].error_rate_percent == pytest.approx(5.0)
    assert found["statute-lookup"].p95_ms == pytest.approx(9500)
    assert found["statute-lookup"].failures == 0
    assert found["gdpr-compliance-check"].requests == 60
    assert len(transport.queries) == 3
    assert all(
        "environment%3D%22production%22" in q and "%5B60m%5D" in q for q in transport.queries
    )


def test_environments_are_kept_apart(prometheus_url: str) -> None:
    found = health(prometheus_url, "staging", ["contract-analysis-ro"])
    assert list(found) == ["contract-analysis-ro"]
    seen = found["contract-analysis-ro"]
    assert (seen.skill, seen.requests, seen.failures) == ("contract-analysis-ro", 600, 300)
    assert seen.p95_ms == pytest.approx(242.5)


def test_a_thousand_skills_take_three_queries_and_well_under_two_seconds(
    prometheus_url: str,
) -> None:
    transport = Counting()
    started = time.perf_counter()
    found = health(prometheus_url, "bulk", BULK, transport)
    elapsed = time.perf_counter() - started
    assert len(found) == 1000 and len(transport.queries) == 3
    assert {h.requests for h in found.values()} == {240}
    assert elapsed < 2.0, elapsed


def test_the_window_is_the_promql_range(prometheus_url: str) -> None:
    # half an hour: half the executions
    start = AT - timedelta(minutes=30)
    found = health(prometheus_url, "production", ["contract-analysis-ro"], window=(start, AT))
    assert found["contract-analysis-ro"].requests == 600
    assert promql_duration(timedelta(minutes=90)) == "90m"
    assert promql_duration(timedelta(seconds=90)) == "90s"


def test_a_template_without_the_skill_grouping_is_refused(prometheus_url: str) -> None:
    ungrouped = 'sum(increase(skill_executions_total{environment="$environment"}[$window]))'
    with pytest.raises(
        TargetError,
        match=r"a series of the requests query has no 'skill' label: aggregate it `by \(skill\)`",
    ):
        health(prometheus_url, "production", ["nda-drafting"], requests=ungrouped)


def test_a_scalar_query_is_refused(prometheus_url: str) -> None:
    with pytest.raises(
        TargetError, match="the p95 query must return an instant vector, got 'scalar'"
    ):
        health(prometheus_url, "production", ["nda-drafting"], p95="scalar(vector(1))")


def test_a_bad_promql_template_is_prometheus_own_error(prometheus_url: str) -> None:
    broken = "sum by (skill) (rate(x[$window])"
    with pytest.raises(TargetError) as caught:
        health(prometheus_url, "production", ["nda-drafting"], error_rate=broken)
    assert str(caught.value).startswith("prometheus: error_rate query: HTTP 400 bad_data: ")


def test_an_unreachable_server_is_a_target_error_without_the_password() -> None:
    url = "http://reader:s3cr3t-pass@127.0.0.1:9"
    with pytest.raises(TargetError) as caught:
        health(url, "production", ["nda-drafting"])
    message = str(caught.value)
    assert message.startswith(
        "prometheus: requests query to http://reader:***@127.0.0.1:9: ConnectError"
    )
    assert "s3cr3t" not in message
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_an_answer_that_is_not_prometheus_json_is_a_target_error(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>bad gateway</html>")

    with pytest.raises(
        TargetError, match="prometheus: HTTP 502: the answer is not Prometheus JSON"
    ):
        health("http://127.0.0.1:1", "production", ["a"], httpx.MockTransport(handler))


def test_an_environment_name_cannot_break_out_of_the_label_string(prometheus_url: str) -> None:
    # names are [a-z0-9_-] by schema; the quoting is defence in depth
    found = health(prometheus_url, 'production"} or vector(1) or {x="', ["nda-drafting"])
    assert found == {}
