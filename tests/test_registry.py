"""The consent registry CSV: all or nothing, with the line number and the reason."""

from __future__ import annotations

from datetime import date

import pytest

from triage.registry import COLUMNS, RegistryError, merge, parse_csv, to_csv

HEADER = ",".join(COLUMNS)
GOOD = [
    "c1,Kevin Tran,Alex.Morgan@dmh.example.org, kevin.tran@example.com ,,1990-04-02,self,,true,yes,2026-01-10,,"
    "555-0101,\"12 Elm St\nApt 4\",en",
    "c2,Ethan Wilson,alex.morgan@dmh.example.org,grace.wilson@example.com,ethan.w2010@example.net,2010-06-01,"
    "responsible_adult,Grace Wilson,1,1,2026-02-01,,555-0102,9 Oak Ave,",
    "c3,Paul Becker,alex.morgan@dmh.example.org,paul.becker@example.com,,1980-01-01,self,,no,0,2025-05-05,"
    "2026-06-01,555-0103,1 Pine Rd,es",
]


def csv_of(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def test_a_good_file_parses_and_normalises() -> None:
    recs = parse_csv("\ufeff" + csv_of(*GOOD))
    assert [r.client_id for r in recs] == ["c1", "c2", "c3"]
    kevin, ethan, paul = recs
    assert kevin.clinician_email == "alex.morgan@dmh.example.org" and kevin.consented_email == "kevin.tran@example.com"
    assert kevin.mailing_address == "12 Elm St\nApt 4" and kevin.clinician_determined and kevin.client_prefers_email
    assert ethan.consent_basis == "responsible_adult" and ethan.client_email == "ethan.w2010@example.net"
    assert paul.revoked_on == date(2026, 6, 1) and not paul.clinician_determined and paul.preferred_language == "es"


def test_minority_ends_at_18_by_itself() -> None:
    [_, ethan, _] = parse_csv(csv_of(*GOOD))
    assert ethan.is_minor(date(2028, 5, 31)) and not ethan.is_minor(date(2028, 6, 1))
    [_, _, paul] = parse_csv(csv_of(*GOOD))
    assert paul.is_revoked(date(2026, 6, 1)) and not paul.is_revoked(date(2026, 5, 31))


@pytest.mark.parametrize(("bad", "reason"), [
    (GOOD[1].replace(",1,1,", ",1,maybe,"), "client_prefers_email 'maybe' must be"),
    (GOOD[1].replace("2026-02-01", "02/01/2026"), "form_signed_on '02/01/2026' is not a date"),
    (GOOD[1].replace("responsible_adult,", "parent,"), "consent_basis 'parent' must be one of"),
    (GOOD[1].replace("Grace Wilson,1", ",1"), "responsible_adult_name is empty"),
    (GOOD[1].replace("grace.wilson@example.com", "grace.wilson"), "consented_email 'grace.wilson' is not"),
    (GOOD[0].replace("c1,", "c9,").replace("12 Elm", "13 Elm").replace(",en", ",fr"), "preferred_language 'fr'"),
])
def test_a_bad_row_names_its_line_and_nothing_is_imported(bad: str, reason: str) -> None:
    # GOOD[0] spans two physical lines (a quoted address), so the bad row is on line 4.
    with pytest.raises(RegistryError) as err:
        parse_csv(csv_of(GOOD[0], bad, GOOD[2]), source="reg.csv")
    assert str(err.value).startswith("reg.csv, line 4: ") and reason in str(err.value)


def test_duplicate_pair_and_missing_column() -> None:
    with pytest.raises(RegistryError, match=r"line 6: client c1 .* already on line 2"):
        parse_csv(csv_of(*GOOD, GOOD[0].replace("Kevin", "K.")))
    with pytest.raises(RegistryError, match=r"line 1: the header lacks the column.*revoked_on"):
        parse_csv(csv_of(header=HEADER.replace(",revoked_on", "")))


def test_extra_columns_round_trip_and_merge() -> None:
    text = csv_of(*[r + ",x" + str(i) for i, r in enumerate(GOOD)], header=HEADER + ",case_number")
    recs = parse_csv(text)
    assert recs[0].extra == {"case_number": "x0"}
    again = parse_csv(to_csv(recs))
    assert again == recs and [r.extra for r in again] == [r.extra for r in recs]
    changed = parse_csv(csv_of(GOOD[0].replace("555-0101", "555-0199"),
                               GOOD[0].replace("c1,", "c4,").replace("Alex.Morgan", "sam.lee")))
    merged = merge(recs, changed)
    assert len(merged) == 4 and next(r for r in merged if r.client_id == "c1").phone == "555-0199"
