"""Escaping of configuration text for each medium it is shown in: one function per medium.

Text from the repository (categories, salts, display names, file names, SKILL.md lines)
and from the live systems is untrusted when it is printed:

* on a terminal, control characters can move the cursor, hide text (`ESC[8m`), rewrite
  a line (`CR`) or reorder it (bidirectional overrides); they are shown as escapes;
* in a GitHub Actions log, a line starting with `::` is a workflow command; such a line
  gets a backslash (`\\::`), which the runner does not parse and Markdown renders away;
* in Markdown (plan comments, job summaries, drift issues), text could open an HTML
  comment or a `<details>` that hides what follows, start a heading or a list, close a
  code fence, or mention people; inline text is escaped character by character,
  code spans and fences are chosen longer than any backtick run they hold.

Escapes are visible and ASCII: `\\x1b` for C0 controls, `\\u202e` for DEL, C1 and
invisible or bidirectional format characters (valid inside a JSON string too).
"""

from __future__ import annotations

import html
import re

__all__ = [
    "BIDI",
    "INVISIBLE",
    "for_log",
    "for_terminal",
    "md_block_line",
    "md_code",
    "md_fence",
    "md_html",
    "md_inline",
    "no_commands",
    "visible",
]

# Characters with no glyph that change what a reader sees, as regex class contents:
# bidirectional embeddings, overrides, isolates and marks; zero-width, filler and tag
# characters. The validate scanners (syncbot.lint.content) use the same two sets.
BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
INVISIBLE = (
    "\u200b-\u200d\u2060-\u2064\ufeff\u00ad\u180e\u3164\u115f\u1160\uffa0\U000e0000-\U000e007f"
)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029" + BIDI + INVISIBLE + "]")
_CONTROL_WITH_LINES = re.compile(_CONTROL.pattern[:-1] + "\n\t]")
_COMMAND_LINE = re.compile(r"^(\s*)(::|##\[)", re.MULTILINE)
_MD_SPECIAL = re.compile(r"[\\`*_\[\]!~]")
# what opens a block only at the start of a line: heading, list, setext or thematic break
_MD_LEADING = re.compile(r"^([-+=#]|\d+[.)])")
_MD_ENTITY = {"<": "&lt;", ">": "&gt;", "&": "&amp;", "@": "&#64;", "|": "&#124;"}


def _escape(char: str) -> str:
    # C0 as \x1b (as terminals' users know them); everything else as JSON's \u escapes,
    # so that JSON output stays valid JSON that decodes to the very same string.
    code = ord(char)
    if code < 0x20:
        return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char, f"\\x{code:02x}")
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    high, low = divmod(code - 0x10000, 0x400)
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


def visible(text: str, *, multiline: bool = True) -> str:
    """Control and hidden characters as escapes; LF and TAB kept when multi-line is meant."""
    pattern = _CONTROL if multiline else _CONTROL_WITH_LINES
    return pattern.sub(lambda m: _escape(m.group()), text)


def no_commands(text: str) -> str:
    """Lines that GitHub's runner would read as workflow commands get a backslash first."""
    return _COMMAND_LINE.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def for_terminal(text: str, *, multiline: bool = True) -> str:
    """Text for a terminal or a CI log: visible controls, no workflow commands."""
    return no_commands(visible(text, multiline=multiline))


def for_log(text: str) -> str:
    """A log record: one line of visible text."""
    return for_terminal(text, multiline=False)


def md_inline(text: str) -> str:
    """Plain text as Markdown inline content: renders as the same characters, one line.

    Backslash escapes for emphasis, links, code and escapes; entities for `<`, `>`, `&`,
    `|` (tables) and `@` (no mention); at the start, leading spaces as entities (no code
    block) and an escaped `-`, `+`, `=`, `#` or `1.` (no list, heading or rule).
    """
    flat = visible(text, multiline=False).lstrip(" ")
    indent = "&#32;" * (len(visible(text, multiline=False)) - len(flat))
    escaped = _MD_SPECIAL.sub(lambda m: "\\" + m.group(), flat)
    escaped = "".join(_MD_ENTITY.get(c, c) for c in escaped)
    escaped = _MD_LEADING.sub(lambda m: m.group()[:-1] + "\\" + m.group()[-1], escaped)
    return indent + escaped


def md_code(text: str, *, in_table: bool = False) -> str:
    """`text` as a Markdown code span, whatever backticks it holds; one line.

    Inside a code span nothing is Markdown (no HTML, no mention); a pipe is escaped only
    in a table cell, where GitHub splits the row before it reads code spans.
    """
    flat = visible(text, multiline=False)
    if in_table:
        flat = flat.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat.strip() else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def md_html(text: str) -> str:
    """Text inside raw HTML (`<summary>`): entities, and no mention."""
    return html.escape(visible(text, multiline=False)).replace("@", "&#64;")


def md_fence(lines: list[str]) -> str:
    """A backtick fence longer than any backtick run in the lines, so none can close it."""
    runs = (len(run) for line in lines for run in re.findall(r"`+", line))
    return "`" * max(3, 1 + max(runs, default=0))


def md_block_line(line: str) -> str:
    """One line inside a fenced block: code is literal, but a CR would end the line."""
    return visible(line.replace("\n", "\\n"))
