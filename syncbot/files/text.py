"""Strings that no target can store, found anywhere in a parsed YAML document.

PostgreSQL refuses U+0000 in `text` and in `jsonb`, and a lone surrogate (which a YAML
escape such as "\\ud800" produces) has no UTF-8 form at all: the database, Redis, the
Skills API and the terminal would each fail on it in the middle of an apply. Checked on
every key and value, whatever the field, so that a new field cannot forget it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from syncbot.errors import ConfigError, ConfigErrors, Location
from syncbot.files.yamlsafe import LineMap

_SURROGATE = re.compile("[\ud800-\udfff]")
M = TypeVar("M")


def parse_storable(
    parse: Callable[[], M], unstorable: list[ConfigError], errors: list[ConfigError]
) -> M:
    """`parse()` (a schema check), with `unstorable` appended to `errors`, except on the
    lines where the schema already found a problem (a field's own rule may refuse the
    same character: one finding per line is enough). Raises what `parse` raises."""
    try:
        model = parse()
    except ConfigErrors as exc:
        flagged = {(e.location.file, e.location.line) for e in exc.errors}
        errors.extend(e for e in unstorable if (e.location.file, e.location.line) not in flagged)
        raise
    errors.extend(unstorable)
    return model


def unstorable_text(
    value: Any, file: str, lines: LineMap, source: str | bytes | None = None
) -> list[ConfigError]:
    """One error per string (key or value) holding NUL or a lone surrogate.

    `source`, the document's text, makes the common case free: the reader refuses raw NUL
    bytes and invalid UTF-8, so without a backslash escape no string can hold either.
    """
    if isinstance(source, bytes) and b"\\" not in source:
        return []
    if isinstance(source, str) and "\\" not in source:
        return []
    return [
        ConfigError(rule, Location(file, lines.line(path)), f"{_where(path)} {message}")
        for path, text in _strings(value, ())
        for rule, message in _problems(text)
    ]


def _where(path: tuple[Any, ...]) -> str:
    shown = "".join(f"[{p}]" if isinstance(p, int) else f".{_visible(str(p))}" for p in path)
    return f"`{shown.lstrip('.')}`" if shown else "the document"


def _visible(key: str) -> str:
    # the key itself may hold the NUL: show it escaped, never raw
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in key[:40])


def _strings(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield (*path, key), key
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _problems(text: str) -> Iterator[tuple[str, str]]:
    if "\x00" in text:
        yield "text-nul", "holds a NUL character (U+0000), which the database cannot store"
    surrogate = _SURROGATE.search(text)
    if surrogate:
        code = f"U+{ord(surrogate.group()):04X}"
        yield "text-encoding", f"holds a lone surrogate ({code}), which is not valid Unicode text"
