"""syncbot.targets.redis_cache against the real Redis, one key prefix per test."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from syncbot.errors import SyncbotError, TargetError
from syncbot.targets.redis_cache import UNREADABLE, Cache

ENV = "staging"
ROUTES = [
    {"skill": "a", "category": "legal", "priority": 1, "min_confidence": 0.7, "patterns": []},
    {"skill": "b", "category": "drafting", "priority": 2, "min_confidence": 0.5, "patterns": []},
]
DOWN_URL = "redis://:s3cr3t-pw@127.0.0.1:1/0"


def entry(skill_id: str, **extra: Any) -> dict[str, Any]:
    return {"skill_id": skill_id, "version_id": "v1", "name": f"skill-{skill_id}", **extra}


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    yield raw
    raw.close()


@pytest.fixture
def cache(redis_url: str, redis_prefix: str) -> Iterator[Cache]:
    with Cache(redis_url, prefix=redis_prefix, ttl_s=600, max_entries=100) as c:
        yield c


def write(cache: Cache, **kwargs: Any) -> int:
    args: dict[str, Any] = {"entries": {}, "delete_ids": [], "routes": None, "rollouts": None}
    return cache.write(ENV, **(args | kwargs))


def test_write_then_read_state_round_trip(cache: Cache) -> None:
    entries = {"id1": entry("id1", critical=True), "id2": entry("id2")}
    before = cache.stats.round_trips
    revision = write(cache, entries=entries, routes=ROUTES, rollouts={"a": "5", "b": "12.5"})
    assert cache.stats.round_trips - before == 1
    state = cache.read_state(ENV, ["id1", "id2", "id3"])
    assert cache.stats.round_trips - before == 2
    assert state.available and state.error is None
    assert state.entries == {"id1": entries["id1"], "id2": entries["id2"], "id3": None}
    assert state.registry == {"revision": revision, "routes": ROUTES}
    assert state.rollouts == {"a": "5", "b": "12.5"}


def test_read_state_of_an_empty_cache(cache: Cache) -> None:
    state = cache.read_state(ENV, [])
    assert state.available
    assert (state.entries, state.registry, state.rollouts) == ({}, None, {})


def test_keys_are_prefixed_and_json_is_canonical(
    cache: Cache, client: redis.Redis, redis_prefix: str
) -> None:
    write(cache, entries={"id1": {"b": 1, "a": "ă"}}, routes=ROUTES, rollouts={"a": "5"})
    assert client.get(f"{redis_prefix}skill:cache:id1") == '{"a":"ă","b":1}'
    snapshot = client.get(f"{redis_prefix}skills:registry")
    assert snapshot == json.dumps(
        {"revision": 1, "routes": ROUTES}, sort_keys=True, separators=(",", ":")
    )
    assert client.hgetall(f"{redis_prefix}skills:rollouts:{ENV}") == {"a": "5"}
    assert client.get("skill:cache:id1") is None


def test_entries_are_capped_at_max_entries_in_the_given_order(
    redis_url: str, redis_prefix: str
) -> None:
    with Cache(redis_url, prefix=redis_prefix, max_entries=3) as cache:
        ids = ["e5", "e1", "e4", "e2", "e3"]
        write(cache, entries={i: entry(i) for i in ids})
        state = cache.read_state(ENV, ids)
        assert [i for i, v in state.entries.items() if v is not None] == ["e5", "e1", "e4"]
        assert cache.count_entries() == 3


def test_entries_expire_after_the_ttl(cache: Cache, client: redis.Redis, redis_prefix: str) -> None:
    write(cache, entries={"id1": entry("id1")})
    ttl = client.ttl(f"{redis_prefix}skill:cache:id1")
    assert 590 < ttl <= 600
    assert client.ttl(f"{redis_prefix}skills:registry") in (-1, -2)  # the snapshot never expires


def test_registry_revision_increments_only_with_routes(cache: Cache) -> None:
    assert write(cache, routes=ROUTES) == 1
    assert write(cache, routes=ROUTES[:1]) == 2
    assert write(cache, routes=None, rollouts={"a": "1"}) == 2
    registry = cache.read_state(ENV, []).registry
    assert registry == {"revision": 2, "routes": ROUTES[:1]}


def test_rollouts_hash_is_replaced_not_merged(cache: Cache) -> None:
    write(cache, rollouts={"a": "5", "b": "10"})
    write(cache, rollouts={"a": "25"})
    assert cache.read_state(ENV, []).rollouts == {"a": "25"}
    write(cache, rollouts=None)
    assert cache.read_state(ENV, []).rollouts == {"a": "25"}
    write(cache, rollouts={})
    assert cache.read_state(ENV, []).rollouts == {}
    assert cache.read_state("production", []).rollouts == {}


def test_deleted_ids_are_unlinked(cache: Cache) -> None:
    write(cache, entries={"id1": entry("id1"), "id2": entry("id2")})
    write(cache, delete_ids=["id1", "missing"])
    assert cache.read_state(ENV, ["id1", "id2"]).entries == {"id1": None, "id2": entry("id2")}


def test_each_write_is_published_with_its_revision(
    cache: Cache, client: redis.Redis, redis_prefix: str
) -> None:
    pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    try:
        pubsub.subscribe(f"{redis_prefix}skills:changed")
        pubsub.get_message(timeout=1.0)  # the subscription confirmation
        write(cache, routes=ROUTES)
        write(cache, rollouts={"a": "5"})
        received = [pubsub.get_message(timeout=2.0) for _ in range(2)]
    finally:
        pubsub.close()
    assert [m["data"] if m else None for m in received] == [
        '{"environment":"staging","revision":1}',
        '{"environment":"staging","revision":1}',
    ]


def test_values_the_bot_did_not_write_read_as_unreadable_and_are_repaired(
    cache: Cache, client: redis.Redis, redis_prefix: str
) -> None:
    client.set(f"{redis_prefix}skill:cache:id1", "not json")
    client.set(f"{redis_prefix}skill:cache:id2", "[1, 2]")
    client.hset(f"{redis_prefix}skills:registry", "x", "y")
    client.set(f"{redis_prefix}skills:rollouts:{ENV}", "oops")
    state = cache.read_state(ENV, ["id1", "id2"])
    assert state.available
    assert state.entries == {"id1": {UNREADABLE: "not json"}, "id2": {UNREADABLE: "[1, 2]"}}
    assert state.registry is not None and UNREADABLE in state.registry
    assert UNREADABLE in state.rollouts
    write(cache, entries={"id1": entry("id1")}, routes=ROUTES, rollouts={"a": "5"})
    repaired = cache.read_state(ENV, ["id1"])
    assert repaired.entries["id1"] == entry("id1")
    assert repaired.registry == {"revision": 1, "routes": ROUTES}
    assert repaired.rollouts == {"a": "5"}


def test_count_entries_scans_only_our_prefix(redis_url: str, redis_prefix: str) -> None:
    # glob characters in a prefix must match literally
    with (
        Cache(redis_url, prefix=f"{redis_prefix}[x]*") as odd,
        Cache(redis_url, prefix=f"{redis_prefix}x") as other,
    ):
        write(odd, entries={f"id{i}": entry(f"id{i}") for i in range(7)})
        write(other, entries={"id1": entry("id1")})
        assert odd.count_entries() == 7
        assert other.count_entries() == 1


def test_a_dead_redis_reads_as_unavailable_quickly(redis_prefix: str) -> None:
    with Cache(DOWN_URL, prefix=redis_prefix) as cache:
        started = time.monotonic()
        state = cache.read_state(ENV, ["id1"])
        assert time.monotonic() - started < 2
        assert not state.available
        assert state.error is not None and "s3cr3t" not in state.error
        assert "127.0.0.1:1" in state.error


@pytest.mark.parametrize("operation", ["write", "ping", "count_entries"])
def test_a_dead_redis_fails_writes_quickly_without_the_password(
    redis_prefix: str, operation: str
) -> None:
    with Cache(DOWN_URL, prefix=redis_prefix) as cache:
        started = time.monotonic()
        with pytest.raises(TargetError) as caught:
            if operation == "write":
                write(cache, routes=ROUTES)
            else:
                getattr(cache, operation)()
        assert time.monotonic() - started < 2
    message = str(caught.value)
    assert message.startswith("cache: ")
    assert "s3cr3t" not in message and ":***@" in message


def test_an_invalid_url_is_a_target_error() -> None:
    with pytest.raises(SyncbotError, match=r"REDIS_URL is not a Redis URL \(expected") as caught:
        Cache("http://:s3cr3t@127.0.0.1:6379")
    assert "s3cr3t" not in str(caught.value)
