"""`syncbot import`: adopt skills that are already live in the Skills API.

Three steps, the first and last doing the I/O:

1. `fetch` lists the API's custom skills and, for each one this environment does not
   manage yet, reads its latest version and downloads its content (concurrently).
2. `plan_import` (pure) decides, skill by skill, what happens: imported, or skipped and
   why (a folder of that name exists, the content carries a syncbot ownership marker,
   the download failed, the name is taken by two API skills, the files would not pass
   validate); and renders the files to write, a `skill.yaml` built from the API's
   metadata included. `check` runs the validate rules over the repository as it would
   be after the import and turns the skills that would fail into skips.
3. `execute` writes the folders and the rollout entries, and records ownership in the
   environment's database: the skill row pins the version already live and
   `skill_versions` records it, so the next apply uploads nothing.

An imported skill gets a rollout of 0% in the environment it was imported into. Before
the import the database has no rollout for it, which the service reads as 0%: the import
changes nothing anyone sees, and raising the percentage is an ordinary reviewed change.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Protocol

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from syncbot.desired import DesiredState, SkillFile, content_sha256
from syncbot.errors import SyncbotError
from syncbot.files.load import build_desired, rollout_file
from syncbot.files.yamlsafe import split_front_matter
from syncbot.live import ApiSkill, ApiVersion, DbState, RolloutRow, SkillRow, VersionRow
from syncbot.marker import SKILL_MD, files_from_zip, read_marker
from syncbot.plan import Change, Plan
from syncbot.records import rollout_value
from syncbot.scaffold import validate_overlay
from syncbot.targets.postgres import Database, DbWrites
from syncbot.yamledit import add_rollouts

Status = Literal["import", "collision", "marked", "failed", "invalid", "ambiguous"]
IMPORTED = "imported from the Skills API"
_NAME = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?!-)){0,62}[a-z0-9]|[a-z0-9]")
_CODE_SUFFIXES = (".py", ".sh", ".js", ".ts", ".rb", ".pl")
# the API's own upload limit: what a content endpoint sends is still input
MAX_ZIP_BYTES = 30 * 1024 * 1024


@dataclass(frozen=True)
class Fetched:
    """One API skill as read for the import: its latest version and files, or why not."""

    skill: ApiSkill
    version: ApiVersion | None = None
    files: Mapping[str, bytes] | None = None
    error: str | None = None

    @property
    def name(self) -> str:
        return self.version.name if self.version else ""


@dataclass(frozen=True)
class Candidate:
    """What the import does with one API skill; `files` are the folder's, skill.yaml included."""

    name: str
    skill_id: str
    version: str
    status: Status
    why: str = ""
    display_name: str = ""
    files: Mapping[str, bytes] = field(default_factory=dict)
    created_at: str = ""
    findings: tuple[str, ...] = ()

    @property
    def uploaded(self) -> tuple[SkillFile, ...]:
        return tuple(SkillFile(p, d) for p, d in sorted(self.files.items()) if p != "skill.yaml")

    @property
    def folder(self) -> str:
        return f"skills/{self.name}"


@dataclass(frozen=True)
class ImportPlan:
    environment: str
    candidates: tuple[Candidate, ...]
    managed: int  # API skills this environment manages already (never looked at)
    rollouts_path: str = ""
    rollouts_text: str | None = None  # the file's new text; None: unchanged
    rows: tuple[SkillRow, ...] = ()

    @property
    def to_import(self) -> tuple[Candidate, ...]:
        return tuple(c for c in self.candidates if c.status == "import")

    @property
    def skipped(self) -> tuple[Candidate, ...]:
        return tuple(c for c in self.candidates if c.status != "import")


# --------------------------------------------------------------------- 1. fetch


class _Reader(Protocol):
    """The two API reads an import needs (SkillsApiClient has them)."""

    def get_version(self, skill_id: str, address: str) -> ApiVersion: ...

    def download_version(self, skill_id: str, address: str) -> bytes: ...


def unmanaged(skills: Sequence[ApiSkill], db: DbState) -> tuple[list[ApiSkill], int]:
    """The API skills this environment's database neither pins nor recorded an upload of."""
    known = {r.skill_id for r in db.skills.values()} | {v.skill_id for v in db.versions}
    fresh = [s for s in skills if s.id not in known]
    return fresh, len(skills) - len(fresh)


def wanted_by(selectors: Sequence[str]) -> Callable[[str, str], bool]:
    """`--skill` takes names and API skill ids; none given means every skill."""
    chosen = set(selectors)
    return lambda name, skill_id: not chosen or name in chosen or skill_id in chosen


def fetch_one(api: _Reader, skill: ApiSkill, wanted: Callable[[str, str], bool]) -> Fetched | None:
    """The latest version and its files; None when `--skill` does not select it."""
    if not skill.latest_version:
        return Fetched(skill, error="the API reports no version")
    version = api.get_version(skill.id, skill.latest_version)
    if not wanted(version.name, skill.id):
        return None
    try:
        archive = api.download_version(skill.id, skill.latest_version)
    except SyncbotError as exc:  # the name is known: it is reported with it
        return Fetched(skill, version, error=exc.message)
    try:
        return Fetched(skill, version, files_from_zip(archive, MAX_ZIP_BYTES))
    except (ValueError, OSError) as exc:  # zipfile.BadZipFile is a ValueError
        return Fetched(skill, version, error=f"the content is not a readable zip: {exc}")


def fetch(
    api: _Reader,
    skills: Sequence[ApiSkill],
    wanted: Callable[[str, str], bool],
    map_concurrent: Callable[..., list[object]],
) -> list[Fetched]:
    """Every selected skill, read on the client's worker threads (bounded). A skill that
    cannot be read is listed as failed even under `--skill`: its name is not known."""
    results = map_concurrent(lambda s: fetch_one(api, s, wanted), list(skills))
    fetched: list[Fetched] = []
    for skill, result in zip(skills, results, strict=True):
        if isinstance(result, SyncbotError):
            fetched.append(Fetched(skill, error=result.message))
        elif isinstance(result, Exception):
            raise result
        elif isinstance(result, Fetched):
            fetched.append(result)
    return fetched


# --------------------------------------------------------------------- 2. plan (pure)


def plan_import(
    environment: str,
    fetched: Sequence[Fetched],
    *,
    existing: set[str],
    rollout_names: set[str],
    categories: Sequence[str],
    managed: int = 0,
) -> ImportPlan:
    """What to do with each fetched skill; no I/O. `existing`: names of folders in skills/."""
    # a name counts when its version was read, downloaded or not: of two skills of one
    # name, the one that could be downloaded is not taken for the only one
    names = Counter(f.name for f in fetched if f.version is not None)
    candidates = [
        _decide(f, existing, rollout_names, categories, names[f.name] > 1)
        for f in sorted(fetched, key=lambda f: (f.name, f.skill.id))
    ]
    return ImportPlan(environment, tuple(candidates), managed)


def _decide(
    f: Fetched, existing: set[str], rollouts: set[str], categories: Sequence[str], twice: bool
) -> Candidate:
    skill = f.skill
    base = Candidate(f.name, skill.id, skill.latest_version or "", "failed")
    if f.files is None or f.version is None:
        return replace(base, why=f"content not downloaded ({f.error}): not claimed")
    problem = _unsafe(f.name, f.files)
    if problem:
        return replace(base, status="invalid", why=problem)
    if read_marker(f.files[SKILL_MD]) is not None:
        why = (
            "carries a syncbot ownership marker: uploaded by syncbot (this or another environment)"
        )
        return replace(base, status="marked", why=why)
    if twice:
        why = f"more than one API skill is named {f.name!r}: choose one with --skill <skill id>"
        return replace(base, status="ambiguous", why=why)
    if f.name in existing:
        why = f"skills/{f.name} exists already: not overwritten (rename or remove it to import)"
        return replace(base, status="collision", why=why)
    if f.name in rollouts:
        return replace(base, status="collision", why="the rollouts file has an entry of that name")
    display = skill.display_name or f.name.replace("-", " ").title()
    meta = skill_yaml_text(f, display, categories)
    files = {**f.files, "skill.yaml": meta.encode("utf-8")}
    return replace(
        base,
        status="import",
        display_name=display,
        files=files,
        created_at=f.version.created_at,
    )


def _unsafe(name: str, files: Mapping[str, bytes]) -> str | None:
    if not _NAME.fullmatch(name):
        return f"the name {name!r} is not a valid skill folder name"
    if SKILL_MD not in files:
        return "the content has no SKILL.md"
    if "skill.yaml" in files:
        return "the content holds a skill.yaml, which syncbot keeps out of uploads"
    for path in files:
        parts = PurePosixPath(path).parts
        if path.startswith("/") or "\\" in path or not parts or ".." in parts or "." in parts:
            return f"the content holds an unsafe path {path!r}"
    return None


def guess_type(files: Mapping[str, bytes]) -> str:
    """`code` when the skill carries scripts, else `prompt` (a guess: the API has no type)."""
    code = any(p.startswith("scripts/") or p.endswith(_CODE_SUFFIXES) for p in files)
    return "code" if code else "prompt"


def skill_yaml_text(f: Fetched, display_name: str, categories: Sequence[str]) -> str:
    """skill.yaml of an imported skill; the fields the API does not hold are marked TODO."""
    assert f.version is not None and f.files is not None
    description = _front_matter_description(f.files[SKILL_MD]) or f.version.description
    category = categories[0] if categories else "analysis"
    kinds = ", ".join(categories)
    return (
        f"# Imported by `syncbot import` from API skill {f.skill.id}, "
        f"version {f.skill.latest_version}.\n"
        "# TODO: type and category are guesses (the Skills API does not store them): check both.\n"
        f"display_name: {_quoted(display_name)}\n"
        f"description: {_quoted(' '.join(description.split()) or display_name)}\n"
        f"type: {guess_type(f.files)}  # TODO: code (runs scripts) or prompt\n"
        f"category: {category}  # TODO: one of {kinds}\n"
        'version: "1.0.0"\n'
    )


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def _front_matter_description(skill_md: bytes) -> str:
    try:
        front = split_front_matter(skill_md.decode("utf-8"), SKILL_MD)[0]
    except (UnicodeDecodeError, SyncbotError):
        return ""
    try:
        data = YAML(typ="safe", pure=True).load(front)
    except YAMLError:
        return ""
    value = data.get("description") if isinstance(data, dict) else None
    return value if isinstance(value, str) else ""


# --------------------------------------------------------------------- checking


def check(plan: ImportPlan, root: Path, rollouts_text: str | None) -> ImportPlan:
    """The plan with each skill that would fail validate turned into a skip, the rollouts
    file's new text, and the database rows of the skills imported (as apply would write)."""
    path = rollout_file(plan.environment)
    for _ in range(2):  # a skip changes the rollouts file: the second pass checks that
        text = _rollouts_text(plan, rollouts_text, path)
        loaded, findings = validate_overlay(root, _overlay(plan, path, text))
        bad: dict[str, list[str]] = {}
        for finding in findings:
            name = _skill_of(finding.file)
            if finding.severity == "error" and name in {c.name for c in plan.to_import}:
                bad.setdefault(name, []).append(f"{finding.file}:{finding.line}: {finding.rule}")
        if not bad:
            break
        plan = _mark_invalid(plan, bad)
    text = _rollouts_text(plan, rollouts_text, path)
    desired = build_desired(loaded, plan.environment)
    rows = tuple(
        SkillRow(name=c.name, skill_id=c.skill_id, version_id=c.version, **_meta(desired, c.name))
        for c in plan.to_import
        if c.name in desired.skills
    )
    return replace(plan, rollouts_path=path, rollouts_text=text, rows=rows)


def _meta(desired: DesiredState, name: str) -> dict[str, Any]:
    return desired.skills[name].metadata()


def _rollouts_text(plan: ImportPlan, current: str | None, path: str) -> str | None:
    names = {c.name: 0 for c in plan.to_import}
    if not names:
        return None
    comment = "imported at 0%: raise it step by step"
    return add_rollouts(current or "", names, path, comment)


def _overlay(plan: ImportPlan, rollouts: str, text: str | None) -> dict[str, bytes]:
    files = {rollouts: text.encode("utf-8")} if text is not None else {}
    for c in plan.to_import:
        files.update({f"{c.folder}/{p}": d for p, d in c.files.items()})
    return files


def _skill_of(path: str) -> str:
    parts = path.split("/", 2)
    return parts[1] if len(parts) == 3 and parts[0] == "skills" else ""


def _mark_invalid(plan: ImportPlan, bad: Mapping[str, list[str]]) -> ImportPlan:
    out = []
    for c in plan.candidates:
        if c.status == "import" and c.name in bad:
            why = "the files would not pass `syncbot validate`: not imported"
            c = replace(c, status="invalid", why=why, findings=tuple(bad[c.name]))
        out.append(c)
    return replace(plan, candidates=tuple(out))


# --------------------------------------------------------------------- rendering


def render(plan: ImportPlan, *, applied: bool) -> list[str]:
    lines = []
    for c in plan.to_import:
        size = sum(len(f.data) for f in c.uploaded)
        verb = "imported" if applied else "import"
        lines.append(
            f"{verb}  {c.name}  (API skill {c.skill_id}, version {c.version}, "
            f"{len(c.uploaded)} files, {size} bytes, sha256 {content_sha256(c.uploaded)[:12]})"
        )
    for c in plan.skipped:
        shown = c.name or "(name unknown)"
        lines.append(f"skip    {shown}  (API skill {c.skill_id}): {c.why}")
        lines += [f"          {finding}" for finding in c.findings]
    if plan.managed:
        lines.append(f"{plan.managed} API skills are managed by this environment already")
    return lines


def import_plan_record(plan: ImportPlan, commit: str | None) -> Plan:
    """The run record's plan: the database rows and rollouts the import writes."""
    changes = [
        Change("db", "create", "skill", r.name, IMPORTED, None, r.values()) for r in plan.rows
    ]
    changes += [
        Change("db", "create", "rollout", r.name, IMPORTED, None, rollout_value(0, r.name))
        for r in plan.rows
    ]
    notes = tuple(f"import: {line}" for line in render(plan, applied=False))
    return Plan(plan.environment, commit, tuple(changes), notes=notes)


# --------------------------------------------------------------------- 3. execute


def db_writes(plan: ImportPlan, commit: str | None) -> DbWrites:
    by_name = {c.name: c for c in plan.to_import}
    versions = [
        VersionRow(
            r.name, r.skill_id, r.version_id, r.content_sha256, _time(by_name[r.name].created_at)
        )
        for r in plan.rows
    ]
    rollouts = [RolloutRow(r.name, 0, r.name) for r in plan.rows]
    return DbWrites(
        commit=commit,
        upsert_skills=[replace(r, commit=commit) for r in plan.rows],
        versions=versions,
        upsert_rollouts=rollouts,
    )


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def write_files(plan: ImportPlan, root: Path) -> Callable[[], None]:
    """Write the folders and the rollouts file; returns an undo for a failed commit."""
    made: list[Path] = []
    rollouts = root / plan.rollouts_path
    old = rollouts.read_bytes() if rollouts.exists() else None

    def undo() -> None:
        for folder in made:
            shutil.rmtree(folder, ignore_errors=True)
        if plan.rollouts_text is not None:
            if old is None:
                rollouts.unlink(missing_ok=True)
            else:
                rollouts.write_bytes(old)

    try:
        for c in plan.to_import:
            folder = root / c.folder
            folder.mkdir(parents=True, exist_ok=False)  # raced with a person: refuse
            made.append(folder)
            for relative, data in sorted(c.files.items()):
                target = folder / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        if plan.rollouts_text is not None:
            rollouts.parent.mkdir(parents=True, exist_ok=True)
            rollouts.write_text(plan.rollouts_text, encoding="utf-8")
    except OSError as exc:
        undo()
        raise SyncbotError(f"cannot write the imported files: {exc}") from exc
    return undo


def record(db: Database, plan: ImportPlan, commit: str | None, actor: str, lock_s: float) -> int:
    """Claim the skills in the database, under the apply lock, as one recorded run."""
    db.migrate()
    with db.apply_lock(plan.environment, lock_s):
        db.close_dead_runs(plan.environment)
        state = db.read_state(plan.environment)
        taken = unmanaged([_stub(r.skill_id) for r in plan.rows], state)[1]
        if taken or any(r.name in state.skills for r in plan.rows):
            raise SyncbotError(
                "another run recorded some of these skills meanwhile: nothing imported; run again"
            )
        record_plan = import_plan_record(plan, commit)
        run_id = db.start_run(plan.environment, commit, actor, record_plan.as_dict(), dry_run=False)
        try:
            db.commit_apply(run_id, plan.environment, db_writes(plan, commit))
        except SyncbotError as exc:
            db.finish_run(run_id, "failed", error=exc.message)
            raise
        summary = {"changes": len(record_plan.changes), "uploads": 0, "imported": len(plan.rows)}
        db.finish_run(run_id, "succeeded", summary=summary)
        return run_id


def _stub(skill_id: str) -> ApiSkill:
    return ApiSkill(skill_id, None, None, "custom", "", "")
