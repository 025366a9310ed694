"""`syncbot import` end to end: skills uploaded by hand through the official SDK against
the emulator are adopted into a git repository and the staging database; the next plan
shows no API change and the next apply uploads nothing."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import anthropic
import psycopg
import pytest
from live_support import API_KEY, Cli, Repo

from syncbot.emulator.server import EmulatorServer

SKILL_MD = """---
name: {name}
description: {description}
---
# {name}

Read the document, then list the findings with their clause numbers.
"""


@pytest.fixture
def sdk(emulator: EmulatorServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key=API_KEY, base_url=emulator.base_url, max_retries=0) as c:
        yield c


def upload(
    sdk: anthropic.Anthropic,
    name: str,
    display: str,
    scripts: bool = False,
    description: str = "Reviews leases for the tenant.",
) -> str:
    files = [(f"{name}/SKILL.md", SKILL_MD.format(name=name, description=description).encode())]
    if scripts:
        files.append((f"{name}/scripts/check.py", b"print('checked')\n"))
    return sdk.skills.create(files=files, display_name=display).id


def skill_ids(pg_url: str) -> dict[str, str]:
    """name -> skill_id of every skill the database pins."""
    rows = table_rows(pg_url, "SELECT name, skill_id FROM skills")
    return {str(name): str(skill_id) for name, skill_id in rows}


def table_rows(pg_url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(pg_url) as conn:
        try:
            return conn.execute(query).fetchall()
        except psycopg.errors.UndefinedTable:
            return []


def test_import_then_plan_shows_no_api_change_and_apply_uploads_nothing(
    cli: Cli, repo: Repo, sdk: anthropic.Anthropic, emulator: EmulatorServer, pg_url: str
) -> None:
    assert cli("apply").code == 0  # the repository's own three skills
    lease = upload(sdk, "lease-review", "Lease Review", scripts=True)
    court = upload(sdk, "court-filing", "Court Filing", description="Prepares court filings.")
    before = sorted(
        p.relative_to(repo.path).as_posix() for p in repo.path.rglob("*") if ".git" not in p.parts
    )

    preview = cli("import")

    assert preview.code == 0, preview.err
    assert f"import  lease-review  (API skill {lease}" in preview.out
    assert f"import  court-filing  (API skill {court}" in preview.out
    assert "Preview only, nothing changed" in preview.out
    after = sorted(
        p.relative_to(repo.path).as_posix() for p in repo.path.rglob("*") if ".git" not in p.parts
    )
    assert after == before
    assert len(table_rows(pg_url, "SELECT name FROM skills")) == 3

    done = cli("import", "--yes")

    assert done.code == 0, done.err
    assert "Imported 2 skills" in done.out and "nothing was uploaded" in done.out
    assert "git add skills/court-filing skills/lease-review rollouts/staging.yaml" in done.out
    meta = (repo.path / "skills/lease-review/skill.yaml").read_text()
    assert 'display_name: "Lease Review"' in meta and "type: code" in meta and "TODO" in meta
    assert "type: prompt" in (repo.path / "skills/court-filing/skill.yaml").read_text()
    assert (
        repo.path / "skills/lease-review/scripts/check.py"
    ).read_bytes() == b"print('checked')\n"
    rollouts = (repo.path / "rollouts/staging.yaml").read_text()
    assert "lease-review: 0" in rollouts and "contract-review: 100" in rollouts
    pins = skill_ids(pg_url)
    assert pins["lease-review"] == lease and pins["court-filing"] == court

    run_id = re.search(r"\(run (\d+)\)", done.out)
    assert run_id is not None
    shown = cli("history", "show", run_id.group(1))
    assert shown.code == 0 and "imported from the Skills API" in shown.out, shown.out
    assert "succeeded" in shown.out

    untracked = cli("validate")
    assert untracked.code == 1 and "file-untracked" in untracked.out
    repo.git.git.add("skills", "rollouts")
    valid = cli("validate")
    assert valid.code == 0, valid.out

    plan = cli("plan")
    assert plan.code == 0, plan.err
    # the database is as an apply would have left it; only the cache is behind, and the
    # next apply writes it
    assert re.findall(r"^\s+[+~-] (\w+) ", plan.out, re.MULTILINE) == ["cache"], plan.out
    applied = cli("apply")
    assert applied.code == 0, applied.err
    assert ": 0 uploads" in applied.out, applied.out
    assert len(emulator.state.skills(source="custom")) == 5
    assert cli("plan", "--detailed-exitcode").code == 0


def test_the_preview_changes_nothing_and_a_colliding_folder_is_reported(
    cli: Cli, repo: Repo, sdk: anthropic.Anthropic, pg_url: str
) -> None:
    upload(sdk, "nda-drafting", "Someone's NDA")
    result = cli("import", "--yes")
    assert result.code == 0, result.err
    assert "skip    nda-drafting" in result.out and "exists already: not overwritten" in result.out
    assert "Nothing to import." in result.out
    assert "Someone" not in (repo.path / "skills/nda-drafting/skill.yaml").read_text()
    assert table_rows(pg_url, "SELECT name FROM skills") == []


def test_a_skill_whose_download_fails_is_not_claimed(
    cli: Cli, repo: Repo, sdk: anthropic.Anthropic, emulator: EmulatorServer, pg_url: str
) -> None:
    good = upload(sdk, "lease-review", "Lease Review")
    bad = upload(sdk, "court-filing", "Court Filing")
    original = emulator.state.get_skill(bad)
    assert original is not None

    from syncbot.emulator.api import ApiRequest, ApiResponse, SkillsApi
    from syncbot.emulator.errors import EmulatorError

    real = SkillsApi.download_version

    def failing(self: SkillsApi, request: ApiRequest) -> ApiResponse:
        if bad in request.params.values():
            raise EmulatorError(403, "downloads are not allowed for this key")
        return real(self, request)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SkillsApi, "download_version", failing)
        result = cli("import", "--yes")

    assert result.code == 0, result.err
    assert f"(API skill {bad}): content not downloaded" in result.out
    assert "not claimed" in result.out
    assert not (repo.path / "skills/court-filing").exists()
    assert skill_ids(pg_url) == {"lease-review": good}


def test_skills_syncbot_uploaded_are_not_imported(
    cli: Cli, make_pg_url: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staging's skills, seen from production on a shared workspace: production's database
    has never heard of them, but they carry syncbot's marker, so they are not claimed."""
    assert cli("apply", "--env", "staging").code == 0
    production_db = make_pg_url()
    monkeypatch.setenv("DATABASE_URL", production_db)
    result = cli("import", "--env", "production", "--yes")
    assert result.code == 0, result.err
    assert result.out.count("carries a syncbot ownership marker") == 3, result.out
    assert "Nothing to import." in result.out
    assert table_rows(production_db, "SELECT name FROM skills") == []


def test_importing_a_hundred_skills_downloads_concurrently(
    cli: Cli, repo: Repo, sdk: anthropic.Anthropic, emulator: EmulatorServer, pg_url: str
) -> None:
    for n in range(100):
        upload(sdk, f"bulk-skill-{n:03d}", f"Bulk Skill {n:03d}")
    emulator.faults.set(latency_ms=50)
    start = time.monotonic()
    result = cli("import", "--yes")
    elapsed = time.monotonic() - start
    print(f"import of 100 skills at 50 ms per request: {elapsed:.2f} s")
    emulator.faults.clear()
    assert result.code == 0, result.err
    assert "Imported 100 skills" in result.out
    # 201 requests (listing, then a version read and a download per skill) in sequence
    # would take over 10 s at 50 ms each; eight at a time, about 1.3 s
    assert elapsed < 6, elapsed
    assert len(table_rows(pg_url, "SELECT name FROM skills")) == 100


@pytest.mark.parametrize("beta", [None, "skills-2025-10-02"], ids=["current", "legacy"])
def test_skill_selects_by_name_or_id_on_both_dialects(
    beta: str | None,
    cli: Cli,
    repo: Repo,
    sdk: anthropic.Anthropic,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if beta:
        monkeypatch.setenv("ANTHROPIC_SKILLS_BETA_VERSION", beta)
    assert cli("apply").code == 0
    lease = upload(sdk, "lease-review", "Lease Review")
    upload(sdk, "court-filing", "Court Filing")
    deed = upload(sdk, "deed-check", "Deed Check")

    result = cli("import", "--skill", "lease-review", "--skill", deed, "--yes")

    assert result.code == 0, result.err
    assert "Imported 2 skills" in result.out and "court-filing" not in result.out
    assert not (repo.path / "skills/court-filing").exists()
    pins = skill_ids(pg_url)
    assert pins["lease-review"] == lease and pins["deed-check"] == deed
    repo.git.git.add("skills", "rollouts")
    assert cli("validate").code == 0
    applied = cli("apply")
    assert applied.code == 0 and ": 0 uploads" in applied.out, applied.out
    assert cli("plan", "--detailed-exitcode").code == 0


def test_two_api_skills_of_one_name_are_reported_not_guessed(
    cli: Cli, repo: Repo, sdk: anthropic.Anthropic, pg_url: str
) -> None:
    first = upload(sdk, "lease-review", "Lease Review")
    second = upload(sdk, "lease-review", "Lease Review (copy)")
    result = cli("import", "--yes")
    assert result.code == 0, result.err
    assert result.out.count("more than one API skill is named 'lease-review'") == 2
    assert not (repo.path / "skills/lease-review").exists()
    picked = cli("import", "--skill", second, "--yes")
    assert picked.code == 0 and "Imported 1 skill " in picked.out, picked.out
    pins = skill_ids(pg_url)
    assert pins["lease-review"] == second and first != second
