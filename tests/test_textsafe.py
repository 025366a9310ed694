"""Escaping per medium (syncbot.textsafe) and where it is applied: a corpus of hostile
strings in every text of a plan (keys, reasons, details, notes, field values, explanations,
diff blocks), rendered for a terminal and as Markdown, checked with a CommonMark renderer.

Live systems can hold any text (a row edited by hand), so these plans are built directly,
with line breaks and control characters that validate would refuse in the repository."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st
from markdown_check import MENTION, assert_structure, command_lines, renderer

from syncbot.plan import Change, Plan
from syncbot.render import render_markdown, render_text
from syncbot.semantic import code
from syncbot.textsafe import for_terminal, md_code, md_inline, visible

CORPUS = (
    "drafting\n\n<!--",
    "-->",
    "</details>",
    "# heading",
    "@octocat and @org/team",
    "a `tick` and ``two``",
    "```\nfenced\n```",
    "cell | split | row",
    "carriage\rreturn",
    "\x1b[8mhidden\x1b[0m\r",
    "\n::error::pwned",
    "::warning file=x::pwned",
    "##[error]old style",
    "bidi \u202eevil\u202c and zero\u200bwidth",
    "\x00nul \x7fdel \x85nel \x9bcsi",
    "1. ordered",
    "- bullet",
    "> quote",
    "<details><summary>x</summary>",
    "**bold** _em_ [link](http://x) ![img](http://x)",
    "&amp; &#64;",
    "===",
)
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b]")


def hostile_plan() -> Plan:
    changes = []
    for i, text in enumerate(CORPUS):
        changes.append(
            Change(
                "db",
                "update",
                "route",
                f"skill-{i}:{text}",
                text,
                before={"category": text, "salt": "old"},
                after={"category": "new", "salt": text},
                detail=text,
                blocked=text if i % 2 else None,
            )
        )
    return Plan("staging", "0" * 40, tuple(changes), notes=CORPUS)


def explanations(plan: Plan) -> dict[str, tuple[str, ...]]:
    lines = ["```diff", *(f"+{t}" for t in CORPUS for t in t.splitlines()), "```"]
    fence = "`" * 4
    out = {}
    for change in plan.changes:
        block = [fence + "diff", *lines, fence]
        out[change.object_id] = (f"Category {code(change.key)} changes", *block)
    return out


def test_a_hostile_plan_renders_as_markdown_with_exactly_our_structure() -> None:
    plan = hostile_plan()
    markdown = render_markdown(plan, explanations(plan))
    assert_structure(
        markdown, len(plan.changes), [visible(c.key, multiline=False) for c in plan.changes]
    )
    assert not RAW_CONTROL.search(markdown)
    for note in CORPUS:  # every note is shown, on its own quoted line
        assert html.escape(visible(note, multiline=False), quote=False) in renderer().render(
            markdown
        )


def test_a_hostile_plan_renders_for_a_terminal_without_controls_or_commands() -> None:
    plan = hostile_plan()
    text = for_terminal(render_text(plan, explanations(plan)))
    assert not RAW_CONTROL.search(text)
    assert not command_lines(text)
    for line in text.splitlines():  # no line forged: each is one we write
        assert line.startswith(("Plan for ", "  ~ db", "      ", "note: ", "! ")), line


@given(st.text(alphabet=st.sampled_from("<>!-#@`|*_[]()\\&;:=+.1 a\n\r\x1b\u202e"), max_size=40))
def test_inline_text_renders_as_exactly_its_characters(text: str) -> None:
    rendered = renderer().render(md_inline(text))
    expected = html.escape(visible(text, multiline=False), quote=False).replace('"', "&quot;")
    if expected.strip():
        assert rendered.startswith("<p>") and rendered.endswith("</p>\n"), rendered
        assert rendered[3:-5].strip() == expected.strip()


@given(st.text(alphabet=st.sampled_from("<>!-#@`| a\n\r\x1b"), min_size=1, max_size=40))
def test_a_code_span_holds_exactly_its_characters(text: str) -> None:
    tokens = renderer().parse(md_code(text))
    inline = [t for t in tokens if t.type == "inline"]
    assert len(inline) == 1 and [c.type for c in inline[0].children or []] == ["code_inline"]
    shown = (inline[0].children or [])[0].content
    assert shown.strip() == visible(text, multiline=False).strip()


def test_terminal_escapes_are_visible_and_keep_lines() -> None:
    assert for_terminal("a\x1b[8mb\rc") == "a\\x1b[8mb\\rc"
    assert for_terminal("x\u202ey\u200bz") == "x\\u202ey\\u200bz"
    assert for_terminal("one\n  ::error::x\n##[group]") == "one\n  \\::error::x\n\\##[group]"
    assert for_terminal("tab\there\nnext") == "tab\there\nnext"
    assert visible("a\nb", multiline=False) == "a\\nb"


def test_mentions_become_entities_outside_code() -> None:
    assert MENTION not in md_inline(f"hi {MENTION}")
    assert "&#64;octocat" in md_inline(f"hi {MENTION}")


def test_the_combined_pr_comment_keeps_both_plans() -> None:
    """pr.yml joins the plans of both environments under one heading: hostile text in the
    first cannot hide the second."""
    plan = hostile_plan()
    markdown = render_markdown(plan, explanations(plan))
    combined = f"## syncbot plans for this pull request\n\n{markdown}\n{markdown}"
    tokens = renderer().parse(combined)
    assert [t.tag for t in tokens if t.type == "heading_open"] == ["h2", "h3", "h3"]
    assert sum(t.type == "table_open" for t in tokens) == 2


def test_hostile_file_names_in_a_content_explanation_stay_in_code() -> None:
    """File names listed by the plan (a deployed commit may hold any name)."""
    from syncbot.semantic.skills import _files_line

    names = [f"f{i}-{text}" for i, text in enumerate(CORPUS)]
    old = {name: b"old" for name in names[::2]}
    new = {name: b"new" for name in names}
    change = Change("api", "update", "skill", "contract-review", "changed in git")
    plan = Plan("staging", None, (change,))
    line = _files_line(old, new, "the deployed commit")
    markdown = render_markdown(plan, {change.object_id: (line,)})
    assert_structure(markdown, 1, [visible(name, multiline=False) for name in sorted(names)[:20]])
