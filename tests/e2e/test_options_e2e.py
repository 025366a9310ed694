"""Options as people type them: -e for --env, --repo after the subcommand, --format json
wherever output is tabular, and status text without a JSON block."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from live_support import Cli, Repo

from syncbot import cli as cli_module


def commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found += commands(command, f"{prefix}{name} ")
    return found


def test_every_env_option_has_the_short_alias_e() -> None:
    with_env = [
        (name, param)
        for name, command in commands(cli_module.cli)
        for param in command.params
        if "--env" in param.opts
    ]
    assert len(with_env) >= 10
    assert [name for name, param in with_env if "-e" not in param.opts] == []


def test_e_selects_the_environment(cli: Cli) -> None:
    result = cli("plan", "-e", "production")
    assert result.code == 0, result.err
    assert result.out.startswith("Plan for production")


def test_repo_is_accepted_after_the_subcommand_and_before_it(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # not a repository: without --repo validate fails
    assert cli_module.run(["validate"]) == 1
    assert "syncbot.yaml" in capsys.readouterr().err
    assert cli_module.run(["validate", "--repo", str(repo.path)]) == 0
    assert cli_module.run(["--repo", str(repo.path), "validate"]) == 0
    assert cli_module.run(["routes", "test", "review this contract", "--repo", str(repo.path)]) == 0
    assert "contract-review" in capsys.readouterr().out
    # the one after the subcommand wins, as it is the nearer
    assert cli_module.run(["--repo", str(elsewhere), "validate", "--repo", str(repo.path)]) == 0


def test_routes_test_format_json(cli: Cli) -> None:
    result = cli("routes", "test", "Please review this contract", "--format", "json")
    assert result.code == 0, result.err
    found = json.loads(result.out)
    assert found[0]["skill"] == "contract-review"
    assert found[0]["route"] == "contract-review:legal_analysis"
    assert 0 < found[0]["confidence"] <= 1 and found[0]["matched"][0]["regex"]
    none = cli("routes", "test", "nothing matches this", "--format", "json")
    assert none.code == 0 and json.loads(none.out) == []


def test_history_and_promote_history_have_json(cli: Cli) -> None:
    assert cli("apply").code == 0
    runs = json.loads(cli("history", "--format", "json").out)
    assert runs[0]["status"] == "succeeded"
    result = cli("promote", "history", "--format", "json")
    assert result.code == 0, result.err
    assert isinstance(json.loads(result.out), list)


def test_status_text_has_a_readable_last_run_line(cli: Cli, repo: Repo) -> None:
    assert cli("status").out.splitlines()[-1] == "last run  none"
    assert cli("apply").code == 0
    result = cli("status")
    assert result.code == 0, result.err
    last = result.out.splitlines()[-1]
    commit = repo.git.head.commit.hexsha[:12]
    assert re.fullmatch(
        rf"last run  #\d+ succeeded \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ commit {commit} by \S.*", last
    ), last
    assert "{" not in result.out
