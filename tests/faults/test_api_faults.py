"""Skills API faults injected by the emulator, against the real PostgreSQL and Redis.

For each: the apply completes, or fails with one clear line (exit 1, no traceback), and
the next apply converges with no duplicate skill in the API.
"""

from __future__ import annotations

import time

import pytest
from live_support import Cli

from syncbot.emulator.faults import Decision, Faults
from syncbot.emulator.server import EmulatorServer
from syncbot.marker import read_marker

from .support import (
    BASE_SKILLS,
    Repo,
    assert_clean_failure,
    assert_consistent,
    db_rows,
    install_script,
    no_unfinished_runs,
    redis_keys,
    runs,
    skill_files,
    table_snapshot,
)

ALL = set(BASE_SKILLS)
BETA = "skills-2025-10-02"  # the legacy dialect (display_title, epoch version addresses)


def converges(cli: Cli, emulator: EmulatorServer, pg_url: str, wanted: set[str] = ALL) -> None:
    """The next apply (with --prune, as the apply workflow runs it) converges."""
    emulator.faults.clear()
    result = cli("apply", "--prune")
    assert result.code == 0, result.out + result.err
    assert_consistent(emulator, pg_url, wanted)
    plan = cli("plan", "--detailed-exitcode", "--prune")
    assert plan.code == 0, plan.out
    no_unfinished_runs(pg_url)


def nothing_written(pg_url: str, redis_url: str, redis_prefix: str) -> None:
    snapshot = table_snapshot(pg_url)
    assert snapshot["skills"] == snapshot["skill_routes"] == snapshot["skill_rollouts"] == []
    assert redis_keys(redis_url, redis_prefix) == []


# --- bursts of server errors ------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 529])
@pytest.mark.parametrize(
    "burst",
    [(1, 2), (2, 3), (5, 6)],
    ids=["on-the-listing", "on-the-first-creates", "later"],
)
def test_a_burst_of_server_errors_is_survived_by_retries(
    status: int, burst: tuple[int, ...], cli: Cli, emulator: EmulatorServer, pg_url: str
) -> None:
    emulator.faults.set(fail_nth={n: status for n in burst})
    result = cli("apply")
    assert result.code == 0, result.err
    assert emulator.stats.faults.get(f"status:{status}") == len(burst)
    assert_consistent(emulator, pg_url, ALL)
    converges(cli, emulator, pg_url)


def test_a_seeded_rain_of_errors_is_survived_or_fails_cleanly(
    cli: Cli, repo: Repo, emulator: EmulatorServer, pg_url: str
) -> None:
    for name in ("lease-review", "gdpr-audit", "court-filing"):
        repo.write(skill_files(name))
    repo.commit("three more")
    wanted = ALL | {"lease-review", "gdpr-audit", "court-filing"}
    emulator.faults.set(error_rate=0.25, error_statuses=(500, 502, 503, 529), seed=5)
    result = cli("apply")
    if result.code != 0:
        assert_clean_failure(result)
    assert sum(emulator.stats.faults.values()) > 0
    converges(cli, emulator, pg_url, wanted)


def test_a_rejected_upload_is_reported_with_the_api_message_and_never_retried(
    cli: Cli, emulator: EmulatorServer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 400 is not retried; the uploads that succeeded are recorded, so the next apply
    re-pins them instead of uploading them again."""
    rejected: list[int] = []

    def reject_first_post(n: int, mutating: bool) -> Decision | None:
        if mutating and not rejected:
            rejected.append(n)
            return Decision(status=400)
        return None

    with pytest.MonkeyPatch.context() as mp:
        install_script(mp, emulator, reject_first_post)
        result = cli("apply")
    assert_clean_failure(
        result, "1 of 3 uploads failed", "HTTP 400 invalid_request_error: Invalid request"
    )
    assert emulator.stats.count("POST", "/v1/skills") == 3  # the rejected one: once
    assert db_rows(pg_url, "SELECT name FROM skills") == []
    assert len(db_rows(pg_url, "SELECT skill_name FROM skill_versions")) == 2
    converges(cli, emulator, pg_url)
    assert emulator.stats.uploads == 3  # two kept, one new: nothing uploaded twice


# --- 429 and retry-after ----------------------------------------------------------------


def test_retry_after_of_a_429_is_honoured(
    cli: Cli, emulator: EmulatorServer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 1.5 s: well above the first backoff (at most 0.5 s), so only the header explains it
    emulator.faults.set(rate_limit_nth={1}, retry_after=1.5)
    script = install_script(monkeypatch, emulator)
    result = cli("apply")
    assert result.code == 0, result.err
    first, second = script.arrivals[:2]
    assert first.decision.status == 429
    assert second.at - first.at >= 1.45
    converges(cli, emulator, pg_url)


def test_a_429_on_concurrent_uploads_holds_back_every_worker(
    cli: Cli, emulator: EmulatorServer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.faults.set(rate_limit_nth={2}, retry_after=1.5)
    script = install_script(monkeypatch, emulator)
    result = cli("apply")
    assert result.code == 0, result.err
    limited = [a for a in script.arrivals if a.decision.status == 429]
    assert len(limited) == 1 and limited[0].mutating
    # requests sent after the 429 came back (not those already in flight) waited for it
    later = [a for a in script.arrivals if a.at > limited[0].at + 0.2]
    assert later and all(a.at - limited[0].at >= 1.45 for a in later)
    converges(cli, emulator, pg_url)


# --- slow answers past SKILLS_UPLOAD_TIMEOUT ---------------------------------------------


def test_a_slow_api_times_out_and_fails_fast_with_one_line(
    cli: Cli,
    emulator: EmulatorServer,
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SKILLS_UPLOAD_TIMEOUT", "200")
    emulator.faults.set(latency_ms=500)
    started = time.monotonic()
    result = cli("apply")
    assert time.monotonic() - started < 10
    assert_clean_failure(result, "skills-api", "circuit open")
    nothing_written(pg_url, redis_url, redis_prefix)
    monkeypatch.setenv("SKILLS_UPLOAD_TIMEOUT", "5000")
    converges(cli, emulator, pg_url)


def test_slow_uploads_that_land_after_the_timeout_make_no_duplicate(
    cli: Cli,
    emulator: EmulatorServer,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the uploads are slow: each POST times out on the client, then the server
    commits it anyway. The client checks before retrying; the next apply adopts what
    the check could not see yet."""
    monkeypatch.setenv("SKILLS_UPLOAD_TIMEOUT", "300")
    with pytest.MonkeyPatch.context() as mp:
        script = install_script(
            mp, emulator, lambda n, mutating: Decision(latency_s=0.6) if mutating else None
        )
        result = cli("apply")
    if result.code != 0:
        assert_clean_failure(result, "skills-api")
    assert any(a.mutating for a in script.arrivals)
    time.sleep(0.7)  # whatever is still in flight lands
    monkeypatch.setenv("SKILLS_UPLOAD_TIMEOUT", "5000")
    converges(cli, emulator, pg_url)


def test_a_create_that_lands_after_its_retry_leaves_a_duplicate_the_next_apply_removes(
    cli: Cli, repo: Repo, emulator: EmulatorServer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first POST times out on the client and commits on the server 1.5 s later; the
    client's check (within 1 s) sees nothing, so it creates the skill again. The late
    commit then makes a second skill with the same name, which no check can prevent
    (creates carry no idempotency key): the next apply must remove it."""
    assert cli("apply").code == 0
    repo.write(skill_files("lease-review"))
    repo.commit("a new skill")
    monkeypatch.setenv("SKILLS_UPLOAD_TIMEOUT", "300")
    slowed: list[int] = []

    def slow_first_post(n: int, mutating: bool) -> Decision | None:
        if mutating and not slowed:
            slowed.append(n)
            return Decision(latency_s=1.5)
        return None

    with pytest.MonkeyPatch.context() as mp:
        install_script(mp, emulator, slow_first_post)
        result = cli("apply")
    assert result.code == 0, result.err
    time.sleep(1.6)  # the slow first attempt lands
    assert len(emulator.state.find_by_name("lease-review")) == 2
    # without --prune nothing can be deleted, so no content is read to decide ownership
    assert cli("plan", "--detailed-exitcode").code == 0
    pruning = cli("plan", "--detailed-exitcode", "--prune")
    # both skills carry the nonce this environment journaled for the create: the late one
    # is proven ours and deleted
    assert pruning.code == 2 and "duplicate" in pruning.out, pruning.out
    monkeypatch.setenv("SKILLS_UPLOAD_TIMEOUT", "5000")
    converges(cli, emulator, pg_url, ALL | {"lease-review"})


# --- lost responses (committed by the server, never seen by the client) -------------------


@pytest.mark.parametrize("beta", [None, BETA], ids=["current", "legacy"])
def test_a_lost_create_skill_response_makes_no_duplicate(
    beta: str | None,
    cli: Cli,
    emulator: EmulatorServer,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if beta:
        monkeypatch.setenv("ANTHROPIC_SKILLS_BETA_VERSION", beta)
    emulator.faults.set(lost_nth={1, 3})
    result = cli("apply")
    assert result.code == 0, result.err
    assert emulator.stats.faults.get("lost") == 2
    assert_consistent(emulator, pg_url, ALL)
    converges(cli, emulator, pg_url)


@pytest.mark.parametrize("beta", [None, BETA], ids=["current", "legacy"])
def test_a_lost_create_version_response_makes_no_duplicate_version(
    beta: str | None,
    cli: Cli,
    repo: Repo,
    emulator: EmulatorServer,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if beta:
        monkeypatch.setenv("ANTHROPIC_SKILLS_BETA_VERSION", beta)
    assert cli("apply").code == 0
    repo.write(skill_files("nda-drafting", body="A new clause checklist.", version="1.1.0"))
    repo.commit("new version")
    emulator.faults.set(lost_nth={1})
    result = cli("apply")
    assert result.code == 0, result.err
    assert emulator.stats.faults.get("lost") == 1
    (nda,) = emulator.state.find_by_name("nda-drafting")
    assert len(nda.versions) == 2  # the lost upload was adopted, not repeated
    converges(cli, emulator, pg_url)
    assert len(emulator.state.find_by_name("nda-drafting")[0].versions) == 2


def test_a_lost_create_whose_check_fails_is_adopted_by_the_next_apply(
    cli: Cli, repo: Repo, emulator: EmulatorServer, pg_url: str
) -> None:
    assert cli("apply").code == 0
    repo.write(skill_files("lease-review"))
    repo.commit("a new skill")
    # 1: the listing; 2: the create (committed, answer lost); 3, 4: the check's listing
    # fails, and the breaker opens (3 failures in a row): the outcome stays unknown
    emulator.faults.set(lost_nth={1}, fail_nth={3: 500, 4: 500})
    result = cli("apply")
    assert_clean_failure(result, "may have been applied")
    assert len(emulator.state.find_by_name("lease-review")) == 1
    (failed,) = [r for r in runs(pg_url) if r["status"] == "failed"]
    assert "may have been applied" in failed["error"]
    # the proof of ownership: the lost skill carries the nonce the failed run journaled
    (lost,) = emulator.state.find_by_name("lease-review")
    journaled = {e.get("nonce") for e in failed["journal"] if e.get("skill") == "lease-review"}
    assert read_marker(lost.versions[0].files["lease-review/SKILL.md"]) in journaled
    uploads = emulator.stats.uploads
    converges(cli, emulator, pg_url, ALL | {"lease-review"})
    assert [s.id for s in emulator.state.find_by_name("lease-review")] == [lost.id]
    assert emulator.stats.uploads == uploads + 1  # a new version on the adopted skill


def test_a_seeded_rate_of_lost_responses_never_duplicates(
    cli: Cli, repo: Repo, emulator: EmulatorServer, pg_url: str
) -> None:
    names = [f"matter-{i}" for i in range(6)]
    for name in names:
        repo.write(skill_files(name))
    repo.commit("six more")
    emulator.faults.set(lost_rate=0.5, seed=11)
    result = cli("apply")
    if result.code != 0:
        assert_clean_failure(result)
    assert emulator.stats.faults.get("lost", 0) >= 2
    converges(cli, emulator, pg_url, ALL | set(names))


# --- a listing that comes back empty ------------------------------------------------------


def test_an_api_that_suddenly_lists_nothing_is_not_refilled(
    cli: Cli, emulator: EmulatorServer, pg_url: str
) -> None:
    """Wrong workspace, or a broken listing: recreating everything would be worse."""
    assert cli("apply").code == 0
    before = table_snapshot(pg_url)
    saved = emulator.state.to_dict()
    emulator.state.clear()
    uploads = emulator.stats.uploads
    result = cli("apply", "--prune")
    assert_clean_failure(result, "apply refused by policy", "refusing to recreate")
    assert emulator.stats.uploads == uploads
    assert table_snapshot(pg_url)["skills"] == before["skills"]
    emulator.state.load_dict(saved)  # the right workspace again
    converges(cli, emulator, pg_url)


# --- a persistent outage: the circuit breaker ------------------------------------------


def test_a_persistent_outage_fails_fast_and_writes_nothing(
    cli: Cli, emulator: EmulatorServer, pg_url: str, redis_url: str, redis_prefix: str
) -> None:
    emulator.faults.set(error_rate=1.0, error_statuses=(503,))
    started = time.monotonic()
    result = cli("apply")
    assert time.monotonic() - started < 5
    assert_clean_failure(result, "circuit open")
    assert emulator.stats.requests <= 3  # the breaker stopped the retries
    nothing_written(pg_url, redis_url, redis_prefix)
    (failed,) = runs(pg_url)  # nothing written but the record of the failed run
    assert failed["status"] == "failed" and "circuit open" in failed["error"], failed
    assert failed["journal"] == []
    converges(cli, emulator, pg_url)


def test_an_outage_of_the_uploads_fails_fast_and_writes_nothing(
    cli: Cli, emulator: EmulatorServer, pg_url: str, redis_url: str, redis_prefix: str
) -> None:
    with pytest.MonkeyPatch.context() as mp:
        install_script(mp, emulator, lambda n, mutating: Decision(status=503) if mutating else None)
        result = cli("apply")
    assert_clean_failure(result, "uploads failed", "nothing was deployed")
    nothing_written(pg_url, redis_url, redis_prefix)
    assert [r["status"] for r in runs(pg_url)] == ["failed"]
    converges(cli, emulator, pg_url)


def test_an_outage_then_recovery_in_one_long_apply_is_survived(
    cli: Cli, emulator: EmulatorServer, pg_url: str
) -> None:
    """Two failures, then the server is back: under the breaker's threshold."""
    emulator.faults.set(fail_nth={1: 503, 2: 503})
    assert cli("apply").code == 0
    converges(cli, emulator, pg_url)
    assert isinstance(emulator.faults.config, Faults)
