"""End-to-end fixtures: a small git repository of skills, the emulator over loopback HTTP,
and the CLI run through its real top-level handler with the environment of one test."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import git
import pytest

from syncbot import cli as cli_module
from syncbot.emulator.server import EmulatorServer
from syncbot.session import Targets, open_targets
from syncbot.settings import Settings

API_KEY = "sk-test-e2e-key-0123456789"

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
    name: str, body: str = "Steps for the lawyer.", version: str = "1.0.0"
) -> dict[str, str]:
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
            """),
    }


def base_files() -> dict[str, str]:
    files = {"syncbot.yaml": SYNCBOT_YAML}
    for name in ("contract-review", "nda-drafting", "statute-lookup"):
        files.update(skill_files(name))
    files["registry/routes.yaml"] = textwrap.dedent("""\
        routes:
          - skill: contract-review
            category: legal_analysis
            priority: 1
            min_confidence: 0.5
            patterns: ['contract.*review', 'review.*contract']
            examples:
              match: ["Please review this contract"]
              no_match: ["Draft an NDA"]
          - skill: nda-drafting
            category: drafting
            priority: 2
            min_confidence: 0.5
            patterns: ['draft.*nda', 'nda.*draft']
        """)
    files["rollouts/staging.yaml"] = "contract-review: 100\nnda-drafting: 50\n"
    files["rollouts/production.yaml"] = "contract-review: 5\n"
    return files


@dataclass
class Repo:
    path: Path
    git: git.Repo

    def write(self, files: dict[str, str]) -> None:
        for rel, text in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")

    def commit(self, message: str) -> str:
        self.git.git.add(A=True)
        return self.git.index.commit(message).hexsha

    def remove(self, rel: str) -> None:
        self.git.git.rm("-r", "-q", rel)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    path = tmp_path / "config"
    path.mkdir()
    handle = git.Repo.init(path)
    with handle.config_writer() as cfg:
        cfg.set_value("user", "name", "test").release()
    with handle.config_writer() as cfg:
        cfg.set_value("user", "email", "test@example.invalid").release()
    r = Repo(path, handle)
    r.write(base_files())
    r.commit("initial configuration")
    yield r
    handle.close()


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def live_env(
    emulator: EmulatorServer,
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    env = {
        "ANTHROPIC_API_KEY": API_KEY,
        "ANTHROPIC_BASE_URL": emulator.base_url,
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "SYNCBOT_REDIS_PREFIX": redis_prefix,
        "SYNCBOT_ENV": "staging",
        "SKILLS_UPLOAD_TIMEOUT": "5000",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ANTHROPIC_SKILLS_BETA_VERSION", raising=False)
    monkeypatch.delenv("ANTHROPIC_SKILLS_ENABLED", raising=False)
    return env


@dataclass
class Result:
    code: int
    out: str
    err: str


Cli = Callable[..., Result]


@pytest.fixture
def cli(repo: Repo, live_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> Cli:
    def run(*args: str) -> Result:
        capsys.readouterr()
        code = cli_module.run(["--repo", str(repo.path), *args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def targets(live_env: dict[str, str]) -> Iterator[Targets]:
    with open_targets(Settings.from_env()) as opened:
        yield opened
