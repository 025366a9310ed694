"""The thin click shell: parse options, call one function, map the outcome to an exit code.

Exit codes: 0 success or no changes; 1 user-facing error; 2 changes present (plan
--detailed-exitcode); 3 internal error; 130 interrupted.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from syncbot import __version__
from syncbot.errors import SyncbotError
from syncbot.files.layout import find_repo_root
from syncbot.redact import redact_text, register
from syncbot.settings import Settings
from syncbot.textsafe import for_log, for_terminal, visible

EXIT_CHANGES = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
# set by the group callback so that the top-level handler knows whether to show causes
_VERBOSE = [0]


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


pass_app = click.make_pass_decorator(App)
env_option = click.option(
    "--env", "environment", help="Environment (default: $SYNCBOT_ENV or staging)."
)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""Examples:

\b
  syncbot validate --format github
  syncbot plan --env production --format markdown > plan.md
  syncbot apply --env staging --prune
  syncbot routes test "I need to analyze this contract"
  syncbot rollout bucket contract-analysis-ro user-42 --env production
""",
)
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="Start here (default: the current folder) and walk up to the folder holding "
    "syncbot.yaml, as git finds its root.",
)
@click.option("-v", "--verbose", count=True, help="More detail (errors: the cause chain).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.version_option(__version__, prog_name="syncbot")
@click.pass_context
def cli(ctx: click.Context, repo: Path, verbose: int, quiet: bool) -> None:
    """Keep the Skills API, PostgreSQL and Redis equal to this configuration repository."""
    _VERBOSE[0] = verbose
    ctx.obj = App(start=repo, verbose=verbose, quiet=quiet, settings=Settings.from_env())


def _env(app: App, environment: str | None) -> str:
    return environment or app.settings.environment


def main(argv: list[str] | None = None) -> None:
    # The modules imported by now live as long as the process: frozen, the cyclic GC stops
    # re-scanning them at every full collection (validate, 1,000 skills: about -0.2 s).
    gc.freeze()
    sys.exit(run(argv))


def run(argv: list[str] | None = None) -> int:
    """The one top-level handler: every error becomes one line and an exit code."""
    settings_secrets: tuple[str, ...] = ()
    try:
        settings_secrets = Settings.from_env().secrets()
        register(settings_secrets)
        _log_through_redaction()
        result = cli.main(args=argv, prog_name="syncbot", standalone_mode=False)
        return int(result or 0)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        click.echo(
            for_log(redact_text(f"error: {exc.format_message()}", settings_secrets)), err=True
        )
        return 1
    except click.exceptions.Abort:
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except SyncbotError as exc:
        return _report(exc, settings_secrets, exc.exit_code)
    except Exception as exc:  # a bug: say so plainly, details with -v
        return _report(exc, settings_secrets, EXIT_INTERNAL, prefix="internal error: ")


def _report(
    exc: BaseException, secrets: tuple[str, ...], code: int, prefix: str = "error: "
) -> int:
    message = exc.message if isinstance(exc, SyncbotError) else f"{type(exc).__name__}: {exc}"
    click.echo(for_log(redact_text(prefix + " ".join(message.split()), secrets)), err=True)
    if _VERBOSE[0]:
        detail = "".join(traceback.format_exception(exc))
        click.echo(for_terminal(redact_text(detail, secrets)), err=True)
    return code


def _log_through_redaction() -> None:
    """Every log record of the process is masked and escaped when it is made, whichever
    handler (the default stderr one, the emulator's, a test's) then writes it."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "syncbot_safe", False):
        return

    def safe_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.msg, record.args = for_log(redact_text(record.getMessage())), None
        return record

    safe_record.syncbot_safe = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(safe_record)


def dump_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


# The command modules register themselves on `cli`; imported here for their side effect.
from syncbot.commands import config_cmds, demo_cmd, live_cmds, promote_cmd  # noqa: E402,F401
from syncbot.emulator.command import emulator_command  # noqa: E402
from syncbot.github_cli import github_group  # noqa: E402

cli.add_command(emulator_command)
cli.add_command(github_group)


def _more_verbose(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    app = ctx.find_object(App)
    if app is not None and value:
        app.verbose += value
        _VERBOSE[0] = app.verbose


def _quieter(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    app = ctx.find_object(App)
    if app is not None and value:
        app.quiet = True


def _add_common_options(command: click.Command) -> None:
    """-v and -q work after any subcommand too (`syncbot plan -v`), as users type them;
    a command with options of its own by those names (the emulator's --quiet) keeps them."""
    taken = {opt for param in command.params for opt in param.opts}
    common = [
        click.Option(
            ["-v", "--verbose"],
            count=True,
            expose_value=False,
            callback=_more_verbose,
            help="More detail (errors: the cause chain).",
        ),
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            expose_value=False,
            callback=_quieter,
            help="Only errors.",
        ),
    ]
    command.params += [option for option in common if not taken & set(option.opts)]
    for sub in getattr(command, "commands", {}).values():
        _add_common_options(sub)


for _command in cli.commands.values():
    _add_common_options(_command)
