"""How V8 runs an alternation, written so that Python's re runs it the same way.

Python's re parser rewrites an alternation before its engine sees it: a first item that
every branch shares moves out of the group, and branches of one character or class each
merge into one set, so `(a|[a-z])+$` runs as `[a-z]+$` and `(?:a|A)+$` as `[aA]+$`. V8
does neither. It tries the branches in order, and under the `i` flag `a` and `A` are two
ways to match one letter, so those patterns take exponential time in Node although they
are instant in Python.

`branches_kept_apart` returns the pattern with every branch of every alternation wrapped
in a named group whose name starts with BRANCH_MARK. re's parser merges nothing across
groups, so parsing that text gives V8's reading (`tree.parse` drops the wrappers from
its tree again), and searching with it in Python re backtracks over the branches as V8 does.
Named groups are used because re unpacks non-capturing groups before it compares branches.
"""

from __future__ import annotations

import itertools

from syncbot.regexsafe.lexer import Token

BRANCH_MARK = "syncbotv8b"


def branches_kept_apart(pattern: str, tokens: list[Token]) -> str | None:
    """The pattern with each branch of each alternation in a marker group; None if re's
    parser would leave every alternation as written, so both engines read it alike.

    Only plain groups are rewritten; a pattern with any other group syntax is not portable
    (regex-portability rejects it) and keeps re's reading.
    """
    if "|" not in pattern:
        return None
    if any(kind in ("ext", "comment") and text != "(?:" for kind, text, _ in tokens):
        return None
    branches = _alternations(tokens)
    if not any(_re_rewrites(b) for b in branches.values()):
        return None
    names = (f"(?P<{BRANCH_MARK}{i}>" for i in itertools.count())
    out = [next(names)] if -1 in branches else []
    stack = [-1]
    for i, (kind, text, _) in enumerate(tokens):
        if _opens(kind, text):
            stack.append(i)
            out.append(text + next(names) if i in branches else text)
        elif _is(kind, text, "|") and stack[-1] in branches:
            out.append(")|" + next(names))
        elif _is(kind, text, ")") and len(stack) > 1:
            out.append("))" if stack.pop() in branches else ")")
        else:
            out.append(text)
    return "".join(out) + (")" if -1 in branches else "")


def _alternations(tokens: list[Token]) -> dict[int, list[list[Token]]]:
    """For each group with a `|` of its own (-1: the whole pattern), keyed by its opening
    token, the tokens of each branch at the group's own level (a nested group is its `(`).
    """
    levels: dict[int, list[list[Token]]] = {-1: [[]]}
    stack = [-1]
    for i, token in enumerate(tokens):
        kind, text, _ = token
        if _is(kind, text, ")") and len(stack) > 1:
            stack.pop()
        elif _is(kind, text, "|"):
            levels[stack[-1]].append([])
        else:
            levels[stack[-1]][-1].append(token)
            if _opens(kind, text):
                stack.append(i)
                levels[i] = [[]]
    return {i: b for i, b in levels.items() if len(b) > 1}


def _re_rewrites(branches: list[list[Token]]) -> bool:
    """Whether re's parser may merge these branches into a set or factor out a prefix.

    It merges branches that are one character or class each, and moves out a first item
    that all branches share. Plain characters are compared by text; anything else that
    could parse to a shared item counts as shared, so the answer errs towards yes.
    """
    if all(len(b) == 1 and _single_char(b[0][0], b[0][1]) for b in branches):
        return True
    if not all(branches):
        return False
    firsts = [b[0] for b in branches]
    if any(_is(kind, text, "(") for kind, text, _ in firsts):
        return False  # each capturing group is its own item
    plain = all(kind == "other" for kind, _, _ in firsts)
    return not plain or len({text for _, text, _ in firsts}) == 1


def _single_char(kind: str, text: str) -> bool:
    return kind in ("escape", "cls") or (kind == "other" and text not in ".^$()")


def _opens(kind: str, text: str) -> bool:
    return (kind == "other" and text == "(") or (kind == "ext" and text == "(?:")


def _is(kind: str, text: str, char: str) -> bool:
    return kind == "other" and text == char
