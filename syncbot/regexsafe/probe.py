"""The dynamic probe: pumped inputs timed with the regex module and with Python's re.

Inputs are built from the tree: for each repeat that can run more than once, a witness
of the text before it, one iteration pumped to PROBE_LENGTH characters, and a character
that makes the search fail. The regex module runs them under `timeout=`, Python's own re
at half the length under a CPU-time signal (main thread only); a wall-clock timeout is
confirmed by this thread's CPU time, so a busy machine gives no verdict.
"""

from __future__ import annotations

import re
import signal
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import regex

from syncbot.regexsafe.charsets import ALL, CharSet, alphabet_of, charset_of, first_chars_of
from syncbot.regexsafe.lexer import TOKEN
from syncbot.regexsafe.tree import (
    Alt,
    Chars,
    Group,
    Node,
    Other,
    Repeat,
    Seq,
    flatten,
    is_variable,
    repeats_many,
)

PROBE_LENGTH = 2000
# Python re runs the same shapes at half the length: quadratic work (every `.*` pattern
# under search) stays far below the budget there, while cubic or exponential work does
# not, so the verdict does not hinge on the machine's speed.
RE_PROBE_LENGTH = 1000
PROBE_TIMEOUT = 0.05


@dataclass(frozen=True)
class _Context:
    """Where a repeat sits: a witness for the text before it, and the nodes after it."""

    prefix: str
    repeat: Repeat
    tail: tuple[Node, ...]


_SLOW = (
    "catastrophic backtracking: searching a {length}-character input built from {pump!r} took "
    "over {ms:.0f} ms with {engine}. Simplify the repeated part so each character can be "
    "matched only one way (e.g. a negated class such as [^,]*)"
)


def probe_pattern(pattern: str, tree: Seq, v8: tuple[str, Seq] | None = None) -> str | None:
    """Time pumped inputs with the regex module and Python re; None if all stay fast.

    `v8`: the text from `branches_kept_apart` and its tree, when V8 reads the pattern differently
    from re. Python re then also runs that text, on inputs pumped from each branch, so
    the alternatives are tried one by one as in JavaScript.
    """
    shape = _uncaptured(pattern)
    try:
        compiled = regex.compile(shape, regex.IGNORECASE | regex.V0)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        return f"the backtracking probe could not compile the pattern with the regex module ({exc})"
    slow = next(((t, p) for t, p in _probe_inputs(tree) if _too_slow(compiled, t)), None)
    engine = "the regex module"
    if slow is None:
        slow = _python_re_probe(shape, _probe_inputs(tree, RE_PROBE_LENGTH))
        engine = "Python re"
    if slow is None and v8 is not None:
        slow = _python_re_probe(_uncaptured(v8[0]), _probe_inputs(v8[1], RE_PROBE_LENGTH))
        engine = "Python re trying the alternatives one by one, as JavaScript does"
    if slow is None:
        return None
    text, pump = slow
    return _SLOW.format(length=len(text), pump=pump[:40], ms=PROBE_TIMEOUT * 1000, engine=engine)


def _uncaptured(pattern: str) -> str:
    """The pattern with capturing groups made non-capturing.

    Captures do not change how much an engine backtracks, but the regex module saves
    them on every iteration: (a|b)*c is ten times slower than (?:a|b)*c there, and the
    probe should judge the shape, not that constant. An "other" token "(" is exactly a
    capturing group's opening parenthesis.
    """
    parts = [m.group() for m in TOKEN.finditer(pattern)]
    kinds = [m.lastgroup for m in TOKEN.finditer(pattern)]
    return "".join(
        "(?:" if k == "other" and t == "(" else t for t, k in zip(parts, kinds, strict=True)
    )


def _too_slow(compiled: regex.Pattern[str], text: str) -> bool:
    try:
        compiled.search(text, timeout=PROBE_TIMEOUT)
    except TimeoutError:
        return _slow_on_cpu(compiled, text)
    return False


def _slow_on_cpu(compiled: regex.Pattern[str], text: str) -> bool:
    """Confirm a wall-clock timeout by this thread's CPU time, so a busy machine is no verdict."""
    start = time.thread_time()
    try:
        compiled.search(text, timeout=PROBE_TIMEOUT * 4)
    except TimeoutError:
        return True
    return time.thread_time() - start > PROBE_TIMEOUT


class _CpuAlarm(Exception):
    pass


_ALARM_ARMED = [False]


def _python_re_probe(pattern: str, inputs: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The same inputs through Python's own re, bounded by a CPU-time signal.

    The regex module is a different engine: its safeguards make some patterns fast that
    re, the engine the Python service runs, takes seconds on. re has no timeout, but it
    checks for signals while matching, so an ITIMER_VIRTUAL alarm interrupts it. Signals
    only reach the main thread: elsewhere, or when someone else owns that timer, this
    step is skipped and the regex probe stands alone.
    """
    if not _can_interrupt():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # reported as regex-portability already
            compiled = re.compile(pattern, re.IGNORECASE)
    except re.error:
        return None  # Python-only constructs; regex-syntax/portability report them
    previous = signal.signal(signal.SIGVTALRM, _on_cpu_alarm)
    try:
        return next(((t, p) for t, p in inputs if _re_too_slow(compiled, t)), None)
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, signal.SIG_DFL if previous is None else previous)


def _can_interrupt() -> bool:
    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_VIRTUAL) == (0.0, 0.0)
    )


def _on_cpu_alarm(_signum: int, _frame: object) -> None:
    if _ALARM_ARMED[0]:
        raise _CpuAlarm


def _re_too_slow(compiled: re.Pattern[str], text: str) -> bool:
    """The alarm counts the whole process's CPU, so a verdict uses this thread's own time."""
    for _ in range(3):
        interrupted, spent = _alarmed_search(compiled, text)
        if not interrupted:
            return False
        if spent >= PROBE_TIMEOUT * 0.8:
            return True
    return True  # never finished without other threads' help: fail closed


def _alarmed_search(compiled: re.Pattern[str], text: str) -> tuple[bool, float]:
    start = time.thread_time()
    interrupted = False
    try:
        _ALARM_ARMED[0] = True
        signal.setitimer(signal.ITIMER_VIRTUAL, PROBE_TIMEOUT)
        compiled.search(text)
    except _CpuAlarm:
        interrupted = True
    finally:
        _ALARM_ARMED[0] = False
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
    return interrupted, time.thread_time() - start


def _probe_inputs(tree: Seq, length: int = PROBE_LENGTH) -> list[tuple[str, str]]:
    fail = _fail_char(tree)
    inputs: list[tuple[str, str]] = []
    pumps: list[str] = []
    for context in _contexts(tree, "", ()):
        tail = _witness_all(context.tail)
        for pump in _pumps(context):
            core = context.prefix + _pumped(pump, length)
            inputs += [(core + fail, pump), (core + fail + tail, pump)]
            pumps.append(pump)
    whole = _witness(tree)
    for pump in ("".join(dict.fromkeys(pumps)), whole):
        if pump:
            inputs.append((_pumped(pump, length) + fail, pump))
    if whole:
        inputs.append((whole[:-1] + fail, whole))
    return list(dict.fromkeys(inputs))


def _pumped(pump: str, length: int) -> str:
    return pump * (length // len(pump) + 1)


def _contexts(node: Node, prefix: str, tail: tuple[Node, ...]) -> Iterator[_Context]:
    if isinstance(node, Seq):
        for i, item in enumerate(node.items):
            before = prefix + _witness_all(node.items[:i])
            yield from _contexts(item, before, node.items[i + 1 :] + tail)
    elif isinstance(node, Alt):
        for branch in node.branches:
            yield from _contexts(branch, prefix, tail)
    elif isinstance(node, Repeat):
        if is_variable(node) and repeats_many(node):
            yield _Context(prefix, node, tail)
        yield from _contexts(node.body, prefix, tail)
    elif isinstance(node, Group | Other) and node.body is not None:
        yield from _contexts(node.body, prefix, tail)


def _pumps(context: _Context) -> list[str]:
    """Strings one iteration of the repeat can match, biased towards what follows it."""
    body = context.repeat.body
    pumps = [_witness(body)]
    branches = (
        body.items[0].branches if len(body.items) == 1 and isinstance(body.items[0], Alt) else ()
    )
    pumps += [_witness(b) for b in branches]
    inner = flatten(body.items)
    if len(inner) == 1 and isinstance(inner[0], Chars):
        follow, _ = first_chars_of(context.tail)
        biased = _sample(charset_of(inner[0]), follow)
        if biased:
            pumps.append(biased)
    return [p for p in dict.fromkeys(pumps) if p]


def _witness(node: Node) -> str:
    """A short string that node matches (first branch, minimum repeat count)."""
    if isinstance(node, Chars):
        return _sample(charset_of(node), ALL) or ""
    if isinstance(node, Seq):
        return _witness_all(node.items)
    if isinstance(node, Alt):
        return _witness(node.branches[0])
    if isinstance(node, Group):
        return _witness(node.body)
    if isinstance(node, Repeat):
        return _witness(node.body) * node.lo
    return ""


def _witness_all(items: Iterable[Node]) -> str:
    return "".join(_witness(item) for item in items)


_SAMPLE_PREFERENCE = [ord(c) for c in "a0 x-,.e"]


def _sample(chars: CharSet, within: CharSet) -> str | None:
    for cp in _SAMPLE_PREFERENCE:
        if cp in chars and cp in within:
            return chr(cp)
    for lo, hi in chars.spans:
        for other_lo, other_hi in within.spans:
            start = max(lo, other_lo, 32)
            if start <= min(hi, other_hi) and not 0xD800 <= start <= 0xDFFF:
                return chr(start)
    return None


def _fail_char(tree: Seq) -> str:
    alphabet = alphabet_of(tree)
    for candidate in "!\x00~#\u2603":
        if ord(candidate) not in alphabet:
            return candidate
    return "!"
