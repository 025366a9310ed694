"""Health from Prometheus: one instant query per figure (requests, error rate, p95), each
answering for every skill at once, grouped by the skill label.

So a run reads three queries whatever the number of skills. The templates name the
environment and the window as `$environment` and `$window` (a PromQL duration such as
`60m`); each query is evaluated at the window's end. Every failure leaves this module as
`TargetError("prometheus", ...)` with any password of the URL masked.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from syncbot.errors import TargetError
from syncbot.files.schemas import PrometheusSource
from syncbot.promote.metrics import Health
from syncbot.redact import redact_text, redact_url

__all__ = ["PrometheusMetrics", "promql_duration"]

_QUERY_PATH = "/api/v1/query"
Vector = dict[str, float]  # skill -> value; NaN dropped


class PrometheusMetrics:
    """A MetricsSource over the Prometheus HTTP API (`/api/v1/query`)."""

    def __init__(
        self, config: PrometheusSource, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.config = config
        self._secrets = tuple(s for s in (urlsplit(config.url).password,) if s)
        self._transport = transport

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.config.url.rstrip("/"),
            timeout=self.config.timeout_seconds,
            headers={"User-Agent": "syncbot"},
            # connection failures only: a query that reached the server is not sent twice
            transport=self._transport or httpx.HTTPTransport(retries=2),
        )

    def health(
        self, environment: str, skills: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, Health]:
        """Health of `skills` over [start, end): exactly three queries, for all of them."""
        window, queries = promql_duration(end - start), self.config.queries
        with self._client() as http:
            requests = self._vector(http, "requests", queries.requests, environment, window, end)
            rates = self._vector(http, "error_rate", queries.error_rate, environment, window, end)
            p95 = self._vector(http, "p95", queries.p95, environment, window, end)
        return {
            skill: _health(skill, requests[skill], rates.get(skill), p95.get(skill))
            for skill in skills
            if skill in requests
        }

    def _vector(
        self,
        http: httpx.Client,
        figure: str,
        template: str,
        environment: str,
        window: str,
        at: datetime,
    ) -> Vector:
        data = self._query(http, figure, render(template, environment, window), at)
        if data.get("resultType") != "vector":
            raise self._error(
                f"the {figure} query must return an instant vector, got "
                f"{data.get('resultType')!r}: aggregate it `by ({self.config.skill_label})`"
            )
        return self._by_skill(figure, data.get("result") or [])

    def _query(self, http: httpx.Client, figure: str, query: str, at: datetime) -> dict[str, Any]:
        form = {"query": query, "time": f"{at.timestamp():.3f}"}
        try:
            response = http.post(_QUERY_PATH, data=form)
        except httpx.HTTPError as exc:
            where = redact_url(self.config.url)
            raise self._error(f"{figure} query to {where}: {type(exc).__name__}: {exc}") from exc
        payload = _json(response)
        if response.is_error or payload.get("status") != "success":
            detail = payload.get("error") or response.reason_phrase
            kind = payload.get("errorType") or "error"
            raise self._error(f"{figure} query: HTTP {response.status_code} {kind}: {detail}")
        data = payload.get("data")
        if not isinstance(data, dict):
            raise self._error(f"{figure} query: the answer has no data")
        return data

    def _by_skill(self, figure: str, result: list[Any]) -> Vector:
        label, found = self.config.skill_label, Vector()
        for series in result:
            skill = (series.get("metric") or {}).get(label) if isinstance(series, dict) else None
            if not isinstance(skill, str):
                raise self._error(
                    f"a series of the {figure} query has no {label!r} label: "
                    f"aggregate it `by ({label})`"
                )
            if skill in found:
                raise self._error(
                    f"the {figure} query returns several series for skill {skill!r}: "
                    f"aggregate it `by ({label})`"
                )
            value = _sample(series, figure)
            if not math.isnan(value):
                found[skill] = value
        return found

    def _error(self, message: str) -> TargetError:
        return TargetError("prometheus", redact_text(message, self._secrets))


def render(template: str, environment: str, window: str) -> str:
    """The template with `$environment` (escaped for a PromQL string) and `$window`."""
    quoted = environment.replace("\\", "\\\\").replace('"', '\\"')
    return string.Template(template).substitute(environment=quoted, window=window)


def promql_duration(span: timedelta) -> str:
    """A PromQL range: `60m` for an hour, `90s` for a minute and a half."""
    seconds = max(1, round(span.total_seconds()))
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def _health(skill: str, requests: float, rate: float | None, p95: float | None) -> Health:
    # increase() extrapolates to the window's edges, so counts come back fractional.
    count = max(0, round(requests))
    # A skill that never failed may have no failure series at all (labelled counters are
    # created at their first increment), so no error-rate figure means no failures.
    failures = 0 if rate is None or count == 0 else round(count * max(0.0, rate) / 100)
    return Health(skill, count, min(failures, count), p95)


def _sample(series: dict[str, Any], figure: str) -> float:
    value = series.get("value")
    try:
        return float(value[1])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        raise TargetError("prometheus", f"the {figure} query returned a malformed sample") from None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        message = f"HTTP {response.status_code}: the answer is not Prometheus JSON"
        raise TargetError("prometheus", message)
    return payload
