"""Every command's --help has examples, and every option says what it does."""

from __future__ import annotations

import click
import pytest

from syncbot import cli as cli_module


def walk(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            found += walk(sub, (*path, name))
    return found


COMMANDS = walk(cli_module.cli)


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli_module.cli
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None
        command = found
    return command


def test_the_tree_is_walked() -> None:
    assert len(COMMANDS) >= 25 and ("history", "show") in COMMANDS and ("db", "migrate") in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "syncbot")
def test_help_has_examples_and_every_option_has_help(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_module.run([*path, "--help"]) == 0
    text = capsys.readouterr().out
    assert "Examples:" in text, text
    assert f"syncbot {' '.join(path)}".rstrip() in text.split("Examples:", 1)[1]
    missing = [
        param.opts[0]
        for param in command_at(path).params
        if isinstance(param, click.Option) and not param.hidden and not param.help
    ]
    assert missing == []
