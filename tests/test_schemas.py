from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from syncbot.errors import ConfigError, ConfigErrors
from syncbot.files.schema_errors import describe, parse_model
from syncbot.files.schemas import (
    RegistryFile,
    RolloutEntry,
    RolloutFile,
    SyncbotConfig,
    export_json_schemas,
    write_json_schemas,
)
from syncbot.files.semver import is_higher, is_semver, precedence
from syncbot.files.skill_schemas import SkillFrontMatter, SkillMeta
from syncbot.files.yamlsafe import load_yaml

REPO_ROOT = Path(__file__).resolve().parent.parent

META = "display_name: X\ndescription: d\ntype: code\ncategory: analysis\nversion: 1.0.0\n"
ROUTE = (
    "routes:\n  - skill: s\n    category: c\n    priority: 1\n    min_confidence: 0.5\n"
    "    patterns: ['a.*b']\n"
)


def parse(model: type[BaseModel], text: str) -> Any:
    data, lines = load_yaml(text, "f.yaml")
    return parse_model(model, data, "f.yaml", lines)


def errors(model: type[BaseModel], text: str) -> list[tuple[str, int, str]]:
    with pytest.raises(ConfigErrors) as caught:
        parse(model, text)
    return [(e.rule, e.location.line, e.reason) for e in caught.value.errors]


def test_rollout_string_number_message() -> None:
    found = errors(RolloutFile, "a: 1\ncontract-analysis-ro: '5'\n")
    assert found == [
        ("schema", 2, 'contract-analysis-ro: expected a number, got the string "5"'),
    ]


def test_rollout_values() -> None:
    model = parse(RolloutFile, "a: 5\nb: 12.5\nc: {percentage: 0.25, salt: s}\nd: 100\n")
    assert model.root["a"] == 5 and model.root["b"] == 12.5
    assert model.root["c"] == RolloutEntry(percentage=0.25, salt="s")


@pytest.mark.parametrize(
    ("text", "rule", "detail"),
    [
        ("a: true\n", "schema", "got the boolean true"),
        ("a: yes\n", "schema", 'got the string "yes"'),
        ("a: 101\n", "rollout-range", "between 0 and 100"),
        ("a: -1\n", "rollout-range", "between 0 and 100"),
        ("a: 12.345\n", "rollout-precision", "more than two decimals"),
        ("a: {percentage: 1.001}\n", "rollout-precision", "more than two decimals"),
        ("a: {percentage: 5, salt: 3}\n", "schema", "a.salt: expected a string, got the integer 3"),
        ("a: [5]\n", "schema", "expected a number, got a list"),
        ("a: .nan\n", "schema", "finite number"),
    ],
)
def test_rollout_errors(text: str, rule: str, detail: str) -> None:
    [(found_rule, line, message)] = errors(RolloutFile, text)
    assert (found_rule, line) == (rule, 1)
    assert detail in message


def test_rollout_misspelt_key() -> None:
    found = errors(RolloutFile, "a: {percent: 5}\n")
    assert ("schema", 1, "a.percentage: missing required key 'percentage'") in found
    assert any("did you mean 'percentage'?" in message for _, _, message in found)


def test_front_matter_valid() -> None:
    text = "name: my-skill\ndescription: Helps.\nallowed-tools: [Read, Grep]\nmetadata: {a: b}\n"
    model = parse(SkillFrontMatter, text)
    assert model.allowed_tools == ["Read", "Grep"]
    assert model.metadata == {"a": "b"}


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("My-Skill", "skill-name-format"),
        ("-skill", "skill-name-format"),
        ("skill-", "skill-name-format"),
        ("my--skill", "skill-name-format"),
        ("a" * 65, "skill-name-format"),
        ("claude-helper", "skill-name-reserved"),
        ("my-anthropic-skill", "skill-name-reserved"),
    ],
)
def test_front_matter_name_rules(name: str, rule: str) -> None:
    [(found, line, _)] = errors(SkillFrontMatter, f"description: d\nname: {name}\n")
    assert (found, line) == (rule, 2)


@pytest.mark.parametrize(
    ("description", "detail"),
    [("''", "empty"), ("'" + "x" * 1025 + "'", "1025 characters"), ("'use <b>this</b>'", "XML")],
)
def test_front_matter_description_rules(description: str, detail: str) -> None:
    [(rule, line, message)] = errors(SkillFrontMatter, f"name: s\ndescription: {description}\n")
    assert (rule, line) == ("skill-description", 2)
    assert detail in message


def test_front_matter_compatibility_limit() -> None:
    text = "name: s\ndescription: d\ncompatibility: '" + "x" * 501 + "'\n"
    assert errors(SkillFrontMatter, text)[0][:2] == ("skill-compatibility", 3)
    assert parse(SkillFrontMatter, "name: s\ndescription: d\ncompatibility: Python 3\n")


def test_front_matter_unknown_key_uses_the_api_message() -> None:
    [(rule, line, message)] = errors(
        SkillFrontMatter, "name: s\ndescription: d\nargument-hint: x\n"
    )
    assert (rule, line) == ("skill-frontmatter-key", 3)
    assert message == (
        "Unexpected key(s) in SKILL.md frontmatter: argument-hint. Allowed properties are: "
        "allowed-tools, compatibility, description, license, metadata, name"
    )


def test_skill_meta_valid_with_int_temperature() -> None:
    model = parse(SkillMeta, META + "config: {max_tokens: 8000, temperature: 1}\n")
    assert model.config is not None and model.config.temperature == 1.0
    assert model.critical is False and model.owners == [] and model.allow == []


@pytest.mark.parametrize(
    ("extra", "line", "detail"),
    [
        ("critical: yes\n", 6, 'expected true or false, got the string "yes"'),
        ("critical: 'true'\n", 6, "expected true or false"),
        ("config: {temperature: '0.3'}\n", 6, 'got the string "0.3"'),
        ("config: {temperature: true}\n", 6, "got the boolean true"),
        ("config: {temperature: 1.5}\n", 6, "must be <= 1.0"),
        ("config: {max_tokens: 0}\n", 6, "must be >= 1"),
        ("config: {max_tokens: 200001}\n", 6, "must be <= 200000"),
        ("config: {max_tokens: 10.5}\n", 6, "expected an integer"),
        ("owners: legal\n", 6, "expected a list"),
        ("allow: [{rule: danger-download-exec, reason: ''}]\n", 6, "must not be empty"),
        ("allow: [{rule: danger-download-exec}]\n", 6, "missing required key 'reason'"),
        ("colour: red\n", 6, "unknown key 'colour'"),
    ],
)
def test_skill_meta_errors(extra: str, line: int, detail: str) -> None:
    [(rule, found_line, message)] = errors(SkillMeta, META + extra)
    assert (rule, found_line) == ("schema", line)
    assert detail in message


def test_skill_meta_allow_rule_must_be_allowable() -> None:
    text = META + "allow:\n  - rule: secret-aws-access-key\n    reason: test key\n"
    [(rule, line, message)] = errors(SkillMeta, text)
    assert (rule, line) == ("skill-allow-rule", 7)
    assert "danger-download-exec" in message


@pytest.mark.parametrize(
    ("field", "value", "detail"),
    [
        ("version", "1.10", "quote it"),
        ("version", "'1.0'", "not a semantic version"),
        ("version", "2024-01-01", "got the date 2024-01-01"),
        ("type", "script", "expected 'code' or 'prompt'"),
        ("display_name", '"two\\nlines"', "single line"),
        ("display_name", "'" + "x" * 256 + "'", "over the limit of 255"),
    ],
)
def test_skill_meta_field_errors(field: str, value: str, detail: str) -> None:
    text = "\n".join(
        f"{field}: {value}" if line.startswith(field + ":") else line for line in META.splitlines()
    )
    [(rule, _, message)] = errors(SkillMeta, text + "\n")
    # a line break is a control character where one line is meant: its own rule id
    expected = "text-control-character" if "\\n" in value else "schema"
    assert rule == expected and detail in message


def test_registry_valid_with_both_pattern_forms() -> None:
    text = ROUTE.replace("['a.*b']", "['a.*b', {regex: 'c', weight: 0.5}]")
    model = parse(RegistryFile, text + "    examples: {match: [x]}\n")
    assert model.routes[0].patterns[1].weight == 0.5
    assert model.routes[0].examples.no_match == []


@pytest.mark.parametrize(
    ("old", "new", "detail"),
    [
        ("priority: 1", "priority: 0", "priority: must be >= 1"),
        ("priority: 1", "priority: '1'", "expected an integer"),
        ("min_confidence: 0.5", "min_confidence: 1.5", "must be <= 1.0"),
        ("['a.*b']", "[]", "patterns: must not be empty"),
        ("['a.*b']", "[5]", "patterns[0]: expected a string, got the integer 5"),
        ("['a.*b']", "[{regex: a, weight: 0}]", "must be > 0.0"),
        ("['a.*b']", "[{regex: a, wieght: 1}]", "did you mean 'weight'?"),
    ],
)
def test_registry_errors(old: str, new: str, detail: str) -> None:
    [(rule, line, message)] = errors(RegistryFile, ROUTE.replace(old, new))
    assert rule == "schema" and line in (3, 4, 5, 6)
    assert detail in message


def test_registry_missing_key_is_at_the_route() -> None:
    [(rule, line, message), *_] = errors(RegistryFile, "routes:\n  - skill: s\n    category: c\n")
    assert (rule, line) == ("schema", 2)
    assert message.startswith("routes[0].")


def test_syncbot_defaults() -> None:
    config = SyncbotConfig()
    assert config.categories == ["analysis", "drafting", "research", "compliance"]
    assert sorted(config.environments) == ["production", "staging"]
    assert config.limits.max_skill_bytes == 1048576 and config.limits.max_file_bytes == 262144
    assert config.prune.max_deletions == 3


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("environments: {production: {rollout: {steps: [0, 25, 5, 100]}}}\n", "ascending"),
        ("environments: {production: {rollout: {steps: [5, 100]}}}\n", "start at 0"),
        ("environments: {production: {rollout: {steps: [0, 50]}}}\n", "end at 100"),
        ("environments: {production: {rollout: {steps: [0, 100], min_soak_hours: -1}}}\n", ">= 0"),
        ("environments: {production: null}\n", "expected a mapping, got null"),
        ("environments: {Prod Env: {}}\n", "does not match"),
        ("categories: [a, a]\n", "listed twice"),
        ("limits: {max_file_bytes: 0}\n", "must be >= 1"),
        ("prune: {max_deletions: -1}\n", "must be >= 0"),
    ],
)
def test_syncbot_errors(text: str, detail: str) -> None:
    [(rule, line, message)] = errors(SyncbotConfig, text)
    assert (rule, line) == ("schema", 1)
    assert detail in message


def test_list_instead_of_mapping() -> None:
    [(rule, line, message)] = errors(RegistryFile, "- a\n- b\n")
    assert (rule, line, message) == ("schema", 1, "expected a mapping, got a list")


def test_describe() -> None:
    assert describe("5") == 'the string "5"'
    assert describe(5) == "the integer 5"
    assert describe(None) == "null"
    assert describe(False) == "the boolean false"
    assert describe("x" * 100).endswith('..."')


def test_semver_precedence() -> None:
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2"]
    ordered += ["1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0", "10.0.0"]
    assert sorted(ordered, key=precedence) == ordered
    assert is_higher("1.0.10", "1.0.9") and not is_higher("1.0.0+build", "1.0.0")
    assert not is_semver("1.0") and not is_semver("01.0.0") and is_semver("1.0.0-rc.1+b5")
    with pytest.raises(ValueError):
        precedence("v1.0.0")


def test_json_schemas_are_exported_and_committed(tmp_path: Path) -> None:
    schemas = export_json_schemas()
    assert set(schemas) == {
        "skill-md.schema.json",
        "skill.schema.json",
        "registry.schema.json",
        "rollouts.schema.json",
        "syncbot.schema.json",
        "routes-queries.schema.json",
    }
    assert "allowed-tools" in schemas["skill-md.schema.json"]["properties"]
    written = write_json_schemas(tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(schemas)
    for path in written:
        committed = REPO_ROOT / "schemas" / path.name
        assert committed.read_text("utf-8") == path.read_text("utf-8"), (
            f"{committed} is stale: run `syncbot schema --out schemas`"
        )
        assert json.loads(path.read_text("utf-8"))["$id"] == path.name


def test_config_errors_are_config_error_instances() -> None:
    with pytest.raises(ConfigErrors) as caught:
        parse(RolloutFile, "a: x\n")
    assert all(isinstance(e, ConfigError) for e in caught.value.errors)
