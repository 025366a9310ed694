"""Property: whatever `syncbot validate` accepts, `plan` and `apply` carry out.

Configurations are generated in the shape of the file formats, with hostile values in
their fields: numbers at and past the bounds of their columns, NUL and other control
characters, any Unicode, long strings. For every configuration that validate accepts,
plan and apply against the emulator, PostgreSQL and Redis must exit 0 and a second plan
must be empty; a configuration validate refuses must be refused cleanly (exit 1). Each
example gets its own emulator, database schema and Redis prefix.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_support import API_KEY, live_environment
from ruamel.yaml import YAML

from syncbot import cli as cli_module
from syncbot.emulator.server import EmulatorServer

from .support import Result

# CI: 12 fixed examples (derandomized, ~30 s); SYNCBOT_FUZZ_EXAMPLES=500 hunts longer
EXAMPLES = int(os.environ.get("SYNCBOT_FUZZ_EXAMPLES", "12"))
DERANDOMIZE = "SYNCBOT_FUZZ_EXAMPLES" not in os.environ
SKILLS = ("contract-review", "nda-drafting")
CATEGORIES = ["analysis", "drafting"]

EDGE_TEXT = [
    "\x00",
    "a\x00b",
    "line one\nline two",
    "tab\there",
    "\x1b[31mred",
    "\u202eevil",
    "\ufeffbom",
    "<b>bold</b>",
    "{braces} %s",
    "@everyone",
    "x" * 300,
    "😀" * 70,
    "ș" * 255,
    " ",
    "",
]
# printable text of every script (no control, format or unassigned characters), or an edge
PRINTABLE = st.characters(exclude_categories=("Cs", "Cc", "Cf", "Zl", "Zp", "Co", "Cn"))
TEXT = st.text(PRINTABLE, min_size=1, max_size=60) | st.sampled_from(EDGE_TEXT)
LONG_TEXT = TEXT | st.text(PRINTABLE, min_size=200, max_size=1500)
INTS = st.sampled_from([0, 1, 2, 5, 100, 200000, 2**31 - 1, 2**31, 2**63, -1, 10**30])
FLOATS = st.sampled_from(
    [0.0, -0.0, 5e-324, 1e-300, 0.01, 0.5, 0.9999999999999999, 1.0, 1.0000000000000002, 1e300]
) | st.floats(min_value=0, max_value=1)
PERCENT = st.sampled_from([0, 0.01, 5, 25, 33.33, 99.99, 100, 100.01, 1e-300]) | INTS
SEMVER = st.sampled_from(["1.0.0", "0.0.0", "1.0.0-rc.1+build.5", "99999999999999999999.0.0"])

# (file, field) -> the values tried there; each example sets one to three of them
FIELDS: dict[tuple[str, str], st.SearchStrategy[Any]] = {
    ("meta", "display_name"): TEXT,
    ("meta", "description"): LONG_TEXT,
    ("meta", "category"): st.sampled_from(CATEGORIES) | TEXT,
    ("meta", "version"): SEMVER,
    ("meta", "config"): st.fixed_dictionaries(
        {}, optional={"max_tokens": INTS | st.integers(1, 200000), "temperature": FLOATS}
    ),
    ("meta", "critical"): st.booleans(),
    ("meta", "owners"): st.lists(TEXT, max_size=3),
    ("front", "description"): LONG_TEXT,
    ("front", "license"): TEXT,
    ("front", "compatibility"): TEXT,
    ("front", "metadata"): st.dictionaries(TEXT, TEXT, max_size=2),
    ("skill", "body"): LONG_TEXT,
    ("skill", "helper"): st.tuples(
        st.text(PRINTABLE, min_size=1, max_size=30).filter(
            lambda n: "/" not in n and n not in (".", "..") and len(n.encode()) < 200
        ),
        LONG_TEXT,
    ),
    ("route", "category"): TEXT,
    ("route", "priority"): INTS | st.integers(1, 2**31),
    ("route", "min_confidence"): FLOATS,
    ("route", "weight"): FLOATS,
    ("route", "literal"): TEXT,
    ("rollout", "percentage"): PERCENT,
    ("rollout", "salt"): TEXT,
    ("policy", "min_soak_hours"): FLOATS | INTS | st.floats(min_value=0, max_value=1e6),
    ("policy", "max_deletions"): INTS,
}


def skill_files(
    name: str, meta: dict[str, Any], front: dict[str, Any], body: str
) -> dict[str, Any]:
    front = {"name": name, "description": f"Helps with {name} work.", **front}
    return {
        f"skills/{name}/SKILL.md": f"---\n{dump(front)}---\n{body}\n",
        f"skills/{name}/skill.yaml": {
            "display_name": name.title(),
            "description": f"The {name} skill",
            "type": "prompt",
            "category": "analysis",
            "version": "1.0.0",
            **meta,
        },
    }


@st.composite
def configurations(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """(environment, files): the base repository with a few fields set to hostile values."""
    chosen = draw(st.lists(st.sampled_from(sorted(FIELDS)), min_size=1, max_size=3, unique=True))
    parts: dict[str, dict[str, Any]] = {
        k: {} for k in ("meta", "front", "skill", "route", "rollout", "policy")
    }
    for part, name in chosen:
        parts[part][name] = draw(FIELDS[(part, name)])
    skill = parts.pop("skill")
    environment = draw(st.sampled_from(["staging", "production"]))
    files = build(**parts, body=skill.get("body", "Steps for the lawyer."))
    if "helper" in skill:  # a helper file: any printable name, any text
        name, text = skill["helper"]
        files[f"skills/{SKILLS[0]}/references/{name}"] = text
    return environment, files


def build(
    meta: dict[str, Any],
    front: dict[str, Any],
    route: dict[str, Any],
    rollout: dict[str, Any],
    policy: dict[str, Any],
    body: str,
) -> dict[str, Any]:
    files: dict[str, Any] = {
        "syncbot.yaml": {
            "categories": CATEGORIES,
            "environments": {
                "staging": {},
                "production": {
                    "rollout": {
                        "steps": [0, 5, 25, 50, 100],
                        **{k: v for k, v in policy.items() if k == "min_soak_hours"},
                    }
                },
            },
            "prune": {"max_deletions": policy.get("max_deletions", 3)},
        },
        **skill_files(SKILLS[0], meta, front, body),
        **skill_files(SKILLS[1], {}, {}, "Steps."),
    }
    pattern = {"regex": literal(route.get("literal", "contract")), "weight": route.get("weight", 1)}
    routes = [
        {
            "skill": SKILLS[0],
            "category": route.get("category", "legal_analysis"),
            "priority": route.get("priority", 1),
            "min_confidence": route.get("min_confidence", 0.5),
            "patterns": [pattern],
        }
    ]
    files["registry/routes.yaml"] = {"routes": routes}
    entry = {"percentage": rollout.get("percentage", 5), "salt": rollout.get("salt", "s")}
    files["rollouts/staging.yaml"] = {SKILLS[0]: entry, SKILLS[1]: 50}
    # production keeps to its ladder: a percentage off it is refused by policy, on purpose
    files["rollouts/production.yaml"] = {SKILLS[0]: {**entry, "percentage": 5}}
    return files


def literal(text: str) -> str:
    """`text` as a regex that matches it literally, portable to JavaScript."""
    return (
        "".join(c if c.isalnum() else f"\\u{ord(c):04x}" if ord(c) < 0x10000 else c for c in text)
        or "x"
    )


def dump(value: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    out = io.StringIO()
    try:
        yaml.dump(value, out)
    except Exception:  # not representable: JSON is YAML too
        return json.dumps(value) + "\n"
    return out.getvalue()


def write(root: Path, files: dict[str, Any]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else dump(content)
        path.write_text(text, encoding="utf-8", errors="surrogatepass")


@contextlib.contextmanager
def live(pg_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    prefix = f"test:{uuid.uuid4().hex}:"
    with EmulatorServer(api_key=API_KEY) as server:
        env = live_environment(server.base_url, pg_url, redis_url, prefix)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        try:
            yield
        finally:
            client = redis.Redis.from_url(redis_url)
            keys = list(client.scan_iter(match=prefix + "*"))
            if keys:
                client.unlink(*keys)
            client.close()


def run_cli(repo: Path, *args: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_module.run(["--repo", str(repo), *args])
    return Result(code, out.getvalue(), err.getvalue())


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def check_property(root: Path, environment: str, pg_url: str, redis_url: str, mp: Any) -> None:
    checked = run_cli(root, "validate")
    assert checked.code in (0, 1), checked
    if checked.code == 1:
        return
    with live(pg_url, redis_url, mp):
        for args in (["plan"], ["apply"], ["plan", "--detailed-exitcode"]):
            result = run_cli(root, *args, "--env", environment)
            assert result.code == 0, (args, result.code, result.err[-2000:])


@FUZZ
@given(config=configurations())
def test_what_validate_accepts_plan_and_apply_carry_out(
    tmp_path_factory: pytest.TempPathFactory,
    make_pg_url: Callable[[], str],
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    config: tuple[str, dict[str, Any]],
) -> None:
    environment, files = config
    root = tmp_path_factory.mktemp("config")
    write(root, files)
    check_property(root, environment, make_pg_url(), redis_url, monkeypatch)


def test_the_property_can_fail(
    tmp_path: Path, make_pg_url: Callable[[], str], redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check that cannot fail finds nothing: without the NUL rules (the single-line
    field type's and the storable-text net), a NUL in a display name passes validate and
    the apply fails in the database; the check must say so."""
    write(tmp_path, build({"display_name": "A\x00B"}, {}, {}, {}, {}, "Steps."))
    assert run_cli(tmp_path, "validate").code == 1
    monkeypatch.setattr("syncbot.files.skills.unstorable_text", lambda *args: [])
    monkeypatch.setattr("syncbot.files.fields._LINE_CONTROL", re.compile("[\x01-\x1f]"))
    with pytest.raises(AssertionError, match="apply"):
        check_property(tmp_path, "staging", make_pg_url(), redis_url, monkeypatch)
