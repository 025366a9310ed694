"""The Redis target: derived from the database, never the source of truth (docs/live-contract.md).

Keys, each prefixed by SYNCBOT_REDIS_PREFIX (the pub/sub channel too, so that two
deployments sharing one Redis under different prefixes do not hear each other):

    <prefix>skill:cache:<skill_id>       JSON of the skill's row, with a TTL
    <prefix>skills:registry              {"revision": n, "routes": [...]}
    <prefix>skills:registry:revision     the counter behind n
    <prefix>skills:rollouts:<env>        hash: skill name -> percentage text
    <prefix>skills:changed               channel: {"environment": ..., "revision": n}

Timeouts are short and nothing is retried: a dead Redis must cost
about a second, since the run then goes on degraded rather than failing. JSON is canonical
(sorted keys, compact) so equal content is stored as equal bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from syncbot.canonical import canonical_json
from syncbot.errors import TargetError
from syncbot.live import CacheState
from syncbot.redact import connection_secrets, redact_text, redact_url
from syncbot.settings import check_url

ENTRY_KEY = "skill:cache:"
REGISTRY_KEY = "skills:registry"
REVISION_KEY = "skills:registry:revision"
ROLLOUTS_KEY = "skills:rollouts:"
CHANNEL = "skills:changed"
UNREADABLE = "_unreadable"  # marks a value that is not what the bot writes there (stale)

# Atomic with the rest of the MULTI: bump the revision, store the snapshot that carries it,
# publish it. The JSON is assembled here exactly as canonical_json would print it
# ("revision" sorts before "routes", "environment" before "revision").
_SNAPSHOT_AND_PUBLISH = """
local revision
if ARGV[1] == '1' then
  revision = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1],
    '{"revision":' .. string.format('%d', revision) .. ',"routes":' .. ARGV[2] .. '}')
else
  revision = tonumber(redis.call('GET', KEYS[2]) or '0')
end
redis.call('PUBLISH', ARGV[4],
  '{"environment":' .. ARGV[3] .. ',"revision":' .. string.format('%d', revision) .. '}')
return revision
"""


@dataclass
class CacheStats:
    round_trips: int = 0


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def _url_secrets(url: str) -> tuple[str, ...]:
    return tuple(sorted(connection_secrets(url)))


def _parse_object(raw: str) -> dict[str, Any]:
    """A JSON object as stored by `write`; anything else is returned marked as unreadable."""
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {UNREADABLE: raw}


class Cache:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "",
        ttl_s: int = 3600,
        max_entries: int = 100,
        timeout_s: float = 1.0,
    ) -> None:
        check_url("REDIS_URL", url)
        self._display = redact_url(url)
        self._secrets = _url_secrets(url)
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self.stats = CacheStats()
        try:
            self._client = redis.Redis.from_url(
                url,
                socket_timeout=timeout_s,
                socket_connect_timeout=timeout_s,
                retry=Retry(NoBackoff(), 0),
                decode_responses=True,
            )
        except ValueError as exc:
            raise TargetError("cache", f"invalid REDIS_URL {self._display}: {exc}") from exc

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _key(self, name: str) -> str:
        return self._prefix + name

    def _describe(self, exc: BaseException) -> str:
        text = " ".join(str(exc).split()) or type(exc).__name__
        return f"{redact_text(text, self._secrets)} (redis at {self._display})"

    # -- reads

    def ping(self) -> None:
        self.stats.round_trips += 1
        try:
            self._client.ping()
        except redis.RedisError as exc:
            raise TargetError("cache", f"ping failed: {self._describe(exc)}") from exc

    def read_state(self, environment: str, skill_ids: Sequence[str]) -> CacheState:
        """Entries, registry and rollouts in ONE pipelined round trip; never raises."""
        ids = list(dict.fromkeys(skill_ids))
        pipe = self._client.pipeline(transaction=False)
        if ids:
            pipe.mget([self._key(ENTRY_KEY + i) for i in ids])
        pipe.get(self._key(REGISTRY_KEY))
        pipe.hgetall(self._key(ROLLOUTS_KEY + environment))
        self.stats.round_trips += 1
        try:
            results = pipe.execute(raise_on_error=False)
        except redis.RedisError as exc:
            return CacheState(available=False, error=self._describe(exc))
        finally:
            pipe.reset()
        values = results[0] if ids else []
        if isinstance(values, Exception):
            return CacheState(available=False, error=self._describe(values))
        return CacheState(
            available=True,
            entries={
                i: None if v is None else _parse_object(v) for i, v in zip(ids, values, strict=True)
            },
            registry=self._registry(results[-2]),
            rollouts=self._rollouts(results[-1]),
        )

    def _registry(self, result: Any) -> dict[str, Any] | None:
        if isinstance(result, Exception):  # WRONGTYPE: something else sits at the key
            return {UNREADABLE: self._describe(result)}
        return None if result is None else _parse_object(result)

    def _rollouts(self, result: Any) -> dict[str, str]:
        if isinstance(result, Exception):
            return {UNREADABLE: self._describe(result)}
        return dict(result)

    def count_entries(self) -> int:
        """Cache entries under our prefix, by SCAN (KEYS would block the server)."""
        pattern = _glob_escape(self._prefix) + ENTRY_KEY + "*"
        seen: set[str | bytes] = set()
        cursor = 0
        try:
            while True:
                self.stats.round_trips += 1
                cursor, keys = self._client.scan(cursor, match=pattern, count=500)
                seen.update(keys)  # SCAN may return a key twice
                if cursor == 0:
                    return len(seen)
        except redis.RedisError as exc:
            raise TargetError("cache", f"cannot count entries: {self._describe(exc)}") from exc

    # -- the write

    def write(
        self,
        environment: str,
        *,
        entries: Mapping[str, Mapping[str, Any]],
        delete_ids: Sequence[str],
        routes: Sequence[Mapping[str, Any]] | None,
        rollouts: Mapping[str, str] | None,
    ) -> int:
        """One MULTI/EXEC: entries (the first max_entries), deletions, snapshot, rollouts,
        then the publish. Returns the registry revision (unchanged when routes is None)."""
        pipe = self._client.pipeline(transaction=True)
        for skill_id, entry in list(entries.items())[: self._max_entries]:
            pipe.set(self._key(ENTRY_KEY + skill_id), canonical_json(entry), ex=self._ttl_s)
        if delete_ids:
            pipe.unlink(*(self._key(ENTRY_KEY + i) for i in delete_ids))
        if rollouts is not None:
            self._queue_rollouts(pipe, environment, rollouts)
        self._queue_snapshot(pipe, environment, routes)
        self.stats.round_trips += 1
        try:
            results = pipe.execute(raise_on_error=False)
        except redis.RedisError as exc:
            raise TargetError("cache", f"write failed: {self._describe(exc)}") from exc
        finally:
            pipe.reset()
        failed = [r for r in results if isinstance(r, Exception)]
        if failed:
            # MULTI does not roll back: the other commands were applied; the next run repairs
            raise TargetError("cache", f"write partly failed: {self._describe(failed[0])}")
        return int(results[-1])

    def _queue_rollouts(
        self, pipe: redis.client.Pipeline, environment: str, rollouts: Mapping[str, str]
    ) -> None:
        key = self._key(ROLLOUTS_KEY + environment)
        pipe.delete(key)
        if rollouts:
            mapping: dict[Any, Any] = dict(rollouts)
            pipe.hset(key, mapping=mapping)

    def _queue_snapshot(
        self,
        pipe: redis.client.Pipeline,
        environment: str,
        routes: Sequence[Mapping[str, Any]] | None,
    ) -> None:
        routes_json = "" if routes is None else canonical_json([dict(r) for r in routes])
        pipe.eval(
            _SNAPSHOT_AND_PUBLISH,
            2,
            self._key(REGISTRY_KEY),
            self._key(REVISION_KEY),
            "0" if routes is None else "1",
            routes_json,
            json.dumps(environment, ensure_ascii=False),
            self._key(CHANNEL),
        )
