"""`syncbot rollout set` and the round-trip edit behind it (also used by promote --open-prs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from syncbot import cli as cli_module
from syncbot.errors import SyncbotError
from syncbot.files.worktree import WorkTree
from syncbot.lint.validate import validate
from syncbot.promote.rollout_edit import edit_rollout, parse_percentage, set_percentage

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ["skills", "registry", "rollouts", "syncbot.yaml", "routes-queries.yaml"]


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    """A copy of the repository's own configuration."""
    root = tmp_path / "config"
    root.mkdir()
    for name in SHIPPED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        elif source.exists():
            shutil.copy(source, root / name)
    return root


def run(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli_module.run(["--repo", str(root), *args])
    out, err = capsys.readouterr()
    return code, out, err


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def test_turn_it_off_now_changes_one_line_of_the_shipped_production_file(
    shipped: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = shipped / "rollouts" / "production.yaml"
    before = path.read_bytes()

    code, out, err = run(
        shipped, capsys, "rollout", "set", "nda-drafting", "0", "--env", "production"
    )

    assert (code, err) == (0, "")
    after = path.read_bytes()
    assert changed_lines(before.decode(), after.decode()) == [
        ("nda-drafting: 5\n", "nda-drafting: 0\n")
    ]
    assert after == before.replace(b"\nnda-drafting: 5\n", b"\nnda-drafting: 0\n")
    assert "-nda-drafting: 5\n+nda-drafting: 0\n" in out
    assert out.startswith("--- a/rollouts/production.yaml\n+++ b/rollouts/production.yaml\n")
    assert "wrote rollouts/production.yaml: nda-drafting in production: 5% -> 0%" in out
    assert not [f for f in validate(WorkTree(shipped)) if f.severity == "error"]


def test_the_long_form_keeps_its_salt_and_the_comments(shipped: Path) -> None:
    before = (shipped / "rollouts" / "staging.yaml").read_text()
    edit = edit_rollout(WorkTree(shipped), "staging", "statute-lookup", 10000)
    assert edit.after is not None
    assert changed_lines(before, edit.after) == [("  percentage: 50\n", "  percentage: 100\n")]
    assert edit.after.startswith(
        "# yaml-language-server: $schema=../schemas/rollouts.schema.json\n"
    )
    assert "  salt: statute-lookup-staging\n" in edit.after
    assert edit.diff().count("\n-") == 1 and edit.diff().count("\n+") == 1 + 1  # +++ line


def test_dry_run_prints_the_diff_and_writes_nothing(
    shipped: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = shipped / "rollouts" / "production.yaml"
    before = path.read_bytes()
    code, out, _ = run(
        shipped, capsys, "rollout", "set", "nda-drafting", "25", "--env", "production", "--dry-run"
    )
    assert code == 0
    assert "-nda-drafting: 5\n+nda-drafting: 25\n" in out
    assert "dry run: rollouts/production.yaml not written" in out
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nda-drafting", "50"], "rollout-step-skipped: nda-drafting: increase from 5% to 50%"),
        (["nda-drafting", "12.5"], "rollout-off-ladder: nda-drafting: 12.5 is not on the ladder"),
        (["nda-drafting", "101"], "percentage '101' must be between 0 and 100"),
        (["nda-drafting", "5.001"], "has more than two decimals"),
        (["nda-drafting", "five"], "percentage 'five' is not a number"),
        (["nda-drafting", "nan"], "must be between 0 and 100"),
        (["no-such-skill", "0"], "unknown skill 'no-such-skill'"),
    ],
)
def test_refusals_are_one_line_and_leave_the_file_alone(
    shipped: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    path = shipped / "rollouts" / "production.yaml"
    before = path.read_bytes()
    code, out, err = run(shipped, capsys, "rollout", "set", *args, "--env", "production")
    assert code == 1 and out == ""
    assert message in err and err.count("\n") == 1 and err.startswith("error: ")
    assert path.read_bytes() == before


def test_an_unknown_environment_is_refused(
    shipped: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(shipped, capsys, "rollout", "set", "nda-drafting", "0", "--env", "prod")
    assert code == 1
    assert err == "error: unknown environment 'prod' (syncbot.yaml has: production, staging)\n"
    assert not (shipped / "rollouts" / "prod.yaml").exists()


def test_setting_the_current_value_is_no_change(
    shipped: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        shipped, capsys, "rollout", "set", "nda-drafting", "5", "--env", "production"
    )
    assert code == 0
    assert out == "no change: nda-drafting in production is already at 5%\n"


def test_an_unrelated_error_elsewhere_does_not_block_turning_a_skill_off(shipped: Path) -> None:
    # the emergency path: a broken route in the registry is not this edit's problem
    registry = next((shipped / "registry").glob("*.yaml"))
    registry.write_text(registry.read_text() + "\nunexpected_key: 1\n")
    assert [f for f in validate(WorkTree(shipped)) if f.severity == "error"]
    edit = edit_rollout(WorkTree(shipped), "production", "contract-analysis-ro", 0)
    assert edit.changed and edit.old_basis_points == 500


def test_a_skill_without_an_entry_gets_one_in_sorted_place(shipped: Path) -> None:
    path = shipped / "rollouts" / "production.yaml"
    path.write_text(path.read_text().replace("gdpr-compliance-check: 5\n", ""))
    edit = edit_rollout(WorkTree(shipped), "production", "gdpr-compliance-check", 500)
    assert edit.old_basis_points == 0 and edit.after is not None
    assert edit.after == (ROOT / "rollouts" / "production.yaml").read_text()


def test_zero_for_a_skill_without_an_entry_is_no_change(shipped: Path) -> None:
    path = shipped / "rollouts" / "production.yaml"
    path.write_text(path.read_text().replace("gdpr-compliance-check: 5\n", ""))
    edit = edit_rollout(WorkTree(shipped), "production", "gdpr-compliance-check", 0)
    assert not edit.changed and edit.diff() == ""


def test_a_missing_rollouts_file_is_created_with_its_schema_line(shipped: Path) -> None:
    (shipped / "rollouts" / "staging.yaml").unlink()
    edit = edit_rollout(WorkTree(shipped), "staging", "nda-drafting", 5000)
    assert edit.before is None
    assert edit.after == (
        "# yaml-language-server: $schema=../schemas/rollouts.schema.json\nnda-drafting: 50\n"
    )
    assert edit.diff().startswith("--- /dev/null\n+++ b/rollouts/staging.yaml\n")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("a: 5   # canary since Monday\nb: 5\n", "a: 25  # canary since Monday\nb: 5\n"),
        (
            "a:\n    percentage: 5\n    salt: 'x'\nb: 5\n",
            "a:\n    percentage: 25\n    salt: 'x'\nb: 5\n",
        ),
        ("a: {percentage: 5, salt: x}\n", "a: {percentage: 25, salt: x}\n"),
        ("'a': 5\n\"b\": 5\n", "'a': 25\n\"b\": 5\n"),
        ("a: 5\n\n# later\nb: 5\n", "a: 25\n\n# later\nb: 5\n"),
        ("---\na: 5\nb: 5\n", "---\na: 25\nb: 5\n"),
        ("a: 5\nb: 5", "a: 25\nb: 5"),
        ("a: 5\r\nb: 5\r\n", "a: 25\r\nb: 5\r\n"),
        ("\ufeffa: 5\nb: 5\n", "\ufeffa: 25\nb: 5\n"),
        ("a: 5.00\nb: 5\n", "a: 25\nb: 5\n"),
        ("# none yet\n", "# none yet\na: 25\n"),
        ("", "a: 25\n"),
        ("b: 5\nc: 5\n", "a: 25\nb: 5\nc: 5\n"),
        ("c: 5\nb: 5\n", "c: 5\nb: 5\na: 25\n"),  # not sorted: appended
        ("a: 5 # " + "x" * 150 + "\n", "a: 25 # " + "x" * 150 + "\n"),
    ],
)
def test_round_trip_keeps_everything_but_the_number(before: str, after: str) -> None:
    assert set_percentage(before, "a", 2500, file="rollouts/x.yaml") == after


def test_decimals_are_written_as_numbers() -> None:
    assert set_percentage("a: 5\n", "a", 1250, file="f") == "a: 12.5\n"
    assert set_percentage("a: 5\n", "a", 1, file="f") == "a: 0.01\n"


@pytest.mark.parametrize(
    ("text", "points"),
    [("0", 0), ("5", 500), ("12.5", 1250), ("25%", 2500), ("100", 10000), ("0.01", 1)],
)
def test_parse_percentage(text: str, points: int) -> None:
    assert parse_percentage(text) == points


def test_a_file_that_is_not_a_mapping_is_refused_with_its_name() -> None:
    with pytest.raises(
        SyncbotError, match=r"rollouts/x\.yaml: cannot edit: the file is not a mapping"
    ):
        set_percentage("- a\n", "a", 500, file="rollouts/x.yaml")
