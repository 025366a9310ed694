"""The progress reporter with a fake clock: a line every interval in logs, a live line on a
terminal, counts of done and failed, time left, and always a final line."""

from __future__ import annotations

import io

from syncbot.progress import ProgressReporter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_in_a_log_a_line_every_interval_and_at_the_end() -> None:
    clock, out = FakeClock(), io.StringIO()
    reporter = ProgressReporter("uploads", 10, out, live=False, clock=clock, interval=5.0)
    for i in range(10):
        clock.now += 1.0  # one upload a second
        reporter.step(ok=i != 3)
    reporter.close()
    assert out.getvalue().splitlines() == [
        "uploads 5/10, 1 failed, ~5 s left",
        "uploads 10/10, 1 failed, in 10 s",
    ]
    assert "\r" not in out.getvalue()


def test_a_batch_done_within_one_interval_prints_nothing_in_a_log() -> None:
    clock, out = FakeClock(), io.StringIO()
    reporter = ProgressReporter("downloads", 3, out, live=False, clock=clock, interval=5.0)
    for _ in range(3):
        reporter.step()
    reporter.close()
    reporter.close()
    assert out.getvalue() == ""


def test_the_final_line_is_printed_once() -> None:
    clock, out = FakeClock(), io.StringIO()
    reporter = ProgressReporter("uploads", 3, out, live=False, clock=clock, interval=5.0)
    clock.now += 6.0
    reporter.step()
    reporter.step()
    reporter.close()
    reporter.close()
    assert out.getvalue().splitlines() == [
        "uploads 1/3, 0 failed, ~12 s left",
        "uploads 2/3, 0 failed, ~3 s left",  # at close, once, though closed twice
    ]


def test_on_a_terminal_the_line_is_rewritten_in_place() -> None:
    clock, out = FakeClock(), io.StringIO()
    reporter = ProgressReporter("uploads", 4, out, live=True, clock=clock, interval=5.0)
    for _ in range(2):
        clock.now += 2.0
        reporter.step()
    reporter.close()
    assert out.getvalue() == (
        "\ruploads 1/4, 0 failed, ~6 s left"
        "\ruploads 2/4, 0 failed, ~4 s left"
        "\ruploads 2/4, 0 failed, ~4 s left\n"
    )
