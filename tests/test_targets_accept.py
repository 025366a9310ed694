"""Validate refuses what the targets cannot take: numbers that do not fit their columns,
text the database cannot store, file names that are not UTF-8, and files too big to read.
Each family keeps a test here; the property test in tests/faults/test_targets_fuzz.py
checks the whole promise (what validate accepts, apply applies) against the services."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import git
import pytest
from faults.support import base_files
from helpers import Content, build_tree, skill_yaml, valid_files, write_tree
from live_support import Cli, Repo

from syncbot.desired import content_sha256
from syncbot.files.gittree import GitTree
from syncbot.files.load import read_repo
from syncbot.files.schemas import INT4_MAX, MAX_DELETIONS_CAP, MAX_SOAK_HOURS
from syncbot.files.worktree import WorkTree
from syncbot.lint.validate import validate

CA = "skills/contract-analysis"
ROUTES = "registry/routes.yaml"
BAD_NAME = os.fsencode("caf") + b"\xe9.txt"  # Latin-1 bytes: not valid UTF-8


def found(root: Path) -> list[tuple[str, str, int]]:
    return [(f.rule, f.file, f.line) for f in validate(WorkTree(root)) if f.severity == "error"]


def tree(tmp_path: Path, changes: dict[str, Content]) -> Path:
    files = valid_files()
    files.update(changes)
    return build_tree(tmp_path, files)


def routes_with(**fields: object) -> dict[str, object]:
    routes = json.loads(json.dumps(valid_files()[ROUTES]))
    assert isinstance(routes, dict)
    routes["routes"][1].update(fields)
    return routes


# --- numbers fit the columns that store them ---------------------------------------------


@pytest.mark.parametrize(("priority", "ok"), [(INT4_MAX, True), (INT4_MAX + 1, False)])
def test_route_priority_fits_a_postgresql_integer(tmp_path: Path, priority: int, ok: bool) -> None:
    rules = [
        rule for rule, file, _ in found(tree(tmp_path, {ROUTES: routes_with(priority=priority)}))
    ]
    assert rules == ([] if ok else ["schema"])


@pytest.mark.parametrize(("hours", "ok"), [(MAX_SOAK_HOURS, True), (300_000_000, False)])
def test_min_soak_hours_is_bounded_so_dates_cannot_overflow(
    tmp_path: Path, hours: int, ok: bool
) -> None:
    config = valid_files()["syncbot.yaml"]
    assert isinstance(config, dict)
    config["environments"]["production"]["rollout"]["min_soak_hours"] = hours
    root = tree(tmp_path, {"syncbot.yaml": config})
    text = (root / "syncbot.yaml").read_text("utf-8").splitlines()
    line = next(i for i, t in enumerate(text, 1) if "min_soak" in t)
    assert found(root) == ([] if ok else [("schema", "syncbot.yaml", line)])


def test_prune_cap_is_bounded(tmp_path: Path) -> None:
    config = {"prune": {"max_deletions": MAX_DELETIONS_CAP + 1}}
    assert found(tree(tmp_path, {"syncbot.yaml": config})) == [("schema", "syncbot.yaml", 2)]


# --- text the database can store ----------------------------------------------------------


def test_nul_in_a_multi_line_description_is_refused_at_its_line(tmp_path: Path) -> None:
    text = 'display_name: X\ndescription: "first line\\nsecond\\0line"\ntype: code\n'
    text += "category: analysis\nversion: 1.0.0\n"
    assert found(tree(tmp_path, {f"{CA}/skill.yaml": text})) == [
        ("text-control-character", f"{CA}/skill.yaml", 2)
    ]


@pytest.mark.parametrize(
    ("file", "text", "line"),
    [
        (
            ROUTES,
            'routes:\n  - skill: nda-drafting\n    category: "dr\\0afting"\n'
            "    priority: 2\n    min_confidence: 0.5\n    patterns: [draft.*nda]\n",
            3,
        ),
        ("rollouts/production.yaml", 'nda-drafting:\n  percentage: 5\n  salt: "s\\0"\n', 3),
        (f"{CA}/SKILL.md", '---\nname: contract-analysis\ndescription: "a\\0b"\n---\nBody\n', 3),
        (
            f"{CA}/skill.yaml",
            "display_name: X\ndescription: d\ntype: code\ncategory: analysis\n"
            'version: 1.0.0\nowners: ["\\0"]\n',
            6,
        ),
    ],
)
def test_nul_anywhere_in_yaml_is_refused(tmp_path: Path, file: str, text: str, line: int) -> None:
    # a typed text field refuses it as a control character, before the storable-text net
    root = tree(tmp_path, {file: text})
    assert ("text-control-character", file, line) in found(root)


def test_nul_where_no_field_type_looks_is_still_refused(tmp_path: Path) -> None:
    # a mapping key is no typed field: the storable-text check is the net that catches it
    root = tree(tmp_path, {"rollouts/production.yaml": '"nda-drafting\\0": 5\n'})
    assert ("text-nul", "rollouts/production.yaml", 1) in found(root)


def test_nul_makes_plan_refuse_instead_of_failing_in_the_database(tmp_path: Path) -> None:
    root = tree(tmp_path, {f"{CA}/skill.yaml": skill_yaml(display_name="A\0B")})
    _, errors = read_repo(WorkTree(root))
    assert [e.rule for e in errors] == ["text-control-character"]


# --- file names ---------------------------------------------------------------------------


def write_bad_name(root: Path) -> None:
    with open(os.fsencode(root / CA) + b"/" + BAD_NAME, "wb") as out:
        out.write(b"notes\n")


def test_undecodable_file_name_in_the_work_tree(tmp_path: Path) -> None:
    root = tree(tmp_path, {})
    write_bad_name(root)
    assert found(root) == [("file-name-encoding", f"{CA}/caf\\xe9.txt", 1)]


def git_commit_all(root: Path, message: str) -> str:
    # the git CLI, not GitPython's index: the index writer cannot take these names
    repo = git.Repo(root)
    repo.git.add("--all")
    repo.git.commit("-q", "-m", message)
    return str(repo.head.commit.hexsha)


def test_undecodable_file_name_in_a_commit_and_in_the_base(tmp_path: Path) -> None:
    root = build_tree(tmp_path, valid_files(), commit=True)
    write_bad_name(root)
    git_commit_all(root, "a file whose name is not UTF-8")
    head = [(f.rule, f.file) for f in validate(GitTree(root, "HEAD"))]
    assert head == [("file-name-encoding", f"{CA}/caf\\xe9.txt")]
    os.remove(os.fsencode(root / CA) + b"/" + BAD_NAME)
    git_commit_all(root, "renamed")
    # the PR check reads the base too: its bad name must not break the comparison
    assert validate(GitTree(root, "HEAD"), base=GitTree(root, "HEAD~1")) == []


def test_cli_plan_with_an_undecodable_name_is_a_clear_error(tmp_path: Path) -> None:
    root = build_tree(tmp_path, valid_files(), commit=True)
    write_bad_name(root)
    git_commit_all(root, "bad name")
    for args in (["validate"], ["validate", "--base", "HEAD~1"], ["plan", "--ref", "HEAD"]):
        done = run_cli(root, *args)
        assert done.returncode == 1, (args, done.stderr)
        assert "file-name-encoding" in done.stdout + done.stderr
        assert "Traceback" not in done.stderr


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "ANTHROPIC"))}
    command = [sys.executable, "-m", "syncbot", "--repo", str(root), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


# --- sizes are checked before reading -----------------------------------------------------

HUGE = 3 * 1024**3  # 3 GB, sparse: nothing is written to disk
BIG_BLOB = 256 * 1024**2
PEAK_MIB = 300  # the interpreter and syncbot take ~100 MiB; reading either file takes more

MEASURE = textwrap.dedent("""\
    import sys, time
    from pathlib import Path
    from syncbot.files.gittree import GitTree
    from syncbot.files.worktree import WorkTree
    from syncbot.lint.validate import validate
    root = Path(sys.argv[1])
    source = GitTree(root, "HEAD") if sys.argv[2] == "git" else WorkTree(root)
    start = time.monotonic()
    result = [(f.rule, f.file, f.line) for f in validate(source)]
    elapsed = time.monotonic() - start
    # VmHWM, not ru_maxrss: Linux carries the forking parent's peak (pytest's) into
    # ru_maxrss across exec, while VmHWM belongs to this process's own memory map
    status = Path("/proc/self/status").read_text()
    peak_mib = int(status.split("VmHWM:")[1].split()[0]) / 1024
    print(repr((result, elapsed, peak_mib)))
    """)


def measure(root: Path, kind: str) -> tuple[list[tuple[str, str, int]], float, float]:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(root), kind],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result, elapsed, peak = eval(done.stdout)  # our own repr() of plain values
    return result, elapsed, peak


def test_a_huge_helper_file_is_refused_without_being_read(tmp_path: Path) -> None:
    root = tree(tmp_path, {})
    with open(root / CA / "huge.bin", "wb") as out:
        out.truncate(HUGE)
    with open(root / "registry" / "huge.yaml", "wb") as out:
        out.truncate(HUGE)
    result, elapsed, peak_mib = measure(root, "work")
    assert (("skill-too-large", f"{CA}/huge.bin", 1)) in result
    assert ("skill-too-large", f"{CA}/SKILL.md", 1) in result
    assert ("yaml-too-large", "registry/huge.yaml", 1) in result
    assert elapsed < 2.0, elapsed
    assert peak_mib < PEAK_MIB, f"peak RSS {peak_mib:.0f} MiB: the file was read"


def test_a_big_git_blob_is_refused_by_its_header(tmp_path: Path) -> None:
    files = valid_files()
    files["syncbot.yaml"] = {"limits": {"max_skill_bytes": 1048576}}
    root = build_tree(tmp_path, files, commit=True)
    with open(root / CA / "big.bin", "wb") as out:
        out.truncate(BIG_BLOB)
    git_commit_all(root, "a big file")
    os.remove(root / CA / "big.bin")
    result, _, peak_mib = measure(root, "git")
    assert ("skill-too-large", f"{CA}/big.bin", 1) in result
    assert peak_mib < PEAK_MIB, f"peak RSS {peak_mib:.0f} MiB: the blob was read"


def test_too_many_files_together_are_refused_and_left_unread(tmp_path: Path) -> None:
    changes: dict[str, Content] = {f"{CA}/refs/{i}.md": "x" * 900 for i in range(3)}
    changes["syncbot.yaml"] = {"limits": {"max_skill_bytes": 2000}}
    root = tree(tmp_path, changes)
    repo, errors = read_repo(WorkTree(root))
    assert [(e.rule, e.location.file) for e in errors] == [("skill-too-large", f"{CA}/SKILL.md")]
    assert [f.path for f in repo.skills["contract-analysis"].files] == [
        f"{CA}/SKILL.md",
        f"{CA}/skill.yaml",
    ]


def test_a_skill_yaml_over_the_file_limit_is_not_read(tmp_path: Path) -> None:
    root = tree(tmp_path, {"syncbot.yaml": {"limits": {"max_file_bytes": 100}}})
    with open(root / CA / "skill.yaml", "ab") as out:
        out.truncate(HUGE)
    result = found(root)
    assert ("yaml-too-large", f"{CA}/skill.yaml", 1) in result
    assert ("skill-missing-file", f"{CA}/skill.yaml", 1) not in result


def test_the_streamed_content_hash_is_the_documented_one(tmp_path: Path) -> None:
    config = valid_files()["syncbot.yaml"]
    assert isinstance(config, dict)
    config["limits"] = {"max_skill_bytes": 4 * 1024**2}
    big = b"0123456789" * 300_000  # three 1 MiB chunks and a bit
    root = tree(tmp_path, {f"{CA}/data/big.txt": big, "syncbot.yaml": config})
    repo, errors = read_repo(WorkTree(root))
    assert errors == []
    skill = repo.skills["contract-analysis"]
    fresh = read_repo(WorkTree(root))[0].skills["contract-analysis"]
    # hashed from the files in chunks, before anything read them whole
    assert fresh.content_sha256 == content_sha256(skill.uploaded)
    assert fresh.uploaded_bytes == sum(len(f.data) for f in skill.uploaded)


def test_a_file_that_grows_while_read_is_an_error_not_a_bigger_read(tmp_path: Path) -> None:
    root = tree(tmp_path, {})
    entry = next(f for f in WorkTree(root).files() if f.path.endswith("run.py"))
    write_tree(root, {f"{CA}/scripts/run.py": "print('much longer than before')\n"})
    with pytest.raises(Exception, match="changed while it was being read"):
        _ = entry.data


# --- the longest soak allowed, against the live systems -----------------------------------


@pytest.fixture
def repo_files() -> dict[str, str]:
    files = base_files()
    files["syncbot.yaml"] = files["syncbot.yaml"].replace("72", str(MAX_SOAK_HOURS))
    files["rollouts/production.yaml"] = "contract-review: 5\n"
    return files


def test_the_longest_soak_is_refused_by_policy_with_its_end_date(cli: Cli, repo: Repo) -> None:
    assert cli("apply", "--env", "production").code == 0
    repo.write({"rollouts/production.yaml": "contract-review: 25\n"})
    repo.commit("next step")
    planned = cli("plan", "--env", "production", "--detailed-exitcode")
    assert planned.code in (1, 2), planned.err  # refused by policy: no internal error
    years = int(planned.out.split("ends ")[1][:4]) - datetime.now(UTC).year
    assert years == 10, planned.out


def test_one_finding_per_line_when_the_field_itself_refuses_the_nul(tmp_path: Path) -> None:
    text = 'display_name: X\ndescription: "a\\0b"\ntype: code\ncategory: analysis\n'
    text += 'version: "1.0\\0"\n'
    result = found(tree(tmp_path, {f"{CA}/skill.yaml": text}))
    # each line once: the field types refuse the NUL, the storable-text net stays quiet
    assert result == [
        ("text-control-character", f"{CA}/skill.yaml", 2),
        ("text-control-character", f"{CA}/skill.yaml", 5),
    ]
