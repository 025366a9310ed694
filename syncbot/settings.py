"""Runtime settings read from the environment (SPEC section 6), with secrets kept out of repr."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from syncbot.errors import SyncbotError

DEFAULT_ENVIRONMENT = "staging"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SyncbotError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise SyncbotError(f"{name} must be positive, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SyncbotError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    api_key: str = field(default="", repr=False)
    base_url: str = "https://api.anthropic.com"
    skills_enabled: bool = True
    beta_version: str | None = None
    cache_ttl_s: int = 3600
    max_cache_size: int = 100
    upload_timeout_ms: int = 60_000
    database_url: str = field(default="", repr=False)
    redis_url: str = field(default="", repr=False)
    redis_prefix: str = ""
    environment: str = DEFAULT_ENVIRONMENT

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            api_key=env.get("ANTHROPIC_API_KEY", ""),
            base_url=env.get("ANTHROPIC_BASE_URL", "") or "https://api.anthropic.com",
            skills_enabled=_bool(env, "ANTHROPIC_SKILLS_ENABLED", True),
            beta_version=env.get("ANTHROPIC_SKILLS_BETA_VERSION") or None,
            cache_ttl_s=_int(env, "SKILLS_CACHE_TTL", 3600),
            max_cache_size=_int(env, "SKILLS_MAX_CACHE_SIZE", 100),
            upload_timeout_ms=_int(env, "SKILLS_UPLOAD_TIMEOUT", 60_000),
            database_url=env.get("DATABASE_URL", ""),
            redis_url=env.get("REDIS_URL", ""),
            redis_prefix=env.get("SYNCBOT_REDIS_PREFIX", ""),
            environment=env.get("SYNCBOT_ENV", "") or DEFAULT_ENVIRONMENT,
        )

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in output: the key and the URLs' passwords.

        Only the password is secret: the host and database stay visible in messages, since
        "cannot connect to db.internal:5432" is what an on-call engineer needs to read.
        """
        passwords = (_password(self.database_url), _password(self.redis_url))
        return tuple(s for s in (self.api_key, *passwords) if s)


def _password(url: str) -> str:
    try:
        return unquote(urlsplit(url).password or "")
    except ValueError:
        return url  # unparseable: hide all of it
