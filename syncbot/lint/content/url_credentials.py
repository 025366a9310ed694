"""Credentials written into a URL: `scheme://user:password@host`, in any scheme.

A connection string pasted into a SKILL.md or a helper script ships its password to
every user of the skill. Documentation, legal texts included, often shows the *form* of
such a URL, so a finding needs a password that looks real: a placeholder word
(`password`, `changeme`, `secret`), a template (`${DB_PASSWORD}`, `$PW`, `{{pw}}`,
`<password>`, `%(pw)s`), a masked value (`***`, `xxxx`, `...`) or a documentation host
(example.com/.org/.net, `*.example`, `*.invalid`, `*.test`) is not one. The message
names the scheme and host only: neither the user nor the password is shown.
"""

from __future__ import annotations

import re

from syncbot.lint.content.locate import Lines, compile_keywords, keyword_windows
from syncbot.lint.findings import Finding

RULE = "secret-url-credentials"
_URL = re.compile(
    rb"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]{0,30})://"
    rb"(?P<user>[^\s:/?#@'\"<>()\[\]]{0,256}):(?P<password>[^\s/?#@'\"]{1,256})@"
    rb"(?P<host>[A-Za-z0-9\[][^\s/?#'\"<>:)\]]{0,253})"
)
_KEYWORDS = compile_keywords(rb"://")
_PLACEHOLDER_WORDS = frozenset(
    {
        "password", "passwd", "pass", "pwd", "pw", "secret", "changeme", "change_me",
        "change-me", "yourpassword", "your_password", "your-password", "mypassword",
        "my_password", "pass123", "password123", "example", "redacted", "hidden", "token",
    }
)  # fmt: skip
_TEMPLATE = re.compile(r"^\$|\$\{|\$\(|\{\{|<|%\(|\[|^\{")
_MASKED = re.compile(r"^([*x.•…X_-])\1*$|^\.\.\.$|^…$")
_DOC_HOST = re.compile(
    r"(^|\.)example\.(com|org|net)$|\.(example|invalid|test)$|^(example|host|hostname)$", re.I
)


def scan_url_credentials(path: str, data: bytes, lines: Lines) -> list[Finding]:
    findings = []
    for start, end in keyword_windows(data, _KEYWORDS):
        for match in _URL.finditer(data, start, end):
            password = match["password"].decode("utf-8", "replace")
            host = match["host"].decode("utf-8", "replace")
            if _is_placeholder(password, host):
                continue
            line, column = lines.at(match.start())
            findings.append(Finding(path, line, RULE, _message(match), column=column))
    return findings


def _is_placeholder(password: str, host: str) -> bool:
    return (
        password.casefold() in _PLACEHOLDER_WORDS
        or bool(_TEMPLATE.search(password))
        or bool(_MASKED.match(password))
        or bool(_DOC_HOST.search(host))
    )


def _message(match: re.Match[bytes]) -> str:
    scheme = match["scheme"].decode("ascii", "replace")
    host = match["host"].decode("utf-8", "replace")
    return (
        f"a password in a URL ({scheme}://…:***@{host}) in plain text: delete it from the "
        "file and read the URL or its password from the environment or a secret store at "
        "run time (secrets can never be allowed)"
    )
