"""GitHub Actions `${{ ... }}` expressions: exactly the subset our workflows use.

Literals, context properties (`a.b`, `a['b']`), `!`, `==`, `!=`, `&&`, `||`, parentheses
and the status functions. Anything else (another function, an operator, a context the
rehearsal does not provide, a step id that does not exist) raises `ExpressionError`, so
that a workflow edit can never make the rehearsal skip something silently.

Semantics follow GitHub's documentation: a missing property is null, `&&`/`||` return an
operand, `==` coerces differing types to numbers and compares strings ignoring case.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "STATUS_FUNCTIONS",
    "Context",
    "ExpressionError",
    "evaluate",
    "evaluate_condition",
    "interpolate",
    "parse",
    "to_text",
]

STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")
_TOKEN = re.compile(
    r"\s*(?:(?P<number>-?\d+(?:\.\d+)?)|(?P<string>'(?:[^']|'')*')"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*)|(?P<op>==|!=|&&|\|\||[!().\[\]]))"
)
_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


class ExpressionError(Exception):
    """An expression the rehearsal does not understand, or one that names nothing."""


@dataclass(frozen=True)
class Node:
    kind: str  # literal, context, prop, index, not, eq, ne, and, or, call
    value: Any = None
    args: tuple[Node, ...] = ()


# --- parsing ------------------------------------------------------------------------


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"cannot read {text[pos:]!r} in expression {text!r}")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        pos = match.end()
    return found


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def fail(self, why: str) -> ExpressionError:
        return ExpressionError(f"{why} in expression {self.text!r}")

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise self.fail("unexpected end")
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise self.fail(f"expected {expected!r}, found {token[1]!r}")
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.binary(0)
        if self.pos != len(self.tokens):
            raise self.fail(f"unsupported {self.peek()!r}")
        return node

    _LEVELS: tuple[dict[str, str], ...] = ({"||": "or"}, {"&&": "and"}, {"==": "eq", "!=": "ne"})

    def binary(self, level: int) -> Node:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        ops = self._LEVELS[level]
        while (op := self.peek()) in ops:
            self.take()
            left = Node(ops[op], args=(left, self.binary(level + 1)))
        return left

    def unary(self) -> Node:
        if self.peek() == "!":
            self.take()
            return Node("not", args=(self.unary(),))
        return self.postfix(self.primary())

    def primary(self) -> Node:
        kind, text = self.take()
        if text == "(":
            node = self.binary(0)
            self.take(")")
            return node
        if kind == "number":
            return Node("literal", float(text) if "." in text else int(text))
        if kind == "string":
            return Node("literal", text[1:-1].replace("''", "'"))
        if kind != "name":
            raise self.fail(f"unexpected {text!r}")
        literals = {"true": True, "false": False, "null": None}
        if text in literals:
            return Node("literal", literals[text])
        if self.peek() == "(":
            return self.call(text)
        return Node("context", text)

    def call(self, name: str) -> Node:
        if name not in STATUS_FUNCTIONS:
            raise self.fail(f"function {name}() is not supported by the rehearsal")
        self.take("(")
        self.take(")")
        return Node("call", name)

    def postfix(self, node: Node) -> Node:
        while (token := self.peek()) in (".", "["):
            self.take()
            if token == ".":
                kind, name = self.take()
                if kind != "name":
                    raise self.fail(f"unsupported property {name!r}")
                node = Node("prop", name, (node,))
            else:
                node = Node("index", None, (node, self.binary(0)))
                self.take("]")
        return node


def parse(text: str) -> Node:
    return _Parser(text).parse()


def uses_status_function(node: Node) -> bool:
    if node.kind == "call":
        return True
    return any(uses_status_function(arg) for arg in node.args)


# --- evaluation ---------------------------------------------------------------------


@dataclass
class Context:
    """What an expression can see. `strict` contexts raise on an unknown first property
    (a step id or job id that does not exist); `status` answers the status functions."""

    values: Mapping[str, Any]
    strict: frozenset[str] = frozenset({"github", "steps", "needs", "matrix"})
    status: Callable[[str], bool] | None = None


def _prop(ctx: Context, node: Node, base: Any, name: Any) -> Any:
    inner = node.args[0]
    if (
        inner.kind == "context"
        and inner.value in ctx.strict
        and (not isinstance(base, Mapping) or name not in base)
    ):
        raise ExpressionError(f"{inner.value}.{name} does not exist")
    if isinstance(base, Mapping):
        return base.get(name)
    if isinstance(base, list) and isinstance(name, int | float) and 0 <= name < len(base):
        return base[int(name)]
    return None


def _eval(ctx: Context, node: Node) -> Any:
    kind = node.kind
    if kind == "literal":
        return node.value
    if kind == "context":
        if node.value not in ctx.values:
            raise ExpressionError(f"context {node.value!r} is not available here")
        return ctx.values[node.value]
    if kind == "prop":
        return _prop(ctx, node, _eval(ctx, node.args[0]), node.value)
    if kind == "index":
        return _prop(ctx, node, _eval(ctx, node.args[0]), _eval(ctx, node.args[1]))
    if kind == "not":
        return not truthy(_eval(ctx, node.args[0]))
    if kind in ("eq", "ne"):
        same = equal(_eval(ctx, node.args[0]), _eval(ctx, node.args[1]))
        return same if kind == "eq" else not same
    if kind in ("and", "or"):
        left = _eval(ctx, node.args[0])
        if truthy(left) == (kind == "or"):
            return left
        return _eval(ctx, node.args[1])
    if ctx.status is None:
        raise ExpressionError(f"{node.value}() is only allowed in `if:`")
    return ctx.status(node.value)


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "")


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip() or "0")
        except ValueError:
            return math.nan
    return math.nan


def equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if isinstance(left, Mapping | list) or isinstance(right, Mapping | list):
        return left is right
    if type(left) is type(right) and not isinstance(left, int | float):
        return bool(left == right)
    return _number(left) == _number(right)


def evaluate(text: str, ctx: Context) -> Any:
    return _eval(ctx, parse(text))


def to_text(value: Any) -> str:
    """How a value is written into a string (`env:`, `with:`, `run:`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value)
    raise ExpressionError(f"an object or array cannot be written as text: {value!r}")


def interpolate(value: Any, ctx: Context) -> str:
    """Replace each `${{ ... }}` of a string; other YAML scalars pass through as text."""
    if isinstance(value, bool | int | float) or value is None:
        return to_text(value)
    if not isinstance(value, str):
        raise ExpressionError(f"expected a scalar, found {value!r}")
    return _TEMPLATE.sub(lambda m: to_text(evaluate(m.group(1), ctx)), value)


def evaluate_condition(condition: Any, ctx: Context) -> bool:
    """An `if:`: optional `${{ }}`, and an implicit `success() &&` without a status call."""
    if isinstance(condition, bool):
        return condition
    text = str(condition).strip()
    whole = _TEMPLATE.fullmatch(text)
    if whole:
        text = whole.group(1)
    elif "${{" in text:
        raise ExpressionError(f"an `if:` mixing text and ${{{{ }}}}: {text!r}")
    node = parse(text)
    if not uses_status_function(node):
        node = Node("and", args=(Node("call", "success"), node))
    return truthy(_eval(ctx, node))
