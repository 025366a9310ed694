"""Fault injection, auth and protocol edges, thread safety, stats and persistence."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import anthropic
import httpx
import pytest

from syncbot.emulator import EmulatorServer, Faults

HEADERS = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
Files = list[tuple[str, bytes]]


def statuses(http: httpx.Client, count: int) -> list[int]:
    return [http.get("/v1/skills", headers=HEADERS).status_code for _ in range(count)]


def test_latency_is_added_and_can_be_changed_at_runtime(
    server: EmulatorServer, http: httpx.Client
) -> None:
    server.faults.set(latency_ms=150)
    started = time.monotonic()
    http.get("/v1/skills", headers=HEADERS)
    assert time.monotonic() - started >= 0.15
    server.faults.set(latency_ms=0)
    started = time.monotonic()
    http.get("/v1/skills", headers=HEADERS)
    assert time.monotonic() - started < 0.1


def test_nth_request_faults_count_from_when_they_are_set(
    server: EmulatorServer, http: httpx.Client
) -> None:
    statuses(http, 3)  # requests before the faults are set do not count
    server.faults.set(fail_nth={2: 503, 4: 529})
    assert statuses(http, 5) == [200, 503, 200, 529, 200]
    server.faults = Faults(fail_nth={1: 500})
    assert statuses(http, 2) == [500, 200]
    assert server.stats.faults["status:529"] == 1


def test_error_rate_is_deterministic_with_a_seed(
    server: EmulatorServer, http: httpx.Client
) -> None:
    server.faults.set(error_rate=0.3, error_statuses=(500, 529), seed=42)
    first = statuses(http, 40)
    server.faults.set(error_rate=0.3, error_statuses=(500, 529), seed=42)
    assert statuses(http, 40) == first
    assert {500, 529, 200} == set(first)
    assert 4 <= sum(status != 200 for status in first) <= 20


def test_injected_errors_use_the_right_error_types(
    server: EmulatorServer, http: httpx.Client
) -> None:
    server.faults.set(fail_nth={1: 500, 2: 529, 3: 503, 4: 408})
    types = [http.get("/v1/skills", headers=HEADERS).json()["error"]["type"] for _ in range(4)]
    assert types == ["api_error", "overloaded_error", "overloaded_error", "timeout_error"]


def test_rate_limit_rate_answers_429_with_retry_after(
    server: EmulatorServer, http: httpx.Client
) -> None:
    server.faults.set(rate_limit_rate=1.0, retry_after=2)
    response = http.get("/v1/skills", headers=HEADERS)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.json()["error"]["type"] == "rate_limit_error"
    assert response.headers["request-id"] == response.json()["request_id"]


def test_rate_limit_on_the_nth_request(server: EmulatorServer, http: httpx.Client) -> None:
    server.faults.set(rate_limit_nth={2}, retry_after=1.5)
    responses = [http.get("/v1/skills", headers=HEADERS) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 429, 200]
    assert responses[1].headers["retry-after"] == "1.5"


def test_lost_response_commits_the_change_but_the_client_gets_no_answer(
    server: EmulatorServer, client: anthropic.Anthropic, make_files: Callable[..., Files]
) -> None:
    server.faults.set(lost_nth={1})
    with pytest.raises(anthropic.APIConnectionError):
        client.skills.create(files=make_files("alpha"))
    committed = server.state.skills()
    assert [skill.name for skill in committed] == ["alpha"]
    assert server.stats.uploads == 1 and server.stats.faults["lost"] == 1
    # The connection pool recovers: the next call works and sees the committed skill.
    assert [s.id for s in client.skills.list()] == [committed[0].id]


def test_lost_response_with_sdk_retries_duplicates_the_upload(
    server: EmulatorServer, make_files: Callable[..., Files]
) -> None:
    """Why syncbot must reconcile before retrying creates: the SDK retries blindly."""
    server.faults.set(lost_nth={1})
    with anthropic.Anthropic(api_key="t", base_url=server.base_url, max_retries=1) as client:
        client.skills.create(files=make_files("alpha"))
    assert [skill.name for skill in server.state.skills()] == ["alpha", "alpha"]


def test_lost_responses_only_hit_mutating_requests(
    server: EmulatorServer, http: httpx.Client, make_files: Callable[..., Files]
) -> None:
    server.faults.set(lost_rate=1.0)
    assert statuses(http, 2) == [200, 200]
    files = [("files[]", item) for item in make_files("alpha")]
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/v1/skills", headers=HEADERS, files=files)
    assert len(server.state.skills()) == 1


def test_faults_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        Faults(error_rate=1.5)
    with pytest.raises(ValueError):
        Faults(fail_nth={0: 500})
    with pytest.raises(ValueError):
        Faults(error_statuses=(200,))


def test_auth_and_version_headers_are_required(server: EmulatorServer, http: httpx.Client) -> None:
    missing_key = http.get("/v1/skills", headers={"anthropic-version": "2023-06-01"})
    assert missing_key.status_code == 401
    assert missing_key.json()["error"]["type"] == "authentication_error"
    bearer = http.get(
        "/v1/skills", headers={"authorization": "Bearer k", "anthropic-version": "2023-06-01"}
    )
    assert bearer.status_code == 200
    missing_version = http.get("/v1/skills", headers={"x-api-key": "k"})
    assert missing_version.status_code == 400
    assert "anthropic-version" in missing_version.json()["error"]["message"]


def test_unknown_paths_and_wrong_methods(http: httpx.Client) -> None:
    unknown = http.get("/v1/unknown", headers=HEADERS)
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "not_found_error"
    wrong = http.put("/v1/skills", headers=HEADERS)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, POST"
    assert wrong.json()["type"] == "error" and wrong.json()["request_id"].startswith("req_")


def test_concurrent_uploads_are_all_kept(
    server: EmulatorServer, make_files: Callable[..., Files]
) -> None:
    errors: list[BaseException] = []

    def upload(index: int) -> None:
        try:
            with httpx.Client(base_url=server.base_url) as http:
                for n in range(5):
                    files = [("files[]", f) for f in make_files(f"skill-{index}-{n}")]
                    http.post("/v1/skills", headers=HEADERS, files=files).raise_for_status()
        except BaseException as exc:  # collected, re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    skills = server.state.skills()
    assert len({skill.id for skill in skills}) == 40
    stamps = [int(skill.versions[0].version) for skill in skills]
    assert len(set(stamps)) == 40


def test_latency_overlaps_for_concurrent_requests(
    server: EmulatorServer,
) -> None:
    server.faults.set(latency_ms=200)

    def get() -> None:
        with httpx.Client(base_url=server.base_url) as http:
            http.get("/v1/skills", headers=HEADERS).raise_for_status()

    threads = [threading.Thread(target=get) for _ in range(10)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 1.0


def test_stats_count_routes_and_uploads_and_reset(
    server: EmulatorServer, client: anthropic.Anthropic, make_files: Callable[..., Files]
) -> None:
    skill = client.skills.create(files=make_files("alpha"))
    client.skills.versions.create(skill.id, files=make_files("alpha"))
    client.skills.retrieve(skill.id)
    with pytest.raises(anthropic.BadRequestError):
        client.skills.create(files=make_files("Bad"))

    assert server.stats.uploads == 2
    assert server.stats.requests == 4
    assert server.stats.by_route == {
        "POST /v1/skills": 2,
        "POST /v1/skills/{skill_id}/versions": 1,
        "GET /v1/skills/{skill_id}": 1,
    }
    server.stats.reset()
    assert (server.stats.requests, server.stats.uploads, server.stats.by_route) == (0, 0, {})


def test_state_can_be_changed_directly_to_make_drift(
    server: EmulatorServer, client: anthropic.Anthropic, make_files: Callable[..., Files]
) -> None:
    skill = client.skills.create(files=make_files("alpha"))
    added = server.state.create_version(skill.id, make_files("alpha", description="Drifted."))
    assert client.skills.retrieve(skill.id).latest_version_id == added.id
    server.state.delete_skill(skill.id)
    with pytest.raises(anthropic.NotFoundError):
        client.skills.retrieve(skill.id)


def test_persistence_survives_a_restart(tmp_path: Path, make_files: Callable[..., Files]) -> None:
    path = tmp_path / "state" / "skills.json"
    with EmulatorServer(persist_path=path) as first:
        client = anthropic.Anthropic(api_key="t", base_url=first.base_url, max_retries=0)
        with client:
            skill = client.skills.create(files=make_files("alpha", helper=b"\x00\xffbinary"))
            version = client.skills.versions.create(skill.id, files=make_files("alpha"))
    assert json.loads(path.read_text())["format"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["skills.json"]  # no temp files left

    with EmulatorServer(persist_path=path) as second:
        client = anthropic.Anthropic(api_key="t", base_url=second.base_url, max_retries=0)
        with client:
            restored = client.skills.retrieve(skill.id)
            assert restored.latest_version_id == version.id
            newer = client.skills.versions.create(skill.id, files=make_files("alpha"))
        record = second.state.get_version(skill.id, skill.latest_version_id)
        assert record.files["alpha/scripts/helper.py"] == b"\x00\xffbinary"
        assert int(second.state.get_version(skill.id, newer.id).version) > int(
            second.state.get_version(skill.id, version.id).version
        )


def test_a_corrupt_state_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "skills.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not an emulator state file"):
        EmulatorServer(persist_path=path)


def test_stop_closes_idle_keep_alive_connections(make_files: Callable[..., Files]) -> None:
    server = EmulatorServer().start()
    http = httpx.Client(base_url=server.base_url)
    http.get("/v1/skills", headers=HEADERS)
    started = time.monotonic()
    server.stop()
    server.stop()  # idempotent
    assert time.monotonic() - started < 2
    with pytest.raises(httpx.TransportError):
        http.get("/v1/skills", headers=HEADERS)
    http.close()


def test_head_and_options_get_enveloped_answers(http: httpx.Client) -> None:
    options = http.options("/v1/skills", headers=HEADERS)
    assert options.status_code == 405 and options.json()["type"] == "error"
    head = http.head("/v1/skills", headers=HEADERS)
    assert head.status_code == 405 and head.content == b""
    assert head.headers["request-id"].startswith("req_")
    assert http.get("/v1/skills", headers=HEADERS).status_code == 200  # connection still sane
