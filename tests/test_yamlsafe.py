from __future__ import annotations

import pytest

from syncbot.errors import ConfigError, ConfigErrors
from syncbot.files.yamlsafe import (
    LineMap,
    c_parser_available,
    load_yaml,
    split_front_matter,
)

PARSERS = [
    pytest.param(True, id="pure"),
    pytest.param(
        False,
        id="c",
        marks=pytest.mark.skipif(not c_parser_available(), reason="ruamel.yaml.clib missing"),
    ),
]


@pytest.fixture(params=PARSERS)
def pure(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def errors_of(text: str | bytes, pure: bool = True, **kwargs: object) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as caught:
        load_yaml(text, "f.yaml", pure=pure, **kwargs)  # type: ignore[arg-type]
    return caught.value.errors


def only(text: str | bytes, pure: bool = True, **kwargs: object) -> tuple[str, int, str]:
    errors = errors_of(text, pure, **kwargs)
    assert len(errors) == 1, [e.message for e in errors]
    error = errors[0]
    assert error.location.file == "f.yaml"
    return error.rule, error.location.line, error.reason


def test_loads_plain_values_with_lines(pure: bool) -> None:
    text = "a: 1\nb:\n  - x\n  - {c: 2.5}\nd: |\n  text\n"
    value, lines = load_yaml(text, "f.yaml", pure=pure)
    assert value == {"a": 1, "b": ["x", {"c": 2.5}], "d": "text\n"}
    assert type(value) is dict and type(value["b"]) is list
    assert lines.line(("a",)) == 1
    assert lines.line(("b", 1)) == 4
    assert lines.line(("b", 1, "c")) == 4
    assert lines.line(("d",)) == 5


def test_yaml_1_2_scalars(pure: bool) -> None:
    value, _ = load_yaml("a: yes\nb: no\nc: 012\nd: 1:20\ne: ~\nf: 'true'\n", "f.yaml", pure=pure)
    assert value == {"a": "yes", "b": "no", "c": 12, "d": "1:20", "e": None, "f": "true"}


def test_line_map_falls_back_to_nearest_ancestor() -> None:
    lines = LineMap({(): 1, ("routes",): 2, ("routes", 0): 3, ("routes", 0, "skill"): 3})
    assert lines.line(("routes", 0, "patterns", 4)) == 3
    assert lines.line(("routes", 0, "string", "skill")) == 3  # pydantic union tag skipped
    assert lines.line(("missing",)) == 1


def test_line_offset_shifts_lines_and_errors(pure: bool) -> None:
    _, lines = load_yaml("a: 1\nb: 2\n", "f.yaml", line_offset=1, pure=pure)
    assert lines.line(("b",)) == 3
    assert only("a: 1\na: 2\n", pure, line_offset=1)[1] == 3


def test_duplicate_key_reports_both_lines(pure: bool) -> None:
    rule, line, message = only("a: 1\nb: 2\na: 3\n", pure)
    assert (rule, line) == ("yaml-duplicate-key", 3)
    assert "first defined on line 1" in message


def test_every_duplicate_is_reported(pure: bool) -> None:
    errors = errors_of("a: 1\na: 2\nb:\n  c: 1\n  c: 2\n", pure)
    assert [(e.rule, e.location.line) for e in errors] == [
        ("yaml-duplicate-key", 2),
        ("yaml-duplicate-key", 5),
    ]


def test_quoted_and_plain_keys_are_duplicates(pure: bool) -> None:
    assert only("name: a\n'name': b\n", pure)[:2] == ("yaml-duplicate-key", 2)


@pytest.mark.parametrize(
    ("text", "rule", "line"),
    [
        ("a: &x 1\n", "yaml-anchor", 1),
        ("a: 1\nb: !!str 2\n", "yaml-tag", 2),
        ("a: !custom 1\n", "yaml-tag", 1),
        ("a: !!python/object/apply:os.system [ls]\n", "yaml-tag", 1),
        ("a: 1\nb: {<<: {c: 1}}\n", "yaml-merge-key", 2),
        ("%YAML 1.1\n---\na: 1\n", "yaml-directive", 1),
        ("%TAG !e! tag:example.com,2000:\n---\na: 1\n", "yaml-directive", 1),
        ("a: 1\n---\nb: 2\n", "yaml-multiple-documents", 2),
        ("a:\n\tb: 1\n", "yaml-tab", 2),
        ("a: 1\nb: 2 \t# trailing tab\n", "yaml-tab", 2),
        ("a: 'x\ty'\n", "yaml-tab", 1),
        ("a: 1\u2028b: 2\n", "yaml-syntax", 1),
        ("a: x\u0085y\n", "yaml-syntax", 1),
        ("a: [1, 2\nb: 3\n", "yaml-syntax", 2),
        ("a: b: c\n", "yaml-syntax", 1),
        ("", "yaml-empty", 1),
        ("# only a comment\n", "yaml-empty", 1),
        ("---\n", "yaml-empty", 1),
        ("a: 2024-13-45\n", "yaml-syntax", 1),
        ("? [a, b]\n: 1\n", "yaml-syntax", 1),
        ("a: \x07\n", "yaml-syntax", 1),
    ],
)
def test_hazards_are_rejected_with_their_line(pure: bool, text: str, rule: str, line: int) -> None:
    assert only(text, pure)[:2] == (rule, line)


def test_anchor_and_alias_each_at_its_line(pure: bool) -> None:
    errors = errors_of("a: &x [1]\nb: *x\n", pure)
    assert [(e.rule, e.location.line) for e in errors] == [("yaml-anchor", 1), ("yaml-alias", 2)]


def test_billion_laughs_is_rejected_at_once(pure: bool) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(ord("b"), ord("j")):
        prev = chr(i - 1)
        lines.append(f"{chr(i)}: &{chr(i)} [" + ",".join([f"*{prev}"] * 9) + "]")
    errors = errors_of("\n".join(lines) + "\n", pure)
    assert {e.rule for e in errors} == {"yaml-anchor", "yaml-alias"}


@pytest.mark.parametrize("text", ["[" * 10000 + "]" * 10000, "- " * 10000 + "x\n"])
def test_deep_nesting_is_rejected_without_recursion(pure: bool, text: str) -> None:
    rule, _, message = only(text, pure)
    assert rule == "yaml-too-deep" and "64" in message


def test_depth_limit_is_configurable(pure: bool) -> None:
    value, _ = load_yaml("a: {b: {c: 1}}\n", "f.yaml", max_depth=3, pure=pure)
    assert value == {"a": {"b": {"c": 1}}}
    assert only("a: {b: {c: 1}}\n", pure, max_depth=2)[0] == "yaml-too-deep"


def test_size_is_checked_before_parsing(pure: bool) -> None:
    rule, line, message = only(b"\xff" * 300, pure, max_bytes=200)
    assert (rule, line) == ("yaml-too-large", 1)
    assert "300 bytes" in message and "200" in message


def test_invalid_utf8_names_line_and_offset(pure: bool) -> None:
    rule, line, message = only(b"a: 1\nb: caf\xe9\n", pure)
    assert (rule, line) == ("yaml-encoding", 2)
    assert "0xe9" in message and "offset 11" in message


def test_nul_byte_is_binary(pure: bool) -> None:
    assert only(b"a: 1\n\x00\x01\x02", pure)[:2] == ("yaml-encoding", 2)


def test_utf8_bom_is_accepted(pure: bool) -> None:
    assert load_yaml(b"\xef\xbb\xbfa: 1\n", "f.yaml", pure=pure)[0] == {"a": 1}


def test_front_matter_split() -> None:
    text = "---\nname: x\ndescription: y\n---\n# Title\n\n---\nmore\n"
    front, body, offset = split_front_matter(text, "SKILL.md")
    assert front == "name: x\ndescription: y\n"
    assert body == "# Title\n\n---\nmore\n"
    assert offset == 1


def test_front_matter_with_crlf() -> None:
    front, body, _ = split_front_matter("---\r\nname: x\r\n---\r\nbody\r\n", "SKILL.md")
    assert "name: x" in front and body.startswith("body")


@pytest.mark.parametrize(
    ("text", "detail"),
    [("# no front matter\n", "must start"), ("---\nname: x\n", "not terminated"), ("", "must")],
)
def test_front_matter_missing_or_unterminated(text: str, detail: str) -> None:
    with pytest.raises(ConfigError) as caught:
        split_front_matter(text, "skills/x/SKILL.md")
    assert caught.value.rule == "skill-frontmatter"
    assert caught.value.location.line == 1
    assert detail in caught.value.reason
