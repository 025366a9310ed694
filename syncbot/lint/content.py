"""Per-file content scanners of a skill folder (SPEC section 3, reliability-notes section 3).

`scan_skill_file` looks at one file of `skills/<name>/**` and reports symlinks, compiled
artifacts, binary content, invisible or bidirectional Unicode, committed secrets and
download-or-decode-then-execute code. Each family's regexes run only on the lines around
a hit of its literal keywords (found at memory speed): a repository of ~1,000 skills must
validate in well under a second.
"""

from __future__ import annotations

import math
import posixpath
import re
import unicodedata
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from syncbot.files.source import SourceFile
from syncbot.lint.findings import Finding
from syncbot.textsafe import BIDI, INVISIBLE

ALLOWABLE_RULES = frozenset({"danger-download-exec", "danger-decode-exec"})

RULES: dict[str, str] = {
    "file-symlink": "symbolic link inside a skill folder",
    "file-compiled": "compiled or packaged artifact",
    "file-binary": "binary (NUL-containing or non-UTF-8) file",
    "unicode-bidi": "bidirectional control character (Trojan Source)",
    "unicode-invisible": "zero-width, invisible or tag character",
    "secret-anthropic-api-key": "Anthropic API key",
    "secret-anthropic-admin-api-key": "Anthropic admin API key",
    "secret-anthropic-oauth-token": "Anthropic OAuth token",
    "secret-anthropic-key": "other sk-ant- key (truncated or new variant)",
    "secret-aws-access-key": "AWS access key id",
    "secret-private-key": "private key block",
    "secret-github-token": "GitHub token",
    "danger-download-exec": "downloaded code fed to an interpreter",
    "danger-decode-exec": "decoded payload fed to an interpreter",
}


def scan_skill_file(path: str, data: bytes, *, is_symlink: bool = False) -> list[Finding]:
    """Every content finding of one file; `path` is repo-relative POSIX and used as given."""
    if is_symlink:
        return [_symlink_finding(path)]
    lines = _Lines(data)
    decoded = _compiled_finding(path) or _decode(path, data)
    if isinstance(decoded, Finding):
        # A key inside an artifact leaks all the same, so it is reported too.
        return sorted([decoded, *_scan_secrets(path, data, lines)], key=_position)
    findings = [
        *_scan_unicode(path, decoded, _Lines(decoded)),
        *_scan_secrets(path, data, lines),
        *_scan_danger(path, data, lines),
    ]
    return sorted(findings, key=_position)


def scan_config_files(files: Iterable[SourceFile]) -> list[Finding]:
    """Hidden Unicode in the configuration outside skills/ (syncbot.yaml, registry/,
    rollouts/, routes-queries.yaml, any other YAML): it hides text from reviewers there as
    much as in a skill, and reaches PR comments and terminals through the plan."""
    findings: list[Finding] = []
    for item in files:
        if item.path.startswith("skills/") or item.data is None:
            continue
        text = item.data.decode("utf-8", errors="replace")
        findings += _scan_unicode(item.path, text, _Lines(text))
    return findings


def _position(finding: Finding) -> tuple[int, int, str]:
    return finding.line, finding.column or 0, finding.rule


def filter_allowed(
    findings: Iterable[Finding],
    allows: Sequence[tuple[str, str | None]],
    *,
    skill_dir: str | None = None,
) -> list[Finding]:
    """Drop the findings covered by a skill.yaml `allow` entry `(rule, path or None)`.

    Paths are relative to the skill folder: by default `skills/<name>` taken from each
    finding's file. A path names a file or a directory; None covers the whole skill.
    Only ALLOWABLE_RULES can be allowed: secrets and file or Unicode findings always stay.
    """
    return [f for f in findings if not _is_allowed(f, allows, skill_dir)]


def _is_allowed(
    finding: Finding, allows: Sequence[tuple[str, str | None]], skill_dir: str | None
) -> bool:
    if finding.rule not in ALLOWABLE_RULES:
        return False
    relative = _skill_relative(finding.file, skill_dir)
    if relative is None:
        return False
    return any(rule == finding.rule and _covers(where, relative) for rule, where in allows)


def _skill_relative(file: str, skill_dir: str | None) -> str | None:
    if skill_dir is None:
        parts = file.split("/")
        return "/".join(parts[2:]) if len(parts) > 2 and parts[0] == "skills" else file
    prefix = skill_dir.rstrip("/") + "/"
    return file[len(prefix) :] if file.startswith(prefix) else None


def _covers(where: str | None, relative: str) -> bool:
    if where is None:
        return True
    target = posixpath.normpath(where.strip("/"))
    return target == "." or relative == target or relative.startswith(target + "/")


# --- locating ----------------------------------------------------------------------------


class _Lines:
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


def _windows(haystack: bytes, keywords: Iterable[re.Pattern[bytes]]) -> list[tuple[int, int]]:
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


def _keywords(*patterns: bytes) -> tuple[re.Pattern[bytes], ...]:
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


# --- files -------------------------------------------------------------------------------

_COMPILED = re.compile(
    r"(?:^|/)__pycache__/|\.egg/|\.so(?:\.\d+)+$"
    r"|\.(?:pyc|pyo|so|dylib|dll|exe|class|o|a|jar|whl|egg)$",
    re.IGNORECASE,
)


def _symlink_finding(path: str) -> Finding:
    return Finding(
        path,
        1,
        "file-symlink",
        "symbolic links are refused in a skill folder (the target may lie outside the "
        "repository and is not what reviewers see); replace the link with a regular file",
    )


def _compiled_finding(path: str) -> Finding | None:
    match = _COMPILED.search(path)
    if match is None:
        return None
    what = match.group().strip("/")
    return Finding(
        path,
        1,
        "file-compiled",
        f"compiled or packaged artifact ({what}): skills ship reviewable source only; "
        "delete it and add the pattern to .gitignore",
    )


def _decode(path: str, data: bytes) -> str | Finding:
    """The file's text, or a file-binary finding at the first offending byte."""
    nul = data.find(b"\0")
    if nul >= 0:
        return _binary_finding(path, data, nul, "a NUL byte")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        return _binary_finding(path, data, error.start, "a byte sequence that is not UTF-8")


def _binary_finding(path: str, data: bytes, offset: int, what: str) -> Finding:
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    return Finding(
        path,
        data.count(b"\n", 0, offset) + 1,
        "file-binary",
        f"binary content ({what} at byte offset {offset}): skills ship UTF-8 text only; "
        "remove the file or re-save it as UTF-8 text",
        column=column,
    )


# --- Unicode -----------------------------------------------------------------------------

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


def _scan_unicode(path: str, text: str, lines: _Lines) -> list[Finding]:
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


# --- secrets -----------------------------------------------------------------------------
# Secrets and dangerous code are matched on the raw bytes: ASCII `\b` and `\s` behave like
# gitleaks' Go regexps, bytes.lower() keeps offsets, and binary files need no decoding.

_TOKEN = rb"[A-Za-z0-9_-]"
_SECRETS = re.compile(
    rb"(?P<anthropic_api>sk-ant-api03-" + _TOKEN + rb"{93}AA(?!" + _TOKEN + rb"))"
    rb"|(?P<anthropic_admin>sk-ant-admin01-" + _TOKEN + rb"{93}AA(?!" + _TOKEN + rb"))"
    rb"|(?P<anthropic_oauth>sk-ant-o[ar]t01-" + _TOKEN + rb"{40,})"
    rb"|(?P<anthropic_other>sk-ant-" + _TOKEN + rb"{20,})"
    rb"|(?P<aws>\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b)"
    rb"|(?P<private_key>-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
    rb"|PuTTY-User-Key-File-\d+)"
    rb"|(?P<github>gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})"
)
# Every alternative above contains one of these; each has a literal prefix, which the
# regex engine finds at memory speed.
_SECRET_KEYWORDS = _keywords(
    rb"sk-ant-",
    rb"A(?:KIA|SIA|BIA|CCA|3T)",
    rb"P(?:RIVATE KEY|uTTY-User-Key-File-)",
    rb"g(?:h[pousr]_|ithub_pat_)",
)
# What may be shown of a secret: its public type prefix, never a character of the body.
_PUBLIC_PREFIX = re.compile(r"sk-ant-(?:(?:api|admin|oat|ort|sid)\d\d-)?|github_pat_|gh._|A...")
_AWS_MIN_ENTROPY = 3.0  # gitleaks' floor: placeholders like AKIAXXXXXXXXXXXXXXXX stay quiet

_ANTHROPIC_FIX = "revoke it in the Anthropic Console"
_AWS_FIX = "deactivate it in AWS IAM"
_GITHUB_FIX = "revoke it in GitHub (Settings > Developer settings > tokens)"


@dataclass(frozen=True)
class _SecretKind:
    rule: str
    label: str
    revoke: str


_SECRET_KINDS = {
    "anthropic_api": _SecretKind("secret-anthropic-api-key", "Anthropic API key", _ANTHROPIC_FIX),
    "anthropic_admin": _SecretKind(
        "secret-anthropic-admin-api-key", "Anthropic admin API key", _ANTHROPIC_FIX
    ),
    "anthropic_oauth": _SecretKind(
        "secret-anthropic-oauth-token", "Anthropic OAuth token", _ANTHROPIC_FIX
    ),
    "anthropic_other": _SecretKind("secret-anthropic-key", "Anthropic key", _ANTHROPIC_FIX),
    "aws": _SecretKind("secret-aws-access-key", "AWS access key id", _AWS_FIX),
    "private_key": _SecretKind("secret-private-key", "private key", "replace the key pair"),
    "github": _SecretKind("secret-github-token", "GitHub token", _GITHUB_FIX),
}


def _scan_secrets(path: str, data: bytes, lines: _Lines) -> list[Finding]:
    findings = []
    for start, end in _windows(data, _SECRET_KEYWORDS):
        for match in _SECRETS.finditer(data, start, end):
            kind = _SECRET_KINDS[match.lastgroup or ""]
            value = match.group().decode("ascii")
            if kind.rule == "secret-aws-access-key" and _is_aws_placeholder(value):
                continue
            line, column = lines.at(match.start())
            message = _secret_message(kind, value)
            findings.append(Finding(path, line, kind.rule, message, column=column))
    return findings


def _is_aws_placeholder(value: str) -> bool:
    return value.endswith("EXAMPLE") or _entropy(value) < _AWS_MIN_ENTROPY


def _entropy(value: str) -> float:
    counts = Counter(value).values()
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts)


def _secret_message(kind: _SecretKind, value: str) -> str:
    if kind.rule == "secret-private-key":
        shown = value  # the header names the key type and holds no key material
    else:
        prefix = _PUBLIC_PREFIX.match(value)
        shown = (prefix.group() if prefix else "") + "…"
    return (
        f"{kind.label} ({shown}) committed in plain text: {kind.revoke} now, as it is "
        "already exposed in git history; delete it from the file and read it from the "
        "environment or a secret store at run time (secrets can never be allowed)"
    )


# --- dangerous code ----------------------------------------------------------------------
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
    _keywords(b"curl", b"wget", b"base64", b"xxd", b"openssl"),
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
    _keywords(b"iex", b"invoke-expression", b"powershell", b"pwsh"),
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
    _keywords(rb"exec\s*\(", rb"eval\s*\(", rb"Function\s*\("),
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


def _scan_danger(path: str, data: bytes, lines: _Lines) -> list[Finding]:
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
        for start, end in _windows(haystack, family.keywords):
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
