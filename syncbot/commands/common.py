"""What every command shares: the `App` context, `pass_app`, the shared options, exit codes.

The command modules import from here (and from the layers below), never from `cli.py`;
`cli.py` builds the group, registers each command and holds the top-level error handler.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from syncbot.files.layout import find_repo_root
from syncbot.progress import Counter, NoProgress, ProgressReporter
from syncbot.redact import redact_text
from syncbot.settings import Settings
from syncbot.textsafe import for_log, for_terminal, visible

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

# Set by the group callback and by -v after a subcommand, so that the top-level handler
# (which runs outside any click context) knows whether to show causes.
_VERBOSE = [0]


def verbosity() -> int:
    return _VERBOSE[0]


def set_verbosity(level: int) -> None:
    _VERBOSE[0] = level


@dataclass
class App:
    start: Path = Path(".")  # --repo, or the current folder: where the root search begins
    verbose: int = 0
    quiet: bool = False
    settings: Settings = field(default_factory=Settings)
    _root: Path | None = field(default=None, repr=False)

    @property
    def repo(self) -> Path:
        """The repository root, found on first use: commands that read no configuration
        (emulator, doctor, status, db migrate, history) run anywhere."""
        if self._root is None:
            self._root = find_repo_root(self.start)
        return self._root

    def say(self, text: str = "", *, err: bool = False, commands: bool = False) -> None:
        """Print with secrets masked and control characters escaped; only `commands=True`
        (validate --format github) may print workflow commands."""
        if not (self.quiet and not err):
            safe = redact_text(text, self.settings.secrets())
            click.echo(visible(safe) if commands else for_terminal(safe), err=err)

    def progress(self, text: str) -> None:
        if not self.quiet and sys.stderr.isatty():
            click.echo(f"  … {for_log(redact_text(text, self.settings.secrets()))}", err=True)

    def track(self, label: str, total: int) -> Counter:
        """Counted progress on stderr: a live line on a terminal, a line every few seconds
        in a log (CI); nothing with -q."""
        if self.quiet:
            return NoProgress()
        return ProgressReporter(label, total, sys.stderr, live=sys.stderr.isatty())


pass_app = click.make_pass_decorator(App)
env_option = click.option(
    "-e", "--env", "environment", help="Environment (default: $SYNCBOT_ENV or staging)."
)


def env_of(app: App, environment: str | None) -> str:
    """The environment a command works on: --env, else $SYNCBOT_ENV, else staging."""
    return environment or app.settings.environment


def dump_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def _more_verbose(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    app = ctx.find_object(App)
    if app is not None and value:
        app.verbose += value
        set_verbosity(app.verbose)


def _start_at(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    app = ctx.find_object(App)
    if app is not None and value is not None:
        app.start, app._root = value, None


def _quieter(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    app = ctx.find_object(App)
    if app is not None and value:
        app.quiet = True


# --repo, -v and -q as options of every command: (names, what they are, callback, help)
_Callback = Callable[[click.Context, click.Parameter, Any], None]
_COMMON_OPTIONS: tuple[tuple[list[str], dict[str, Any], _Callback, str], ...] = (
    (
        ["--repo"],
        {"type": click.Path(file_okay=False, path_type=Path), "is_eager": True},
        _start_at,
        "Start here and walk up to the folder holding syncbot.yaml (as before the command).",
    ),
    (["-v", "--verbose"], {"count": True}, _more_verbose, "More detail (errors: the cause chain)."),
    (["-q", "--quiet"], {"is_flag": True}, _quieter, "Only errors."),
)


def add_common_options(command: click.Command) -> None:
    """--repo, -v and -q work after any subcommand too (`syncbot validate --repo DIR`,
    `syncbot plan -v`), as users type them; a command with options of its own by those
    names (the emulator's --quiet) keeps them."""
    taken = {opt for param in command.params for opt in param.opts}
    for names, kind, callback, text in _COMMON_OPTIONS:
        if not taken & set(names):
            command.params.append(
                click.Option(names, expose_value=False, callback=callback, help=text, **kind)
            )
    for sub in getattr(command, "commands", {}).values():
        add_common_options(sub)


F = TypeVar("F", bound=Callable[..., Any])


def format_option(*choices: str, help: str) -> Callable[[F], F]:
    """`--format` (into `fmt`), text by default: every command that prints a table or a
    document takes the same option, so scripts can ask any of them for JSON."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default="text",
        show_default=True,
        help=help,
    )
