"""The consent registry CSV: all or nothing, with the line number and the reason."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date

import pytest

from triage.errors import TriageError
from triage.registry import COLUMNS, ConsentRecord, RegistryError, merge, parse_csv, to_csv

HEADER = ",".join(COLUMNS)
GOOD = [
    # line 2-3: the quoted mailing address spans two physical lines
    "c1,Kevin Tran,Alex.Morgan@dmh.example.org, kevin.tran@example.com ,,1990-04-02,self,,true,yes,2026-01-10,,"
    "555-0101,\"12 Elm St\nApt 4\",en",
    "c2,Ethan Wilson,alex.morgan@dmh.example.org,grace.wilson@example.com,ethan.w2010@example.net,2010-06-01,"
    "responsible_adult,Grace Wilson,1,1,2026-02-01,,555-0102,9 Oak Ave,",
    "c3,Paul Becker,alex.morgan@dmh.example.org,paul.becker@example.com,,1980-01-01,self,,NO,0,2025-05-05,"
    "2026-06-01,555-0103,1 Pine Rd,es",
]


def _reversed_columns(rows: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for cells in csv.reader(io.StringIO(csv_of(*rows), newline="")):
        writer.writerow(list(reversed(cells)))
    return out.getvalue()


def csv_of(*rows: str, header: str = HEADER, newline: str = "\n") -> str:
    return newline.join([header, *rows]) + newline


# --------------------------------------------------------------------------- good files


def test_a_good_file_parses_and_normalises() -> None:
    recs = parse_csv("\ufeff" + csv_of(*GOOD), source="reg.csv")
    assert [r.client_id for r in recs] == ["c1", "c2", "c3"]
    kevin, ethan, paul = recs
    assert kevin.clinician_email == "alex.morgan@dmh.example.org" and kevin.consented_email == "kevin.tran@example.com"
    assert kevin.key == ("c1", "alex.morgan@dmh.example.org")
    assert kevin.mailing_address == "12 Elm St\nApt 4" and kevin.clinician_determined and kevin.client_prefers_email
    assert kevin.date_of_birth == date(1990, 4, 2) and kevin.form_signed_on == date(2026, 1, 10)
    assert kevin.revoked_on is None and kevin.client_email == "" and kevin.extra == {}
    assert ethan.consent_basis == "responsible_adult" and ethan.responsible_adult_name == "Grace Wilson"
    assert ethan.client_email == "ethan.w2010@example.net" and ethan.preferred_language == ""
    assert paul.revoked_on == date(2026, 6, 1) and not paul.clinician_determined and not paul.client_prefers_email
    assert paul.preferred_language == "es"


@pytest.mark.parametrize(("word", "value"), [
    ("true", True), ("TRUE", True), ("Yes", True), ("1", True), (" yes ", True),
    ("false", False), ("False", False), ("no", False), ("0", False),
])
def test_booleans(word: str, value: bool) -> None:
    [rec] = parse_csv(csv_of(GOOD[2].replace(",NO,0,", f",{word},{word},")), source="reg.csv")
    assert rec.clinician_determined is value and rec.client_prefers_email is value


@pytest.mark.parametrize(("name", "text"), [
    ("CRLF line ends", csv_of(*GOOD, newline="\r\n")),
    ("columns in another order", _reversed_columns(GOOD[1:])),
    ("header in capitals with spaces", csv_of(*GOOD[1:], header=", ".join(c.upper() for c in COLUMNS))),
    ("blank lines and empty rows", csv_of("", GOOD[1], "", "," * (len(COLUMNS) - 1), GOOD[2], "")),
])
def test_tolerated_layouts(name: str, text: str) -> None:
    recs = parse_csv(text, source="reg.csv")
    assert [r.client_id for r in recs][-2:] == ["c2", "c3"], name
    assert recs[-1].revoked_on == date(2026, 6, 1) and recs[-2].consented_email == "grace.wilson@example.com"


def test_an_empty_registry_is_a_header_alone() -> None:
    assert parse_csv(HEADER + "\n", source="reg.csv") == []
    assert parse_csv(to_csv([]), source="reg.csv") == []


def test_minority_ends_at_18_by_itself() -> None:
    _, ethan, paul = parse_csv(csv_of(*GOOD), source="reg.csv")
    assert ethan.is_minor(date(2028, 5, 31)) and not ethan.is_minor(date(2028, 6, 1))
    assert ethan.age_on(date(2028, 6, 1)) == 18
    assert paul.is_revoked(date(2026, 6, 1)) and not paul.is_revoked(date(2026, 5, 31))
    assert paul.is_signed(date(2025, 5, 5)) and not paul.is_signed(date(2025, 5, 4))
    no_birth_date = dataclasses.replace(paul, date_of_birth=None)
    assert not no_birth_date.is_minor(date(2026, 1, 1)) and no_birth_date.age_on(date(2026, 1, 1)) is None


# --------------------------------------------------------------------------- bad rows


def _bad(row: str, old: str, new: str) -> str:
    assert old in row, (old, row)
    return row.replace(old, new, 1)


# (case, the bad row, the reason expected in the message)
BAD_ROWS = [
    ("bad boolean", _bad(GOOD[1], ",1,1,", ",1,maybe,"), "client_prefers_email 'maybe' must be true/false"),
    ("empty boolean", _bad(GOOD[1], ",1,1,", ",,1,"), "clinician_determined '' must be true/false"),
    ("bad date", _bad(GOOD[1], "2026-02-01", "02/01/2026"), "form_signed_on '02/01/2026' is not a date"),
    ("impossible date", _bad(GOOD[1], "2010-06-01", "2010-02-30"), "date_of_birth '2010-02-30' is not a date"),
    ("compact ISO date", _bad(GOOD[1], "2026-02-01", "20260201"), "form_signed_on '20260201' is not a date"),
    ("bad basis", _bad(GOOD[1], "responsible_adult,", "parent,"), "consent_basis 'parent' must be one of"),
    ("empty basis", _bad(GOOD[1], "responsible_adult,Grace Wilson", ",Grace Wilson"), "consent_basis is empty"),
    ("responsible adult without a name", _bad(GOOD[1], "Grace Wilson,1", ",1"),
     "consent_basis is responsible_adult but responsible_adult_name is empty"),
    ("responsible adult without a birth date", _bad(GOOD[1], "2010-06-01", ""),
     "consent_basis is responsible_adult but date_of_birth is empty"),
    ("bad consented email", _bad(GOOD[1], "grace.wilson@example.com", "grace.wilson"),
     "consented_email 'grace.wilson' is not an email address"),
    ("two addresses in one cell", _bad(GOOD[1], "grace.wilson@example.com", "\"a@example.com, b@example.com\""),
     "consented_email 'a@example.com, b@example.com' is not an email address"),
    ("empty consented email", _bad(GOOD[1], "grace.wilson@example.com", ""), "consented_email is empty"),
    ("bad client email", _bad(GOOD[1], "ethan.w2010@example.net", "ethan at example.net"),
     "client_email 'ethan at example.net' is not an email address"),
    ("bad clinician email", _bad(GOOD[1], "alex.morgan@dmh.example.org", "alex.morgan"),
     "clinician_email 'alex.morgan' is not an email address"),
    ("empty client id", _bad(GOOD[1], "c2,", ","), "client_id is empty"),
    ("bad language", _bad(GOOD[1], "9 Oak Ave,", "9 Oak Ave,fr"), "preferred_language 'fr' must be en, es or empty"),
    ("revoked before signed", _bad(GOOD[1], "2026-02-01,,", "2026-02-01,2026-01-31,"),
     "revoked_on 2026-01-31 is before form_signed_on 2026-02-01"),
    ("born after signing", _bad(GOOD[1], "2010-06-01", "2027-01-01"),
     "date_of_birth 2027-01-01 is after form_signed_on 2026-02-01"),
    ("too many fields", GOOD[1] + ",surplus", "16 fields but the header has 15 columns"),
    ("too few fields", GOOD[1].rsplit(",", 1)[0], "14 fields but the header has 15 columns"),
    ("stray quote", _bad(GOOD[1], "9 Oak Ave", "\"9 Oak\" Ave"), "not valid CSV"),
]


@pytest.mark.parametrize(("case", "bad", "reason"), BAD_ROWS, ids=[c for c, _, _ in BAD_ROWS])
def test_a_bad_row_names_its_line_and_nothing_is_imported(case: str, bad: str, reason: str) -> None:
    # GOOD[0] spans two physical lines (a quoted address), so the bad row is on line 4.
    with pytest.raises(RegistryError) as err:
        parse_csv(csv_of(GOOD[0], bad, GOOD[2]), source="reg.csv")
    assert str(err.value).startswith("reg.csv, line 4: "), str(err.value)
    assert reason in str(err.value)
    assert isinstance(err.value, TriageError)


@pytest.mark.parametrize(("case", "rows", "line"), [
    ("first data row", [_bad(GOOD[2], ",NO,", ",nope,")], 2),
    ("after a blank line", ["", _bad(GOOD[2], ",NO,", ",nope,")], 3),
    ("after two multi-line rows", [GOOD[0], _bad(GOOD[0], "c1,", "c5,"), _bad(GOOD[2], ",NO,", ",nope,")], 6),
    ("a bad multi-line row is reported where it starts",
     [GOOD[2], _bad(_bad(GOOD[0], ",yes,", ",nope,"), "Apt 4", "Apt 4\nBack door")], 3),
    ("a bad row after a three-line row", [_bad(GOOD[0], "Apt 4", "Apt 4\nBack door"), _bad(GOOD[2], ",NO,", ",x,")],
     5),
])
def test_line_numbers_are_physical_lines(case: str, rows: list[str], line: int) -> None:
    with pytest.raises(RegistryError, match=rf"^reg\.csv, line {line}: "):
        parse_csv(csv_of(*rows), source="reg.csv")


def test_a_duplicate_pair_names_both_lines() -> None:
    dup = _bad(GOOD[0], "Kevin", "K.").replace("Alex.Morgan", "ALEX.MORGAN")  # the same pair, case aside
    with pytest.raises(RegistryError, match=r"^reg\.csv, line 6: client c1 with alex\.morgan@dmh\.example\.org "
                                            r"is already on line 2"):
        parse_csv(csv_of(*GOOD, dup), source="reg.csv")
    # the same client with another clinician is another record
    other = _bad(GOOD[0], "Alex.Morgan", "sam.lee")
    assert len(parse_csv(csv_of(*GOOD, other), source="reg.csv")) == 4


@pytest.mark.parametrize(("case", "header", "reason"), [
    ("missing column", HEADER.replace(",revoked_on", ""), "the header lacks the column(s) revoked_on"),
    ("two missing", HEADER.replace("client_id,", "").replace(",phone", ""), "lacks the column(s) client_id, phone"),
    ("column twice", HEADER + ",phone", "names the column phone twice"),
    ("unnamed column", HEADER + ",", "column 16 of the header has no name"),
    ("no header at all", "", "lacks the column(s) client_id"),
])
def test_a_bad_header_is_line_1(case: str, header: str, reason: str) -> None:
    with pytest.raises(RegistryError) as err:
        parse_csv(csv_of(header=header), source="reg.csv")
    assert str(err.value).startswith("reg.csv, line 1: ") and reason in str(err.value)


@pytest.mark.parametrize(("case", "rows", "reason"), [
    ("at the end of the file", [GOOD[2], _bad(GOOD[1], "9 Oak Ave", "\"9 Oak Ave")],
     "line 3: a quoted field is never closed"),
    ("before more rows", [GOOD[2], _bad(GOOD[1], "9 Oak Ave", "\"9 Oak Ave"), GOOD[0]],
     "line 3: a quoted field opened on this line runs to line 4, where the CSV is not valid"),
])
def test_an_unclosed_quote_names_the_line_it_opens_on(case: str, rows: list[str], reason: str) -> None:
    with pytest.raises(RegistryError) as err:
        parse_csv(csv_of(*rows), source="reg.csv")
    assert str(err.value).startswith("reg.csv, " + reason), str(err.value)


# --------------------------------------------------------------------------- writing and merging


def test_extra_columns_are_kept_and_round_trip() -> None:
    text = csv_of(*[r + ",x" + str(i) for i, r in enumerate(GOOD)], header=HEADER + ",Case Number")
    recs = parse_csv(text, source="reg.csv")
    assert recs[0].extra == {"Case Number": "x0"} and recs[2].extra == {"Case Number": "x2"}
    out = to_csv(recs)
    assert out.splitlines()[0] == HEADER + ",Case Number"
    again = parse_csv(out, source="again.csv")
    assert again == recs and [r.extra for r in again] == [r.extra for r in recs]
    assert again[0].mailing_address == "12 Elm St\nApt 4"


def test_round_trip_of_records_with_different_extras() -> None:
    a, b, c = parse_csv(csv_of(*GOOD), source="reg.csv")
    recs = [dataclasses.replace(a, extra={"zeta": "1"}), dataclasses.replace(b, extra={"alpha": "=2,\"x\""}), c]
    again = parse_csv(to_csv(recs), source="again.csv")
    assert again == recs
    assert [r.extra for r in again] == [{"alpha": "", "zeta": "1"}, {"alpha": "=2,\"x\"", "zeta": ""},
                                        {"alpha": "", "zeta": ""}]
    assert to_csv(again).splitlines()[0] == HEADER + ",alpha,zeta"


def _rec(client_id: str, clinician: str = "alex.morgan@dmh.example.org", phone: str = "") -> ConsentRecord:
    return ConsentRecord(client_id, "Name", clinician, f"{client_id}@example.com", "", None, "self", "", True, True,
                         date(2026, 1, 1), None, phone, "", "")


@pytest.mark.parametrize(("case", "existing", "incoming", "expected"), [
    ("empty registry", [], [_rec("a")], [("a", "alex.morgan@dmh.example.org", "")]),
    ("incoming wins on the same pair", [_rec("a", phone="old")], [_rec("a", phone="new")],
     [("a", "alex.morgan@dmh.example.org", "new")]),
    ("others stay, new ones are added at the end", [_rec("a"), _rec("b")], [_rec("c"), _rec("a", phone="new")],
     [("a", "alex.morgan@dmh.example.org", "new"), ("b", "alex.morgan@dmh.example.org", ""),
      ("c", "alex.morgan@dmh.example.org", "")]),
    ("the same client with another clinician is another record", [_rec("a")], [_rec("a", "sam.lee@dmh.example.org")],
     [("a", "alex.morgan@dmh.example.org", ""), ("a", "sam.lee@dmh.example.org", "")]),
    ("nothing incoming", [_rec("a")], [], [("a", "alex.morgan@dmh.example.org", "")]),
])
def test_merge(case: str, existing: list[ConsentRecord], incoming: list[ConsentRecord],
               expected: list[tuple[str, str, str]]) -> None:
    before = list(existing)
    merged = merge(existing, incoming)
    assert [(r.client_id, r.clinician_email, r.phone) for r in merged] == expected
    assert existing == before and merged is not existing  # nothing changed in place


def test_merge_with_real_files() -> None:
    recs = parse_csv(csv_of(*GOOD), source="reg.csv")
    changed = parse_csv(csv_of(GOOD[0].replace("555-0101", "555-0199"),
                               GOOD[0].replace("c1,", "c4,").replace("Alex.Morgan", "sam.lee")), source="new.csv")
    merged = merge(recs, changed)
    assert len(merged) == 4 and next(r for r in merged if r.client_id == "c1").phone == "555-0199"
    assert next(r for r in recs if r.client_id == "c1").phone == "555-0101"
