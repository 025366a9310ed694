"""Small round-trip edits of the YAML files people keep by hand: comments, order and
quoting of everything already there are kept; only the new entries are added.

Used by `syncbot import` and `syncbot new skill`, which add rollout entries and routes to
files a person will read in review.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from syncbot.errors import SyncbotError


class EditError(SyncbotError):
    """A file cannot be edited faithfully (it does not parse, or has another shape)."""


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load(text: str, path: str) -> Any:
    try:
        return _yaml().load(text) if text.strip() else None
    except YAMLError as exc:
        raise EditError(f"{path}: not valid YAML, not edited ({exc.__class__.__name__})") from None


def _dump(data: Any) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def add_rollouts(text: str, entries: Mapping[str, Any], path: str, comment: str = "") -> str:
    """`text` of a rollouts file with `entries` added (keys already there are refused)."""
    data = _load(text, path)
    head = _comments_only(text) if data is None else ""
    if data is None:
        data = CommentedMap()
    if not isinstance(data, CommentedMap):
        raise EditError(f"{path}: not a mapping of skill names, not edited")
    taken = sorted(set(entries) & set(data))
    if taken:
        raise EditError(f"{path} already has an entry for {', '.join(taken)}")
    if data.fa.flow_style():
        data.fa.set_block_style()
    for name, value in entries.items():
        data[name] = value
        if comment:
            data.yaml_add_eol_comment(comment, name)
    return head + _dump(data)


def add_routes(text: str, routes: Sequence[Mapping[str, Any]], path: str) -> str:
    """`text` of a registry file with `routes` appended to its `routes:` list."""
    data = _load(text, path)
    head = _comments_only(text) if data is None else ""
    if data is None:
        data = CommentedMap()
    if not isinstance(data, CommentedMap):
        raise EditError(f"{path}: not a mapping with a `routes` list, not edited")
    existing = data.get("routes")
    if existing is None:
        existing = data["routes"] = CommentedSeq()
    if not isinstance(existing, CommentedSeq):
        raise EditError(f"{path}: `routes` is not a list, not edited")
    if existing.fa.flow_style():
        existing.fa.set_block_style()
    for route in routes:
        existing.append(_block(route))
    return head + _dump(data)


def _comments_only(text: str) -> str:
    """The comments of a file that holds nothing else (ruamel loads it as None, dropping
    them), kept as the head of the new text."""
    text = text.rstrip()
    return text + "\n" if text else ""


def _block(value: Any) -> Any:
    """Nested plain values as block-style round-trip nodes, strings in lists quoted (a
    pattern or an example may hold any character YAML gives a meaning to)."""
    if isinstance(value, Mapping):
        node = CommentedMap()
        for key, item in value.items():
            node[key] = _block(item)
        return node
    if isinstance(value, list):
        return CommentedSeq(
            DoubleQuotedScalarString(item) if isinstance(item, str) else _block(item)
            for item in value
        )
    return value
