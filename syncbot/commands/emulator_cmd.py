"""`syncbot emulator`: serve the Skills API emulator on loopback until Ctrl-C."""

from __future__ import annotations

import logging
import threading

import click

from syncbot.emulator.bundle import DEFAULT_MAX_UPLOAD_BYTES
from syncbot.emulator.faults import Faults
from syncbot.emulator.server import EmulatorServer

EXAMPLES = """
\b
Examples:
  syncbot emulator
  syncbot emulator --port 9000 --persist /tmp/skills.json --api-key local-key
  syncbot emulator --latency-ms 20 --error-rate 0.1 --error-status 500 --error-status 529
  syncbot emulator --fail-nth 3:529 --fail-nth 5:429 --retry-after 2 --seed 7
  syncbot emulator --lost-rate 0.2 --seed 1
\b
Then: ANTHROPIC_BASE_URL=http://127.0.0.1:8765 ANTHROPIC_API_KEY=local-key syncbot plan
"""


def _fail_nth(values: tuple[str, ...]) -> dict[int, int]:
    failures: dict[int, int] = {}
    for value in values:
        number, sep, status = value.partition(":")
        if not (sep and number.strip().isdigit() and status.strip().isdigit()):
            raise click.BadParameter(f"expected N:STATUS, got {value!r}", param_hint="--fail-nth")
        failures[int(number)] = int(status)
    return failures


@click.command("emulator", epilog=EXAMPLES)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@click.option("--persist", "persist", type=click.Path(dir_okay=False), help="Keep state in FILE.")
@click.option("--api-key", help="Accept only this API key (default: any non-empty key).")
@click.option("--latency-ms", default=0.0, type=click.FloatRange(min=0), help="Added per request.")
@click.option("--error-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of errors.")
@click.option(
    "--error-status",
    "error_statuses",
    multiple=True,
    type=click.IntRange(400, 599),
    help="Status for --error-rate errors; repeat to draw among several (default 500).",
)
@click.option("--fail-nth", multiple=True, metavar="N:STATUS", help="Answer request N with STATUS.")
@click.option("--rate-limit-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of 429s.")
@click.option(
    "--rate-limit-nth", multiple=True, type=click.IntRange(min=1), help="Answer request N with 429."
)
@click.option("--retry-after", default=1.0, type=click.FloatRange(min=0), help="Seconds, on 429.")
@click.option(
    "--lost-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of lost answers."
)
@click.option(
    "--lost-nth", multiple=True, type=click.IntRange(min=1), help="Lose the N-th mutation's answer."
)
@click.option("--seed", type=int, help="Seed the fault RNG, for reproducible runs.")
@click.option(
    "--max-upload-bytes",
    default=DEFAULT_MAX_UPLOAD_BYTES,
    show_default=True,
    type=click.IntRange(min=1),
    help="Refuse larger uploads (413), as the real API does.",
)
@click.option("--anthropic-skills", is_flag=True, help="Also list read-only Anthropic skills.")
@click.option("--quiet", is_flag=True, help="Do not log each request.")
def emulator_command(
    host: str,
    port: int,
    persist: str | None,
    api_key: str | None,
    latency_ms: float,
    error_rate: float,
    error_statuses: tuple[int, ...],
    fail_nth: tuple[str, ...],
    rate_limit_rate: float,
    rate_limit_nth: tuple[int, ...],
    retry_after: float,
    lost_rate: float,
    lost_nth: tuple[int, ...],
    seed: int | None,
    max_upload_bytes: int,
    anthropic_skills: bool,
    quiet: bool,
) -> None:
    """Serve a local Skills API emulator (both dialects) until Ctrl-C."""
    try:
        faults = Faults(
            latency_ms=latency_ms,
            error_rate=error_rate,
            error_statuses=error_statuses or (500,),
            fail_nth=_fail_nth(fail_nth),
            rate_limit_rate=rate_limit_rate,
            rate_limit_nth=frozenset(rate_limit_nth),
            retry_after=retry_after,
            lost_rate=lost_rate,
            lost_nth=frozenset(lost_nth),
            seed=seed,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        server = EmulatorServer(
            host,
            port,
            api_key=api_key,
            persist_path=persist,
            faults=faults,
            max_upload_bytes=max_upload_bytes,
            seed_anthropic_skills=anthropic_skills,
        )
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    _serve(server, quiet=quiet)


def _serve(server: EmulatorServer, *, quiet: bool) -> None:
    if not quiet:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        server.start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {server.host}:{server.port}: {exc}") from None
    click.echo(server.base_url)
    click.echo("Skills API emulator running; press Ctrl-C to stop.", err=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("stopping", err=True)
    finally:
        server.stop()
