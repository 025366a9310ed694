"""Cursor pagination: `limit`, an opaque `page` cursor, and the list envelope."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from syncbot.emulator.errors import invalid_request

T = TypeVar("T")
DEFAULT_LIMIT = 20


def parse_limit(raw: str | None, maximum: int) -> int:
    # emulator policy: out-of-range or non-integer limits are 400, not clamped.
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise invalid_request(f"limit: Input should be a valid integer, got {raw!r}") from None
    if not 1 <= limit <= maximum:
        raise invalid_request(f"limit: Input should be between 1 and {maximum}, got {limit}")
    return limit


def encode_cursor(kind: str, key: int) -> str:
    text = f"{kind}:{key}".encode()
    return "page_" + base64.urlsafe_b64encode(text).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str) -> int:
    """The sort key after which the next page starts; 400 for a cursor not ours."""
    try:
        if not cursor.startswith("page_"):
            raise ValueError(cursor)
        payload = cursor[len("page_") :]
        text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
        found_kind, _, key = text.rpartition(":")
        if found_kind != kind:
            raise ValueError(cursor)
        return int(key)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_request(f"Invalid page token: {cursor}") from None


def paginate(
    items: Sequence[T],
    *,
    kind: str,
    key: Callable[[T], int],
    limit: int,
    cursor: str | None,
    render: Callable[[T], dict[str, Any]],
) -> dict[str, Any]:
    """One page of `items` (sorted by descending `key`) after `cursor`.

    The cursor is a key, not an offset, so deletions between pages skip nothing.
    """
    if cursor:
        after = decode_cursor(cursor, kind)
        items = [item for item in items if key(item) < after]
    page = list(items[:limit])
    has_more = len(items) > limit
    next_page = encode_cursor(kind, key(page[-1])) if has_more else None
    return {"data": [render(item) for item in page], "has_more": has_more, "next_page": next_page}
