"""The error hierarchy. One top-level handler (cli.py) maps these to exit codes.

`SyncbotError` and its subclasses are user-facing (exit 1): their message is one clear
line, never a traceback. Anything else that escapes is a bug (exit 3).
"""

from __future__ import annotations

from dataclasses import dataclass


class SyncbotError(Exception):
    """A user-facing failure: exit code 1, message shown as one line."""

    exit_code = 1

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


@dataclass(frozen=True, order=True)
class Location:
    """A place in the repository: POSIX path relative to the repo root, 1-based line."""

    file: str
    line: int = 1
    column: int | None = None


class ConfigError(SyncbotError):
    """Invalid input file: carries the rule id, the file and the line."""

    def __init__(self, rule: str, location: Location, message: str) -> None:
        super().__init__(f"{location.file}:{location.line}: {rule}: {message}")
        self.rule = rule
        self.location = location
        self.reason = message


class ConfigErrors(SyncbotError):
    """Several ConfigErrors found in one pass (all are reported, not just the first)."""

    def __init__(self, errors: list[ConfigError]) -> None:
        first = errors[0].message if errors else "invalid configuration"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more)
        self.errors = errors


class TargetError(SyncbotError):
    """A live system (api, database, cache, github) failed or refused a request."""

    def __init__(self, target: str, message: str, *, detail: str | None = None) -> None:
        super().__init__(f"{target}: {message}", detail=detail)
        self.target = target


class ApiError(TargetError):
    """The Skills API answered with an error status (the API's own message is kept)."""

    def __init__(
        self, status: int, error_type: str, message: str, *, request_id: str | None = None
    ) -> None:
        rid = f" (request-id {request_id})" if request_id else ""
        super().__init__("skills-api", f"HTTP {status} {error_type}: {message}{rid}")
        self.status = status
        self.error_type = error_type
        self.api_message = message
        self.request_id = request_id


class CircuitOpenError(TargetError):
    """Too many consecutive failures: further requests fail fast."""


class LockTimeoutError(SyncbotError):
    """Another apply holds the environment's lock."""


class PolicyError(SyncbotError):
    """The plan is refused by policy: prune cap, stale saved plan, environment mismatch."""


class InternalError(SyncbotError):
    exit_code = 3
