"""What the live-system suites (tests/e2e, tests/faults) share: a git repository of
configuration, the CLI run through its real top-level handler, and the environment that
points syncbot at the emulator and the test's own PostgreSQL schema and Redis prefix.
The fixtures built on these are in tests/conftest.py; each suite brings its own files."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import git

API_KEY = "sk-test-live-key-0123456789"
ENVIRONMENT = "staging"

SYNCBOT_YAML = """\
categories: [analysis, drafting, research, compliance]
environments:
  staging: {}
  production:
    rollout:
      steps: [0, 5, 25, 50, 100]
      min_soak_hours: 72
prune:
  max_deletions: 2
"""


def skill_files(
    name: str,
    body: str = "Steps for the lawyer.",
    version: str = "1.0.0",
    *,
    critical: bool = False,
) -> dict[str, str]:
    """The two files of a small prompt skill (`version` is its skill.yaml semver)."""
    extra = "critical: true\n" if critical else ""
    return {
        f"skills/{name}/SKILL.md": (
            f"---\nname: {name}\ndescription: Helps with {name} work.\n---\n# {name}\n\n{body}\n"
        ),
        f"skills/{name}/skill.yaml": textwrap.dedent(f"""\
            display_name: {name.replace("-", " ").title()}
            description: The {name} skill
            type: prompt
            category: analysis
            version: "{version}"
            """)
        + extra,
    }


@dataclass
class Repo:
    path: Path
    git: git.Repo

    def write(self, files: Mapping[str, str]) -> None:
        for rel, text in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")

    def commit(self, message: str) -> str:
        self.git.git.add(A=True)
        return self.git.index.commit(message).hexsha

    def remove(self, rel: str) -> None:
        self.git.git.rm("-r", "-q", rel)

    def skills(self) -> set[str]:
        return {p.parent.name for p in (self.path / "skills").glob("*/SKILL.md")}


def init_repo(path: Path, files: Mapping[str, str]) -> Repo:
    path.mkdir(parents=True)
    handle = git.Repo.init(path)
    with handle.config_writer() as cfg:
        cfg.set_value("user", "name", "test").release()
    with handle.config_writer() as cfg:
        cfg.set_value("user", "email", "test@example.invalid").release()
    repo = Repo(path, handle)
    repo.write(files)
    repo.commit("initial configuration")
    return repo


@dataclass
class Result:
    code: int
    out: str
    err: str


Cli = Callable[..., Result]


def live_environment(base_url: str, pg_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    return {
        "ANTHROPIC_API_KEY": API_KEY,
        "ANTHROPIC_BASE_URL": base_url,
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "SYNCBOT_REDIS_PREFIX": prefix,
        "SYNCBOT_ENV": ENVIRONMENT,
        "SKILLS_UPLOAD_TIMEOUT": "5000",
    }
