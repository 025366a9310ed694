"""The legacy beta dialect (anthropic-beta: skills-2025-10-02), requests shaped as documented."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import pytest

from syncbot.emulator import EmulatorServer

HEADERS = {
    "x-api-key": "test-key",
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "skills-2025-10-02",
}
SKILL_KEYS = {"id", "type", "display_title", "latest_version", "source", "created_at", "updated_at"}
VERSION_KEYS = {
    "id",
    "type",
    "skill_id",
    "version",
    "name",
    "description",
    "directory",
    "created_at",
}
Files = list[tuple[str, bytes]]


def upload(files: Files, title: str | None = None) -> dict[str, Any]:
    """The documented request shape: `files[]` parts named with their folder, `display_title`."""
    parts = [("files[]", (path, data, "text/markdown")) for path, data in files]
    return {"files": parts, "data": {} if title is None else {"display_title": title}}


def create(http: httpx.Client, files: Files, title: str | None = None) -> dict[str, Any]:
    response = http.post("/v1/skills?beta=true", headers=HEADERS, **upload(files, title))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def new_version(http: httpx.Client, skill_id: str, files: Files) -> dict[str, Any]:
    response = http.post(
        f"/v1/skills/{skill_id}/versions?beta=true", headers=HEADERS, **upload(files)
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_create_skill_has_the_legacy_shape(
    http: httpx.Client, make_files: Callable[..., Files]
) -> None:
    skill = create(http, make_files("financial-skill", helper=b"x = 1\n"), "Financial Analysis")

    assert set(skill) == SKILL_KEYS
    assert skill["type"] == "skill" and skill["source"] == "custom"
    assert skill["display_title"] == "Financial Analysis"
    assert skill["latest_version"].isdigit() and len(skill["latest_version"]) == 16
    assert skill["created_at"].endswith("Z")


def test_version_objects_are_addressed_by_epoch_string(
    http: httpx.Client, make_files: Callable[..., Files]
) -> None:
    skill = create(http, make_files("alpha"))
    second = new_version(http, skill["id"], make_files("alpha", description="Second."))

    assert set(second) == VERSION_KEYS
    assert second["directory"] == "alpha" and second["name"] == "alpha"
    assert int(second["version"]) > int(skill["latest_version"])
    url = f"/v1/skills/{skill['id']}/versions/{second['version']}?beta=true"
    fetched = http.get(url, headers=HEADERS).json()
    assert fetched == second
    by_id = http.get(f"/v1/skills/{skill['id']}/versions/{second['id']}", headers=HEADERS)
    assert by_id.status_code == 400
    assert by_id.json()["error"]["message"] == "Invalid version format"
    listed = http.get(f"/v1/skills/{skill['id']}/versions?beta=true", headers=HEADERS).json()
    assert [v["version"] for v in listed["data"]] == [second["version"], skill["latest_version"]]
    assert listed["has_more"] is False and listed["next_page"] is None


def test_display_title_must_be_unique_when_sent(
    http: httpx.Client, make_files: Callable[..., Files]
) -> None:
    create(http, make_files("alpha"), "Shared Title")
    response = http.post(
        "/v1/skills", headers=HEADERS, **upload(make_files("beta"), "Shared Title")
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "Skill cannot reuse an existing display_title: Shared Title",
    }
    assert create(http, make_files("gamma"))["display_title"] is None
    assert create(http, make_files("delta"))["display_title"] is None


def test_delete_skill_needs_its_versions_deleted_first(
    http: httpx.Client, make_files: Callable[..., Files]
) -> None:
    skill = create(http, make_files("alpha"))
    refused = http.delete(f"/v1/skills/{skill['id']}?beta=true", headers=HEADERS)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == (
        "Cannot delete skill with existing versions. Delete all versions first."
    )
    version = skill["latest_version"]
    deleted = http.delete(f"/v1/skills/{skill['id']}/versions/{version}?beta=true", headers=HEADERS)
    assert deleted.json() == {"id": version, "type": "skill_version_deleted"}
    emptied = http.get(f"/v1/skills/{skill['id']}", headers=HEADERS).json()
    assert emptied["latest_version"] is None
    gone = http.delete(f"/v1/skills/{skill['id']}", headers=HEADERS)
    assert gone.json() == {"id": skill["id"], "type": "skill_deleted"}


def test_list_limit_is_at_most_100_and_pages_chain(
    http: httpx.Client, make_files: Callable[..., Files]
) -> None:
    ids = [create(http, make_files(f"skill-{i}"))["id"] for i in range(5)]
    assert http.get("/v1/skills", params={"limit": 101}, headers=HEADERS).status_code == 400
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2, "beta": "true"}
    while True:
        page = http.get("/v1/skills", params=params, headers=HEADERS).json()
        seen += [skill["id"] for skill in page["data"]]
        assert page["has_more"] == (page["next_page"] is not None)
        if not page["next_page"]:
            break
        params["page"] = page["next_page"]
    assert seen == list(reversed(ids))


@pytest.mark.parametrize(
    "beta",
    [
        "skills-2025-10-02",
        "other-beta-2025-01-01 ,  skills-2025-10-02",
        "skills-2025-10-02,skills-2025-10-02",
    ],
)
def test_beta_header_list_forms_select_legacy(
    http: httpx.Client, make_files: Callable[..., Files], beta: str
) -> None:
    skill = create(http, make_files("alpha"))
    headers = {**HEADERS, "anthropic-beta": beta}
    assert "latest_version" in http.get(f"/v1/skills/{skill['id']}", headers=headers).json()


def test_repeated_beta_header_selects_legacy(
    http: httpx.Client, make_files: Callable[..., Files]
) -> None:
    skill = create(http, make_files("alpha"))
    headers = [
        ("x-api-key", "k"),
        ("anthropic-version", "2023-06-01"),
        ("anthropic-beta", "other-beta"),
        ("anthropic-beta", "skills-2025-10-02"),
    ]
    assert "display_title" in http.get(f"/v1/skills/{skill['id']}", headers=headers).json()


def test_both_dialects_see_the_same_skills(
    http: httpx.Client,
    client: anthropic.Anthropic,
    make_files: Callable[..., Files],
) -> None:
    legacy = create(http, make_files("alpha"), "Alpha Title")
    current = client.skills.create(files=make_files("beta"), display_name="Beta Name")

    seen_current = {s.id: s for s in client.skills.list()}
    assert seen_current[legacy["id"]].display_name == "Alpha Title"
    latest = seen_current[legacy["id"]].latest_version_id
    version = client.skills.versions.retrieve(latest, skill_id=legacy["id"])
    by_epoch = http.get(
        f"/v1/skills/{legacy['id']}/versions/{legacy['latest_version']}", headers=HEADERS
    ).json()
    assert by_epoch["id"] == version.id

    seen_legacy = {s["id"]: s for s in http.get("/v1/skills", headers=HEADERS).json()["data"]}
    assert seen_legacy[current.id]["display_title"] == "Beta Name"
    assert set(seen_legacy) == set(seen_current)


def test_legacy_refuses_the_current_surface_label_field(
    http: httpx.Client, make_files: Callable[..., Files]
) -> None:
    files = [("files[]", (p, d, "text/markdown")) for p, d in make_files("alpha")]
    response = http.post(
        "/v1/skills", headers=HEADERS, files=files, data={"display_name": "Wrong dialect"}
    )
    assert response.status_code == 400
    assert "display_name" in response.json()["error"]["message"]


def test_latest_alias_is_rejected_in_paths(
    http: httpx.Client, make_files: Callable[..., Files]
) -> None:
    skill = create(http, make_files("alpha"))
    response = http.get(f"/v1/skills/{skill['id']}/versions/latest", headers=HEADERS)
    assert response.status_code == 400


def test_epoch_versions_strictly_increase(
    http: httpx.Client, server: EmulatorServer, make_files: Callable[..., Files]
) -> None:
    skill = create(http, make_files("alpha"))
    stamps = [int(skill["latest_version"])]
    for _ in range(10):
        stamps.append(int(new_version(http, skill["id"], make_files("alpha"))["version"]))
    assert stamps == sorted(set(stamps))


def test_version_content_downloads_as_a_zip(
    http: httpx.Client, make_files: Callable[..., Files]
) -> None:
    skill = create(http, make_files("alpha", helper=b"print('hi')\n"))
    url = f"/v1/skills/{skill['id']}/versions/{skill['latest_version']}/content?beta=true"
    response = http.get(url, headers=HEADERS)
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == ["alpha/SKILL.md", "alpha/scripts/helper.py"]
        assert archive.read("alpha/scripts/helper.py") == b"print('hi')\n"
