"""Fuzzing the CLI: random and mutated files in a configuration repository on disk.

`syncbot validate` (and the offline commands that load the repository) must exit 0 or 1
and never print a traceback or an internal error, whatever the files hold: mutated
bytes, random YAML documents, schema-shaped values in the wrong places, stray files.
Run in-process through the real top-level handler (`syncbot.cli.run`) for speed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from syncbot import cli as cli_module

from .support import Result, base_files

# CI: 100 fixed examples per fuzzer (derandomized, so a failure reproduces); set
# SYNCBOT_FUZZ_EXAMPLES=2000 for a longer, random hunt
EXAMPLES = int(os.environ.get("SYNCBOT_FUZZ_EXAMPLES", "100"))
DERANDOMIZE = "SYNCBOT_FUZZ_EXAMPLES" not in os.environ
FILES = sorted(base_files())  # syncbot.yaml, registry, rollouts, SKILL.md and skill.yaml
YAML_FILES = [f for f in FILES if f.endswith(".yaml")]

COMMANDS: list[list[str]] = [
    ["validate"],
    ["validate", "--format", "json"],
    ["validate", "--format", "github"],
    ["routes", "test", "please review this contract"],
    ["rollout", "bucket", "contract-review", "user-42"],
]

# fragments that have broken YAML readers before: tags, anchors, directives, merge keys,
# odd scalars, control and bidirectional characters, deep nesting
TOKENS = [
    ": ",
    "- ",
    "? ",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!python/object:os.system ",
    "!custom ",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "\t",
    "\x00",
    "\ufeff",
    "\u202e",
    "\u2028",
    "\r",
    "yes",
    "~",
    "{",
    "}",
    "[",
    "]",
    "'",
    '"',
    "#",
    "|\n",
    ">-\n",
    "0x1F",
    "1e400",
    ".inf",
    ".nan",
    "9" * 40,
    "-1",
    "null",
    "2001-12-14t21:59:43.10-05:00",
    "[" * 200 + "]" * 200,
    "{a: " * 150 + "}" * 150,
    "- " * 120 + "x",
    "\\u0000",
    "(a+)+$",
    "(?<name>x)",
    "\\p{L}",
]

KEYS = [
    "routes",
    "skill",
    "category",
    "priority",
    "min_confidence",
    "patterns",
    "regex",
    "weight",
    "examples",
    "match",
    "no_match",
    "percentage",
    "salt",
    "display_name",
    "description",
    "type",
    "version",
    "config",
    "max_tokens",
    "temperature",
    "critical",
    "owners",
    "allow",
    "categories",
    "environments",
    "rollout",
    "steps",
    "min_soak_hours",
    "limits",
    "max_skill_bytes",
    "max_file_bytes",
    "prune",
    "max_deletions",
    "name",
    "license",
    "metadata",
    "allowed-tools",
]

VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["contract-review", "analysis", "1.0.0", "code", "prompt", "x" * 300]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12) | st.sampled_from(KEYS), children, max_size=4)
    ),
    max_leaves=12,
)


def run_cli(repo: Path, args: list[str]) -> Result:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_module.run(["--repo", str(repo), *args])
    return Result(code, out.getvalue(), err.getvalue())


def check_every_command(repo: Path) -> None:
    for args in COMMANDS:
        result = run_cli(repo, args)
        text = result.out + result.err
        assert result.code in (0, 1), (args, result)
        assert "Traceback (most recent call last)" not in text, (args, result)
        assert not result.err.startswith("internal error"), (args, result)
        if args[-1] == "json":
            assert "findings" in json.loads(result.out), result


def fresh_repo(root: Path) -> Path:
    repo = root / "config"
    shutil.rmtree(repo, ignore_errors=True)
    for rel, text in base_files().items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return repo


# --- mutations -----------------------------------------------------------------------------

Mutation = Callable[[bytes], bytes]


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    kind = draw(st.sampled_from(["insert", "delete", "replace", "token", "truncate", "lines"]))
    at = draw(st.floats(min_value=0, max_value=1))
    if kind == "insert":
        blob = draw(st.binary(min_size=1, max_size=8))
        return lambda data: data[: int(at * len(data))] + blob + data[int(at * len(data)) :]
    if kind == "delete":
        size = draw(st.integers(min_value=1, max_value=20))
        return lambda data: data[: int(at * len(data))] + data[int(at * len(data)) + size :]
    if kind == "replace":
        byte = draw(st.integers(min_value=0, max_value=255))

        def replace(data: bytes) -> bytes:
            i = min(int(at * len(data)), max(len(data) - 1, 0))
            return data[:i] + bytes([byte]) + data[i + 1 :]

        return replace
    if kind == "token":
        token = draw(st.sampled_from(TOKENS)).encode("utf-8")
        return lambda data: data[: int(at * len(data))] + token + data[int(at * len(data)) :]
    if kind == "truncate":
        return lambda data: data[: int(at * len(data))]
    order = draw(st.permutations(range(6)))

    def shuffle_lines(data: bytes) -> bytes:
        lines = data.split(b"\n")
        head = [lines[i] for i in order if i < len(lines)]
        return b"\n".join(head + lines[6:])

    return shuffle_lines


def replace_somewhere(value: Any, path: list[int], new: Any) -> Any:
    """`value` with the node reached by following `path` (indices modulo) replaced."""
    if not path or not isinstance(value, dict | list) or not value:
        return new
    if isinstance(value, dict):
        key = sorted(value, key=str)[path[0] % len(value)]
        return {**value, key: replace_somewhere(value[key], path[1:], new)}
    i = path[0] % len(value)
    return [*value[:i], replace_somewhere(value[i], path[1:], new), *value[i + 1 :]]


def dump(value: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    out = io.StringIO()
    yaml.dump(value, out)
    return out.getvalue()


def load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(target=st.sampled_from(FILES), steps=st.lists(mutations(), min_size=1, max_size=4))
def test_mutated_bytes_never_crash_the_cli(
    tmp_path: Path, target: str, steps: list[Mutation]
) -> None:
    repo = fresh_repo(tmp_path)
    data = (repo / target).read_bytes()
    for step in steps:
        data = step(data)
    (repo / target).write_bytes(data)
    check_every_command(repo)


@FUZZ
@given(target=st.sampled_from(YAML_FILES), document=VALUES)
def test_random_yaml_documents_never_crash_the_cli(
    tmp_path: Path, target: str, document: Any
) -> None:
    repo = fresh_repo(tmp_path)
    try:
        text = dump(document)
    except Exception:  # not representable (e.g. a NaN key): JSON is YAML too
        text = json.dumps(document, default=str)
    (repo / target).write_text(text, encoding="utf-8")
    check_every_command(repo)


@FUZZ
@given(
    target=st.sampled_from(YAML_FILES),
    path=st.lists(st.integers(min_value=0, max_value=50), max_size=5),
    new=VALUES,
)
def test_schema_shaped_files_with_one_value_replaced_never_crash_the_cli(
    tmp_path: Path, target: str, path: list[int], new: Any
) -> None:
    repo = fresh_repo(tmp_path)
    original = load((repo / target).read_text(encoding="utf-8"))
    (repo / target).write_text(dump(replace_somewhere(original, path, new)), encoding="utf-8")
    check_every_command(repo)


@FUZZ
@given(
    front=st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=10), VALUES, max_size=5),
    body=st.text(max_size=200),
    fence=st.sampled_from(["---\n", "---\r\n", "--- \n", "", "---"]),
)
def test_random_skill_md_front_matter_never_crashes_the_cli(
    tmp_path: Path, front: dict[str, Any], body: str, fence: str
) -> None:
    repo = fresh_repo(tmp_path)
    try:
        header = dump(front)
    except Exception:
        header = json.dumps(front, default=str)
    text = f"{fence}{header}{fence}{body}"
    (repo / "skills/nda-drafting/SKILL.md").write_text(text, encoding="utf-8", errors="replace")
    check_every_command(repo)


@FUZZ
@given(
    name=st.text(min_size=1, max_size=20).filter(lambda s: "/" not in s and "\x00" not in s),
    rel=st.sampled_from(["SKILL.md", "skill.yaml", "scripts/run.sh", "x.pyc", ".hidden", "a b"]),
    data=st.binary(max_size=300),
    registry_name=st.sampled_from(["extra.yaml", "extra.yml", "extra.txt", "sub/extra.yaml"]),
)
def test_stray_files_and_folders_never_crash_the_cli(
    tmp_path: Path, name: str, rel: str, data: bytes, registry_name: str
) -> None:
    repo = fresh_repo(tmp_path)
    if name in (".", ".."):
        name = "dot"
    try:
        target = repo / "skills" / name / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    except (OSError, UnicodeEncodeError):
        pytest.skip("the file system refuses this name")
    extra = repo / "registry" / registry_name
    extra.parent.mkdir(parents=True, exist_ok=True)
    extra.write_bytes(data)
    check_every_command(repo)


def test_the_untouched_repository_is_valid(tmp_path: Path) -> None:
    """The fuzzers start from a valid repository (else they would only test one error)."""
    repo = fresh_repo(tmp_path)
    assert run_cli(repo, ["validate"]).code == 0
    for args in COMMANDS:
        assert run_cli(repo, args).code == 0, args


def test_the_check_catches_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fuzzer whose check cannot fail finds nothing: make validate crash, see it caught."""

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("syncbot.commands.config_cmds.validate", crash)
    with pytest.raises(AssertionError, match="internal error"):
        check_every_command(fresh_repo(tmp_path))
