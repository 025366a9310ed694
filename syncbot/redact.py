"""Masking of secrets in anything we print, log or store: by value first, then by shape.

The values come from the settings (`Settings.secrets()`): the API key, every password a
DATABASE_URL or REDIS_URL carries (userinfo, `?password=`, keyword `password=...`, quoted
or not) and the GitHub token. `register` makes them known process-wide, so that a message
built deep inside a target, a traceback shown with `-v` and a run journal written to the
database are all masked by the same list. Each value is also masked in the forms it takes
when a library quotes it: stripped of surrounding whitespace, `repr`-escaped (a header
value in an httpx error), JSON-escaped and percent-encoded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

MASK = "***"
MIN_SECRET = 4  # shorter values would mask ordinary words; no real secret is that short

_KEY_SHAPES = re.compile(
    r"(sk-ant-[A-Za-z0-9_\-]{4})[A-Za-z0-9_\-]+|(gh[pousr]_)[A-Za-z0-9]{20,}|(github_pat_)\w{20,}"
)
_SENSITIVE_NAME = re.compile(r"pass|pwd|secret|token|key|auth|credential", re.IGNORECASE)
# `password=...` in a keyword connection string or a query string: quoted with escapes,
# or up to the next space, `&` or `;`
_VALUE = r"(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s&;'\"]+)"
_KEYWORD = re.compile(r"(?P<name>\b(?:password|passwd|pwd)\s*=\s*)" + _VALUE, re.IGNORECASE)
# in a URL's query string any parameter named like a credential is masked
_QUERY = re.compile(
    r"(?P<name>(?:^|&)[^=&]*(?:pass|pwd|secret|token|key|auth)[^=&]*=)" + _VALUE, re.I
)
_USERINFO = re.compile(r"://([^:/@\s]*):([^@\s]+)@")
_REGISTERED: set[str] = set()


def variants(value: str) -> set[str]:
    """The forms one secret value takes in text: as is, stripped, escaped, encoded."""
    found: set[str] = set()
    for form in {value, value.strip()}:
        found |= {form, repr(form)[1:-1], json.dumps(form)[1:-1], quote(form, safe="")}
    return {v for v in found if len(v.strip()) >= MIN_SECRET}


def connection_secrets(url: str) -> set[str]:
    """Every password a database or Redis URL carries, however: userinfo, query, keywords."""
    found: set[str] = set()
    try:
        parts = urlsplit(url)
        if parts.password:
            found |= {parts.password, unquote(parts.password)}
        found |= {v for k, v in parse_qsl(parts.query) if _SENSITIVE_NAME.search(k)}
        found |= {
            unquote(raw)
            for k, _, raw in (p.partition("=") for p in parts.query.split("&"))
            if _SENSITIVE_NAME.search(k)
        }
    except ValueError:
        found.add(url)  # unparseable: hide all of it
    for match in (*_KEYWORD.finditer(url), *_QUERY.finditer(url)):
        raw = match.group("value")
        found |= {raw, _unquote_keyword(raw)}
    return {s for s in found if s}


def _unquote_keyword(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw


def register(secrets: Iterable[str]) -> None:
    """Make values known to every later `redact_text` of this process."""
    for secret in secrets:
        _REGISTERED.update(variants(secret))


def redact_url(url: str) -> str:
    """Hide the passwords of a URL or keyword connection string, keep the rest readable."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if "://" not in url:
        return _mask_shapes(url)
    netloc = parts.netloc
    if parts.password is not None:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        netloc = f"{parts.username}:{MASK}@{host}" if parts.username else f":{MASK}@{host}"
    query = _QUERY.sub(lambda m: m.group("name") + MASK, parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every known secret value (given or registered), then key-shaped tokens."""
    values = set(_REGISTERED)
    for secret in secrets:
        values |= variants(secret)
    for value in sorted(values, key=len, reverse=True):  # longest first: no partial masks
        text = text.replace(value, MASK)
    return _mask_shapes(text)


def _mask_shapes(text: str) -> str:
    text = _USERINFO.sub(rf"://\1:{MASK}@", text)
    text = _KEYWORD.sub(lambda m: m.group("name") + MASK, text)
    return _KEY_SHAPES.sub(lambda m: (m.group(1) or m.group(2) or m.group(3)) + MASK, text)


def redact_data(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A JSON-like value with every string in it masked (plans and journals we store)."""
    known = tuple(secrets)
    if isinstance(value, str):
        return redact_text(value, known)
    if isinstance(value, dict):
        return {k: redact_data(v, known) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v, known) for v in value]
    return value
