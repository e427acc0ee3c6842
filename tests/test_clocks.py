"""The legal clocks of rights requests (triage.clocks): table-driven, with holidays, weekends,
extensions, both start rules, time zones, and the [clocks] settings that drive them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from triage import clocks
from triage.config import ClocksConfig, parse_config
from triage.errors import ConfigError

HOLIDAYS = (date(2026, 11, 26), date(2026, 11, 27), date(2026, 12, 25), date(2027, 1, 1))
RULES = ClocksConfig(holidays=HOLIDAYS)
D = date.fromisoformat


@pytest.mark.parametrize(("right", "start", "rules", "extended", "expected"), [
    # Friday before Thanksgiving week (26th and 27th are holidays).
    ("access", "2026-11-20", RULES, False,
     [("inspect", "2026-12-01"), ("copies", "2026-12-05"), ("act", "2026-12-20")]),  # a Sunday stays a Sunday
    ("access", "2026-11-20", RULES, True,
     [("inspect", "2026-12-01"), ("copies", "2026-12-05"), ("act", "2027-01-19")]),  # California's never extend
    ("access", "2026-11-20", replace(RULES, california=False), False, [("act", "2026-12-20")]),
    ("amendment", "2026-11-20", RULES, False, [("act", "2027-01-19")]),
    ("amendment", "2026-11-20", RULES, True, [("act", "2027-02-18")]),
    ("accounting", "2026-11-20", RULES, False, [("act", "2027-01-19")]),
    ("accounting", "2026-11-20", RULES, True, [("act", "2027-02-18")]),
    ("confidential_communication", "2026-11-20", RULES, False, [("accept or deny", "2026-12-08")]),
    ("confidential_communication", "2026-11-20", ClocksConfig(), False, [("accept or deny", "2026-12-04")]),
    # Received on a Saturday: the first business day after counts as day 1.
    ("confidential_communication", "2026-11-21", RULES, False, [("accept or deny", "2026-12-08")]),
    ("access", "2026-11-21", RULES, False,
     [("inspect", "2026-12-01"), ("copies", "2026-12-06"), ("act", "2026-12-21")]),
    # Christmas and New Year's Day inside ten business days.
    ("confidential_communication", "2026-12-23", RULES, False, [("accept or deny", "2027-01-08")]),
    ("restriction", "2026-11-20", RULES, False, []),  # no federal deadline
    ("access", None, RULES, False, []),  # waiting for the signed form
    # Every period is configurable.
    ("access", "2026-11-20", replace(RULES, access_days=20, inspect_working_days=3, copies_days=10), False,
     [("inspect", "2026-11-25"), ("copies", "2026-11-30"), ("act", "2026-12-10")]),
    ("amendment", "2026-11-20", replace(RULES, amendment_days=45, extension_days=15), True, [("act", "2027-01-19")]),
    ("confidential_communication", "2026-11-20", replace(RULES, confidential_communication_business_days=3), False,
     [("accept or deny", "2026-11-25")]),
])
def test_deadlines(right: str, start: str | None, rules: ClocksConfig, extended: bool,
                   expected: list[tuple[str, str]]) -> None:
    got = clocks.deadlines(right, D(start) if start else None, rules, extended=extended)
    assert [(d.what, d.due.isoformat()) for d in got] == expected
    for d in got:
        assert d.extended == (extended and d.what == "act")


def test_an_extended_deadline_remembers_the_first_one() -> None:
    [act] = clocks.deadlines("amendment", D("2026-11-20"), RULES, extended=True)
    assert (act.original, act.due, act.citation) == (D("2027-01-19"), D("2027-02-18"), "45 CFR 164.526")
    assert clocks.first_deadline("amendment", D("2026-11-20"), RULES) == D("2027-01-19")
    assert clocks.first_deadline("restriction", D("2026-11-20"), RULES) is None


@pytest.mark.parametrize(("received", "signed", "start", "zone", "expected"), [
    # 22:30 on Friday in Los Angeles is already Saturday in UTC: the program's day counts.
    ("2026-11-21T06:30:00+00:00", None, "receipt", "America/Los_Angeles", "2026-11-20"),
    ("2026-11-21T06:30:00+00:00", None, "receipt", "America/New_York", "2026-11-21"),
    ("2026-11-21T06:30:00+00:00", None, "signed_form", "America/Los_Angeles", None),
    ("2026-11-21T06:30:00+00:00", "2026-12-01T18:00:00+00:00", "signed_form", "America/Los_Angeles", "2026-12-01"),
    ("2026-11-21T06:30:00+00:00", "2026-12-01T18:00:00+00:00", "receipt", "America/Los_Angeles", "2026-11-20"),
])
def test_start_day(received: str, signed: str | None, start: str, zone: str, expected: str | None) -> None:
    got = clocks.start_day(datetime.fromisoformat(received), zone, replace(RULES, start=start),
                           datetime.fromisoformat(signed) if signed else None)
    assert got == (D(expected) if expected else None)


@pytest.mark.parametrize(("day", "business"), [
    ("2026-11-20", True), ("2026-11-21", False), ("2026-11-22", False), ("2026-11-26", False),
    ("2026-11-27", False), ("2026-11-30", True)])
def test_business_days(day: str, business: bool) -> None:
    assert clocks.is_business_day(D(day), HOLIDAYS) is business


@pytest.mark.parametrize(("due", "today", "overdue", "soon"), [
    ("2026-12-01", "2026-11-27", False, False),
    ("2026-12-01", "2026-11-28", False, True),  # within 3 days
    ("2026-12-01", "2026-12-01", False, True),  # the last day is still in time
    ("2026-12-01", "2026-12-02", True, False),
])
def test_overdue_and_due_soon(due: str, today: str, overdue: bool, soon: bool) -> None:
    assert clocks.overdue(D(due), D(today)) is overdue
    assert clocks.due_within(D(due), D(today), 3) is soon


def test_extensions_exist_only_where_the_rule_allows_one() -> None:
    assert [r for r in clocks.RIGHTS if clocks.extension_allowed(r)] == ["access", "amendment", "accounting"]
    with pytest.raises(ValueError):
        clocks.deadlines("copies", D("2026-11-20"), RULES)


def test_local_date_is_the_zones_day() -> None:
    assert clocks.local_date(datetime(2026, 11, 21, 6, 30, tzinfo=UTC), "America/Los_Angeles") == D("2026-11-20")


# --------------------------------------------------------------------------- the [clocks] settings


def test_clock_settings_default_to_the_law() -> None:
    assert parse_config("").clocks == ClocksConfig()
    assert ClocksConfig().access_days == 30 and ClocksConfig().confidential_communication_business_days == 10


def test_clock_settings_are_read_and_checked() -> None:
    c = parse_config('[clocks]\nstart = "signed_form"\naccess_days = 20\n'
                     'holidays = ["2026-12-25", 2026-11-26, "2026-12-25"]\ncalifornia = false\n').clocks
    assert (c.start, c.access_days, c.california) == ("signed_form", 20, False)
    assert c.holidays == (D("2026-11-26"), D("2026-12-25"))
    for bad, words in (('start = "email"', "receipt, signed_form"), ('holidays = ["26/11/2026"]', "YYYY-MM-DD"),
                       ("access_days = 0", "at least 1"), ("weekends = true", "not a known setting"),
                       ('holidays = "2026-11-26"', "list of dates")):
        with pytest.raises(ConfigError, match="clocks") as exc:
            parse_config(f"[clocks]\n{bad}\n")
        assert words in str(exc.value)
