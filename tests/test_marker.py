"""The ownership marker: added to SKILL.md at upload time, read back from a content zip."""

from __future__ import annotations

import io
import zipfile

import pytest

from syncbot.desired import SkillFile
from syncbot.emulator.frontmatter import parse_skill_md
from syncbot.marker import (
    MarkerError,
    files_from_zip,
    mark_skill_md,
    marker_of_zip,
    new_nonce,
    read_marker,
    with_marker,
    without_marker,
)

NONCE = "0123456789" * 3 + "ab"  # all digits but two: must stay a string in YAML

SHAPES = {
    "no metadata": b"---\nname: alpha\ndescription: Does alpha.\n---\n# Alpha\n",
    "crlf": b"---\r\nname: alpha\r\ndescription: Does alpha.\r\n---\r\nBody\r\n",
    "bom": b"\xef\xbb\xbf---\nname: alpha\ndescription: Does alpha.\n---\nBody\n",
    "block metadata": (
        b"---\nname: alpha\nmetadata:\n    author: me  # who\n    reviewed: 'yes'\n"
        b"description: Does alpha.\n---\nBody\n---\nnot front matter\n"
    ),
    "flow metadata": b"---\nname: alpha\nmetadata: {author: me}\ndescription: Does alpha.\n---\n",
    "empty metadata": b"---\nname: alpha\nmetadata:\ndescription: Does alpha.\n---\nBody\n",
    "our key already set": (
        b"---\nname: alpha\ndescription: Does alpha.\nmetadata:\n  syncbot-nonce: old\n---\n"
    ),
}


@pytest.mark.parametrize("content", SHAPES.values(), ids=SHAPES.keys())
def test_the_marker_is_added_read_back_and_accepted_by_the_api_rules(content: bytes) -> None:
    marked = mark_skill_md(content, NONCE)
    assert read_marker(marked) == NONCE
    meta = parse_skill_md(marked)  # the emulator checks metadata as the API does
    assert (meta.name, meta.description) == ("alpha", "Does alpha.")
    assert marked.split(b"\n---", 2)[-1] == content.split(b"\n---", 2)[-1]  # body untouched


@pytest.mark.parametrize("shape", ["no metadata", "crlf", "bom", "block metadata"])
def test_an_inserted_marker_is_removed_exactly(shape: str) -> None:
    content = SHAPES[shape]
    assert without_marker(mark_skill_md(content, NONCE)) == content


def test_only_skill_md_changes_and_each_upload_gets_its_own_nonce() -> None:
    files = [SkillFile("SKILL.md", SHAPES["no metadata"]), SkillFile("run.py", b"x = 1\n")]
    first, second = new_nonce(), new_nonce()
    assert first != second
    marked = with_marker(files, first)
    assert marked[1] == files[1] and read_marker(marked[0].data) == first
    with pytest.raises(ValueError):
        with_marker(files, "not-a-nonce")


@pytest.mark.parametrize(
    "content",
    [SHAPES["no metadata"].replace(NONCE.encode(), b""), b"no front matter\n", b"\xff\xfe"],
)
def test_no_marker_reads_as_none(content: bytes) -> None:
    assert read_marker(content) is None


def test_a_spoofed_or_malformed_marker_is_not_read() -> None:
    assert read_marker(b"---\nname: a\nmetadata:\n  syncbot-nonce: 12\n---\n") is None
    assert read_marker(b"---\nname: a\nmetadata:\n  syncbot-nonce: xyz\n---\n") is None


def test_a_front_matter_that_is_not_valid_is_refused_not_guessed() -> None:
    with pytest.raises(MarkerError):
        mark_skill_md(b"---\nname: [unclosed\n---\n", NONCE)
    with pytest.raises(MarkerError):
        mark_skill_md(b"# no front matter\n", NONCE)


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_the_marker_is_read_from_a_content_zip() -> None:
    skill_md = mark_skill_md(SHAPES["no metadata"], NONCE)
    archive = _zip({"alpha/SKILL.md": skill_md, "alpha/docs/SKILL.md": b"---\n---\n"})
    assert marker_of_zip(archive) == NONCE
    assert files_from_zip(archive)["SKILL.md"] == skill_md
    assert marker_of_zip(b"not a zip") is None
    assert marker_of_zip(_zip({"alpha/run.py": b""})) is None


def test_a_zip_that_inflates_past_the_limit_is_refused() -> None:
    archive = _zip({"alpha/SKILL.md": b"a" * 5000})
    with pytest.raises(ValueError, match="inflates"):
        files_from_zip(archive, max_bytes=4096)
    with pytest.raises(ValueError, match="outside"):
        files_from_zip(_zip({"SKILL.md": b""}))
