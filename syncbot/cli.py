"""The thin click shell: parse options, call one function, map the outcome to an exit code.

Exit codes: 0 success or no changes; 1 user-facing error; 2 changes present (plan
--detailed-exitcode); 3 internal error; 130 interrupted.

This module is the top of the package: it builds the `syncbot` group, registers every
command explicitly and holds the one top-level error handler. Nothing imports it but
`__main__` and the console script.
"""

from __future__ import annotations

import gc
import logging
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from syncbot import __version__
from syncbot.commands import (
    config_cmds,
    demo_cmd,
    emulator_cmd,
    github_cmds,
    import_cmd,
    live_cmds,
    new_cmd,
    promote_cmd,
)
from syncbot.commands.common import (
    EXIT_ERROR,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    App,
    add_common_options,
    set_verbosity,
    verbosity,
)
from syncbot.errors import SyncbotError
from syncbot.redact import redact_text, register
from syncbot.settings import Settings
from syncbot.textsafe import for_log, for_terminal


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
    set_verbosity(verbose)
    ctx.obj = App(start=repo, verbose=verbose, quiet=quiet, settings=Settings.from_env())


COMMANDS: tuple[click.Command, ...] = (
    config_cmds.validate_cmd,
    config_cmds.schema_cmd,
    config_cmds.routes_group,
    config_cmds.rollout_group,
    live_cmds.plan_cmd,
    live_cmds.apply_cmd,
    live_cmds.status_cmd,
    live_cmds.doctor_cmd,
    live_cmds.history_group,
    live_cmds.db_group,
    promote_cmd.promote_group,
    import_cmd.import_cmd,
    new_cmd.new_group,
    demo_cmd.demo_cmd,
    emulator_cmd.emulator_command,
    github_cmds.github_group,
)
for _command in COMMANDS:
    cli.add_command(_command)
    add_common_options(_command)


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
        return EXIT_ERROR
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
    if verbosity():
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
