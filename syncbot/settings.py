"""Runtime settings read from the environment (docs/cli.md), with secrets kept out of repr."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from syncbot.errors import SyncbotError
from syncbot.redact import connection_secrets

DEFAULT_ENVIRONMENT = "staging"

# What each URL variable must look like: its schemes and an example that works.
URL_FORMS = {
    "DATABASE_URL": (("postgresql", "postgres"), "postgresql://user@host:5432/dbname"),
    "REDIS_URL": (("redis", "rediss", "unix"), "redis://host:6379/0"),
    "ANTHROPIC_BASE_URL": (("https", "http"), "https://api.anthropic.com"),
}
_KIND = {"DATABASE_URL": "PostgreSQL", "REDIS_URL": "Redis", "ANTHROPIC_BASE_URL": "HTTP(S)"}
_KEYWORDS = re.compile(r"^\s*\w+\s*=")  # libpq's `host=... dbname=...` form


def url_problem(name: str, url: str) -> str | None:
    """Why `url` cannot be the value of `name`, in one line that shows no secret; None
    when its form is right (whether the server answers is for the connection to say)."""
    schemes, example = URL_FORMS[name]
    if name == "DATABASE_URL" and "://" not in url and _KEYWORDS.match(url):
        return None
    try:
        parts = urlsplit(url.strip())
        host_ok = bool(parts.hostname) or parts.scheme == "unix" or name == "DATABASE_URL"
    except ValueError:
        parts, host_ok = None, False
    if parts is not None and "://" in url and parts.scheme.lower() in schemes and host_ok:
        return None
    article = "an" if _KIND[name][0] in "AEIOUH" else "a"
    return f"{name} is not {article} {_KIND[name]} URL (expected {example})"


def check_url(name: str, url: str) -> None:
    """Raise the one-line SyncbotError of `url_problem`, if any."""
    problem = url_problem(name, url)
    if problem is not None:
        raise SyncbotError(problem)


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
    # the key as the environment held it: a trailing newline (`echo key > file`) is
    # stripped, since no key has one and httpx would refuse it as a header value
    api_key_raw: str = field(default="", repr=False)
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
    github_tokens: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        raw_key = env.get("ANTHROPIC_API_KEY", "")
        return cls(
            api_key=raw_key.strip(),
            api_key_raw=raw_key,
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
            github_tokens=tuple(env.get(name, "") for name in _TOKEN_VARIABLES),
        )

    @property
    def api_key_trimmed(self) -> bool:
        """The environment's key had surrounding whitespace, which we removed."""
        return self.api_key != self.api_key_raw

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in output: the key (as given and stripped), every
        password the URLs carry (userinfo, query string, keyword connection string) and
        the GitHub tokens.

        Only passwords are secret: the host and database stay visible in messages, since
        "cannot connect to db.internal:5432" is what an on-call engineer needs to read.
        """
        found = {self.api_key, self.api_key_raw, *self.github_tokens}
        found |= connection_secrets(self.database_url) | connection_secrets(self.redis_url)
        return tuple(sorted(s for s in found if s.strip()))


# the tokens the `github` commands and the workflows hand to us
_TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")
