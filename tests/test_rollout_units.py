"""`syncbot rollout bucket SKILL --units FILE`: many units at once, each with the bucket
the bucketing function gives, and a count; text and JSON; `-` reads standard input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import build_tree, valid_files

from syncbot import cli as cli_module
from syncbot.bucketing import bucket, in_rollout

UNITS = ["user-1", "user-2", "user-3", "tenant:42", "ünïcode-user"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return build_tree(tmp_path, valid_files())


def invoke(root: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli_module.cli, ["--repo", str(root), *args], input=stdin)
    return result.exit_code, result.output


def test_many_units_from_a_file(root: Path, tmp_path: Path) -> None:
    units = tmp_path / "units.txt"
    units.write_text("\n".join([*UNITS[:3], "", "# a comment", *UNITS[3:]]) + "\n")
    code, out = invoke(root, "rollout", "bucket", "nda-drafting", "--units", str(units))
    assert code == 0, out
    assert "skill nda-drafting in staging: 50% (salt 'nda-drafting'), threshold 5000" in out
    inside = 0
    for unit in UNITS:
        value = bucket("nda-drafting", unit)
        inside += in_rollout(5000, value)
        verdict = "IN" if in_rollout(5000, value) else "OUT"
        assert any(line.split() == [unit, str(value), verdict] for line in out.splitlines()), (
            unit,
            out,
        )
    assert f"{inside} of {len(UNITS)} units in" in out
    assert "comment" not in out


def test_json_from_standard_input_uses_the_environments_salt(root: Path) -> None:
    code, out = invoke(
        root,
        "rollout",
        "bucket",
        "nda-drafting",
        "--units",
        "-",
        "--env",
        "production",
        "--format",
        "json",
        stdin="\n".join(UNITS) + "\n",
    )
    assert code == 0, out
    doc = json.loads(out)
    assert (doc["percentage"], doc["salt"], doc["source"]) == ("25", "nda-drafting", "git")
    expected = [
        {"unit": u, "bucket": bucket("nda-drafting", u), "in": bucket("nda-drafting", u) < 2500}
        for u in UNITS
    ]
    assert doc["units"] == expected
    assert (doc["in"], doc["total"]) == (sum(1 for e in expected if e["in"]), len(UNITS))


def test_one_unit_or_a_file_not_both_nor_neither(root: Path, tmp_path: Path) -> None:
    units = tmp_path / "units.txt"
    units.write_text("user-1\n")
    assert invoke(root, "rollout", "bucket", "nda-drafting")[0] == 2
    both = invoke(root, "rollout", "bucket", "nda-drafting", "user-1", "--units", str(units))
    assert both[0] == 2 and "give one UNIT_ID or --units FILE" in both[1]
