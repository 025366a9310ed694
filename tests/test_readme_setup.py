"""The README's "Repository set-up" table lists exactly the GitHub environments, secrets and
variables that the workflows use: nothing missing (a first run would fail on an empty
credential), nothing extra (someone would create a secret nothing reads)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
REPOSITORY_LEVEL = "(repository)"
_REFERENCE = re.compile(r"\b(secrets|vars)\.([A-Za-z_][A-Za-z0-9_]*)")
_MATRIX = re.compile(r"\$\{\{\s*matrix\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}")
_NAME = re.compile(r"`([A-Za-z0-9_.-]+)`")
# GitHub provides this one to every job; it is never set up by hand.
AUTOMATIC = {("secrets", "GITHUB_TOKEN")}

Setup = dict[str, dict[str, set[str]]]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _environments(job: dict[str, Any]) -> list[str]:
    """The job's GitHub environment names, one per matrix combination that names one."""
    spec = job.get("environment")
    if spec is None:
        return [REPOSITORY_LEVEL]
    name = spec["name"] if isinstance(spec, dict) else spec
    axes = job.get("strategy", {}).get("matrix", {})
    used = _MATRIX.findall(name)
    names = set()
    for combo in itertools.product(*(axes[axis] for axis in used)):
        resolved = name
        for axis, value in zip(used, combo, strict=True):
            resolved = re.sub(rf"\$\{{\{{\s*matrix\.{axis}\s*\}}\}}", str(value), resolved)
        names.add(resolved)
    assert "${{" not in "".join(names), f"environment name not understood: {name}"
    return sorted(names)


def used_by(path: Path) -> Setup:
    """Environment -> the secrets and variables one workflow's jobs read in it."""
    workflow = YAML(typ="safe", pure=True).load(path)
    top = [s for key, v in workflow.items() if key != "jobs" for s in _strings(v)]
    found: Setup = {}
    for job in workflow["jobs"].values():
        references = {
            (kind, name)
            for text in [*top, *_strings(job)]
            for kind, name in _REFERENCE.findall(text)
        } - AUTOMATIC
        for environment in _environments(job):
            entry = found.setdefault(environment, {"secrets": set(), "vars": set()})
            for kind, name in references:
                entry[kind].add(name)
    return {e: v for e, v in found.items() if e != REPOSITORY_LEVEL or any(v.values())}


def used_by_workflows() -> Setup:
    found: Setup = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for environment, entry in used_by(path).items():
            merged = found.setdefault(environment, {"secrets": set(), "vars": set()})
            for kind, names in entry.items():
                merged[kind] |= names
    return found


def listed_in_readme() -> Setup:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n### Repository set-up\n", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    found: Setup = {}
    for row in rows:
        environment, _used_by, secrets, variables = row.strip("|").split("|")
        [name] = _NAME.findall(environment)
        assert name not in found, f"{name} listed twice"
        found[name] = {
            "secrets": set(_NAME.findall(secrets)),
            "vars": set(_NAME.findall(variables)),
        }
    return found


def test_the_workflows_use_some_environments() -> None:
    used = used_by_workflows()
    assert {"staging", "production", "plan-readonly"} <= set(used)
    assert "DATABASE_URL" in used["staging"]["secrets"]


def test_the_readme_lists_every_environment_secret_and_variable_the_workflows_use() -> None:
    assert listed_in_readme() == used_by_workflows()


def test_the_readme_names_the_workflows_that_use_each_environment() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n### Repository set-up\n", 1)[1].split("\n#", 1)[0]
    listed = {}
    for row in (line for line in section.splitlines() if line.startswith("| `")):
        environment, workflows = row.strip("|").split("|")[:2]
        [name] = _NAME.findall(environment)
        listed[name] = set(_NAME.findall(workflows))
    users: dict[str, set[str]] = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for environment in used_by(path):
            users.setdefault(environment, set()).add(path.name)
    assert listed == users
