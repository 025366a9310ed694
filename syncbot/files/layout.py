"""Which paths of a configuration repository syncbot reads, which it reports, and its root.

Read: everything under `skills/`, `registry/*.yaml`, `rollouts/*.yaml`, `syncbot.yaml` and
`routes-queries.yaml`. Reported as ignored, with the reason, is every file the bot would
otherwise skip without a word: `rollouts/x.yml`, `registry/sub/x.yaml`, a `registry` that
is a file or a symlink, an unknown top-level YAML file. Loading reports them as errors.
"""

from __future__ import annotations

from pathlib import Path

from syncbot.files.source import SourceError

FILE_KINDS = {"registry", "rollouts"}
# Sample queries for the plan's routing explanations; they never reach a live system.
QUERIES_FILE = "routes-queries.yaml"
ROOT_FILES = ("syncbot.yaml", QUERIES_FILE)
FOLDERS = ("skills", *sorted(FILE_KINDS))
_YAML = (".yaml", ".yml")
CONFIG_ROOTS = ("skills", "registry", "rollouts", "syncbot.yaml")
ROOT_MARKER = "syncbot.yaml"


def find_repo_root(start: Path) -> Path:
    """The nearest folder at or above `start` that holds syncbot.yaml, as git finds .git.

    Run from `skills/` the root is still found; run from a folder outside any
    configuration repository, nothing is read: reading there would see no files, and a
    plan of "no files" deletes everything.
    """
    here = Path(start).resolve()
    if not here.is_dir():
        raise SourceError(f"{start} is not a folder")
    for folder in (here, *here.parents):
        if (folder / ROOT_MARKER).is_file():
            return folder
    raise SourceError(
        f"not inside a syncbot repository: no {ROOT_MARKER} in {here} or any folder above it "
        "(run from the repository, or pass --repo PATH)"
    )


def is_config_path(path: str) -> bool:
    """Whether a repository path is one of the configuration files syncbot reads."""
    top, _, rest = path.partition("/")
    if top == "skills":
        return bool(rest)
    if top in FILE_KINDS:
        return "/" not in rest and rest.endswith(".yaml")
    return path in ROOT_FILES


def ignored_reason(path: str, *, is_folder: bool = True) -> str | None:
    """Why the bot would skip this path, or None (read, or none of its business).

    `is_folder` says whether a top-level `skills`, `registry` or `rollouts` is a real
    folder (not a file or a symlink)."""
    top, _, rest = path.partition("/")
    if not rest:
        return _top_level_reason(top, is_folder)
    name = rest.rsplit("/", 1)[-1]
    if top not in FILE_KINDS or name.startswith("."):
        return None
    if "/" in rest:
        return f"only files directly in {top}/ are read, not in subfolders"
    if not rest.endswith(".yaml"):
        return f"only {top}/*.yaml files are read (spelled .yaml)"
    return None


def _top_level_reason(name: str, is_folder: bool) -> str | None:
    if name in FOLDERS:
        return None if is_folder else f"{name} must be a folder, not a file or a symlink"
    if name.startswith(".") or not name.endswith(_YAML) or name in ROOT_FILES:
        return None
    known = " and ".join(ROOT_FILES)
    return f"unknown top-level YAML file: syncbot reads only {known} at the top"
