"""The legal clocks of HIPAA privacy-rights requests. Pure: dates in, dates out.

| right | rule | period (config `[clocks]`) | extension |
|---|---|---|---|
| access | 45 CFR 164.524 | 30 days | one, 30 days |
| access (California) | H&S Code 123110 | inspection 5 working days, copies 15 days | none |
| amendment | 164.526 | 60 days | one, 30 days |
| accounting | 164.528 | 60 days | one, 30 days |
| confidential communication | LACDMH 501.04 | denial letter within 10 business days | none |
| restriction | 164.522(a) | no deadline (the workflow is still kept) | none |

How days are counted: the day the clock starts is day 0 and the period runs from the next day
(the usual legal count). A period in days ends N calendar days later, even on a weekend or a
holiday: neither HIPAA nor 123110 moves it, and the earlier date is the safe reading. Business
(working) days skip Saturdays, Sundays and the configured holidays. The start is the local date,
in the program's time zone, of the message's receipt, or of the signed form's receipt when the
privacy officer chose `start = "signed_form"` (until the form is in, such a clock has not started).
A deadline is met through the whole of its last day: it is overdue from the next local day.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from triage.config import ClocksConfig

RIGHTS = ("access", "amendment", "accounting", "restriction", "confidential_communication")
EXTENDABLE = ("access", "amendment", "accounting")  # the rights whose rule allows one extension
CITATIONS = {"access": "45 CFR 164.524", "amendment": "45 CFR 164.526", "accounting": "45 CFR 164.528",
             "restriction": "45 CFR 164.522(a)", "confidential_communication": "LACDMH 501.04"}


@dataclass(frozen=True)
class Deadline:
    """One date by which something must be done for a right."""

    right: str
    what: str  # "act" (grant or deny), "inspect", "copies", "accept or deny"
    citation: str  # "45 CFR 164.524", "Cal. H&S 123110", "LACDMH 501.04"
    period: str  # "30 days", "10 business days", ...: how the date was reached
    due: date
    extended: bool = False  # the date includes the one extension
    original: date | None = None  # the date before the extension

    def overdue(self, today: date) -> bool:
        return overdue(self.due, today)


def local_date(when: datetime, zone: str) -> date:
    """The calendar day of an instant in a time zone."""
    return when.astimezone(ZoneInfo(zone)).date()


def start_day(received_at: datetime, zone: str, rules: ClocksConfig,
              signed_form_at: datetime | None = None) -> date | None:
    """The day a request's clock starts, or None while it waits for the signed form."""
    if rules.start == "signed_form":
        return local_date(signed_form_at, zone) if signed_form_at is not None else None
    return local_date(received_at, zone)


def is_business_day(day: date, holidays: Collection[date] = ()) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_business_days(start: date, n: int, holidays: Collection[date] = ()) -> date:
    """The day that is the n-th business day after `start` (start itself never counts)."""
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        if is_business_day(day, holidays):
            counted += 1
    return day


def deadlines(right: str, start: date | None, rules: ClocksConfig, *, extended: bool = False) -> tuple[Deadline, ...]:
    """Every deadline of one right from its start day; none for a restriction or a clock not started."""
    if right not in RIGHTS:
        raise ValueError(f"unknown right {right!r}; expected one of {', '.join(RIGHTS)}")
    if start is None or right == "restriction":
        return ()
    holidays = frozenset(rules.holidays)
    if right == "confidential_communication":
        n = rules.confidential_communication_business_days
        return (Deadline(right, "accept or deny", CITATIONS[right], f"{n} business days",
                         add_business_days(start, n, holidays)),)
    days = {"access": rules.access_days, "amendment": rules.amendment_days,
            "accounting": rules.accounting_days}[right]
    first = start + timedelta(days=days)
    if extended:
        federal = Deadline(right, "act", CITATIONS[right], f"{days} days + {rules.extension_days}-day extension",
                           first + timedelta(days=rules.extension_days), True, first)
    else:
        federal = Deadline(right, "act", CITATIONS[right], f"{days} days", first)
    out = [federal]
    if right == "access" and rules.california:
        n = rules.inspect_working_days
        out.append(Deadline(right, "inspect", "Cal. H&S 123110", f"{n} working days",
                            add_business_days(start, n, holidays)))
        out.append(Deadline(right, "copies", "Cal. H&S 123110", f"{rules.copies_days} days",
                            start + timedelta(days=rules.copies_days)))
    return tuple(sorted(out, key=lambda d: d.due))


def extension_allowed(right: str) -> bool:
    """Whether the rule for this right allows its one extension (access, amendment, accounting)."""
    return right in EXTENDABLE


def first_deadline(right: str, start: date | None, rules: ClocksConfig) -> date | None:
    """The federal deadline before any extension: an extension must be taken by this day."""
    federal = [d for d in deadlines(right, start, rules) if d.what == "act"]
    return federal[0].due if federal else None


def overdue(due: date, today: date) -> bool:
    """Past the whole of its last day."""
    return today > due


def due_within(due: date, today: date, days: int = 3) -> bool:
    """Not yet overdue, and due today or within the next `days` days (the digests' "due soon")."""
    return today <= due <= today + timedelta(days=days)

