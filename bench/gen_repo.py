"""Generate a large valid configuration repository for the validate benchmark.

`generate(root, n_skills)` writes n skills (SKILL.md, skill.yaml and a helper script
each), 2n routes with match and no_match examples spread over registry files of 100
routes (each under the default 256 KiB file limit), rollouts for staging and production,
and syncbot.yaml. Every skill gets its own distinctive words, so every example routes
correctly and the repository validates clean.

    python bench/gen_repo.py /tmp/big 1000 && syncbot --repo /tmp/big validate
    python bench/gen_repo.py --time 1000   # generate in a temp dir and time load + validate
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

ROUTES_PER_FILE = 100
_LETTERS = "bcdfghjklmnpqrstvwxz"
_STEPS = [0, 5, 25, 50, 100]


def word(n: int, salt: int) -> str:
    """A made-up word unique to (n, salt): letters from a hash, so trigrams vary like text."""
    digest = hashlib.sha256(f"{n}:{salt}".encode()).digest()
    return "".join(_LETTERS[b % len(_LETTERS)] for b in digest[:9])


def skill_name(n: int) -> str:
    return f"skill-{n:04d}-{word(n, 0)}"


def _skill_md(n: int) -> str:
    name = skill_name(n)
    body = "\n".join(
        f"{i}. Read the document, find every clause about {word(n, 1)}, and explain it."
        for i in range(1, 21)
    )
    return (
        f"---\nname: {name}\ndescription: Analyzes {word(n, 1)} documents and explains "
        f"{word(n, 2)} clauses. Use when asked about {word(n, 1)}.\n"
        f"license: Proprietary\nmetadata:\n  owner: legal-ai\n---\n\n# {name}\n\n{body}\n"
    )


def _skill_yaml(n: int) -> str:
    categories = ["analysis", "drafting", "research", "compliance"]
    return (
        "# yaml-language-server: $schema=../../schemas/skill.schema.json\n"
        f"display_name: Skill {n:04d} {word(n, 1).title()}\n"
        f"description: Handles {word(n, 1)} and {word(n, 2)} questions\n"
        f"type: {'code' if n % 2 else 'prompt'}\n"
        f"category: {categories[n % 4]}\n"
        f'version: "1.{n % 7}.0"\n'
        "config:\n  max_tokens: 8000\n  temperature: 0.3\n"
        f"critical: {'true' if n % 10 == 0 else 'false'}\n"
        "owners: [legal-ai]\n"
    )


def _helper(n: int) -> str:
    return (
        '"""Extract clauses for the skill."""\n\n\n'
        f"def extract(text: str) -> list[str]:\n"
        f"    return [line for line in text.splitlines() if {word(n, 1)!r} in line.lower()]\n"
    )


def _route(n: int, variant: int) -> str:
    one, two = word(n, 1 + variant * 2), word(n, 2 + variant * 2)
    return (
        f"  - skill: {skill_name(n)}\n"
        f"    category: topic_{variant}\n"
        f"    priority: {1 + variant}\n"
        "    min_confidence: 0.5\n"
        "    patterns:\n"
        f"      - '{one}.*{two}'\n"
        f"      - regex: '{two}s? (clause|term)'\n"
        "        weight: 0.6\n"
        "    examples:\n"
        f'      match: ["Please check the {one} and the {two} clause"]\n'
        f'      no_match: ["Nothing about {word(n + 1, 9)} here"]\n'
    )


def _registry_files(n_skills: int) -> dict[str, str]:
    routes = [_route(n, variant) for n in range(n_skills) for variant in (0, 1)]
    files = {}
    for start in range(0, len(routes), ROUTES_PER_FILE):
        chunk = routes[start : start + ROUTES_PER_FILE]
        header = "# yaml-language-server: $schema=../schemas/registry.schema.json\nroutes:\n"
        files[f"registry/routes-{start // ROUTES_PER_FILE:03d}.yaml"] = header + "".join(chunk)
    return files


def _rollouts(n_skills: int, environment: str) -> str:
    lines = ["# yaml-language-server: $schema=../schemas/rollouts.schema.json"]
    for n in range(n_skills):
        percentage = 100 if environment == "staging" else _STEPS[n % len(_STEPS)]
        if n % 5 == 0:
            lines.append(f"{skill_name(n)}:\n  percentage: {percentage}\n  salt: s{n}")
        else:
            lines.append(f"{skill_name(n)}: {percentage}")
    return "\n".join(lines) + "\n"


SYNCBOT_YAML = """categories: [analysis, drafting, research, compliance]
environments:
  staging: {}
  production:
    rollout:
      steps: [0, 5, 25, 50, 100]
      min_soak_hours: 72
"""


def generate(root: Path, n_skills: int) -> None:
    """Write the repository under `root` (created if needed)."""
    files = {"syncbot.yaml": SYNCBOT_YAML, **_registry_files(n_skills)}
    for environment in ("staging", "production"):
        files[f"rollouts/{environment}.yaml"] = _rollouts(n_skills, environment)
    for n in range(n_skills):
        folder = f"skills/{skill_name(n)}"
        files[f"{folder}/SKILL.md"] = _skill_md(n)
        files[f"{folder}/skill.yaml"] = _skill_yaml(n)
        files[f"{folder}/scripts/extract.py"] = _helper(n)
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")


def _time(n_skills: int, rounds: int) -> int:
    from syncbot.files.load import build_desired, load_repo
    from syncbot.files.worktree import WorkTree
    from syncbot.lint.validate import validate

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, n_skills)
        for _ in range(rounds):
            start = time.perf_counter()
            desired = build_desired(load_repo(WorkTree(root)), "production")
            loaded = time.perf_counter()
            findings = validate(WorkTree(root))
            done = time.perf_counter()
            routes = len(desired.routes)
            print(
                f"{n_skills} skills, {routes} routes: load+build {loaded - start:.2f} s,"
                f" validate {done - loaded:.2f} s, findings {len(findings)}"
            )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", type=Path)
    parser.add_argument("n_skills", type=int, nargs="?", default=1000)
    parser.add_argument("--time", action="store_true", help="time load and validate instead")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if args.time or args.root is None:
        return _time(args.n_skills, args.rounds)
    generate(args.root, args.n_skills)
    return 0


if __name__ == "__main__":
    sys.exit(main())
