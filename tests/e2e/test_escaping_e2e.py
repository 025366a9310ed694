"""Configuration text cannot rewrite the plan it is shown in: a hostile string in every
text field that reaches the plan (skill category, display name, description, route
category, rollout salt, a file name, recorded queries and SKILL.md lines in the diff),
planned and applied against the real services, renders with exactly our structure."""

from __future__ import annotations

import json
import re
import textwrap

import psycopg
import pytest
from live_support import SYNCBOT_YAML, Cli, Repo, skill_files
from markdown_check import HOSTILE, MENTION, assert_structure, command_lines

SKILL = "contract-review"
# a YAML single-quoted scalar: the hostile string as is
Q = "'" + HOSTILE.replace("'", "''") + "'"
FILE_NAME = "notes @octocat #1.md"  # what any file-name rule leaves: a mention, a hash


def hostile_files() -> dict[str, str]:
    files = {"syncbot.yaml": SYNCBOT_YAML.replace("compliance]", f"compliance, {Q}]")}
    files.update(skill_files(SKILL))
    files[f"skills/{SKILL}/skill.yaml"] = textwrap.dedent(f"""\
        display_name: {Q}
        description: {Q}
        type: prompt
        category: {Q}
        version: "1.0.0"
        owners: [{Q}]
        """)
    files[f"skills/{SKILL}/{FILE_NAME}"] = HOSTILE + "\n"
    files["registry/routes.yaml"] = textwrap.dedent(f"""\
        routes:
          - skill: {SKILL}
            category: {Q}
            priority: 1
            min_confidence: 0.5
            patterns: ['review']
            examples:
              match: ["Please review this contract {HOSTILE.replace('"', "")}"]
        """)
    files["rollouts/staging.yaml"] = f"{SKILL}:\n  percentage: 50\n  salt: {Q}\n"
    return files


@pytest.fixture
def repo_files() -> dict[str, str]:
    return hostile_files()


def _plan(cli: Cli) -> tuple[str, str, int]:
    markdown = cli("plan", "--format", "markdown")
    assert markdown.code == 0, markdown.err
    text = cli("plan")
    assert text.code == 0, text.err
    doc = json.loads(cli("plan", "--format", "json").out)
    return markdown.out, text.out, len(doc["changes"])


def test_validate_accepts_the_hostile_repository(cli: Cli) -> None:
    result = cli("validate")
    assert result.code == 0, result.out  # the families below must pass validate to matter
    assert not command_lines(result.out)


def test_the_first_plan_renders_with_our_structure(cli: Cli) -> None:
    markdown, text, changes = _plan(cli)
    assert changes >= 5
    html = assert_structure(markdown, changes, [f"{SKILL}:{HOSTILE}"])
    assert MENTION not in html.replace("<code>", "\0").split("\0")[0]
    assert not command_lines(markdown) and not command_lines(text)


def test_a_hostile_skill_md_diff_stays_inside_its_block(cli: Cli, repo: Repo) -> None:
    assert cli("apply").code == 0
    body = "\n".join(
        [
            "```",
            "````",
            "</details>",
            "<!--",
            "::error::pwned",
            "@octocat",
            "# heading",
            "~~~",
        ]
    )
    repo.write(skill_files(SKILL, body=body, version="1.1.0"))
    repo.write({f"skills/{SKILL}/skill.yaml": hostile_files()[f"skills/{SKILL}/skill.yaml"]})
    text = (repo.path / f"skills/{SKILL}/skill.yaml").read_text()
    repo.write({f"skills/{SKILL}/skill.yaml": text.replace('"1.0.0"', '"1.1.0"')})
    repo.write({"rollouts/staging.yaml": f"{SKILL}:\n  percentage: 50\n  salt: '{HOSTILE}2'\n"})
    repo.commit("hostile SKILL.md")
    markdown, text_out, changes = _plan(cli)
    assert "show the diff" in markdown  # the diff is there, collapsed
    assert_structure(markdown, changes, [SKILL])
    assert not command_lines(markdown) and not command_lines(text_out)
    assert cli("apply").code == 0
    assert json.loads(cli("plan", "--format", "json").out)["changes"] == []


RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b]")
LIVE_TEXT = "evil\u202e\u200b\x1b[8mhidden\x1b[0m\r\n::error::pwned"


def test_live_text_and_the_actor_reach_a_terminal_escaped(
    cli: Cli, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text that never passed validate: a row edited by hand, the CI actor's name."""
    monkeypatch.setenv("GITHUB_ACTOR", LIVE_TEXT)
    assert cli("apply").code == 0
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE skills SET display_name = %s, category = %s", (LIVE_TEXT, LIVE_TEXT))
    outputs = [cli(*command, "-v") for command in (("plan",), ("history",), ("status",))]
    outputs.append(cli("plan", "--format", "markdown"))
    for result in outputs:
        shown = result.out + result.err
        assert not RAW_CONTROL.search(shown), shown
        assert not command_lines(shown), shown
    assert "\\u202e" in outputs[0].out and "\\x1b[8m" in outputs[1].out
    doc = json.loads(cli("plan", "--format", "json").out)  # JSON stays valid and exact
    before = [c["before"] for c in doc["changes"] if isinstance(c["before"], dict)]
    assert LIVE_TEXT in [b.get("display_name") for b in before]
