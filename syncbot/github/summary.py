"""The job summary: plans appended to the step's summary file, within its size limit."""

from __future__ import annotations

from pathlib import Path

from syncbot.errors import TargetError
from syncbot.github.fitting import CLOSERS_RESERVE, SUMMARY_LIMIT, fit, utf8_size


def append_summary(summary_path: str | None, text: str) -> int:
    """Append `text` to the step summary, trimmed so the file stays below 1 MiB.

    Returns the number of bytes written.
    """
    if not summary_path:
        raise TargetError("github", "GITHUB_STEP_SUMMARY not set (run inside GitHub Actions)")
    path = Path(summary_path)
    used = path.stat().st_size if path.exists() else 0
    note = "\n---\n**Truncated**: a job summary holds at most 1 MiB per step.\n"
    budget = SUMMARY_LIMIT - 1 - used
    if budget < utf8_size(note) + CLOSERS_RESERVE:
        raise TargetError("github", f"{summary_path}: the step summary is already full")
    chunk = fit(text if text.endswith("\n") else text + "\n", budget, note)
    with path.open("a", encoding="utf-8") as out:
        out.write(chunk)
    return utf8_size(chunk)
