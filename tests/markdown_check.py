"""Check a plan's Markdown the way GitHub shows it: render it with a CommonMark renderer
(tables and raw HTML on, as on GitHub) and assert the structure we wrote is the structure
a reader gets, whatever text the configuration put in it."""

from __future__ import annotations

import re
from collections.abc import Iterator

from markdown_it import MarkdownIt
from markdown_it.token import Token

# A string in every hostile family: opens/closes HTML comments and <details>, starts a
# heading, a list or a quote, closes a fence, splits a table, mentions, issues a workflow
# command. Each of these passes validate (no control or hidden characters).
HOSTILE = "<!-- # h @octocat --> </details> | ``` `x` ::error::pwned > - 1. **b** [l](u)"
MENTION = "@octocat"

_OUR_HTML = re.compile(
    r"<details><summary>[^<>]*(<code>[^<>]*</code>)?[^<>]*</summary>|</details>"
    r"|<!-- /?syncbot:banner -->",
    re.DOTALL,
)


def renderer() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable("table")


def walk(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        if token.children:
            yield from walk(token.children)


def code_text(tokens: list[Token]) -> str:
    return "\n".join(t.content for t in walk(tokens) if t.type in ("fence", "code_inline"))


def assert_structure(markdown: str, changes: int, keys: list[str]) -> str:
    """The rendered HTML of `markdown` after checking it has exactly our structure."""
    tokens = renderer().parse(markdown)
    html: str = renderer().render(markdown)
    raw_html = [t.content.strip() for t in walk(tokens) if t.type in ("html_block", "html_inline")]
    for chunk in raw_html:
        assert _OUR_HTML.fullmatch(chunk), f"HTML from the configuration: {chunk!r}"
    opened = sum(chunk.startswith("<details>") for chunk in raw_html)
    assert opened == raw_html.count("</details>"), raw_html
    headings = [t for t in tokens if t.type == "heading_open"]
    assert len(headings) == 1, f"headings: {len(headings)}\n{markdown}"
    rows = [t for t in tokens if t.type == "tr_open"]
    assert len(rows) == changes + 1, f"table rows: {len(rows)} for {changes} changes"
    cells = [t.type for t in tokens if t.type in ("tr_open", "td_open", "th_open")]
    per_row = "".join("|" if c == "tr_open" else "c" for c in cells).split("|")[1:]
    assert all(len(row) == 6 for row in per_row), per_row
    assert markdown.count(MENTION) == code_text(tokens).count(MENTION), "a mention outside code"
    ours = re.sub(r"<!-- /?syncbot:banner -->", "", html)
    assert "<!--" not in ours.replace("&lt;!--", ""), "an HTML comment from the configuration"
    for key in keys:
        assert key in _text(tokens), f"{key!r} is not shown"
    return html


def _text(tokens: list[Token]) -> str:
    return "".join(t.content for t in walk(tokens) if t.type in ("text", "code_inline"))


def command_lines(output: str) -> list[str]:
    """Lines GitHub's runner would take as workflow commands."""
    return [line for line in output.splitlines() if line.lstrip().startswith(("::", "##["))]
