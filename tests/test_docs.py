"""The documentation stands alone: it never points outside the repository, and docs/cli.md
covers every command the CLI has."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from syncbot.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
# A reference to a document this repository does not hold (an outer workspace, a contract
# or notes kept elsewhere) leaves a reader with nothing to follow.
OUTSIDE = re.compile(r"\.\./shared|\bSPEC\b|reliability-notes")


WORDED = [
    ROOT / "README.md",
    *DOCS,
    ROOT / "bench" / "RESULTS.md",
    ROOT / "bench" / "run.py",
    *sorted((ROOT / ".github" / "workflows").glob("*.yml")),
    # the package's docstrings and comments are read by whoever changes it; applied
    # migrations are not here: their bytes are checksummed, and editing one (even a comment)
    # would make every existing database refuse the bot
    *sorted((ROOT / "syncbot").rglob("*.py")),
]


@pytest.mark.parametrize("path", WORDED, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_reference_outside_the_repository(path: Path) -> None:
    text = path.read_text("utf-8")
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not found, "\n".join(found)


def test_the_docs_the_readme_promises_exist() -> None:
    names = {path.name for path in DOCS}
    assert {"file-formats.md", "live-contract.md", "cli.md"} <= names
    readme = (ROOT / "README.md").read_text("utf-8")
    for path in DOCS:
        assert f"docs/{path.name}" in readme, f"README does not link docs/{path.name}"


def _commands(group: click.Group, prefix: str = "syncbot") -> list[str]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix} {name}")
    return found


def test_cli_doc_lists_every_command() -> None:
    listed = CliRunner().invoke(cli, ["--help"], prog_name="syncbot").output
    top = re.findall(r"^  ([a-z][a-z-]*)  ", listed.split("Commands:", 1)[1], re.MULTILINE)
    assert {c.split()[1] for c in _commands(cli) if len(c.split()) == 2} == set(top)
    doc = (ROOT / "docs" / "cli.md").read_text("utf-8")
    missing = [c for c in _commands(cli) if not _documented(c, doc)]
    assert not missing, f"docs/cli.md does not describe: {missing}"


def _documented(command: str, doc: str) -> bool:
    words = command.split()
    if len(words) == 3:  # a subcommand: its own heading, or a row of its group's table
        return f"`{command}" in doc or f"| `{words[2]}" in doc
    return f"`{command}" in doc
