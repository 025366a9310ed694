"""What the Skills API client is configured with, and the names its requests and errors carry."""

from __future__ import annotations

from dataclasses import dataclass, field

TARGET = "skills-api"
ANTHROPIC_VERSION = "2023-06-01"


@dataclass(frozen=True)
class ApiSettings:
    base_url: str = "https://api.anthropic.com"
    api_key: str = field(default="", repr=False)
    beta_version: str | None = None
    timeout_ms: int = 60_000
    max_retries: int = 4
    concurrency: int = 8
    breaker_threshold: int = 3
    breaker_reset_s: float = 10.0

    def __post_init__(self) -> None:
        if self.timeout_ms <= 0 or self.concurrency < 1 or self.max_retries < 0:
            raise ValueError("timeout_ms and concurrency must be positive, max_retries >= 0")
