"""`syncbot new skill`: a new skill folder, a route stub and a 0% rollout everywhere."""

from __future__ import annotations

from pathlib import Path

import click

from syncbot import scaffold
from syncbot.commands.common import App, pass_app
from syncbot.errors import SyncbotError
from syncbot.files.load import read_repo, rollout_file
from syncbot.files.worktree import WorkTree
from syncbot.yamledit import add_rollouts, add_routes


@click.group("new")
def new_group() -> None:
    """Create configuration from templates that pass validate.

    \b
    Examples:
      syncbot new skill contract-summary --category analysis
      syncbot new skill statute-search --category research --type code
    """


@new_group.command("skill")
@click.argument("name")
@click.option("--category", required=True, help="One of the categories of syncbot.yaml.")
@click.option(
    "--type",
    "skill_type",
    type=click.Choice(scaffold.TYPES),
    default="prompt",
    show_default=True,
    help="code: the skill runs scripts (a scripts/main.py stub is added).",
)
@pass_app
def new_skill(app: App, name: str, category: str, skill_type: str) -> int:
    """Create skills/NAME/ (SKILL.md and skill.yaml with TODOs to fill), a route with
    examples in registry/CATEGORY.yaml, and a 0% rollout in every environment. All of it
    passes `syncbot validate` at once; nothing is written if it would not.

    \b
    Examples:
      syncbot new skill lease-review --category analysis
      syncbot new skill deadline-math --category research --type code
    """
    problem = scaffold.name_problem(name)
    if problem:
        raise SyncbotError(problem)
    loaded = read_repo(WorkTree(app.repo))[0]  # its own problems are for validate to report
    categories = list(loaded.config.categories)
    if category not in categories:
        raise SyncbotError(
            f"unknown category {category!r}: syncbot.yaml lists {', '.join(categories)}"
        )
    if (app.repo / "skills" / name).exists() or name in loaded.skills:
        raise SyncbotError(f"skills/{name} exists already: choose another name")
    files = _files(app.repo, name, category, skill_type, sorted(loaded.config.environments))
    _, findings = scaffold.validate_overlay(app.repo, files)
    errors = scaffold.errors_in(findings, tuple(files))
    if errors:
        first = errors[0]
        raise SyncbotError(
            f"the new files would not pass validate: {first.file}:{first.line}: "
            f"{first.rule}: {first.message}; nothing written"
        )
    for path, data in files.items():
        target = app.repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for path in files:
        app.say(f"wrote {path}")
    app.say(
        f"Next: fill the TODOs in skills/{name}/, widen the route's patterns and examples, "
        f"`git add {' '.join(sorted({_top(p) for p in files}))}`, `syncbot validate`."
    )
    return 0


def _files(
    root: Path, name: str, category: str, skill_type: str, environments: list[str]
) -> dict[str, bytes]:
    """Every file to write, by repository path: the folder, the registry, the rollouts."""
    files = {
        f"skills/{name}/{path}": data
        for path, data in scaffold.skill_files(name, category, skill_type).items()
    }
    registry = f"registry/{category}.yaml"
    text = _read(root / registry) or _HEADER.format(kind="registry")
    stub = scaffold.route_stub(name, category)
    files[registry] = add_routes(text, [stub], registry).encode("utf-8")
    for env in environments:
        path = rollout_file(env)
        comment = "new skill: starts off"
        text = _read(root / path) or _HEADER.format(kind="rollouts")
        files[path] = add_rollouts(text, {name: 0}, path, comment).encode("utf-8")
    return files


# a file created here points editors at its schema, as the files shipped do
_HEADER = "# yaml-language-server: $schema=../schemas/{kind}.schema.json\n"


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _top(path: str) -> str:
    return "/".join(path.split("/")[:2]) if path.startswith("skills/") else path
