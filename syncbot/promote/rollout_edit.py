"""Set one skill's percentage in `rollouts/<env>.yaml`, and change nothing else.

ruamel.yaml's round trip keeps comments, key order and quoting. What it does not keep
(the indentation width, a `---` line, CRLF line endings, a missing final newline, a BOM)
is carried over by hand, so that the edit of an existing entry is a one-line diff.

The edited tree must pass validate's rules, judged as a change against the tree it was
made in (so an increase that skips a step is refused, as the PR check would refuse it);
problems the tree already had are not this edit's and do not stop it: the on-call
engineer turning a skill off must not be blocked by an unrelated mistake elsewhere.
Shared by `syncbot rollout set` and `syncbot promote --open-prs`.
"""

from __future__ import annotations

import difflib
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from syncbot.desired import format_percentage
from syncbot.errors import ConfigErrors, InternalError, SyncbotError
from syncbot.files.load import LoadedRepo, basis_points, rollout_file
from syncbot.files.schemas import RolloutEntry, RolloutFile
from syncbot.files.source import Source, SourceFile
from syncbot.files.yamlsafe import load_yaml
from syncbot.lint.findings import Finding, first_and_count
from syncbot.lint.validate import validate, validate_and_load

__all__ = [
    "RolloutEdit",
    "edit_rollout",
    "parse_percentage",
    "set_percentage",
    "write_atomically",
]

NEW_FILE_HEADER = "# yaml-language-server: $schema=../schemas/rollouts.schema.json\n"
_BOM = "\ufeff"


@dataclass(frozen=True)
class RolloutEdit:
    """One skill's percentage in one environment, before and after (basis points)."""

    environment: str
    skill: str
    old_basis_points: int
    new_basis_points: int
    before: str | None  # None: the file did not exist
    after: str | None  # equal to `before` when nothing changes

    @property
    def path(self) -> str:
        return rollout_file(self.environment)

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def summary(self) -> str:
        old, new = map(format_percentage, (self.old_basis_points, self.new_basis_points))
        return f"{self.skill} in {self.environment}: {old}% -> {new}%"

    def diff(self) -> str:
        """A unified diff, `a/` and `b/` paths as git prints them; empty without a change."""
        before = (self.before or "").splitlines(keepends=True)
        after = (self.after or "").splitlines(keepends=True)
        source = "/dev/null" if self.before is None else f"a/{self.path}"
        lines = difflib.unified_diff(before, after, source, f"b/{self.path}")
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def parse_percentage(text: str) -> int:
    """`5`, `12.5`, `0` (or `5%`) as basis points; 0..100 with at most two decimals."""
    try:
        value = Decimal(text.strip().removesuffix("%"))
    except InvalidOperation:
        raise SyncbotError(f"percentage {text!r} is not a number") from None
    if not value.is_finite() or not 0 <= value <= 100:
        raise SyncbotError(f"percentage {text!r} must be between 0 and 100")
    if value != value.quantize(Decimal("0.01")):
        raise SyncbotError(f"percentage {text!r} has more than two decimals (the unit is 0.01%)")
    return int(value * 100)


def edit_rollout(
    source: Source, environment: str, skill: str, new_basis_points: int
) -> RolloutEdit:
    """The edit of `skill`'s percentage in `source`, checked; refused with SyncbotError when
    the environment or skill is unknown or the edited tree fails a rule it passed before."""
    repo, findings = validate_and_load(source)
    _check_known(repo, environment, skill)
    path = rollout_file(environment)
    found = _file(source, path)
    before = None if found is None else _text(found)
    old = current_basis_points(before, skill, path)
    after = before
    if old != new_basis_points:
        after = set_percentage(before, skill, new_basis_points, file=path)
    edit = RolloutEdit(environment, skill, old, new_basis_points, before, after)
    if edit.changed:
        _check_same_except(edit)
        _refuse_new_errors(findings, validate(_Edited(source, edit), base=source), edit)
    return edit


def current_basis_points(text: str | None, skill: str, file: str) -> int:
    """The skill's percentage in the file's text; 0 without a file or an entry."""
    value = _entries(text, file).get(skill)
    if value is None:
        return 0
    return basis_points(value.percentage if isinstance(value, RolloutEntry) else value)


def set_percentage(text: str | None, skill: str, new_basis_points: int, *, file: str) -> str:
    """`text` with the percentage of `skill` set (shorthand or `percentage:` form kept; a
    skill without an entry gets `skill: N`, in sorted position when the keys are sorted)."""
    value = _number(new_basis_points)
    if text is None:
        return f"{NEW_FILE_HEADER}{skill}: {value}\n"
    bom, body = (_BOM, text[1:]) if text.startswith(_BOM) else ("", text)
    newline = "\r\n" if "\r\n" in body else "\n"
    body = body.replace("\r\n", "\n")
    yaml, doc = _round_trip(body, file)
    if doc is None:  # only comments (or nothing): append, keeping them as they are
        edited = body + ("" if body.endswith("\n") or not body else "\n") + f"{skill}: {value}\n"
    else:
        _set(doc, skill, value)
        out = io.StringIO()
        yaml.dump(doc, out)
        edited = out.getvalue()
    if not body.endswith("\n") and edited.endswith("\n") and doc is not None:
        edited = edited[:-1]
    return bom + edited.replace("\n", newline)


def _set(doc: CommentedMap, skill: str, value: int | float) -> None:
    entry = doc.get(skill)
    if isinstance(entry, CommentedMap):
        entry["percentage"] = value
    elif skill in doc:
        doc[skill] = value
    else:
        keys = [str(key) for key in doc]
        position = len(keys)
        if keys == sorted(keys):
            position = next((i for i, key in enumerate(keys) if key > skill), len(keys))
        doc.insert(position, skill, value)


def _round_trip(body: str, file: str) -> tuple[YAML, CommentedMap | None]:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long comment or value
    try:
        _, indent, _ = load_yaml_guess_indent(body)
        doc = yaml.load(body)
    except YAMLError as exc:
        raise SyncbotError(f"{file}: cannot edit: {exc}") from exc
    if indent:
        yaml.indent(mapping=indent)
    yaml.explicit_start = body.lstrip().startswith("---")
    if doc is not None and not isinstance(doc, CommentedMap):
        raise SyncbotError(f"{file}: cannot edit: the file is not a mapping of skills")
    return yaml, doc


def _number(new_basis_points: int) -> int | float:
    if not 0 <= new_basis_points <= 10000:
        raise SyncbotError(f"percentage {new_basis_points / 100:g} is not between 0 and 100")
    whole, rest = divmod(new_basis_points, 100)
    return whole if rest == 0 else float(format_percentage(new_basis_points))


def _entries(text: str | None, file: str) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        data, _ = load_yaml(text, file)
        return dict(RolloutFile.model_validate(data or {}).root)
    except ConfigErrors as exc:
        raise SyncbotError(f"cannot edit {file}: {exc.message}") from exc
    except ValueError as exc:  # pydantic: the schema's rules, as validate reports them
        raise SyncbotError(f"cannot edit {file}: run `syncbot validate` ({exc})") from exc


def _check_same_except(edit: RolloutEdit) -> None:
    """Defence: the two texts must hold the same entries but for the skill's number."""
    old = _entries(edit.before, edit.path)
    new = _entries(edit.after, edit.path)
    others_kept = {k: v for k, v in old.items() if k != edit.skill} == {
        k: v for k, v in new.items() if k != edit.skill
    }
    number = current_basis_points(edit.after, edit.skill, edit.path)
    if not others_kept or number != edit.new_basis_points:
        raise InternalError(f"{edit.path}: the round trip changed more than {edit.skill}")


def _check_known(repo: LoadedRepo, environment: str, skill: str) -> None:
    known = repo.config.environments
    if environment not in known:
        names = ", ".join(sorted(known))
        raise SyncbotError(f"unknown environment {environment!r} (syncbot.yaml has: {names})")
    if skill not in repo.skills:
        raise SyncbotError(f"unknown skill {skill!r}: no folder skills/{skill}")


def _refuse_new_errors(before: list[Finding], after: list[Finding], edit: RolloutEdit) -> None:
    known = {_key(f) for f in before if f.severity == "error"}
    new = [f for f in after if f.severity == "error" and _key(f) not in known]
    if new:
        raise SyncbotError(f"refused: {edit.summary()} would fail validate: {first_and_count(new)}")


def _key(finding: Finding) -> tuple[str, str, str]:
    return finding.file, finding.rule, finding.message  # lines move when an entry is added


def _file(source: Source, path: str) -> SourceFile | None:
    return next((f for f in source.files() if f.path == path and not f.ignored), None)


def _text(found: SourceFile) -> str:
    if found.data is None:
        raise SyncbotError(f"cannot edit {found.path}: not a regular file")
    try:
        return found.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SyncbotError(f"cannot edit {found.path}: not valid UTF-8") from exc


class _Edited:
    """`source` with the edited rollout file in place of the original."""

    def __init__(self, source: Source, edit: RolloutEdit) -> None:
        self._source = source
        self._edit = edit

    @property
    def commit(self) -> str | None:
        return self._source.commit

    def files(self) -> tuple[SourceFile, ...]:
        return tuple(sorted(self._replaced()))

    def _replaced(self) -> Iterator[SourceFile]:
        path, after = self._edit.path, self._edit.after or ""
        yield from (f for f in self._source.files() if f.path != path)
        yield SourceFile(path, after.encode("utf-8"))


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` whole or not at all: an interrupted write never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        # mkstemp makes the file 0600; keep the original's mode (a new file: 0644)
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
