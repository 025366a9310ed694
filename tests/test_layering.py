"""The package's layers (README, Layout) hold: no module imports a layer above its own.

Every module is parsed (not imported) and each of its imports, at any depth (inside
functions and `if TYPE_CHECKING:` too), is checked against four rules:
- layers: a module imports only its own layer and the layers its layer may use;
- the planner's modules are internal: outside `planner/` only `syncbot.planner` is used;
- pure modules (planner, values, render, semantic) import nothing that does I/O;
- database, cache, HTTP and git drivers are imported only at the edge that owns them.
A new top-level module or package must be given a layer in LAYERS.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import syncbot

PACKAGE_DIR = Path(syncbot.__file__).parent

BELOW_CONFIG = frozenset({"foundation", "values", "rules"})
BELOW_ORCHESTRATION = BELOW_CONFIG | {"files", "lint", "planner", "targets"}
BELOW_COMMANDS = BELOW_ORCHESTRATION | {"orchestration", "emulator"}

# layer: (the modules in it, the other layers it may import). Listed low to high; the
# package's own __init__ (the version) is foundation.
LAYERS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "foundation": (
        (
            "syncbot.errors",
            "syncbot.canonical",
            "syncbot.redact",
            "syncbot.textsafe",
            "syncbot.settings",
            "syncbot.regexsafe",
            "syncbot.progress",
            "syncbot.files.semver",
        ),
        frozenset(),
    ),
    "values": (
        ("syncbot.records", "syncbot.desired", "syncbot.live", "syncbot.plan"),
        frozenset({"foundation"}),
    ),
    "rules": (
        ("syncbot.bucketing", "syncbot.routing", "syncbot.marker"),
        frozenset({"foundation", "values"}),
    ),
    "files": (("syncbot.files", "syncbot.policy"), BELOW_CONFIG),
    "lint": (("syncbot.lint",), BELOW_CONFIG | {"files"}),
    # planner/ and targets/ sit side by side: neither imports the other, nor files/ or lint/
    "planner": (("syncbot.planner",), BELOW_CONFIG),
    "targets": (("syncbot.targets",), BELOW_CONFIG),
    "orchestration": (
        (
            "syncbot.session",
            "syncbot.reader",
            "syncbot.applier",
            "syncbot.runlog",
            "syncbot.semantic",
            "syncbot.render",
            "syncbot.github",
            "syncbot.history",
            "syncbot.ops",
            "syncbot.promote",
            "syncbot.importer",
            "syncbot.scaffold",
            "syncbot.yamledit",
        ),
        BELOW_ORCHESTRATION,
    ),
    # a separate program (the local Skills API): it uses nothing of the bot
    "emulator": (("syncbot.emulator",), frozenset()),
    "commands": (("syncbot.commands",), BELOW_COMMANDS),
    "cli": (("syncbot.cli", "syncbot.__main__"), BELOW_COMMANDS | {"commands"}),
}

PURE: tuple[str, ...] = ("syncbot.planner", "syncbot.desired", "syncbot.live", "syncbot.plan")
PURE += ("syncbot.render", "syncbot.semantic")
DOES_IO = (
    "syncbot.files.source",
    "syncbot.targets",
    "syncbot.session",
    "syncbot.reader",
    "psycopg",
    "redis",
    "httpx",
    "git",
    "subprocess",
    "socket",
)
# driver: the modules that may import it (its exceptions are translated there)
DRIVERS = {
    "psycopg": ("syncbot.targets",),
    "redis": ("syncbot.targets",),
    "httpx": ("syncbot.targets", "syncbot.github"),
    "git": ("syncbot.files", "syncbot.ops"),
}

# (importer, imported): why it is allowed for now. Each entry must still be needed.
ALLOWED: dict[tuple[str, str], str] = {
    ("syncbot.promote.prometheus", "httpx"): (
        "the Prometheus metrics source translates httpx errors itself; it belongs in targets/"
        " once Health moves below promote/"
    ),
    ("syncbot.promote.proposals", "git"): (
        "promote --open-prs commits and pushes proposal branches; the git plumbing belongs in"
        " files/ (a repository writer) next to GitTree"
    ),
    ("syncbot.promote.store", "psycopg.types.json"): (
        "merged from i11-core, not yet fixed: the Jsonb parameter belongs in targets/postgres"
    ),
}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def imports_of(name: str, path: Path, known: Iterable[str]) -> Iterator[Import]:
    """Every import in the file; `from a import b` names `a.b` when that is a module."""
    modules = set(known)
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(name, is_package, node.level, node.module)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield Import(name, sub if sub in modules else base, node.lineno)


def _absolute(name: str, is_package: bool, level: int, module: str | None) -> str:
    if not level:
        return module or ""
    parts = name.split(".")
    parts = parts if is_package else parts[:-1]
    parts = parts[: len(parts) - (level - 1)]
    return ".".join([*parts, *([module] if module else [])])


def within(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def layer_of(module: str) -> str | None:
    """The layer of a module of the package: the longest matching prefix wins."""
    if module == "syncbot":
        return "foundation"
    best: tuple[int, str | None] = (0, None)
    for layer, (prefixes, _) in LAYERS.items():
        for prefix in prefixes:
            if within(module, [prefix]) and len(prefix) > best[0]:
                best = (len(prefix), layer)
    return best[1]


def problems(edge: Import) -> list[str]:
    """What is wrong with one import (empty when nothing is)."""
    found = []
    src, dst = edge.importer, edge.imported
    if within(dst, ["syncbot"]):
        mine, theirs = layer_of(src), layer_of(dst)
        if mine and theirs and mine != theirs and theirs not in LAYERS[mine][1]:
            found.append(f"layer {mine} imports layer {theirs}")
        internal = within(dst, ["syncbot.planner"]) and dst != "syncbot.planner"
        if internal and not within(src, ["syncbot.planner"]):
            found.append("a planner internal, outside planner/")
    if within(src, PURE) and within(dst, DOES_IO):
        found.append("a pure module imports I/O")
    driver = dst.split(".")[0]
    if driver in DRIVERS and not within(src, DRIVERS[driver]):
        found.append(f"{driver} outside {', '.join(DRIVERS[driver])}")
    return found


def all_imports() -> list[Import]:
    modules = package_modules()
    edges = (edge for name, path in modules.items() for edge in imports_of(name, path, modules))
    return list(dict.fromkeys(edges))  # `from a import b, c` is one import of a


def violations(edges: Iterable[Import]) -> list[str]:
    return [
        f"{edge.importer}:{edge.line} imports {edge.imported}: {why}"
        for edge in edges
        if (edge.importer, edge.imported) not in ALLOWED
        for why in problems(edge)
    ]


def test_every_module_has_a_layer() -> None:
    unmapped = [name for name in package_modules() if layer_of(name) is None]
    assert unmapped == [], "give these a layer in LAYERS (and README, Layout)"


def test_layers_are_respected() -> None:
    assert violations(all_imports()) == []


def test_every_allowance_is_still_needed() -> None:
    """An entry whose import is gone (or no longer wrong) is removed, not kept."""
    wrong = {(e.importer, e.imported) for e in all_imports() if problems(e)}
    assert sorted(set(ALLOWED) - wrong) == []


def test_the_layers_form_no_cycle() -> None:
    seen: list[str] = []
    for layer, (_, lower) in LAYERS.items():
        assert lower <= set(seen), f"{layer} may use a layer listed after it"
        seen.append(layer)


def test_the_checks_can_fail() -> None:
    edges = [
        Import("syncbot.targets.postgres", "syncbot.planner", 1),
        Import("syncbot.files.load", "syncbot.lint.validate", 2),
        Import("syncbot.commands.demo_cmd", "psycopg", 3),
        Import("syncbot.ops", "syncbot.planner.context", 4),
        Import("syncbot.render", "syncbot.session", 5),
        Import("syncbot.commands.live_cmds", "syncbot.cli", 6),
        Import("syncbot.emulator.state", "syncbot.errors", 7),
        Import("syncbot.commands.live_cmds", "syncbot.commands.common", 8),
        Import("syncbot.lint.routes", "syncbot.routing", 9),
    ]
    assert [v.split(":")[1].split(" ")[0] for v in violations(edges)] == [
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
    ]
