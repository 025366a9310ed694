"""Locating hits: line and column of an offset, and the keyword windows the scanners search."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable


class Lines:
    """1-based (line, column) of offsets into a text or its UTF-8 bytes; columns count
    characters. Built lazily because most files have no finding at all."""

    def __init__(self, buffer: str | bytes) -> None:
        self._buffer = buffer
        self._starts: list[int] | None = None

    def at(self, offset: int) -> tuple[int, int]:
        if self._starts is None:
            self._starts = _line_starts(self._buffer)
        index = bisect_right(self._starts, offset) - 1
        before = self._buffer[self._starts[index] : offset]
        width = len(before.decode("utf-8", "replace")) if isinstance(before, bytes) else len(before)
        return index + 1, width + 1


def _line_starts(buffer: str | bytes) -> list[int]:
    if isinstance(buffer, bytes):
        return [0, *(m.end() for m in re.finditer(b"\n", buffer))]
    return [0, *(m.end() for m in re.finditer("\n", buffer))]


def keyword_windows(
    haystack: bytes, keywords: Iterable[re.Pattern[bytes]]
) -> list[tuple[int, int]]:
    """Merged spans of each line with a keyword hit plus the next line (continuations).

    Python's regex engine has no multi-literal prefilter and crawls at a few MB/s through
    the full patterns; a keyword with a literal prefix is found at GB/s, so the full
    patterns only ever see the handful of lines that contain a keyword.
    """
    spans = []
    for keyword in keywords:
        hit = keyword.search(haystack)
        while hit is not None:
            at = hit.start()
            end = _line_end(haystack, at)
            spans.append((haystack.rfind(b"\n", 0, at) + 1, _line_end(haystack, end + 1)))
            hit = keyword.search(haystack, end)
    return _merged(sorted(spans))


def compile_keywords(*patterns: bytes) -> tuple[re.Pattern[bytes], ...]:
    return tuple(re.compile(pattern) for pattern in patterns)


def _line_end(haystack: bytes, at: int) -> int:
    end = haystack.find(b"\n", at)
    return len(haystack) if end < 0 else end


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
