"""Ownership of API skills: the bot adopts or deletes only what it can prove it made.

Two environments share one emulator (one API workspace) with their own PostgreSQL
schemas and Redis prefixes, applied seconds apart with the same files as the apply
workflow does; a colleague uploads a copy through the official SDK. Nothing of theirs
is ever deleted or adopted; what the bot cannot prove is reported for a person.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import anthropic
import psycopg
import pytest
from anthropic.lib import files_from_dir
from live_support import API_KEY, Cli, Repo, skill_files

from syncbot.emulator.api import ApiRequest, ApiResponse, SkillsApi
from syncbot.emulator.errors import EmulatorError
from syncbot.emulator.faults import Decision
from syncbot.emulator.server import EmulatorServer
from syncbot.marker import files_from_zip, mark_skill_md, marker_of_zip, new_nonce, read_marker

SKILLS = {"contract-review", "nda-drafting", "statute-lookup"}
BETA = "skills-2025-10-02"


@pytest.fixture
def sdk(emulator: EmulatorServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key=API_KEY, base_url=emulator.base_url, max_retries=0) as c:
        yield c


@pytest.fixture
def production(
    make_pg_url: Callable[[], str], redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], None]:
    """Switches the `cli` fixture to production: its own schema and Redis prefix."""
    url = make_pg_url()

    def switch() -> None:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("SYNCBOT_REDIS_PREFIX", redis_prefix + "production:")
        monkeypatch.setenv("SYNCBOT_ENV", "production")

    return switch


class Environments:
    """Runs the CLI as staging or production (each with its own database and cache)."""

    def __init__(
        self, cli: Cli, monkeypatch: pytest.MonkeyPatch, urls: dict[str, str], prefix: str
    ) -> None:
        self.cli, self.monkeypatch, self.urls, self.prefix = cli, monkeypatch, urls, prefix

    def run(self, env: str, *args: str) -> tuple[int, str]:
        self.monkeypatch.setenv("DATABASE_URL", self.urls[env])
        self.monkeypatch.setenv("SYNCBOT_REDIS_PREFIX", f"{self.prefix}{env}:")
        result = self.cli(*args, "--env", env)
        return result.code, result.out + result.err

    def pins(self, env: str) -> dict[str, str]:
        with psycopg.connect(self.urls[env]) as conn:
            rows = conn.execute("SELECT name, skill_id FROM skills").fetchall()
        return {str(name): str(skill_id) for name, skill_id in rows}


@pytest.fixture
def envs(
    cli: Cli,
    pg_url: str,
    make_pg_url: Callable[[], str],
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Environments:
    urls = {"staging": pg_url, "production": make_pg_url()}
    return Environments(cli, monkeypatch, urls, redis_prefix)


def api_ids(emulator: EmulatorServer) -> set[str]:
    return {s.id for s in emulator.state.skills(source="custom")}


def marker(emulator: EmulatorServer, skill_id: str) -> str | None:
    latest = emulator.state.get_skill(skill_id).latest
    assert latest is not None
    return read_marker(latest.files[f"{latest.directory}/SKILL.md"])


# --- a colleague's copy ------------------------------------------------------------------


@pytest.mark.parametrize("beta", [None, BETA], ids=["current", "legacy"])
def test_a_colleagues_sdk_copy_is_never_pruned_and_is_reported(
    beta: str | None,
    envs: Environments,
    repo: Repo,
    emulator: EmulatorServer,
    sdk: anthropic.Anthropic,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if beta:
        monkeypatch.setenv("ANTHROPIC_SKILLS_BETA_VERSION", beta)
    assert envs.run("staging", "apply")[0] == 0
    copy = sdk.skills.create(
        files=files_from_dir(repo.path / "skills" / "nda-drafting"), display_name="Nda Drafting"
    )

    code, out = envs.run("staging", "apply", "--prune", "--max-deletions", "10")

    assert code == 0, out
    assert copy.id in api_ids(emulator)
    assert f"API skill {copy.id} (nda-drafting) is not ours" in out
    assert "left alone" in out
    assert envs.run("staging", "plan", "--prune", "--detailed-exitcode")[0] == 0
    doctor = envs.run("staging", "doctor")
    assert doctor[0] == 0 and "warn API skills with our names" in doctor[1]
    assert copy.id in doctor[1]


def test_a_copy_of_our_skill_carrying_no_marker_is_never_adopted(
    envs: Environments, repo: Repo, emulator: EmulatorServer, sdk: anthropic.Anthropic
) -> None:
    """A copy made before our first apply looks exactly like a lost create of ours: same
    name, display name, content, and made seconds before the apply. It is not adopted."""
    copy = sdk.skills.create(
        files=files_from_dir(repo.path / "skills" / "nda-drafting"), display_name="Nda Drafting"
    )
    code, out = envs.run("staging", "apply")
    assert code == 0, out
    assert envs.pins("staging")["nda-drafting"] != copy.id
    assert f"API skill {copy.id} (nda-drafting) is not ours" in out
    assert len(emulator.state.get_skill(copy.id).versions) == 1  # nothing uploaded to it


# --- two environments on one workspace ---------------------------------------------------


CONTENT = "/v1/skills/{skill_id}/versions/{version}/content"


# Current surface only: the legacy dialect refuses a display_title already used in the
# workspace, so there two environments cannot share one with the same display names.
@pytest.mark.parametrize(
    "order", [("staging", "production"), ("production", "staging")], ids=["s-p", "p-s"]
)
def test_two_environments_on_one_workspace_never_touch_each_other(
    order: tuple[str, str], envs: Environments, emulator: EmulatorServer
) -> None:
    for env in order:  # seconds apart, the same files
        code, out = envs.run(env, "apply")
        assert code == 0, out
    staging, production = envs.pins("staging"), envs.pins("production")
    assert set(staging) == set(production) == SKILLS
    assert not set(staging.values()) & set(production.values())
    assert api_ids(emulator) == set(staging.values()) | set(production.values())

    for env in order:
        code, out = envs.run(env, "apply", "--prune", "--max-deletions", "10")
        assert code == 0, out
        assert "delete" not in out.lower().replace("deleted only with", "")
        assert out.count("is not ours") == 3, out
    assert api_ids(emulator) == set(staging.values()) | set(production.values())
    for env in order:
        code, out = envs.run(env, "plan", "--prune", "--detailed-exitcode")
        assert code == 0, out
    assert envs.pins("staging") == staging and envs.pins("production") == production
    emulator.stats.reset()
    for env in order:  # nothing to place and nothing to prune: no content is read
        code, out = envs.run(env, "plan", "--detailed-exitcode")
        assert code == 0 and "not ours" not in out, out
    # nor lists the other environment's skills' versions: a shared workspace costs nothing
    assert emulator.stats.count("GET", CONTENT) == 0
    assert emulator.stats.count("GET", "/v1/skills/{skill_id}/versions") == 0
    assert envs.run(order[0], "plan", "--prune")[0] == 0  # may delete: the 3 lookalikes read
    assert emulator.stats.count("GET", CONTENT) == 3


def test_a_lost_create_adopts_its_own_skill_never_the_other_environments(
    envs: Environments, repo: Repo, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staging's first create commits but its answer is lost; while the client waits to
    check, the other environment's create of every name lands (same files, same display
    name, newer). The check must find its own skill: only the marker tells them apart."""
    fired: list[str] = []
    others: list[str] = []

    def land_the_other_environments_creates() -> None:
        for name in sorted(SKILLS):
            skill_md = (repo.path / "skills" / name / "SKILL.md").read_bytes()
            files = [(f"{name}/SKILL.md", mark_skill_md(skill_md, new_nonce()))]
            title = name.replace("-", " ").title()
            others.append(emulator.state.create_skill(files, title=title).id)

    decide = emulator.faults.decide

    def lose_the_first_create(*, mutating: bool) -> Decision:
        decision = decide(mutating=mutating)
        if not mutating or fired:
            return decision
        fired.append("lost")
        return replace(decision, lost=True)

    def right_after_the_lost_create_commits(state: object) -> None:
        if fired == ["lost"]:  # under the state's lock: they land before any check
            fired.append("landed")
            land_the_other_environments_creates()

    monkeypatch.setattr(emulator.faults, "decide", lose_the_first_create)
    monkeypatch.setattr(emulator.state, "on_change", right_after_the_lost_create_commits)
    code, out = envs.run("staging", "apply")
    assert code == 0, out
    assert fired and len(others) == 3
    staging = envs.pins("staging")
    assert set(staging) == SKILLS and not set(staging.values()) & set(others)
    assert len(api_ids(emulator)) == 6  # no duplicate of ours, nothing of theirs adopted
    code, out = envs.run("staging", "apply", "--prune", "--max-deletions", "10")
    assert code == 0 and out.count("is not ours") == 3, out
    assert envs.run("staging", "plan", "--prune", "--detailed-exitcode")[0] == 0
    assert api_ids(emulator) == set(staging.values()) | set(others)


def test_every_upload_carries_a_marker_the_content_endpoint_returns(
    envs: Environments, emulator: EmulatorServer, sdk: anthropic.Anthropic
) -> None:
    assert envs.run("staging", "apply")[0] == 0
    markers = set()
    for skill_id in envs.pins("staging").values():
        skill = sdk.skills.retrieve(skill_id)
        content = sdk.beta.skills.versions.download(skill.latest_version_id, skill_id=skill_id)
        found = marker_of_zip(content.read())
        assert found is not None and found == marker(emulator, skill_id)
        markers.add(found)
    assert len(markers) == 3  # one per request


def test_a_lost_create_whose_content_cannot_be_read_is_left_alone_until_it_can(
    envs: Environments, repo: Repo, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the evidence cannot tell, nothing destructive: a lost create of ours whose
    content cannot be read is neither adopted nor pruned, and is reported; once it can
    be read it is proven ours and pruned as the duplicate it has become."""
    assert envs.run("staging", "apply")[0] == 0
    repo.write(skill_files("lease-review"))
    repo.commit("a new skill")
    # the create commits, its answer is lost and the check fails: the outcome is unknown
    emulator.faults.set(lost_nth={1}, fail_nth={3: 500, 4: 500})
    assert envs.run("staging", "apply")[0] == 1
    (lost,) = emulator.state.find_by_name("lease-review")
    emulator.faults.clear()

    def unreadable(self: SkillsApi, request: ApiRequest) -> ApiResponse:
        raise EmulatorError(403, "downloads are not allowed for this key")

    with monkeypatch.context() as mp:
        mp.setattr(SkillsApi, "download_version", unreadable)
        code, out = envs.run("staging", "apply", "--prune", "--max-deletions", "10")
    assert code == 0, out
    assert f"API skill {lost.id} (lease-review) is not ours: its content could not be read" in out
    assert "403" in out
    assert lost.id in api_ids(emulator) and envs.pins("staging")["lease-review"] != lost.id

    code, out = envs.run("staging", "apply", "--prune", "--max-deletions", "10")
    assert code == 0 and f"duplicate {lost.id}" in out, out
    assert lost.id not in api_ids(emulator)
    assert envs.run("staging", "plan", "--prune", "--detailed-exitcode")[0] == 0


def test_a_copy_of_a_new_version_of_ours_is_not_taken_for_ours(
    envs: Environments, repo: Repo, emulator: EmulatorServer, sdk: anthropic.Anthropic
) -> None:
    """A colleague downloads our deployed skill after an update and uploads it as their
    own: it carries our nonce, but a version upload's, and only a create makes a skill."""
    assert envs.run("staging", "apply")[0] == 0
    repo.write(skill_files("nda-drafting", body="A new clause checklist.", version="1.1.0"))
    repo.commit("nda: new checklist")
    assert envs.run("staging", "apply")[0] == 0
    ours = sdk.skills.retrieve(envs.pins("staging")["nda-drafting"])
    archive = sdk.beta.skills.versions.download(ours.latest_version_id, skill_id=ours.id).read()
    files = [(f"nda-drafting/{p}", data) for p, data in files_from_zip(archive).items()]
    copy = sdk.skills.create(files=files, display_name="Nda Drafting")
    assert marker(emulator, copy.id) == marker(emulator, ours.id) is not None

    code, out = envs.run("staging", "apply", "--prune", "--max-deletions", "10")

    assert code == 0 and f"API skill {copy.id} (nda-drafting) is not ours" in out, out
    assert copy.id in api_ids(emulator)
