"""The pure part of `syncbot import`: what happens to each fetched skill, and the
skill.yaml it writes (which must load as the schema says, whatever the API's text)."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from syncbot.files.schemas import SkillMeta
from syncbot.importer import Fetched, guess_type, plan_import, skill_yaml_text
from syncbot.live import ApiSkill, ApiVersion
from syncbot.marker import mark_skill_md, new_nonce

CATEGORIES = ["analysis", "drafting"]
SKILL_MD = b'---\nname: lease-review\ndescription: "Reviews leases: rent, term."\n---\n# Body\n'


def fetched(
    name: str = "lease-review",
    files: dict[str, bytes] | None = None,
    display: str | None = "Lease Review",
    skill_id: str = "skill_1",
) -> Fetched:
    skill = ApiSkill(skill_id, display, "v1", "custom", "2026-01-01T00:00:00Z", "")
    version = ApiVersion("v1", "v1", skill_id, name, "from the API", "2026-01-01T00:00:00Z")
    return Fetched(skill, version, files if files is not None else {"SKILL.md": SKILL_MD})


def decide(*items: Fetched, existing: set[str] | None = None) -> list[tuple[str, str]]:
    plan = plan_import(
        "staging", items, existing=existing or set(), rollout_names=set(), categories=CATEGORIES
    )
    return [(c.status, c.why) for c in plan.candidates]


def test_a_plain_skill_is_imported_with_its_files_and_a_skill_yaml() -> None:
    plan = plan_import(
        "staging", [fetched()], existing=set(), rollout_names=set(), categories=CATEGORIES
    )
    [c] = plan.to_import
    assert set(c.files) == {"SKILL.md", "skill.yaml"}
    assert [f.path for f in c.uploaded] == ["SKILL.md"]


@pytest.mark.parametrize(
    ("item", "status", "why"),
    [
        (Fetched(fetched().skill, error="HTTP 403"), "failed", "not claimed"),
        (fetched(files={"SKILL.md": SKILL_MD, "../../etc/x": b""}), "invalid", "unsafe path"),
        (fetched(files={"SKILL.md": SKILL_MD, "skill.yaml": b"x"}), "invalid", "skill.yaml"),
        (fetched(files={"README.md": b"x"}), "invalid", "no SKILL.md"),
        (fetched(name="Bad Name"), "invalid", "not a valid skill folder name"),
        (
            fetched(files={"SKILL.md": mark_skill_md(SKILL_MD, new_nonce())}),
            "marked",
            "ownership marker",
        ),
    ],
)
def test_skills_that_are_never_claimed(item: Fetched, status: str, why: str) -> None:
    [(got, reason)] = decide(item)
    assert got == status and why in reason


def test_a_folder_of_that_name_is_a_collision_never_overwritten() -> None:
    [(status, why)] = decide(fetched(), existing={"lease-review"})
    assert status == "collision" and "not overwritten" in why


def test_two_api_skills_of_one_name_are_both_reported() -> None:
    found = decide(fetched(skill_id="skill_1"), fetched(skill_id="skill_2"))
    assert [s for s, _ in found] == ["ambiguous", "ambiguous"]


@pytest.mark.parametrize(
    "display", ['Lease "Review": v2', "Contract Analysis - Romanian", "Ünïcode # not a comment"]
)
def test_the_skill_yaml_loads_as_the_schema_says(display: str) -> None:
    text = skill_yaml_text(fetched(display=display), display, CATEGORIES)
    meta = SkillMeta.model_validate(YAML(typ="safe", pure=True).load(text))
    assert meta.display_name == display
    assert meta.description == "Reviews leases: rent, term."
    assert (meta.type, meta.category, meta.version) == ("prompt", "analysis", "1.0.0")
    assert text.count("TODO") >= 2


def test_type_is_code_when_the_skill_carries_scripts() -> None:
    assert guess_type({"SKILL.md": b"", "scripts/run.py": b""}) == "code"
    assert guess_type({"SKILL.md": b"", "tools/x.sh": b""}) == "code"
    assert guess_type({"SKILL.md": b"", "references/a.md": b""}) == "prompt"


def test_of_two_skills_of_one_name_the_downloadable_one_is_not_taken_for_the_only_one() -> None:
    failed = Fetched(fetched(skill_id="skill_2").skill, fetched().version, error="HTTP 500")
    found = decide(fetched(skill_id="skill_1"), failed)
    assert sorted(s for s, _ in found) == ["ambiguous", "failed"]
