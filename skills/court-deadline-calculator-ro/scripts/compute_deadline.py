#!/usr/bin/env python3
"""Compute procedural deadlines under the Romanian Code of Civil Procedure.

Rules implemented (Codul de procedură civilă, Legea nr. 134/2010, republicată):
  * art. 181 alin. (1) pct. 2 - terms in days are computed on "free days" (zile libere):
    neither the day the term starts nor the day it ends is counted, so the last day on
    which the act can be done is START + N + 1 days;
  * art. 181 alin. (1) pct. 3 - terms in weeks, months or years end on the corresponding
    day of the last week, month or year; if the last month has no such day, on the last
    day of that month;
  * art. 181 alin. (2) - a term that ends on a non-working day is extended to the end of
    the first working day that follows.
Non-working days: Saturdays, Sundays and the public holidays of art. 139 of the Labour
Code (Legea nr. 53/2003), including the Orthodox Easter and Pentecost days, which the
script computes. Add any other day with --extra-holiday.

Usage:
    python scripts/compute_deadline.py --from 2025-03-03 --days 30
    python scripts/compute_deadline.py --from 2025-01-31 --months 1
    python scripts/compute_deadline.py --from 2025-03-03 --act apel --format json
    python scripts/compute_deadline.py --before 2025-06-10 --days 5
    python scripts/compute_deadline.py --list-acts
    python scripts/compute_deadline.py --holidays 2025

Standard library only; no input other than the command line. The result is a
calculation aid: the lawyer must confirm the start event, any special law and the
filing hours of the court.
"""

from __future__ import annotations

import argparse
import calendar
import json
import sys
from dataclasses import dataclass
from datetime import date, timedelta

CPC = "C. proc. civ."

# Common terms of the Code of Civil Procedure, counted from the event named in "start".
# Special laws (labour disputes, insolvency, administrative litigation, enforcement of
# certain titles ...) often set different terms: always check the applicable law.
ACTS: dict[str, dict[str, object]] = {
    "apel": {
        "amount": 30,
        "unit": "days",
        "basis": f"art. 468 alin. (1) {CPC}",
        "start": "communication of the first-instance judgment",
        "label": "appeal (apel)",
    },
    "recurs": {
        "amount": 30,
        "unit": "days",
        "basis": f"art. 485 alin. (1) {CPC}",
        "start": "communication of the judgment",
        "label": "second appeal (recurs)",
    },
    "intampinare": {
        "amount": 25,
        "unit": "days",
        "basis": f"art. 201 alin. (1) {CPC}",
        "start": "communication of the statement of claim (first instance)",
        "label": "statement of defence (întâmpinare)",
    },
    "raspuns-la-intampinare": {
        "amount": 10,
        "unit": "days",
        "basis": f"art. 201 alin. (2) {CPC}",
        "start": "communication of the statement of defence",
        "label": "reply to the statement of defence (răspuns la întâmpinare)",
    },
    "regularizare": {
        "amount": 10,
        "unit": "days",
        "basis": f"art. 200 alin. (2) {CPC}",
        "start": "receipt of the court's notice of the deficiencies of the claim",
        "label": "remedying the statement of claim (regularizarea cererii)",
    },
    "repunere-in-termen": {
        "amount": 15,
        "unit": "days",
        "basis": f"art. 186 alin. (2) {CPC}",
        "start": "the end of the impediment",
        "label": "act done late with a request for reinstatement (repunere în termen)",
    },
    "contestatie-la-executare": {
        "amount": 15,
        "unit": "days",
        "basis": f"art. 715 alin. (1) {CPC}",
        "start": "the event named in art. 715 (e.g. receipt of the enforcement act); check it",
        "label": "objection to enforcement (contestație la executare)",
    },
    "contestatie-in-anulare": {
        "amount": 15,
        "unit": "days",
        "basis": f"art. 506 alin. (1) {CPC}",
        "start": "communication of the decision; and at most one year after it became final",
        "label": "annulment challenge (contestație în anulare)",
    },
    "revizuire": {
        "amount": 1,
        "unit": "months",
        "basis": f"art. 511 {CPC}",
        "start": "the event that art. 511 names for the ground relied on; check it",
        "label": "revision (revizuire)",
    },
}

FIXED_HOLIDAYS: list[tuple[int, int, str, int]] = [
    # (month, day, name, first year the script applies it)
    (1, 1, "Anul Nou", 1900),
    (1, 2, "Anul Nou (a doua zi)", 1900),
    (1, 6, "Boboteaza", 2024),
    (1, 7, "Sfântul Ioan Botezătorul", 2024),
    (1, 24, "Ziua Unirii Principatelor Române", 2017),
    (5, 1, "Ziua Muncii", 1900),
    (6, 1, "Ziua Copilului", 2017),
    (8, 15, "Adormirea Maicii Domnului", 2009),
    (11, 30, "Sfântul Andrei", 2012),
    (12, 1, "Ziua Națională a României", 1900),
    (12, 25, "Crăciunul", 1900),
    (12, 26, "Crăciunul (a doua zi)", 1900),
]
SUPPORTED_YEARS = range(2018, 2100)


def orthodox_easter(year: int) -> date:
    """Orthodox Easter Sunday (Meeus' Julian algorithm, converted to the Gregorian
    calendar by adding 13 days; valid for 1900-2099)."""
    a, b, c = year % 4, year % 7, year % 19
    d = (19 * c + 15) % 30
    e = (2 * a + 4 * b - d + 34) % 7
    month = (d + e + 114) // 31
    day = (d + e + 114) % 31 + 1
    return date(year, month, day) + timedelta(days=13)


def public_holidays(year: int) -> dict[date, str]:
    holidays = {
        date(year, month, day): name for month, day, name, since in FIXED_HOLIDAYS if year >= since
    }
    easter = orthodox_easter(year)
    if year >= 2018:
        holidays[easter - timedelta(days=2)] = "Vinerea Mare (Orthodox Good Friday)"
    holidays[easter] = "Paștele (Orthodox Easter Sunday)"
    holidays[easter + timedelta(days=1)] = "Paștele (a doua zi)"
    holidays[easter + timedelta(days=49)] = "Rusaliile (Orthodox Pentecost)"
    holidays[easter + timedelta(days=50)] = "Rusaliile (a doua zi)"
    return dict(sorted(holidays.items()))


@dataclass
class Calendar:
    extra: dict[date, str]

    def reason_closed(self, day: date) -> str | None:
        if day in self.extra:
            return self.extra[day]
        holiday = public_holidays(day.year).get(day)
        if holiday:
            return holiday
        if day.weekday() >= 5:
            return "Saturday" if day.weekday() == 5 else "Sunday"
        return None


def add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last_day))


def raw_end(start: date, amount: int, unit: str, backwards: bool) -> date:
    sign = -1 if backwards else 1
    if unit == "days":
        # Free days: the start day and the end day are both excluded.
        return start + timedelta(days=sign * (amount + 1))
    if unit == "weeks":
        return start + timedelta(weeks=sign * amount)
    if unit == "months":
        return add_months(start, sign * amount)
    return add_months(start, sign * 12 * amount)


def compute(
    start: date, amount: int, unit: str, cal: Calendar, backwards: bool = False
) -> dict[str, object]:
    end = raw_end(start, amount, unit, backwards)
    skipped: list[dict[str, str]] = []
    last = end
    step = timedelta(days=-1 if backwards else 1)
    while (reason := cal.reason_closed(last)) is not None:
        skipped.append({"date": last.isoformat(), "weekday": last.strftime("%A"), "reason": reason})
        last += step
    if unit == "days":
        rule = f"art. 181 alin. (1) pct. 2 {CPC} (zile libere)"
    else:
        rule = f"art. 181 alin. (1) pct. 3 {CPC} (corresponding day)"
    notes = []
    if skipped:
        if backwards:
            notes.append(
                "The computed day is a non-working day; this script moves a "
                "backward term to the previous working day, the cautious "
                "reading. Check the case law for the term in question."
            )
        else:
            notes.append(f"Extended to the first working day (art. 181 alin. (2) {CPC}).")
    if not backwards:
        notes.append(
            "The term ends at 24:00 on the last day, but an act filed in person "
            "at the court must be filed before the registry closes (art. 182 "
            f"{CPC}); acts sent by registered post, courier, fax or e-mail "
            f"within the term count as filed in time (art. 183 {CPC})."
        )
    if start.year not in SUPPORTED_YEARS or last.year not in SUPPORTED_YEARS:
        notes.append(
            "Outside 2018-2099 the public-holiday list is not reliable: "
            "check the holidays manually."
        )
    return {
        "start": start.isoformat(),
        "start_weekday": start.strftime("%A"),
        "term": f"{amount} {unit[:-1] if amount == 1 else unit}",
        "direction": "before" if backwards else "after",
        "computation_rule": rule,
        "calendar_end": end.isoformat(),
        "non_working_days_skipped": skipped,
        "last_day": last.isoformat(),
        "last_day_weekday": last.strftime("%A"),
        "notes": notes,
    }


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {value!r}") from None


def render_text(result: dict[str, object]) -> str:
    lines = []
    if "act" in result:
        lines.append(f"Act: {result['act']} - {result['basis']}")
        lines.append(f"Term runs from: {result['start_event']}")
    label = "Reference date (hearing)" if result["direction"] == "before" else "Start date"
    lines.append(f"{label}: {result['start']} ({result['start_weekday']})")
    lines.append(f"Term: {result['term']} {result['direction']}; {result['computation_rule']}")
    lines.append(f"Calendar end: {result['calendar_end']}")
    for item in result["non_working_days_skipped"]:  # type: ignore[union-attr]
        lines.append(f"  skipped {item['date']} ({item['weekday']}): {item['reason']}")
    word = "LATEST DAY TO ACT" if result["direction"] == "before" else "LAST DAY TO ACT"
    lines.append(f"{word}: {result['last_day']} ({result['last_day_weekday']})")
    for note in result["notes"]:  # type: ignore[union-attr]
        lines.append(f"Note: {note}")
    lines.append(
        "Calculation aid only: confirm the start event, special laws and court "
        "hours. Not legal advice."
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Romanian civil-procedure deadline calculator (art. 181 C. proc. civ.)."
    )
    anchor = parser.add_mutually_exclusive_group()
    anchor.add_argument(
        "--from",
        dest="start",
        type=parse_date,
        help="date of the event the term runs from (e.g. communication)",
    )
    anchor.add_argument(
        "--before",
        dest="before",
        type=parse_date,
        help="hearing date, for terms counted backwards ('at least N days before the hearing')",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--days", type=int)
    size.add_argument("--weeks", type=int)
    size.add_argument("--months", type=int)
    size.add_argument("--years", type=int)
    size.add_argument("--act", choices=sorted(ACTS), help="use the term of a common act")
    parser.add_argument(
        "--extra-holiday",
        action="append",
        default=[],
        type=parse_date,
        metavar="YYYY-MM-DD",
        help="another non-working day (repeatable)",
    )
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--list-acts", action="store_true", help="list the preset acts")
    parser.add_argument(
        "--holidays",
        type=int,
        metavar="YEAR",
        help="list the public holidays the script uses for YEAR",
    )
    args = parser.parse_args(argv)

    if args.list_acts:
        for key, act in sorted(ACTS.items()):
            print(
                f"{key:26} {act['amount']} {act['unit']:7} {act['basis']:28} from: {act['start']}"
            )
        return 0
    if args.holidays is not None:
        if not 1900 <= args.holidays <= 2099:
            print("error: YEAR must be between 1900 and 2099", file=sys.stderr)
            return 1
        holidays = public_holidays(args.holidays)
        if args.format == "json":
            print(
                json.dumps(
                    {d.isoformat(): n for d, n in holidays.items()}, ensure_ascii=False, indent=2
                )
            )
        else:
            for day, name in holidays.items():
                print(f"{day.isoformat()} {day.strftime('%a')}  {name}")
        return 0

    anchor_date = args.start or args.before
    if anchor_date is None:
        parser.error("give --from DATE (or --before DATE), or --list-acts / --holidays YEAR")
    result_extra: dict[str, object] = {}
    if args.act and args.before is not None:
        parser.error("--act terms run forward from an event: use --from with --act")
    if args.act:
        act = ACTS[args.act]
        amount, unit = int(act["amount"]), str(act["unit"])  # type: ignore[call-overload]
        result_extra = {"act": act["label"], "basis": act["basis"], "start_event": act["start"]}
    else:
        pairs = [
            (args.days, "days"),
            (args.weeks, "weeks"),
            (args.months, "months"),
            (args.years, "years"),
        ]
        chosen = [(n, u) for n, u in pairs if n is not None]
        if not chosen:
            parser.error("give the term: --days, --weeks, --months, --years or --act")
        amount, unit = chosen[0]
    if amount < 1 or amount > 3650:
        print("error: the term must be between 1 and 3650 units", file=sys.stderr)
        return 1
    cal = Calendar(extra={d: "extra non-working day (--extra-holiday)" for d in args.extra_holiday})
    try:
        result = compute(anchor_date, amount, unit, cal, backwards=args.before is not None)
    except (OverflowError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    result = {**result_extra, **result}
    if args.format == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(render_text(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
