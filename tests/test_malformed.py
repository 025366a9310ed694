"""Broken input never produces a traceback: only Findings, ConfigError and ConfigErrors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from helpers import Content, dump_yaml, valid_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncbot.errors import ConfigError, ConfigErrors
from syncbot.files.load import load_repo
from syncbot.files.source import SourceFile
from syncbot.files.yamlsafe import c_parser_available, load_yaml
from syncbot.lint.validate import validate

SKILL_YAML = "skills/contract-analysis/skill.yaml"
SKILL_MD = "skills/contract-analysis/SKILL.md"
REGISTRY = "registry/routes.yaml"
ROLLOUTS = "rollouts/production.yaml"
SYNCBOT = "syncbot.yaml"

META = "display_name: X\ndescription: d\ntype: code\ncategory: analysis\nversion: 1.0.0\n"


@dataclass(frozen=True)
class MemorySource:
    """A Source held in memory: the property tests build thousands of repositories."""

    entries: tuple[SourceFile, ...]
    commit: str | None = None

    def files(self) -> tuple[SourceFile, ...]:
        return self.entries


def as_bytes(content: Content) -> bytes:
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode("utf-8")
    return dump_yaml(content).encode("utf-8")


def source_with(path: str, data: bytes) -> MemorySource:
    files = {p: as_bytes(c) for p, c in valid_files().items()}
    files[path] = data
    return MemorySource(tuple(sorted(SourceFile(p, d) for p, d in files.items())))


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(ord("b"), ord("j")):
        lines.append(f"{chr(i)}: &{chr(i)} [" + ",".join([f"*{chr(i - 1)}"] * 9) + "]")
    return "\n".join(lines) + "\n"


BROKEN: list[tuple[str, str, str | bytes]] = [
    ("number-as-string", ROLLOUTS, "contract-analysis: '5'\n"),
    ("yes-as-number", ROLLOUTS, "contract-analysis: yes\n"),
    ("bool-as-number", ROLLOUTS, "contract-analysis: true\n"),
    ("infinite-percentage", ROLLOUTS, "contract-analysis: .inf\n"),
    ("int-key", ROLLOUTS, "5: 10\n"),
    ("nested-junk", ROLLOUTS, "contract-analysis: {percentage: {a: 1}}\n"),
    ("two-documents", ROLLOUTS, "contract-analysis: 5\n---\nnda-drafting: 5\n"),
    ("comment-only", ROLLOUTS, "# nothing here\n"),
    ("deep-block-nesting", ROLLOUTS, "- " * 10000 + "x\n"),
    ("yes-for-boolean", SKILL_YAML, META + "critical: yes\n"),
    ("quoted-no-for-boolean", SKILL_YAML, META + "critical: 'no'\n"),
    ("string-temperature", SKILL_YAML, META + "config: {temperature: '0.3'}\n"),
    ("float-max-tokens", SKILL_YAML, META + "config: {max_tokens: 8000.5}\n"),
    ("float-version", SKILL_YAML, META.replace("1.0.0", "1.10")),
    ("list-type", SKILL_YAML, META.replace("type: code", "type: [code]")),
    ("list-not-mapping", SKILL_YAML, "- display_name\n- description\n"),
    ("duplicate-key", SKILL_YAML, META + "type: prompt\n"),
    ("python-object-tag", SKILL_YAML, META + "owners: !!python/object/apply:os.system [id]\n"),
    ("python-name-tag", SKILL_YAML, META + "critical: !!python/name:os.system\n"),
    ("custom-tag", SKILL_YAML, META + "owners: !include other.yaml\n"),
    ("yaml-1-1-directive", SKILL_YAML, "%YAML 1.1\n---\n" + META + "critical: yes\n"),
    ("tag-directive", SKILL_YAML, "%TAG !x! tag:x.org,2000:\n---\n" + META),
    ("tab-indentation", SKILL_YAML, META + "config:\n\tmax_tokens: 5\n"),
    ("binary", SKILL_YAML, b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256))),
    ("unclosed-quote", SKILL_YAML, 'display_name: "abc\n' + META[16:]),
    ("bad-escape", SKILL_YAML, META.replace("description: d", 'description: "\\q"')),
    ("escape-control-char", SKILL_YAML, META + "owners: [a\x1bb]\n"),
    ("null-key", SKILL_YAML, META + "~: 1\n"),
    ("complex-key", SKILL_YAML, "? [a, b]\n: c\n" + META),
    ("empty-skill-yaml", SKILL_YAML, ""),
    ("mapping-for-list", REGISTRY, "routes: {skill: x}\n"),
    ("string-route", REGISTRY, "routes:\n  - just-a-string\n"),
    (
        "string-patterns",
        REGISTRY,
        "routes:\n  - {skill: x, category: c, priority: 1,"
        " min_confidence: 0.5, patterns: 'a.*b'}\n",
    ),
    (
        "string-priority",
        REGISTRY,
        "routes:\n  - {skill: x, category: c, priority: '1', min_confidence: 0.5, patterns: [a]}\n",
    ),
    (
        "yes-confidence",
        REGISTRY,
        "routes:\n  - {skill: x, category: c, priority: 1, min_confidence: yes, patterns: [a]}\n",
    ),
    ("duplicate-route-key", REGISTRY, "routes:\n  - skill: x\n    skill: y\n"),
    ("billion-laughs", REGISTRY, billion_laughs()),
    ("two-megabytes", REGISTRY, "routes: []\n" + "# " + "x" * 2_000_000 + "\n"),
    ("empty-registry", REGISTRY, ""),
    ("deep-flow-nesting", SYNCBOT, "categories: " + "[" * 10000 + "]" * 10000 + "\n"),
    ("anchors-and-merge", SYNCBOT, "base: &b {a: 1}\nprune:\n  <<: *b\n"),
    ("string-categories", SYNCBOT, "categories: analysis\n"),
    ("list-environments", SYNCBOT, "environments: [staging, production]\n"),
    ("string-limit", SYNCBOT, "limits: {max_file_bytes: big}\n"),
    ("string-step", SYNCBOT, "environments: {production: {rollout: {steps: [0, '5', 100]}}}\n"),
    ("no-front-matter", SKILL_MD, "# Just markdown\n"),
    ("unterminated-front-matter", SKILL_MD, "---\nname: contract-analysis\ndescription: d\n"),
    ("empty-front-matter", SKILL_MD, "---\n---\nbody\n"),
    ("only-dashes", SKILL_MD, "---\n"),
    ("list-front-matter", SKILL_MD, "---\n- name\n---\nbody\n"),
    ("int-name", SKILL_MD, "---\nname: 123\ndescription: d\n---\nbody\n"),
    ("tab-front-matter", SKILL_MD, "---\nname: contract-analysis\n\tdescription: d\n---\n"),
    (
        "latin-1",
        SKILL_MD,
        "---\nname: contract-analysis\ndescription: café\n---\n".encode("latin-1"),
    ),
    ("nul-bytes", SKILL_MD, b"---\nname: contract-analysis\x00\ndescription: d\n---\n"),
    ("utf-16", SKILL_MD, "---\nname: contract-analysis\ndescription: d\n---\n".encode("utf-16")),
    ("empty-skill-md", SKILL_MD, b""),
]


def test_there_are_at_least_forty_broken_files() -> None:
    assert len(BROKEN) >= 40
    assert len({name for name, _, _ in BROKEN}) == len(BROKEN)


@pytest.mark.parametrize(("path", "content"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_broken_file_is_reported(path: str, content: str | bytes) -> None:
    source = source_with(path, as_bytes(content))
    findings = validate(source)
    errors = [f for f in findings if f.severity == "error" and f.file == path]
    assert errors, findings
    assert all(f.message and f.rule and f.line >= 1 for f in errors)
    with pytest.raises(ConfigErrors) as caught:
        load_repo(source)
    assert all(isinstance(e, ConfigError) and e.reason for e in caught.value.errors)


def test_crlf_files_are_fine() -> None:
    files = {p: as_bytes(c).replace(b"\n", b"\r\n") for p, c in valid_files().items()}
    source = MemorySource(tuple(sorted(SourceFile(p, d) for p, d in files.items())))
    assert [f for f in validate(source) if f.severity == "error"] == []


# --- property tests --------------------------------------------------------------------------

YAMLISH = st.text(alphabet=st.sampled_from(list("ab1 :-[]{},&*!|>'\"#%@`?~\t\n.\\\x00é")))
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def loads_or_config_error(data: str | bytes) -> None:
    try:
        load_yaml(data, "f.yaml")
    except ConfigErrors as exc:
        assert exc.errors and all(isinstance(e, ConfigError) for e in exc.errors)


@PROPERTY
@given(st.text())
def test_random_text_never_crashes(text: str) -> None:
    loads_or_config_error(text)


@PROPERTY
@given(YAMLISH)
def test_random_yamlish_text_never_crashes(text: str) -> None:
    loads_or_config_error(text)


@PROPERTY
@given(st.binary())
def test_random_bytes_never_crash(data: bytes) -> None:
    loads_or_config_error(data)


def mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    for position, delete, insert in edits:
        at = position % (len(data) + 1)
        data = data[:at] + insert + data[at + delete :]
    return data


EDITS = st.lists(
    st.tuples(
        st.integers(0, 10_000),
        st.integers(0, 3),
        st.sampled_from(
            [
                b"",
                b":",
                b"- ",
                b"\t",
                b"'",
                b"&a ",
                b"*a",
                b"!!str ",
                b"\n",
                b"{",
                b"]",
                b"yes",
                b'"',
                b"---\n",
                b"%YAML 1.1\n",
                b"\x00",
                b"\xff",
                b"<<: ",
                b"#",
            ]
        ),
    ),
    min_size=1,
    max_size=4,
)
TARGETS = [SKILL_YAML, SKILL_MD, REGISTRY, ROLLOUTS, SYNCBOT]


@PROPERTY
@given(st.sampled_from(TARGETS), EDITS)
def test_mutated_valid_files_only_produce_findings(
    path: str, edits: list[tuple[int, int, bytes]]
) -> None:
    original = as_bytes(valid_files()[path])
    source = source_with(path, mutate(original, edits))
    findings = validate(source)
    assert all(f.rule and f.message and f.line >= 1 for f in findings)
    try:
        load_repo(source)
    except ConfigErrors as exc:
        assert exc.errors


def parsed(text: str, *, pure: bool) -> object:
    try:
        return load_yaml(text, "f.yaml", pure=pure)[0]
    except ConfigErrors as exc:
        assert exc.errors
        return ConfigErrors


@pytest.mark.skipif(not c_parser_available(), reason="ruamel.yaml.clib not installed")
@PROPERTY
@given(st.sampled_from(TARGETS), EDITS)
def test_c_and_pure_parsers_never_disagree_on_a_value(
    path: str, edits: list[tuple[int, int, bytes]]
) -> None:
    """Where both parsers accept a config file, they read the same values.

    They may disagree on acceptance at the edges (libyaml rejects YAML 1.2 plain scalars
    such as `[a:0]`; it accepts `>#comment`), never silently on content.
    """
    text = mutate(as_bytes(valid_files()[path]), edits).decode("utf-8", "replace")
    if path == SKILL_MD:
        text = text.split("---")[1] if text.count("---") >= 2 else text
    pure, fast = parsed(text, pure=True), parsed(text, pure=False)
    if isinstance(pure, dict) and isinstance(fast, dict):
        assert pure == fast
