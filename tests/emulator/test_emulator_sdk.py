"""The current surface, driven by the official anthropic SDK pointed at the emulator."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import anthropic
import httpx
import pytest
from anthropic.lib import files_from_dir
from anthropic.types import Skill
from anthropic.types.skills import SkillVersion

from syncbot.emulator import EmulatorServer

ID = re.compile(r"^skill_[0-9A-Za-z]{24}$")
VERSION_ID = re.compile(r"^skillver_[0-9A-Za-z]{24}$")
Files = list[tuple[str, bytes]]
LEGACY = "skills-2025-10-02"


def test_create_from_directory_keeps_the_folder_and_derives_display_name(
    client: anthropic.Anthropic, tmp_path: Path
) -> None:
    folder = tmp_path / "contract-analysis-ro"
    (folder / "scripts").mkdir(parents=True)
    (folder / "SKILL.md").write_text(
        "---\nname: contract-analysis-ro\ndescription: Analyzes Romanian contracts.\n---\n# Hi\n"
    )
    (folder / "scripts" / "extract.py").write_text("print('ok')\n")

    skill = client.skills.create(files=files_from_dir(folder))

    assert ID.match(skill.id)
    assert skill.type == "skill"
    assert skill.display_name == "contract-analysis-ro"
    assert VERSION_ID.match(skill.latest_version_id)
    assert skill.source.type == "custom"
    assert skill.created_at == skill.updated_at
    assert skill._request_id and skill._request_id.startswith("req_")
    version = client.skills.versions.retrieve(skill.latest_version_id, skill_id=skill.id)
    assert (version.name, version.description) == (
        "contract-analysis-ro",
        "Analyzes Romanian contracts.",
    )


def test_model_fields_match_the_sdk_types_exactly(
    client: anthropic.Anthropic, http: httpx.Client, make_files: Callable[..., Files]
) -> None:
    skill = client.skills.create(files=make_files("alpha"))
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    raw_skill = http.get(f"/v1/skills/{skill.id}", headers=headers).json()
    raw_version = http.get(
        f"/v1/skills/{skill.id}/versions/{skill.latest_version_id}", headers=headers
    ).json()
    assert set(raw_skill) == set(Skill.model_fields)
    assert set(raw_version) == set(SkillVersion.model_fields)
    assert raw_skill["source"] == {"type": "custom"}


def test_display_name_is_kept_and_not_unique(
    client: anthropic.Anthropic, make_files: Callable[..., Files]
) -> None:
    first = client.skills.create(files=make_files("alpha"), display_name="Same label")
    second = client.skills.create(files=make_files("beta"), display_name="Same label")
    assert first.display_name == second.display_name == "Same label"
    assert first.id != second.id


def test_auto_pagination_lists_every_skill_newest_first(
    client: anthropic.Anthropic, server: EmulatorServer, make_files: Callable[..., Files]
) -> None:
    created = [client.skills.create(files=make_files(f"skill-{i}")).id for i in range(7)]
    server.stats.reset()

    listed = [skill.id for skill in client.skills.list(limit=3)]

    assert listed == list(reversed(created))
    assert server.stats.count("GET", "/v1/skills") == 3  # pages of 3, 3 and 1


def test_list_envelope_has_more_matches_next_page(
    client: anthropic.Anthropic, http: httpx.Client, make_files: Callable[..., Files]
) -> None:
    for i in range(3):
        client.skills.create(files=make_files(f"skill-{i}"))
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    first = http.get("/v1/skills", params={"limit": 2}, headers=headers).json()
    assert first["has_more"] is True and first["next_page"]
    second = http.get(
        "/v1/skills", params={"limit": 2, "page": first["next_page"]}, headers=headers
    ).json()
    assert second["has_more"] is False and second["next_page"] is None
    assert len(first["data"]) + len(second["data"]) == 3


def test_versions_create_list_retrieve_delete(
    client: anthropic.Anthropic, make_files: Callable[..., Files]
) -> None:
    skill = client.skills.create(files=make_files("alpha"))
    second = client.skills.versions.create(skill.id, files=make_files("alpha", helper=b"x = 1\n"))
    third = client.skills.versions.create(skill.id, files=make_files("alpha", description="New."))

    assert VERSION_ID.match(second.id) and second.skill_id == skill.id
    assert client.skills.retrieve(skill.id).latest_version_id == third.id
    listed = [v.id for v in client.skills.versions.list(skill.id, limit=2)]
    assert listed == [third.id, second.id, skill.latest_version_id]
    assert client.skills.versions.retrieve(third.id, skill_id=skill.id).description == "New."

    deleted = client.skills.versions.delete(third.id, skill_id=skill.id)

    assert (deleted.id, deleted.type) == (third.id, "skill_version_deleted")
    assert client.skills.retrieve(skill.id).latest_version_id == second.id
    with pytest.raises(anthropic.NotFoundError):
        client.skills.versions.retrieve(third.id, skill_id=skill.id)


def test_the_last_version_cannot_be_deleted_alone(
    client: anthropic.Anthropic, make_files: Callable[..., Files]
) -> None:
    skill = client.skills.create(files=make_files("alpha"))
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.skills.versions.delete(skill.latest_version_id, skill_id=skill.id)
    assert "a skill must keep at least one version; delete the skill" in str(caught.value)


def test_deleting_a_skill_deletes_its_versions(
    client: anthropic.Anthropic, server: EmulatorServer, make_files: Callable[..., Files]
) -> None:
    skill = client.skills.create(files=make_files("alpha"))
    client.skills.versions.create(skill.id, files=make_files("alpha"))

    deleted = client.skills.delete(skill.id)

    assert (deleted.id, deleted.type) == (skill.id, "skill_deleted")
    assert server.state.skills() == []
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.skills.retrieve(skill.id)
    assert caught.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]


def test_unknown_ids_are_not_found(
    client: anthropic.Anthropic, make_files: Callable[..., Files]
) -> None:
    skill = client.skills.create(files=make_files("alpha"))
    with pytest.raises(anthropic.NotFoundError):
        client.skills.retrieve("skill_000000000000000000000000")
    with pytest.raises(anthropic.NotFoundError):
        client.skills.versions.retrieve("skillver_nope", skill_id=skill.id)
    with pytest.raises(anthropic.NotFoundError):
        client.skills.delete("skill_missing")


def test_validation_errors_carry_the_api_message(
    client: anthropic.Anthropic, make_files: Callable[..., Files]
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.skills.create(
            files=[("skills/SKILL.md", b"---\nname: my-skill\ndescription: d\n---\n")]
        )
    assert caught.value.status_code == 400
    assert caught.value.body["error"]["message"] == (  # type: ignore[index]
        "The folder name 'skills' must match the skill name 'my-skill' in SKILL.md."
    )
    with pytest.raises(anthropic.BadRequestError, match="exactly in the top-level folder"):
        client.skills.create(files=[("SKILL.md", b"---\nname: x\ndescription: d\n---\n")])


def test_a_new_version_must_keep_the_skill_name(
    client: anthropic.Anthropic, make_files: Callable[..., Files]
) -> None:
    skill = client.skills.create(files=make_files("alpha"))
    with pytest.raises(anthropic.BadRequestError, match="must match the existing skill name"):
        client.skills.versions.create(skill.id, files=make_files("beta"))


def test_wrong_api_key_is_an_authentication_error(make_files: Callable[..., Files]) -> None:
    with EmulatorServer(api_key="right-key") as server:
        wrong = anthropic.Anthropic(api_key="wrong-key", base_url=server.base_url, max_retries=0)
        right = anthropic.Anthropic(api_key="right-key", base_url=server.base_url, max_retries=0)
        with wrong, right:
            with pytest.raises(anthropic.AuthenticationError) as caught:
                wrong.skills.list()
            assert caught.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
            assert right.skills.create(files=make_files("alpha")).id


def test_injected_429_is_a_rate_limit_error_with_retry_after(
    client: anthropic.Anthropic, server: EmulatorServer
) -> None:
    server.faults.set(fail_nth={1: 429}, retry_after=3)
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.skills.list()
    assert caught.value.response.headers["retry-after"] == "3"
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


def test_injected_5xx_are_internal_server_errors(
    client: anthropic.Anthropic, server: EmulatorServer
) -> None:
    server.faults.set(fail_nth={1: 500, 2: 529})
    with pytest.raises(anthropic.InternalServerError) as first:
        client.skills.list()
    with pytest.raises(anthropic.OverloadedError) as second:
        client.skills.list()
    assert first.value.body["error"]["type"] == "api_error"  # type: ignore[index]
    assert second.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    assert client.skills.list().data == []


def test_sdk_retries_a_single_529_transparently(
    server: EmulatorServer, make_files: Callable[..., Files]
) -> None:
    server.faults.set(fail_nth={1: 529}, retry_after=0.01)
    with anthropic.Anthropic(api_key="t", base_url=server.base_url, max_retries=2) as client:
        skill = client.skills.create(files=make_files("alpha"))
    assert server.stats.requests == 2
    assert [s.id for s in server.state.skills()] == [skill.id]


def test_oversized_upload_is_413(make_files: Callable[..., Files]) -> None:
    with EmulatorServer(max_upload_bytes=1000) as server:
        client = anthropic.Anthropic(api_key="t", base_url=server.base_url, max_retries=0)
        with client, pytest.raises(anthropic.APIStatusError) as caught:
            client.skills.create(files=make_files("alpha", helper=b"x" * 2000))
    assert caught.value.status_code == 413
    assert caught.value.body["error"]["type"] == "request_too_large"  # type: ignore[index]


def test_source_filter_and_limits(
    client: anthropic.Anthropic, make_files: Callable[..., Files]
) -> None:
    with EmulatorServer(seed_anthropic_skills=True) as server:
        sdk = anthropic.Anthropic(api_key="t", base_url=server.base_url, max_retries=0)
        with sdk:
            sdk.skills.create(files=make_files("alpha"))
            assert len(list(sdk.skills.list())) == 5
            custom = list(sdk.skills.list(source="custom"))
            assert [s.display_name for s in custom] == ["alpha"]
            assert {s.id for s in sdk.skills.list(source="anthropic")} >= {"pptx", "pdf"}
            with pytest.raises(anthropic.BadRequestError, match="source"):
                sdk.skills.list(source="bogus")
            with pytest.raises(anthropic.BadRequestError, match="limit"):
                sdk.skills.list(limit=1001)
            assert len(sdk.skills.list(limit=1000).data) == 5


def test_beta_resource_with_beta_query_flag_works(
    client: anthropic.Anthropic, server: EmulatorServer, make_files: Callable[..., Files]
) -> None:
    skill = client.beta.skills.create(files=make_files("alpha"), display_name="Alpha")
    assert client.beta.skills.retrieve(skill.id).display_name == "Alpha"
    assert [s.id for s in client.beta.skills.list()] == [skill.id]
    assert server.stats.count("GET", "/v1/skills/{skill_id}") == 1


def test_request_id_header_on_success(
    client: anthropic.Anthropic, make_files: Callable[..., Files]
) -> None:
    raw = client.skills.with_raw_response.create(files=make_files("alpha"))
    assert raw.headers["request-id"].startswith("req_")
    assert raw.parse().id.startswith("skill_")


def test_keep_alive_reuses_one_connection(
    client: anthropic.Anthropic, server: EmulatorServer
) -> None:
    for _ in range(5):
        client.skills.list()
    assert server.stats.requests == 5
    assert server.stats.connections == 1


# --- version content: `beta.skills.versions.download` -----------------------------------


def _unzipped(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_download_returns_the_version_folder_as_a_zip(
    client: anthropic.Anthropic, tmp_path: Path, make_files: Callable[..., Files]
) -> None:
    files = make_files("alpha", helper=b"print('hi')\n")
    skill = client.skills.create(files=files)
    second = client.skills.versions.create(skill.id, files=make_files("alpha", description="B."))

    first = client.beta.skills.versions.download(skill.latest_version_id, skill_id=skill.id)

    assert _unzipped(first.read()) == dict(files)
    assert first.http_request.headers["accept"] == "application/binary"
    latest = client.beta.skills.versions.download(second.id, skill_id=skill.id)
    target = tmp_path / "alpha.zip"
    latest.write_to_file(target)
    assert b"description: B." in _unzipped(target.read_bytes())["alpha/SKILL.md"]


def test_download_in_the_legacy_dialect_addresses_the_epoch_version(
    client: anthropic.Anthropic, http: httpx.Client, make_files: Callable[..., Files]
) -> None:
    files = make_files("alpha")
    legacy = {"x-api-key": "k", "anthropic-version": "2023-06-01", "anthropic-beta": LEGACY}
    created = http.post("/v1/skills", files=[("files[]", f) for f in files], headers=legacy)
    skill = created.json()

    content = client.beta.skills.versions.download(
        skill["latest_version"], skill_id=skill["id"], betas=[LEGACY]
    )

    assert _unzipped(content.read()) == dict(files)
    with pytest.raises(anthropic.BadRequestError, match="version"):
        # an epoch address means nothing without the beta, and a version id nothing with it
        client.beta.skills.versions.download("skillver_x", skill_id=skill["id"], betas=[LEGACY])


def test_download_of_an_unknown_version_is_a_not_found_error(
    client: anthropic.Anthropic, make_files: Callable[..., Files]
) -> None:
    skill = client.skills.create(files=make_files("alpha"))
    with pytest.raises(anthropic.NotFoundError):
        client.beta.skills.versions.download("skillver_" + "0" * 24, skill_id=skill.id)
    with pytest.raises(anthropic.NotFoundError):
        client.beta.skills.versions.download(skill.latest_version_id, skill_id="skill_gone")
