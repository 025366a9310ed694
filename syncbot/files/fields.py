"""What every file format shares: the strict base model, rule-named errors, text fields.

Strict everywhere: `"5"` is not a number, `yes` is not a boolean, unknown keys are
errors. A validator that enforces a named lint rule raises a PydanticCustomError whose
type is that rule id (for example `skill-name-format`), so translation keeps the rule.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

from syncbot.textsafe import BIDI, INVISIBLE

STRICT = ConfigDict(strict=True, frozen=True, allow_inf_nan=False)


class FormatModel(BaseModel):
    model_config = ConfigDict(extra="forbid", **STRICT)


def rule_error(rule: str, message: str) -> PydanticCustomError:
    # The message goes in as context, never as the template: user text may hold braces.
    return PydanticCustomError(rule, "{detail}", {"detail": message})


# --- text that reaches a terminal, a database or Markdown -----------------------------------

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_HIDDEN = {
    "unicode-bidi": re.compile(f"[{BIDI}]"),
    "unicode-invisible": re.compile(f"[{INVISIBLE}]"),
}


def check_text(text: str, control: re.Pattern[str] = _CONTROL) -> str:
    """No control character (a YAML escape such as "\\e" or "\\r" makes one) and no
    hidden character: they would rewrite a terminal or hide text from reviewers."""
    found = control.search(text)
    if found:
        char = found.group()
        what = "a line break" if char in "\r\n" else "a control character"
        why = (
            "this field is a single line"
            if char in "\r\n"
            else "it would be sent raw to terminals and PR comments"
        )
        where = f"at character {found.start() + 1} of {text[:40]!r}"
        message = f"{what} U+{ord(char):04X} {where}: {why}; remove it"
        raise rule_error("text-control-character", message)
    for rule, pattern in _HIDDEN.items():
        if hidden := pattern.search(text):
            message = f"hidden character U+{ord(hidden.group()):04X} in {text[:40]!r}: remove it"
            raise rule_error(rule, message)
    return text


def check_line(text: str) -> str:
    return check_text(text, _LINE_CONTROL)


# One line of text (names, categories, salts, versions, owners, queries), and free text
# that may span lines (descriptions, reasons): both without control or hidden characters.
Line = Annotated[str, AfterValidator(check_line)]
Text = Annotated[str, AfterValidator(check_text)]
