"""Files that are not reviewable text: symbolic links, compiled artifacts, binary content."""

from __future__ import annotations

import re

from syncbot.lint.findings import Finding

_COMPILED = re.compile(
    r"(?:^|/)__pycache__/|\.egg/|\.so(?:\.\d+)+$"
    r"|\.(?:pyc|pyo|so|dylib|dll|exe|class|o|a|jar|whl|egg)$",
    re.IGNORECASE,
)


def symlink_finding(path: str) -> Finding:
    return Finding(
        path,
        1,
        "file-symlink",
        "symbolic links are refused in a skill folder (the target may lie outside the "
        "repository and is not what reviewers see); replace the link with a regular file",
    )


def compiled_finding(path: str) -> Finding | None:
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


def decode_text(path: str, data: bytes) -> str | Finding:
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
