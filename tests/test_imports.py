"""Every module of the package imports on its own, in a fresh interpreter: no import cycle
(which shows only when a module is the FIRST of its cycle to be imported) can come back.

One child interpreter imports the third-party libraries once, then forks per module, so
each module is imported with no `syncbot` module loaded yet (about 0.1 s a module).
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import syncbot

PACKAGE_DIR = Path(syncbot.__file__).parent

# Runs in the child interpreter: preload what the package needs from outside, then fork
# once per module; a failing import prints one line "module: error" and exits non-zero.
RUNNER = r"""
import importlib, json, os, sys, traceback
request = json.load(sys.stdin)
for name in request["preload"]:
    try:
        importlib.import_module(name)
    except ImportError:
        pass
assert not [m for m in sys.modules if m == "syncbot" or m.startswith("syncbot.")]
failed = []
for module in request["modules"]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(module)
            code = 0
        except BaseException as exc:
            last = traceback.format_exception_only(exc)[-1].strip()
            os.write(write, f"{module}: {last}".encode())
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        failed.append(message or f"{module}: exit status {status}")
print(json.dumps(failed))
"""


def package_modules() -> list[str]:
    found = pkgutil.walk_packages([str(PACKAGE_DIR)], prefix="syncbot.")
    return ["syncbot", *sorted(info.name for info in found)]


def third_party_imports() -> list[str]:
    """The top-level names the package imports from outside itself."""
    names: set[str] = set()
    for path in PACKAGE_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return sorted(names - {"syncbot", "__future__"})


def import_each(modules: list[str]) -> list[str]:
    request = json.dumps({"preload": third_party_imports(), "modules": modules})
    done = subprocess.run(
        [sys.executable, "-c", RUNNER],
        input=request,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    failed: list[str] = json.loads(done.stdout)
    return failed


def test_walk_finds_the_whole_package() -> None:
    modules = package_modules()
    files = list(PACKAGE_DIR.rglob("*.py"))
    assert len(modules) == len(files)  # every .py file is a module the test imports
    assert "syncbot.commands.live_cmds" in modules
    assert "syncbot.__main__" in modules


def test_every_module_imports_on_its_own() -> None:
    assert import_each(package_modules()) == []


def test_a_broken_import_is_reported() -> None:
    """The check itself can fail: a module that does not import is named."""
    failed = import_each(["syncbot.errors", "syncbot.no_such_module"])
    assert len(failed) == 1
    assert failed[0].startswith("syncbot.no_such_module: ModuleNotFoundError")


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncbot", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"syncbot, version {syncbot.__version__}")
