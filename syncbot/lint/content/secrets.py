"""Committed secrets: Anthropic, AWS, GitHub keys and tokens, private key blocks.

Secrets (like dangerous code) are matched on the raw bytes: ASCII `\\b` and `\\s` behave
like gitleaks' Go regexps, and binary files need no decoding. A message shows a secret's
public type prefix only, never a character of its body.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from syncbot.lint.content.locate import Lines, compile_keywords, keyword_windows
from syncbot.lint.content.url_credentials import RULE as URL_RULE
from syncbot.lint.content.url_credentials import scan_url_credentials
from syncbot.lint.findings import Finding

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
_SECRET_KEYWORDS = compile_keywords(
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


def scan_secrets(path: str, data: bytes, lines: Lines) -> list[Finding]:
    findings = []
    for start, end in keyword_windows(data, _SECRET_KEYWORDS):
        for match in _SECRETS.finditer(data, start, end):
            kind = _SECRET_KINDS[match.lastgroup or ""]
            value = match.group().decode("ascii")
            if kind.rule == "secret-aws-access-key" and _is_aws_placeholder(value):
                continue
            line, column = lines.at(match.start())
            message = _secret_message(kind, value)
            findings.append(Finding(path, line, kind.rule, message, column=column))
    return sorted(findings + scan_url_credentials(path, data, lines), key=_position)


def _position(finding: Finding) -> tuple[int, int]:
    return finding.line, finding.column or 0


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
    # Whether it is already in git history (and must be revoked) is added by the caller
    # that knows the repository: see lint/content/exposure.py.
    return (
        f"{kind.label} ({shown}) in plain text: delete it from the file and read it from "
        "the environment or a secret store at run time (secrets can never be allowed)"
    )


# the fix once a secret of each rule is out: revoke it where it was issued
REVOKE = {kind.rule: kind.revoke for kind in _SECRET_KINDS.values()}
REVOKE[URL_RULE] = "change that password on the server"
