"""Masking of secrets in anything we print or log."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_KEY_SHAPES = re.compile(
    r"(sk-ant-[A-Za-z0-9_\-]{4})[A-Za-z0-9_\-]+|(gh[pousr]_)[A-Za-z0-9]{20,}|(github_pat_)\w{20,}"
)


def redact_url(url: str) -> str:
    """Hide the password (and any token-like user) of a URL, keep the rest readable."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:***@{host}" if parts.username else f":***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Replace every known secret value and every key-shaped token with a mask."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = re.sub(r"://([^:/@\s]*):([^@\s]+)@", r"://\1:***@", text)
    return _KEY_SHAPES.sub(lambda m: (m.group(1) or m.group(2) or m.group(3)) + "***", text)
