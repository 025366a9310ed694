"""`syncbot promote` output: text for a terminal, JSON for tools, Markdown for a PR or a
job summary. Each decision shows its evidence: window, requests, error rate, p95, the
thresholds, the soak end and the failing streak."""

from __future__ import annotations

from typing import Any

from syncbot.files.schemas import RolloutGates
from syncbot.promote.decide import Decision, Evidence, iso_utc, window
from syncbot.promote.run import PromoteReport
from syncbot.promote.store import Evaluation

_ORDER = {"rollback": 0, "promote": 1, "hold": 2}


def report_dict(report: PromoteReport) -> dict[str, Any]:
    return {
        "environment": report.environment,
        "evaluated_at": iso_utc(report.evaluated_at),
        "commit": report.commit,
        "steps": list(report.policy.steps),
        "min_soak_hours": report.policy.min_soak_hours,
        "gates": _gates_dict(report.gates),
        "summary": _summary(report),
        "decisions": [d.as_dict() for d in _sorted(report.decisions)],
    }


def render_text(report: PromoteReport) -> str:
    lines = [_headline(report), f"gates: {gates_text(report.gates)}"]
    for d in _sorted(report.decisions):
        lines += ["", f"{d.action.upper():<8} {d.skill}  {_move(d)}", f"         {d.reason}"]
        if d.evidence.verdict is not None:
            lines.append(f"         {evidence_text(d.evidence)}")
    if not report.decisions:
        lines += ["", "no canary: every rollout is at 0% or 100%, as git says"]
    return "\n".join(lines) + "\n"


def render_markdown(report: PromoteReport) -> str:
    lines = [
        f"### {_headline(report)}",
        "",
        f"Window: {_window_text(report)}. Gates: {gates_text(report.gates)}.",
        "",
        "| Skill | Decision | Percentage | Requests | Error rate | p95 | Soak ends | Reason |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    lines += [_markdown_row(d) for d in _sorted(report.decisions)]
    if not report.decisions:
        lines = [*lines[:4], "No canary: every rollout is at 0% or 100%, as git says."]
    return "\n".join(lines) + "\n"


def gates_text(g: RolloutGates) -> str:
    return (
        f"window {g.window_minutes} min, at least {g.min_requests} requests, "
        f"error rate < {g.max_error_rate_percent:g}%, p95 < {g.max_p95_ms:g} ms, "
        f"rollback after {g.failure_limit} failing windows, metrics from {g.metrics.source}"
    )


def evidence_text(ev: Evidence) -> str:
    rate = "-" if ev.error_rate_percent is None else f"{ev.error_rate_percent:.2f}%"
    p95 = "-" if ev.p95_ms is None else f"{ev.p95_ms:.0f} ms"
    soak = "none" if ev.soak_ends_at is None else iso_utc(ev.soak_ends_at)
    return (
        f"window {iso_utc(ev.window_start)} .. {iso_utc(ev.window_end)}: {ev.requests} requests, "
        f"error rate {rate}, p95 {p95}; soak ends {soak}; "
        f"failing {ev.consecutive_failures}/{ev.gates.failure_limit}"
    )


def render_history(evaluations: list[Evaluation]) -> str:
    if not evaluations:
        return "no evaluation recorded (run `syncbot promote`)\n"
    lines = []
    for e in evaluations:
        target = "" if e.target_percentage is None else f" -> {e.target_percentage:g}%"
        figures = e.figures
        lines.append(
            f"{iso_utc(e.evaluated_at)}  {e.skill}  {e.percentage:g}%{target}  {e.decision}"
            f"  [{e.verdict or 'not evaluated'}, {figures.get('requests')} requests, "
            f"error rate {_pct(figures.get('error_rate_percent'))}, "
            f"p95 {_ms(figures.get('p95_ms'))}]  {e.reason}"
        )
    return "\n".join(lines) + "\n"


def history_dict(e: Evaluation) -> dict[str, Any]:
    return {
        "id": e.id,
        "environment": e.environment,
        "skill": e.skill,
        "evaluated_at": iso_utc(e.evaluated_at),
        "percentage": e.percentage,
        "decision": e.decision,
        "target_percentage": e.target_percentage,
        "verdict": e.verdict,
        "consecutive_failures": e.consecutive_failures,
        "figures": e.figures,
        "reason": e.reason,
        "commit": e.commit,
    }


def _headline(report: PromoteReport) -> str:
    counts = ", ".join(f"{report.count(a)} {a}" for a in ("promote", "hold", "rollback"))
    return (
        f"promote --env {report.environment} at {iso_utc(report.evaluated_at)}: {counts}"
        f" ({report.settled} rollouts settled at 0% or 100%)"
    )


def _window_text(report: PromoteReport) -> str:
    start, end = window(report.gates, report.evaluated_at)
    return f"{iso_utc(start)} .. {iso_utc(end)}"


def _summary(report: PromoteReport) -> dict[str, int]:
    counts = {a: report.count(a) for a in ("promote", "hold", "rollback")}
    return counts | {"settled": report.settled}


def _gates_dict(g: RolloutGates) -> dict[str, Any]:
    return g.model_dump(mode="json")


def _move(d: Decision) -> str:
    if d.target_percentage is None:
        return f"{d.current_percentage:g}%"
    return f"{d.current_percentage:g}% -> {d.target_percentage:g}%"


def _markdown_row(d: Decision) -> str:
    ev = d.evidence
    cells = [
        f"`{d.skill}`",
        f"**{d.action}**",
        _move(d),
        "-" if ev.requests is None else str(ev.requests),
        _pct(ev.error_rate_percent),
        _ms(ev.p95_ms),
        iso_utc(ev.soak_ends_at) or "-",
        d.reason.replace("|", "\\|"),
    ]
    return "| " + " | ".join(cells) + " |"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{float(value):.2f}%"


def _ms(value: Any) -> str:
    return "-" if value is None else f"{float(value):.0f} ms"


def _sorted(decisions: tuple[Decision, ...]) -> list[Decision]:
    return sorted(decisions, key=lambda d: (_ORDER[d.action], d.skill))
