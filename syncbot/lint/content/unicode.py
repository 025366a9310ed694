"""Hidden Unicode: bidirectional controls (Trojan Source) and invisible or tag characters.

A BOM at the start, a zero-width joiner between two emoji and an RGI subdivision flag are
the legitimate uses and stay quiet.
"""

from __future__ import annotations

import re
import unicodedata

from syncbot.lint.content.locate import Lines
from syncbot.lint.findings import Finding
from syncbot.textsafe import BIDI, INVISIBLE

_BIDI = BIDI
_INVISIBLE = INVISIBLE
_FLAG_BASE = "\U0001f3f4"
_ZWJ = "\u200d"
_SUSPICIOUS = re.compile("[" + _BIDI + _INVISIBLE + _FLAG_BASE + "]")
_BIDI_RUN = re.compile("[" + _BIDI + "]+")
_INVISIBLE_RUN = re.compile("[" + _INVISIBLE + "]+")
_TAG_LETTERS = "\U000e0061-\U000e007a"
_TAG_DIGITS = "\U000e0030-\U000e0039"
# An RGI subdivision flag (black flag, region and subdivision in tag characters, cancel tag)
# is the one legitimate use of the tag block, e.g. the flag of Scotland.
_SUBDIVISION_FLAG = re.compile(
    _FLAG_BASE
    + f"(?:[{_TAG_LETTERS}]{{2}}|[{_TAG_DIGITS}]{{3}})[{_TAG_LETTERS}{_TAG_DIGITS}]{{1,4}}"
    + "\U000e007f"
)
_EMOJI_RANGES = ((0x2300, 0x23FF), (0x2600, 0x27BF), (0x2B00, 0x2BFF), (0x1F000, 0x1FAFF))
_PRESENTATION_SELECTORS = "\ufe0e\ufe0f"


def scan_unicode(path: str, text: str, lines: Lines) -> list[Finding]:
    if text.isascii():
        return []
    findings = []
    # A BOM at offset 0 is an encoding signature, not hidden content.
    position = 1 if text.startswith("\ufeff") else 0
    while (match := _SUSPICIOUS.search(text, position)) is not None:
        start = match.start()
        position, rule = _unicode_run(text, start)
        if rule is not None:
            line, column = lines.at(start)
            message = _unicode_message(rule, text[start], position - start)
            findings.append(Finding(path, line, rule, message, column=column))
    return findings


def _unicode_run(text: str, start: int) -> tuple[int, str | None]:
    """End of the suspicious run at `start` and its rule, or None when it is legitimate."""
    char = text[start]
    if char == _FLAG_BASE:
        flag = _SUBDIVISION_FLAG.match(text, start)
        return (flag.end() if flag else start + 1), None
    if char == _ZWJ and _joins_emoji(text, start):
        return start + 1, None
    bidi = _BIDI_RUN.match(text, start)
    if bidi is not None:
        return bidi.end(), "unicode-bidi"
    run = _INVISIBLE_RUN.match(text, start)
    return (run.end() if run else start + 1), "unicode-invisible"


def _joins_emoji(text: str, index: int) -> bool:
    before = index - 1
    while before >= 0 and text[before] in _PRESENTATION_SELECTORS:
        before -= 1
    after = index + 1
    return before >= 0 and after < len(text) and _is_emoji(text[before]) and _is_emoji(text[after])


def _is_emoji(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _EMOJI_RANGES)


def _unicode_message(rule: str, char: str, count: int) -> str:
    what = f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')}"
    if count > 1:
        what = f"{count} characters starting with {what}"
    if rule == "unicode-bidi":
        return (
            f"bidirectional control {what}: it makes text display differently from how it "
            "is read and run (Trojan Source); delete it"
        )
    return (
        f"invisible {what}: it hides text from reviewers while models still read it; "
        "delete it (a zero-width joiner is only allowed between two emoji)"
    )
