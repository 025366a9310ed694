"""Safe YAML loading: one event pass that rejects the hazards, then plain values + lines.

Before parsing: the size cap, strict UTF-8, and no tab or Unicode line separator (the
parsers disagree on those). Then the loader walks ruamel.yaml's event stream once. That
single pass rejects directives, tags, anchors, aliases and merge keys (each at its own
line), enforces the depth limit without recursion, reports every duplicate key with both
lines, and builds plain dicts, lists and scalars together with a `LineMap`. Scalars are
resolved by ruamel's YAML 1.2 resolver and built by its SafeConstructor, so `yes` stays
a string and `012` is 12.

Composing from the events ourselves, instead of a second `YAML(typ="rt").load()`, halves
the cost: the pure-Python scanner is the bottleneck (about 15 us per event), and with
ruamel.yaml.clib installed its C parser is used for the events (about 15x faster).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import Event, StreamEndEvent
from ruamel.yaml.reader import ReaderError

from syncbot.errors import ConfigError, ConfigErrors, Location
from syncbot.files.compose import Composer, LocPath, YamlProblem

DEFAULT_MAX_BYTES = 262144
DEFAULT_MAX_DEPTH = 64
_ODD_CHARACTER = re.compile("[\t\u0085\u2028\u2029]")
_TAB_MESSAGE = (
    "tab character: indent with spaces (inside a double-quoted string, write \\t instead)"
)


@dataclass(frozen=True)
class LineMap:
    """Maps a location path (keys and indices) to a 1-based line in the file."""

    lines: Mapping[LocPath, int]

    def line(self, path: tuple[Any, ...]) -> int:
        """The line of `path`, or of its nearest ancestor present in the file.

        Parts that are not in the document (pydantic's union tags such as 'str' or
        'function-after') are skipped, so a validation loc maps to the right line.
        """
        found: LocPath = ()
        best = self.lines.get((), 1)
        for part in path:
            candidate = (*found, part)
            if candidate in self.lines:
                found, best = candidate, self.lines[candidate]
        return best

    def shifted(self, offset: int) -> LineMap:
        return LineMap({path: line + offset for path, line in self.lines.items()})


def _c_parser() -> Callable[[str], Any] | None:
    try:
        return importlib.import_module("_ruamel_yaml").CParser  # type: ignore[no-any-return]
    except ImportError:
        return None


_C_PARSER = _c_parser()


def c_parser_available() -> bool:
    return _C_PARSER is not None


def _pure_events(text: str) -> Iterator[Event]:
    yield from YAML(typ="safe", pure=True).parse(text)


def _c_events(text: str) -> Iterator[Event]:
    assert _C_PARSER is not None
    parser = _C_PARSER(text)
    while True:
        event = parser.get_event()
        yield event
        if isinstance(event, StreamEndEvent):
            return


def _events(text: str, *, pure: bool) -> Iterator[Event]:
    return _pure_events(text) if pure or _C_PARSER is None else _c_events(text)


def decode_utf8(data: str | bytes, file: str, *, offset: int = 0) -> str:
    """Decode as strict UTF-8 (a leading BOM is dropped); errors name the line and byte."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1 + offset
        raise _error("yaml-encoding", file, line, "binary content (NUL byte): not a text file")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1 + offset
        byte = data[exc.start]
        message = f"not valid UTF-8: byte 0x{byte:02x} at offset {exc.start}"
        raise _error("yaml-encoding", file, line, message) from exc


def load_yaml(
    data: str | bytes,
    file: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    line_offset: int = 0,
    pure: bool = False,
) -> tuple[Any, LineMap]:
    """Parse one YAML document into plain values and a LineMap.

    Raises ConfigErrors (one ConfigError per problem, each with its own line); never a
    ruamel.yaml exception. `line_offset` shifts every line (front matter inside SKILL.md).
    """
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if size > max_bytes:
        message = f"file is {size} bytes, over the limit of {max_bytes}"
        raise ConfigErrors([_error("yaml-too-large", file, 1 + line_offset, message)])
    try:
        text = decode_utf8(data, file, offset=line_offset)
    except ConfigError as exc:
        raise ConfigErrors([exc]) from None
    _check_characters(text, file, line_offset)
    composer = Composer(max_depth=max_depth)
    try:
        _feed(composer, _events(text, pure=pure))
    except YAMLError as exc:
        composer.problems.append(_syntax_problem(exc, text))
    except RecursionError:  # defence in depth: the parsers are iterative today
        composer.problems.append(YamlProblem("yaml-too-deep", 0, "nesting is too deep"))
    return _result(composer, file, line_offset, text)


def _check_characters(text: str, file: str, line_offset: int) -> None:
    """Reject tabs and Unicode line separators before parsing.

    The pure-Python and C parsers disagree on where YAML allows a tab and on whether
    U+0085/U+2028/U+2029 break lines, so config files contain none of them: the same
    file gets the same verdict whichever parser is installed.
    """
    found = _ODD_CHARACTER.search(text)
    if found is None:
        return
    line = text.count("\n", 0, found.start()) + 1 + line_offset
    char = found.group()
    if char == "\t":
        raise ConfigErrors([_error("yaml-tab", file, line, _TAB_MESSAGE)])
    message = f"line separator U+{ord(char):04X} is not allowed: use a plain newline"
    raise ConfigErrors([_error("yaml-syntax", file, line, message)])


def _feed(composer: Composer, events: Iterator[Event]) -> None:
    for event in events:
        if not composer.feed(event):
            return


def _result(composer: Composer, file: str, line_offset: int, text: str) -> tuple[Any, LineMap]:
    problems = _directives_at_their_lines(composer.problems, text)
    if not problems and (composer.documents == 0 or composer.root is None):
        problems = [YamlProblem("yaml-empty", 0, "the file is empty: expected a mapping")]
    if problems:
        errors = [_error(p.rule, file, p.line + 1 + line_offset, p.message) for p in problems]
        raise ConfigErrors(errors)
    lines = {path: line + 1 + line_offset for path, line in composer.lines.items()}
    return composer.root, LineMap(lines)


def _directives_at_their_lines(problems: list[YamlProblem], text: str) -> list[YamlProblem]:
    """One problem per directive line (parsers put the event on the directive or on `---`)."""
    if not any(p.rule == "yaml-directive" for p in problems):
        return problems
    kept = [p for p in problems if p.rule != "yaml-directive"]
    for number, line in enumerate(text.split("\n")):
        if line.startswith("---"):
            break
        if line.startswith("%"):
            name = line.split()[0]
            kept.append(YamlProblem("yaml-directive", number, f"{name} directives are not allowed"))
    return sorted(kept, key=lambda p: p.line)


def _syntax_problem(exc: YAMLError, text: str) -> YamlProblem:
    if isinstance(exc, ReaderError):
        line = text[: exc.position].count("\n")
        char = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or "?")
        message = f"unacceptable character U+{char:04X}: {exc.reason}"
        return YamlProblem("yaml-syntax", line, message)
    if not isinstance(exc, MarkedYAMLError):
        return YamlProblem("yaml-syntax", 0, str(exc))
    mark = exc.problem_mark or exc.context_mark
    line = mark.line if mark is not None else 0
    message = " ".join(str(part) for part in (exc.problem, exc.context) if part)
    return YamlProblem("yaml-syntax", line, message or "invalid YAML")


def _error(rule: str, file: str, line: int, message: str) -> ConfigError:
    return ConfigError(rule, Location(file, line), message)


def split_front_matter(text: str, file: str) -> tuple[str, str, int]:
    """Split SKILL.md into (front matter, body, line offset of the front matter).

    Only the first two `---` lines count: the Markdown body may contain more. A line of
    the front matter text at 1-based line n is line n + offset of the file.
    """
    lines = text.removeprefix("\ufeff").split("\n")
    if lines[0].rstrip() != "---":
        message = "SKILL.md must start with YAML front matter between '---' lines"
        raise _error("skill-frontmatter", file, 1, message)
    for index in range(1, len(lines)):
        if lines[index].rstrip() == "---":
            return "\n".join(lines[1:index]) + "\n", "\n".join(lines[index + 1 :]), 1
    message = "front matter is not terminated: no closing '---' line"
    raise _error("skill-frontmatter", file, 1, message)


__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "LineMap",
    "LocPath",
    "c_parser_available",
    "decode_utf8",
    "load_yaml",
    "split_front_matter",
]
