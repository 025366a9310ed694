"""Turn a pydantic ValidationError into ConfigErrors a person can act on.

`rollouts/production.yaml:3: schema: contract-analysis-ro: expected a number, got the
string "5"`: one error per problem, at the line of the offending key, with the path in
the file and what was found instead of what was expected.
"""

from __future__ import annotations

import datetime
import difflib
import json
import types
import typing
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, RootModel, ValidationError
from pydantic_core import ErrorDetails

from syncbot.errors import ConfigError, ConfigErrors, Location
from syncbot.files.skill_schemas import FRONT_MATTER_KEYS, SkillFrontMatter
from syncbot.files.yamlsafe import LineMap

M = TypeVar("M", bound=BaseModel)

# Validators that enforce a named rule raise errors whose type is the rule id.
RULE_TYPES = frozenset(
    {
        "skill-name-format",
        "skill-name-reserved",
        "skill-description",
        "skill-compatibility",
        "skill-allow-rule",
        "rollout-range",
        "rollout-precision",
        "text-control-character",
        "unicode-bidi",
        "unicode-invisible",
    }
)

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
}


def parse_model(model: type[M], data: Any, file: str, lines: LineMap) -> M:
    """Validate `data` against `model`; raises ConfigErrors with one entry per problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigErrors(translate(exc, model, file, lines)) from None


def translate(
    exc: ValidationError, model: type[BaseModel], file: str, lines: LineMap
) -> list[ConfigError]:
    return [_one(error, model, file, lines) for error in exc.errors()]


def _one(error: ErrorDetails, model: type[BaseModel], file: str, lines: LineMap) -> ConfigError:
    loc = tuple(error["loc"])
    where = Location(file, lines.line(loc))
    if model is SkillFrontMatter and error["type"] == "extra_forbidden" and len(loc) == 1:
        return ConfigError("skill-frontmatter-key", where, _front_matter_message(loc[0]))
    rule = error["type"] if error["type"] in RULE_TYPES else "schema"
    path = _display_path(loc, lines, error["type"])
    message = _human(error, model, loc)
    if not path or message.startswith(f"{path} "):
        return ConfigError(rule, where, message)  # the message already names the field
    return ConfigError(rule, where, f"{path}: {message}")


def _front_matter_message(key: Any) -> str:
    # The wording of the Skills API (and of anthropics/skills quick_validate.py).
    return (
        f"Unexpected key(s) in SKILL.md frontmatter: {key}. "
        f"Allowed properties are: {', '.join(FRONT_MATTER_KEYS)}"
    )


def _display_path(loc: tuple[Any, ...], lines: LineMap, error_type: str) -> str:
    """The loc without pydantic's union tags: only the parts that exist in the file."""
    kept: list[Any] = []
    for part in loc:
        if (*kept, part) in lines.lines:
            kept.append(part)
    if error_type == "missing" and loc:
        kept.append(loc[-1])
    text = ""
    for part in kept:
        text += f"[{part}]" if isinstance(part, int) and not isinstance(part, bool) else f".{part}"
    return text.lstrip(".")


def _human(error: ErrorDetails, model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "missing":
        return f"missing required key {loc[-1]!r}" if loc else "missing value"
    if kind == "extra_forbidden":
        return _unknown_key(loc, model)
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {describe(value)}{_hint(loc, value)}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected')}, got {describe(value)}"
    return _bounds(kind, ctx, value) or _plain_message(error)


def _bounds(kind: str, ctx: dict[str, Any], value: Any) -> str | None:
    ops = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<="}
    ops["less_than"] = "<"
    if kind in ops:
        bound = next(iter(ctx.values()))
        return f"must be {ops[kind]} {bound}, got {describe(value)}"
    if kind == "string_pattern_mismatch":
        return f"{describe(value)} does not match {ctx.get('pattern')}"
    if kind == "finite_number":
        return f"must be a finite number, got {describe(value)}"
    if kind in ("too_short", "string_too_short"):
        least = ctx.get("min_length")
        return "must not be empty" if least == 1 else f"must have at least {least} items"
    if kind == "string_too_long":
        size = len(value) if isinstance(value, str) else "?"
        most = ctx.get("max_length")
        return f"is {size} characters, over the limit of {most}: shorten it"
    if kind == "too_long":
        size = ctx.get("actual_length") or (len(value) if isinstance(value, list) else "?")
        return f"has {size} items, at most {ctx.get('max_length')} allowed"
    return None


def _plain_message(error: ErrorDetails) -> str:
    return error["msg"].removeprefix("Value error, ")


def _hint(loc: tuple[Any, ...], value: Any) -> str:
    if loc and loc[-1] == "version" and isinstance(value, int | float):
        return ' (quote it: version: "1.10.0" is a string, an unquoted 1.10 is a number)'
    if isinstance(value, datetime.date):
        return " (quote it to make it a string)"
    return ""


def describe(value: Any) -> str:
    """How a YAML value reads in a message: the string "5", the integer 5, true, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"the string {json.dumps(shown, ensure_ascii=False)}"
    if isinstance(value, datetime.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _unknown_key(loc: tuple[Any, ...], model: type[BaseModel]) -> str:
    key = loc[-1] if loc else "?"
    allowed = _keys_at(model, loc[:-1])
    if not allowed:
        return f"unknown key {key!r}"
    close = difflib.get_close_matches(str(key), allowed, n=1)
    guess = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{guess}; allowed keys: {', '.join(allowed)}"


def _keys_at(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """The keys the model accepts at `loc` (following lists, dicts and tagged unions)."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    target = _unwrap(current)
    if isinstance(target, type) and issubclass(target, BaseModel):
        return sorted(f.alias or name for name, f in target.model_fields.items())
    return []


def _step(annotation: Any, part: Any) -> Any:
    target = _unwrap(annotation)
    if isinstance(target, type) and issubclass(target, RootModel):
        return _step(target.model_fields["root"].annotation, part)
    if isinstance(target, type) and issubclass(target, BaseModel):
        fields = {f.alias or name: f.annotation for name, f in target.model_fields.items()}
        return fields.get(part)
    origin, args = typing.get_origin(target), typing.get_args(target)
    if origin is list and isinstance(part, int):
        return args[0]
    if origin is dict:
        return args[1]
    if origin in (typing.Union, types.UnionType):
        return _union_member(args, part)
    return None


def _union_member(members: Sequence[Any], tag: Any) -> Any:
    for member in members:
        for meta in getattr(member, "__metadata__", ()):
            if getattr(meta, "tag", None) == tag:
                return member
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional layers (a union with None counts as its one member)."""
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        args = typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
            rest = [a for a in args if a is not type(None)]
            if len(rest) == 1:
                annotation = rest[0]
                continue
        return annotation
