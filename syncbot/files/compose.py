"""Build plain Python values from a YAML event stream, rejecting what config must not use.

Iterative (an explicit stack), so nesting depth is bounded by `max_depth` and can never
hit Python's recursion limit. Lines are 0-based here; yamlsafe shifts them.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    Event,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
)
from ruamel.yaml.nodes import ScalarNode

LocPath = tuple[Hashable, ...]

# One shared YAML 1.2 resolver and safe constructor: scalars resolve exactly as ruamel's
# own loaders resolve them (`yes` is a string, `012` is 12, `1:20` is a string).
_YAML = YAML(typ="safe", pure=True)
_TAG_STR = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class YamlProblem:
    rule: str
    line: int  # 0-based
    message: str


@functools.lru_cache(maxsize=8192)
def _plain(value: str) -> tuple[Any, str | None]:
    """A plain scalar's value, or the string itself and an error message."""
    tag = str(_YAML.resolver.resolve(ScalarNode, value, (True, False)))
    constructor = _YAML.constructor.yaml_constructors.get(tag)
    if tag == _TAG_STR or constructor is None:
        return value, None
    try:
        return constructor(_YAML.constructor, ScalarNode(tag, value)), None
    except (ValueError, OverflowError, YAMLError) as exc:
        return value, f"invalid {tag.rsplit(':', 1)[-1]} {value!r}: {exc}"


@dataclass
class _Frame:
    container: dict[Any, Any] | list[Any]
    path: LocPath
    key: Any = None
    has_key: bool = False
    skip_value: bool = False


@dataclass
class Composer:
    """Feed events one by one; read `root`, `lines`, `problems` and `documents` after."""

    max_depth: int
    root: Any = None
    documents: int = 0
    lines: dict[LocPath, int] = field(default_factory=dict)
    problems: list[YamlProblem] = field(default_factory=list)
    _stack: list[_Frame] = field(default_factory=list)

    def feed(self, event: Event) -> bool:
        """Consume one event; False when composing must stop (a fatal problem)."""
        if isinstance(event, DocumentStartEvent):
            return self._document(event)
        if isinstance(event, CollectionEndEvent):
            self._stack.pop()
            return True
        if isinstance(event, NodeEvent):
            self._check_node(event)
            return self._node(event)
        return True

    def _problem(self, rule: str, event: Event, message: str) -> None:
        self.problems.append(YamlProblem(rule, event.start_mark.line, message))

    def _document(self, event: DocumentStartEvent) -> bool:
        self.documents += 1
        if self.documents > 1:
            self._problem("yaml-multiple-documents", event, "only one YAML document allowed")
            return False
        if getattr(event, "version", None):
            self._problem("yaml-directive", event, "%YAML directives are not allowed")
        if getattr(event, "tags", None):
            self._problem("yaml-directive", event, "%TAG directives are not allowed")
        return True

    def _check_node(self, event: NodeEvent) -> None:
        if event.anchor is not None and not isinstance(event, AliasEvent):
            self._problem("yaml-anchor", event, f"anchors are not allowed (&{event.anchor})")
        tag = getattr(event, "tag", None)
        if tag is not None:
            self._problem("yaml-tag", event, f"tags are not allowed ({tag})")

    def _node(self, event: NodeEvent) -> bool:
        frame = self._stack[-1] if self._stack else None
        if frame is not None and isinstance(frame.container, dict) and not frame.has_key:
            return self._key(frame, event)
        if isinstance(event, AliasEvent):
            self._problem("yaml-alias", event, f"aliases are not allowed (*{event.anchor})")
            value: Any = None
        elif isinstance(event, ScalarEvent):
            value = self._scalar(event)
        else:
            value = {} if isinstance(event, MappingStartEvent) else []
        path = self._place(frame, value, event.start_mark.line)
        if isinstance(event, CollectionStartEvent):
            return self._push(value, path, event)
        return True

    def _push(self, container: dict[Any, Any] | list[Any], path: LocPath, event: Event) -> bool:
        if len(self._stack) >= self.max_depth:
            message = f"nesting deeper than {self.max_depth} levels"
            self._problem("yaml-too-deep", event, message)
            return False
        self._stack.append(_Frame(container, path))
        return True

    def _place(self, frame: _Frame | None, value: Any, line: int) -> LocPath:
        if frame is None:
            self.root = value
            self.lines[()] = line
            return ()
        if isinstance(frame.container, list):
            path = (*frame.path, len(frame.container))
            frame.container.append(value)
            self.lines[path] = line
            return path
        path = (*frame.path, frame.key)
        if not frame.skip_value:
            frame.container[frame.key] = value
        frame.has_key = frame.skip_value = False
        return path

    def _key(self, frame: _Frame, event: NodeEvent) -> bool:
        if not isinstance(event, ScalarEvent):
            self._problem("yaml-syntax", event, "mapping keys must be plain values")
            return False
        key = self._scalar(event)
        if event.implicit[0] and event.value == "<<":
            self._problem("yaml-merge-key", event, "merge keys (<<) are not allowed")
        assert isinstance(frame.container, dict)
        path = (*frame.path, key)
        first = self.lines.get(path) if key in frame.container else None
        if first is not None:
            message = f"duplicate key {key!r}: first defined on line {first + 1}"
            self._problem("yaml-duplicate-key", event, message)
        else:
            self.lines[path] = event.start_mark.line
        frame.key, frame.has_key, frame.skip_value = key, True, first is not None
        return True

    def _scalar(self, event: ScalarEvent) -> Any:
        if not event.implicit[0]:
            return event.value  # quoted or block scalar: always a string
        value, error = _plain(event.value)
        if error is not None:
            self._problem("yaml-syntax", event, error)
        return value
