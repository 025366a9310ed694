"""The pre-commit hook other repositories use: it parses, names the console script this
package installs, and runs for the files validate reads (and only those). Shell
completion works as the README documents it."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from syncbot import cli as cli_module

ROOT = Path(__file__).resolve().parents[1]


def hooks() -> list[dict[str, Any]]:
    loaded = YAML(typ="safe", pure=True).load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(loaded, list)
    return loaded


def test_the_hook_is_well_formed() -> None:
    [hook] = hooks()
    assert hook["id"] == "syncbot-validate"
    assert {"id", "name", "entry", "language"} <= set(hook)
    assert hook["language"] == "python"  # pre-commit installs this package in its own venv
    assert hook["pass_filenames"] is False  # validate checks the whole repository


def test_the_entry_is_an_installed_console_script_and_a_real_command() -> None:
    [hook] = hooks()
    program, *args = shlex.split(hook["entry"])
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts[program] == "syncbot.cli:main"
    assert args == ["validate"] and "validate" in cli_module.cli.commands


def test_the_files_pattern_matches_what_validate_reads() -> None:
    [hook] = hooks()
    pattern = re.compile(hook["files"])
    for path in (
        "skills/contract-analysis-ro/SKILL.md",
        "skills/x/scripts/run.py",
        "registry/analysis.yaml",
        "rollouts/production.yaml",
        "syncbot.yaml",
        "routes-queries.yaml",
    ):
        assert pattern.search(path), path
    for path in ("README.md", "syncbot/cli.py", "docs/skills/x.md", "syncbot.yaml.bak"):
        assert not pattern.search(path), path


def test_the_hook_passes_on_this_repository(capsys: Any) -> None:
    assert cli_module.run(["--repo", str(ROOT), "validate"]) == 0
    assert "no problems found" in capsys.readouterr().out


def test_shell_completion_as_the_readme_documents_it() -> None:
    """`eval "$(_SYNCBOT_COMPLETE=bash_source syncbot)"` installs a function that asks
    the program itself; both halves work through the installed console script."""
    program = str(Path(sys.executable).with_name("syncbot"))
    source = subprocess.run(
        [program],
        env={**os.environ, "_SYNCBOT_COMPLETE": "bash_source"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "complete -o nosort -F _syncbot_completion syncbot" in source.stdout
    answer = subprocess.run(
        [program],
        env={
            **os.environ,
            "_SYNCBOT_COMPLETE": "bash_complete",
            "COMP_WORDS": "syncbot im",
            "COMP_CWORD": "1",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert answer.stdout.split() == ["plain,import"]
