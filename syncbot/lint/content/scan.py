"""The content scan of one skill file, and the Unicode scan of the other configuration."""

from __future__ import annotations

from collections.abc import Iterable

from syncbot.files.source import SourceFile
from syncbot.lint.content.artifacts import compiled_finding, decode_text, symlink_finding
from syncbot.lint.content.danger import scan_danger
from syncbot.lint.content.locate import Lines
from syncbot.lint.content.secrets import scan_secrets
from syncbot.lint.content.unicode import scan_unicode
from syncbot.lint.findings import Finding

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
    "secret-url-credentials": "password in a URL (scheme://user:password@host)",
    "danger-download-exec": "downloaded code fed to an interpreter",
    "danger-decode-exec": "decoded payload fed to an interpreter",
}


def scan_skill_file(path: str, data: bytes, *, is_symlink: bool = False) -> list[Finding]:
    """Every content finding of one file; `path` is repo-relative POSIX and used as given."""
    if is_symlink:
        return [symlink_finding(path)]
    lines = Lines(data)
    decoded = compiled_finding(path) or decode_text(path, data)
    if isinstance(decoded, Finding):
        # A key inside an artifact leaks all the same, so it is reported too.
        return sorted([decoded, *scan_secrets(path, data, lines)], key=_position)
    findings = [
        *scan_unicode(path, decoded, Lines(decoded)),
        *scan_secrets(path, data, lines),
        *scan_danger(path, data, lines),
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
        findings += scan_unicode(item.path, text, Lines(text))
    return findings


def _position(finding: Finding) -> tuple[int, int, str]:
    return finding.line, finding.column or 0, finding.rule
