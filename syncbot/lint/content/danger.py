"""Dangerous code: downloaded or decoded code fed to an interpreter in one step.

Three families (shell, PowerShell, Python/JavaScript code) each search only the windows
around their keywords. Matching is on the raw bytes, lower-cased where the language
ignores case (bytes.lower() is ASCII-only, so offsets stay those of the file).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from syncbot.lint.content.locate import Lines, compile_keywords, keyword_windows
from syncbot.lint.findings import Finding

# Every pattern is a flat alternation whose branches start with a literal word: the regex
# engine rejects such branches at a glance, while a branch that starts with a group or an
# assertion costs a full attempt at every position (10x slower, measured).

_DOWNLOAD = "danger-download-exec"
_DECODE = "danger-decode-exec"


def _either(heads: Iterable[bytes], tail: bytes = b"") -> bytes:
    return b"|".join(head + tail for head in heads)


def _word(head: bytes, not_after: bytes = rb"\w") -> bytes:
    """`head` with a left word boundary checked after its first, literal, character."""
    size = 2 if head.startswith(b"\\") else 1  # an escaped first character, like `\.`
    first = head[:size]
    return first + rb"(?<!" + not_after + first + rb")" + head[size:]


_GAP = rb"[^\n]{0,300}?"  # bounded so that a huge minified line cannot blow up matching
_CODE_GAP = rb"[^\n;]{0,200}?"  # within one statement
_INTERPRETERS: tuple[bytes, ...] = (
    *(b"bash", b"zsh", b"dash", b"ksh", b"fish", b"sh"),
    *(rb"python[0-9.]*", b"perl", b"ruby", b"node", b"php"),
)
_INTERPRETER = rb"(?:" + _either(_INTERPRETERS) + rb")\b"
_PIPE_INTO = (  # `| sh`, `| sudo -E bash`, `| /usr/bin/env python3`; not `||`
    rb"(?<!\|)\|(?!\|)\s*(?:sudo\b[^|\n]{0,60}?\s)?(?:\S*/)?(?:env\b[^|\n]{0,60}?\s)?(?:\S*/)?"
    + _INTERPRETER
)
_DECODE_COMMANDS = tuple(  # atomic: the first decode flag decides, no retry from later ones
    _word(command)
    for command in (
        rb"base64\b(?>[^\n|;&]{0,200}?\s(?:-[a-z]*d[a-z]*|--decode)\b)",
        rb"xxd\b(?>[^\n|;&]{0,200}?\s-[a-z]*r[a-z]*\b)",
        rb"openssl\s+(?:base64|enc)\b(?>[^\n|;&]{0,200}?\s-d\b)",
    )
)
_RUNNERS = (  # a shell that runs what a command substitution prints: `sh -c "$(`, `bash <(`
    *(
        _word(name) + rb"\b(?:\s+(?:-\S+\s+)*?-[a-z]*c\s*[\"']?\s*(?:\$\(|`)|\s*(?:-\S+\s+)*?<\()"
        for name in _INTERPRETERS
    ),
    _word(rb"eval\s+[\"']?\s*(?:\$\(|`)"),
    _word(rb"source\s*<\("),
    _word(rb"\.\s*<\(", not_after=rb"[\w.]"),
)
_SUBSTITUTION = re.compile(rb"\$\(|<\(|`")
_FETCH = rb"(?:curl|wget)\b"
_FETCHERS = (_word(b"curl"), _word(b"wget"))
_WEB_REQUESTS = tuple(
    _word(name)
    for name in (b"iwr", b"irm", b"invoke-webrequest", b"invoke-restmethod", b"curl", b"wget")
)
_INVOKE_EXPRESSION = (_word(b"iex"), _word(b"invoke-expression"))
_SINKS = tuple(  # Python exec/eval, JavaScript eval/new Function; not `regex.exec(`
    _word(name, not_after=rb"[\w.$]") + rb"\s*\(" for name in (b"exec", b"eval", b"Function")
)
_NETWORK_CALL = (
    rb"\b(?:urlopen|urlretrieve|(?:requests|httpx)\s*\.\s*(?:get|post|request)|fetch)\s*\("
)
_DECODER_CALL = (
    rb"\b(?:(?:(?:urlsafe_|standard_)?b(?:64|32|16|85)decode|a85decode|decodebytes"
    rb"|decodestring|unhexlify|a2b_\w+|fromhex|decompress|marshal\s*\.\s*loads"
    rb"|codecs\s*\.\s*decode|atob)\s*\("
    rb"|Buffer\s*\.\s*from\s*\([^\n)]{0,200}?[\"'](?:base64|base64url|hex)[\"'])"
)


@dataclass(frozen=True)
class _Check:
    rule: str
    pattern: re.Pattern[bytes]
    gate: re.Pattern[bytes] | None = None  # run only on windows where this is found


@dataclass(frozen=True)
class _Family:
    keywords: tuple[re.Pattern[bytes], ...]  # every match of every check contains one
    lowered: bool  # keywords and checks see the lower-cased bytes
    checks: tuple[_Check, ...]


_SHELL = _Family(  # case-sensitive, but `CURL` runs nothing: lower-casing only widens the net
    compile_keywords(b"curl", b"wget", b"base64", b"xxd", b"openssl"),
    lowered=True,
    checks=(
        _Check(_DOWNLOAD, re.compile(_either(_FETCHERS, rb"\b" + _GAP + _PIPE_INTO))),
        _Check(_DECODE, re.compile(_either(_DECODE_COMMANDS, _GAP + _PIPE_INTO))),
        _Check(
            _DOWNLOAD,
            re.compile(_either(_RUNNERS, rb"\s*(?:sudo\s+)?" + _FETCH)),
            gate=_SUBSTITUTION,
        ),
        _Check(
            _DECODE,
            re.compile(_either(_RUNNERS, _GAP + rb"(?:" + _either(_DECODE_COMMANDS) + rb")")),
            gate=_SUBSTITUTION,
        ),
    ),
)
_POWERSHELL = _Family(  # PowerShell ignores case
    compile_keywords(b"iex", b"invoke-expression", b"powershell", b"pwsh"),
    lowered=True,
    checks=(
        _Check(
            _DOWNLOAD,
            re.compile(
                _either(
                    _INVOKE_EXPRESSION,
                    rb"\b[\s($]*(?:(?:" + _either(_WEB_REQUESTS) + rb")\b"
                    rb"|new-object\s+(?:system\.)?net\.webclient\b)",
                )
                + b"|"
                + _either(
                    (*_WEB_REQUESTS, _word(b"downloadstring")),
                    rb"\b" + _GAP + rb"(?<!\|)\|(?!\|)\s*(?:iex|invoke-expression)\b",
                )
            ),
        ),
        _Check(
            _DECODE,
            re.compile(
                _either(_INVOKE_EXPRESSION, rb"\b[^\n]{0,300}?frombase64string")
                + b"|"
                + _either(
                    (_word(b"powershell"), _word(b"pwsh")),
                    rb"(?:\.exe)?\b[^\n|]{0,100}?\s-(?:e|ec|en|enc\w*)\s+[a-z0-9+/=]{20,}",
                )
            ),
        ),
    ),
)
_CODE = _Family(  # case-sensitive, like Python and JavaScript
    compile_keywords(rb"exec\s*\(", rb"eval\s*\(", rb"Function\s*\("),
    lowered=False,
    checks=(
        _Check(_DOWNLOAD, re.compile(_either(_SINKS, _CODE_GAP + _NETWORK_CALL))),
        _Check(_DECODE, re.compile(_either(_SINKS, _CODE_GAP + _DECODER_CALL))),
    ),
)
_FAMILIES = (_SHELL, _POWERSHELL, _CODE)
_DANGER_MESSAGES = {
    _DOWNLOAD: (
        "downloads code and runs it in one step (like `curl … | sh`), so nothing reviewed "
        "or pinned decides what executes; ship the script inside the skill, or download it "
        "to a file, check its SHA-256 and run that file"
    ),
    _DECODE: (
        "decodes a hidden payload and executes it (like `base64 -d | sh` or "
        "`exec(b64decode(…))`), which keeps the real code out of review; commit the decoded "
        "source instead"
    ),
}


def scan_danger(path: str, data: bytes, lines: Lines) -> list[Finding]:
    findings: dict[Finding, None] = {}  # ordered; drops a construct two checks both spot
    for rule, offset in _danger_matches(data):
        line, column = lines.at(offset)
        finding = Finding(path, line, rule, _danger_message(rule), column=column)
        findings[finding] = None
    return list(findings)


def _danger_matches(data: bytes) -> Iterator[tuple[str, int]]:
    lowered = data.lower()  # ASCII-only on bytes, so offsets stay those of `data`
    for family in _FAMILIES:
        haystack = lowered if family.lowered else data
        for start, end in keyword_windows(haystack, family.keywords):
            for check in family.checks:
                if check.gate and check.gate.search(haystack, start, end) is None:
                    continue
                for match in check.pattern.finditer(haystack, start, end):
                    yield check.rule, match.start()


def _danger_message(rule: str) -> str:
    return (
        f"{_DANGER_MESSAGES[rule]}; if it is intended, add an `allow` entry for {rule} "
        "with a reason to skill.yaml"
    )
