"""`syncbot emulator`: flags, startup line, and a clean stop on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from click.testing import CliRunner

from syncbot.commands.emulator_cmd import emulator_command

REPO = Path(__file__).resolve().parents[2]
LAUNCH = "from syncbot.commands.emulator_cmd import emulator_command; emulator_command()"
HEADERS = {"x-api-key": "k", "anthropic-version": "2023-06-01"}


def test_bad_fail_nth_is_a_usage_error() -> None:
    result = CliRunner().invoke(emulator_command, ["--fail-nth", "three:500"])
    assert result.exit_code == 2
    assert "expected N:STATUS" in result.output


def test_rates_out_of_range_are_usage_errors() -> None:
    result = CliRunner().invoke(emulator_command, ["--error-rate", "2"])
    assert result.exit_code == 2


def test_serves_with_faults_until_interrupted(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    args = [
        "--port",
        "0",
        "--fail-nth",
        "1:529",
        "--rate-limit-nth",
        "2",
        "--persist",
        str(tmp_path / "s.json"),
        "--quiet",
    ]
    with subprocess.Popen(
        [sys.executable, "-c", LAUNCH, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        with httpx.Client(base_url=base_url, timeout=5) as http:
            codes = [http.get("/v1/skills", headers=HEADERS).status_code for _ in range(3)]
            assert codes == [529, 429, 200]
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    assert base_url.startswith("http://127.0.0.1:")
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
