"""The API's error envelope and the exception that carries it through the emulator."""

from __future__ import annotations

from typing import Any

# Error `type` per HTTP status, as the API's error reference lists them.
ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "timeout_error",
    409: "conflict_error",
    411: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}

DEFAULT_MESSAGES: dict[str, str] = {
    "invalid_request_error": "Invalid request",
    "authentication_error": "Authentication error",
    "billing_error": "Billing error",
    "permission_error": "Permission denied",
    "not_found_error": "Not found",
    "timeout_error": "Request timeout",
    "conflict_error": "Conflict",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Rate limited",
    "api_error": "Internal server error",
    "overloaded_error": "Overloaded",
}


def error_type_for(status: int) -> str:
    """The error `type` for a status; unknown 4xx fall back as the API documents."""
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


class EmulatorError(Exception):
    """An API error answer: HTTP status, error type and message."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        type_: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.headers = headers or {}
        self.type = type_ or error_type_for(status)
        self.message = message or DEFAULT_MESSAGES.get(self.type, "Error")
        super().__init__(f"{status} {self.type}: {self.message}")

    def envelope(self, request_id: str) -> dict[str, Any]:
        return {
            "type": "error",
            "error": {"type": self.type, "message": self.message},
            "request_id": request_id,
        }


def invalid_request(message: str) -> EmulatorError:
    return EmulatorError(400, message)


def not_found(message: str) -> EmulatorError:
    return EmulatorError(404, message)
