"""The API's upload rules: paths, SKILL.md front matter, size; and multipart parsing."""

from __future__ import annotations

import httpx
import pytest

from syncbot.emulator import EmulatorError, EmulatorServer
from syncbot.emulator.bundle import build_bundle

HEADERS = {"x-api-key": "k", "anthropic-version": "2023-06-01"}


def md(front: str, body: str = "# Body\n") -> bytes:
    return f"---\n{front}---\n{body}".encode()


GOOD = "name: my-skill\ndescription: Does things.\n"


def rejected(parts: list[tuple[str, bytes]], max_bytes: int = 30 * 1024 * 1024) -> EmulatorError:
    with pytest.raises(EmulatorError) as caught:
        build_bundle(parts, max_bytes=max_bytes)
    return caught.value


def test_a_valid_bundle_with_every_optional_key() -> None:
    front = (
        GOOD + "license: Apache-2.0\ncompatibility: Python 3.11\n"
        "metadata:\n  author: legal-ai\nallowed-tools: Bash Read\n"
    )
    bundle = build_bundle([("my-skill/SKILL.md", md(front)), ("my-skill/a/b.py", b"x")])
    assert (bundle.directory, bundle.name, bundle.description) == (
        "my-skill",
        "my-skill",
        "Does things.",
    )
    assert bundle.size == len(md(front)) + 1


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ([("SKILL.md", md(GOOD))], "SKILL.md file must be exactly in the top-level folder."),
        ([("my-skill/sub/SKILL.md", md(GOOD))], "SKILL.md file must be exactly in the top-level"),
        (
            [("my-skill/SKILL.md", md(GOOD)), ("other/x.py", b"")],
            "All files must be in the same top-level directory",
        ),
        ([("my-skill/SKILL.md", md(GOOD)), ("README.md", b"")], "same top-level directory"),
        ([("my-skill/SKILL.md", md(GOOD)), ("my-skill/../x", b"")], "Invalid file path"),
        ([("/my-skill/SKILL.md", md(GOOD))], "Invalid file path"),
        ([("my-skill\\SKILL.md", md(GOOD))], "Invalid file path"),
        ([("my-skill/SKILL.md", md(GOOD))] * 2, "Duplicate file path"),
        ([], "No files provided"),
        (
            [("skills/SKILL.md", md(GOOD))],
            "The folder name 'skills' must match the skill name 'my-skill' in SKILL.md.",
        ),
    ],
)
def test_path_rules(parts: list[tuple[str, bytes]], message: str) -> None:
    error = rejected(parts)
    assert error.status == 400 and error.type == "invalid_request_error"
    assert message in error.message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"# no front matter\n", "SKILL.md must start with YAML frontmatter"),
        (b"---\nname: my-skill\n", "not closed"),
        (md("- a\n- b\n"), "must be a YAML mapping"),
        (md("name: [unclosed\n"), "Invalid YAML"),
        (md(GOOD + "name: again\n"), "Invalid YAML"),
        (
            md(GOOD + "argument-hint: x\nversion: 1\n"),
            "Unexpected key(s) in SKILL.md frontmatter: argument-hint, version. "
            "Allowed properties are: allowed-tools, compatibility, description, license, "
            "metadata, name",
        ),
        (md("description: d\n"), "Missing 'name'"),
        (md("name: My-Skill\ndescription: d\n"), "lowercase letters, digits and hyphens"),
        (md("name: -my-skill\ndescription: d\n"), "cannot start or end with a hyphen"),
        (md("name: my--skill\ndescription: d\n"), "contain '--'"),
        (md(f"name: {'a' * 65}\ndescription: d\n"), "1 to 64 characters"),
        (md("name: my-claude-helper\ndescription: d\n"), "reserved word 'claude'"),
        (md("name: anthropic-tools\ndescription: d\n"), "reserved word 'anthropic'"),
        (md("name: my-skill\n"), "Missing 'description'"),
        (md("name: my-skill\ndescription: '  '\n"), "non-empty"),
        (md(f"name: my-skill\ndescription: {'d' * 1025}\n"), "too long (1025 characters)"),
        (md("name: my-skill\ndescription: Use <b>bold</b>\n"), "XML tags"),
        (md(GOOD + f"compatibility: {'c' * 501}\n"), "compatibility"),
        (md(GOOD + "metadata:\n  retries: 3\n"), "metadata"),
        (b"---\nname: my-skill\ndescription: \xff\n---\n", "UTF-8"),
    ],
)
def test_front_matter_rules(content: bytes, message: str) -> None:
    folder = "My-Skill" if b"My-Skill" in content else "my-skill"
    error = rejected([(f"{folder}/SKILL.md", content)])
    assert error.status == 400
    assert message in error.message


def test_yaml_1_2_and_a_1024_character_description_are_fine() -> None:
    bundle = build_bundle(
        [("my-skill/SKILL.md", md(f"name: my-skill\ndescription: {'d' * 1024}\n"))]
    )
    assert len(bundle.description) == 1024


def test_size_limit_counts_all_files() -> None:
    parts = [("my-skill/SKILL.md", md(GOOD)), ("my-skill/big.bin", b"x" * 100)]
    error = rejected(parts, max_bytes=100)
    assert (error.status, error.type) == (413, "request_too_large")


def test_multipart_edges_over_http() -> None:
    with EmulatorServer() as server, httpx.Client(base_url=server.base_url) as http:
        bare = http.post(
            "/v1/skills", headers=HEADERS, files=[("files", ("my-skill/SKILL.md", md(GOOD)))]
        )
        assert bare.status_code == 200, bare.text
        odd_field = http.post(
            "/v1/skills", headers=HEADERS, files=[("upload", ("my-skill/SKILL.md", md(GOOD)))]
        )
        assert "Unexpected file field" in odd_field.json()["error"]["message"]
        not_multipart = http.post("/v1/skills", headers=HEADERS, json={"files": []})
        assert not_multipart.status_code == 400
        extra = http.post(
            f"/v1/skills/{bare.json()['id']}/versions",
            headers=HEADERS,
            files=[("files[]", ("my-skill/SKILL.md", md(GOOD)))],
            data={"display_name": "x"},
        )
        assert "Unexpected form field" in extra.json()["error"]["message"]
        too_long = http.post(
            "/v1/skills",
            headers=HEADERS,
            files=[("files[]", ("my-skill/SKILL.md", md(GOOD)))],
            data={"display_name": "x" * 256},
        )
        assert too_long.status_code == 400


def test_unicode_file_names_survive_multipart() -> None:
    with EmulatorServer() as server, httpx.Client(base_url=server.base_url) as http:
        files = [
            ("files[]", ("my-skill/SKILL.md", md(GOOD))),
            ("files[]", ("my-skill/references/contracte-românești.md", b"text")),
        ]
        response = http.post("/v1/skills", headers=HEADERS, files=files)
        assert response.status_code == 200, response.text
        version = server.state.skills()[0].versions[0]
        assert "my-skill/references/contracte-românești.md" in version.files


def test_a_huge_body_is_refused_before_parsing() -> None:
    with (
        EmulatorServer(max_upload_bytes=1024) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        files = [
            ("files[]", ("my-skill/SKILL.md", md(GOOD))),
            ("files[]", ("my-skill/x", b"x" * 2_000_000)),
        ]
        response = http.post("/v1/skills", headers=HEADERS, files=files)
        assert response.status_code == 413
        assert response.json()["error"]["type"] == "request_too_large"
        assert http.get("/v1/skills", headers=HEADERS).status_code == 200
