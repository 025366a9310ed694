"""Opens the live targets for one environment from the settings, and closes them."""

from __future__ import annotations

from dataclasses import dataclass

from syncbot.errors import SyncbotError
from syncbot.settings import Settings
from syncbot.targets.postgres import Database
from syncbot.targets.redis_cache import Cache
from syncbot.targets.skills_api import ApiSettings, SkillsApiClient


@dataclass
class Targets:
    api: SkillsApiClient | None
    db: Database
    cache: Cache

    def close(self) -> None:
        for target in (self.api, self.db, self.cache):
            if target is not None:
                target.close()

    def __enter__(self) -> Targets:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def api_settings(settings: Settings, **overrides: object) -> ApiSettings:
    return ApiSettings(
        base_url=settings.base_url,
        api_key=settings.api_key,
        beta_version=settings.beta_version,
        timeout_ms=settings.upload_timeout_ms,
        **overrides,  # type: ignore[arg-type]
    )


def open_targets(settings: Settings) -> Targets:
    if not settings.database_url:
        raise SyncbotError("DATABASE_URL is not set (run `syncbot doctor` for help)")
    if not settings.redis_url:
        raise SyncbotError("REDIS_URL is not set (run `syncbot doctor` for help)")
    api = None
    if settings.skills_enabled:
        if not settings.api_key:
            raise SyncbotError(
                "ANTHROPIC_API_KEY is not set (or set ANTHROPIC_SKILLS_ENABLED=false)"
            )
        api = SkillsApiClient(api_settings(settings))
    db = Database(settings.database_url)
    cache = Cache(
        settings.redis_url,
        prefix=settings.redis_prefix,
        ttl_s=settings.cache_ttl_s,
        max_entries=settings.max_cache_size,
    )
    return Targets(api=api, db=db, cache=cache)


__all__ = ["Targets", "open_targets"]
