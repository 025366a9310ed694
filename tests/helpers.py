"""Build small configuration repositories for tests, declaratively, from dicts."""

from __future__ import annotations

import copy
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import git
from ruamel.yaml import YAML

Content = str | bytes | Mapping[str, Any] | list[Any] | None


def dump_yaml(value: Any) -> str:
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    out = io.StringIO()
    yaml.dump(value, out)
    return out.getvalue()


def write_tree(root: Path, files: Mapping[str, Content]) -> None:
    """Write `files` under root: text, bytes, or dicts/lists dumped as YAML; None deletes."""
    for relative, content in files.items():
        path = root / relative
        if content is None:
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, "utf-8")
        else:
            path.write_text(dump_yaml(content), "utf-8")


def build_tree(tmp_path: Path, files: Mapping[str, Content], *, commit: bool = False) -> Path:
    """A repository at tmp_path/repo holding `files`; with commit=True, a git repo."""
    root = tmp_path / "repo"
    root.mkdir(parents=True, exist_ok=True)
    write_tree(root, files)
    if commit:
        repo = git.Repo.init(root)
        with repo.config_writer() as config:
            config.set_value("user", "name", "Test")
            config.set_value("user", "email", "test@example.invalid")
        repo.close()
        commit_all(root, "initial")
    return root


def commit_all(root: Path, message: str) -> str:
    """Commit every change of the work tree; returns the new commit's sha."""
    # closed here: a git cat-file process left to the garbage collector is a
    # ResourceWarning (an error under filterwarnings) in whichever test runs then
    with git.Repo(root) as repo:
        repo.git.add("--all")
        repo.index.commit(message)
        return str(repo.head.commit.hexsha)


def skill_md(name: str, description: str = "Does a useful thing for lawyers.", **extra: Any) -> str:
    front = dump_yaml({"name": name, "description": description, **extra})
    return f"---\n{front}---\n\n# {name}\n\nInstructions.\n"


def skill_yaml(**overrides: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "display_name": "A Skill",
        "description": "Platform description",
        "type": "prompt",
        "category": "analysis",
        "version": "1.0.0",
    }
    meta.update(overrides)
    return meta


def valid_files() -> dict[str, Content]:
    """A small valid repository: two skills, one registry, two rollouts, syncbot.yaml."""
    files: dict[str, Content] = {
        "syncbot.yaml": {
            "categories": ["analysis", "drafting", "research", "compliance"],
            "environments": {
                "staging": {},
                "production": {"rollout": {"steps": [0, 5, 25, 50, 100], "min_soak_hours": 72}},
            },
        },
        "skills/contract-analysis/SKILL.md": skill_md("contract-analysis"),
        "skills/contract-analysis/skill.yaml": skill_yaml(
            display_name="Contract Analysis", type="code"
        ),
        "skills/contract-analysis/scripts/run.py": "print('hello')\n",
        "skills/nda-drafting/SKILL.md": skill_md("nda-drafting"),
        "skills/nda-drafting/skill.yaml": skill_yaml(
            display_name="NDA Drafting", category="drafting"
        ),
        "registry/routes.yaml": {
            "routes": [
                {
                    "skill": "contract-analysis",
                    "category": "legal_analysis",
                    "priority": 1,
                    "min_confidence": 0.5,
                    "patterns": [
                        "contract.*analy[sz]is",
                        {"regex": "review.*agreement", "weight": 0.6},
                    ],
                    "examples": {
                        "match": ["Please run a contract analysis on this"],
                        "no_match": ["What is the weather in Cluj?"],
                    },
                },
                {
                    "skill": "nda-drafting",
                    "category": "drafting",
                    "priority": 2,
                    "min_confidence": 0.5,
                    "patterns": ["draft.*nda"],
                    "examples": {"match": ["Draft an NDA for us"], "no_match": []},
                },
            ]
        },
        "rollouts/staging.yaml": {"contract-analysis": 100, "nda-drafting": 50},
        "rollouts/production.yaml": {
            "contract-analysis": 5,
            "nda-drafting": {"percentage": 25, "salt": "nda-drafting"},
        },
    }
    return copy.deepcopy(files)
