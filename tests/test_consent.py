"""Standards 1–5 for one message against the Consent to Email records (triage.consent). Pure, synthetic data."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from triage.config import Clinician, DepartmentConfig, Program
from triage.consent import ConsentCheck, check, record_failures, without_registry
from triage.registry import ConsentRecord
from triage.values import Address, Message

TODAY = date(2026, 7, 1)
ALEX = Clinician("alex.morgan@dmh.example.org", "Alex Morgan", "p1", ("amorgan@dmh.example.org",), "UTC")
SAM = "sam.lee@dmh.example.org"
APPROVED = Program("p1", "Outpatient", True, "Pat Manager", date(2026, 1, 1), "UTC", (), ())
NOT_APPROVED = dataclasses.replace(APPROVED, email_approved=False, approved_by="", approved_on=None)
DEPT = DepartmentConfig("DMH", ("dmh.example.org",), ("partner.example.net",), "UTC", "(800) 555-0100")


def rec(client_id: str = "c1", **kw: Any) -> ConsentRecord:
    values: dict[str, Any] = dict(
        client_id=client_id, client_name="Test Client", clinician_email=ALEX.email,
        consented_email=f"{client_id}@example.com", client_email="", date_of_birth=date(1990, 1, 1),
        consent_basis="self", responsible_adult_name="", clinician_determined=True, client_prefers_email=True,
        form_signed_on=date(2026, 1, 1), revoked_on=None, phone="555-0100", mailing_address="1 Main St",
        preferred_language="en")
    values.update(kw)
    return ConsentRecord(**values)


def minor_via_adult(client_id: str = "m1", **kw: Any) -> ConsentRecord:
    values: dict[str, Any] = dict(consented_email="parent@example.net", client_email=f"{client_id}.kid@example.net",
                                  date_of_birth=date(2012, 3, 4), consent_basis="responsible_adult",
                                  responsible_adult_name="Pat Parent")
    values.update(kw)
    return rec(client_id, **values)


def msg(sender: str | None, to: tuple[str, ...] = (ALEX.email,), cc: tuple[str, ...] = (),
        headers: dict[str, str] | None = None, reply_to: tuple[str, ...] = (), subject: str = "Appointment") -> Message:
    return Message(
        message_id="<m1@example.com>", sender=Address("Someone", sender) if sender is not None else None,
        reply_to=tuple(Address("", a) for a in reply_to), to=tuple(Address("", a) for a in to),
        cc=tuple(Address("", a) for a in cc), date=None, subject=subject, new_text="", quoted_text="",
        signature="", attachments=(), headers=headers or {})


def run(records: list[ConsentRecord] | None, sender: str | None, *, program: Program | None = APPROVED,
        assume: bool = False, today: date = TODAY, **message: Any) -> ConsentCheck:
    return check(msg(sender, **message), ALEX, program, DEPT, records, today, assume_program_approved=assume)


def assert_check(result: ConsentCheck, expected: dict[str, Any]) -> None:
    for name, value in expected.items():
        if name == "codes":
            assert result.codes == value, (result.failures, value)
        elif name == "evidence":  # each expected string appears in some failure's evidence
            for want in value:
                assert any(want in f.evidence for f in result.failures), (want, result.failures)
        elif name == "texts":
            for want in value:
                assert any(want in f.text for f in result.failures), (want, result.failures)
        elif name == "record":
            assert (result.record.client_id if result.record else None) == value
        else:
            assert getattr(result, name) == value, (name, getattr(result, name), value)
    for f in result.failures:  # texts are fixed sentences: no address, date or client id
        assert "@" not in f.text and "20" not in f.text and "c1" not in f.text
        assert f.standard == {"3": "3", "4": "4"}.get(f.code, "1")


# --------------------------------------------------------------------------- standard 1

OK = {"status": "ok", "codes": (), "reply_to": "c1@example.com", "record": "c1", "client_ids": ("c1",),
      "basis": "self", "minor": False, "standard": "", "multiple_clients": False}

STANDARD_1 = [
    ("all conditions met", [rec()], {}, OK),
    ("1a program not approved", [rec()], {"program": NOT_APPROVED},
     {"status": "failing", "codes": ("1a",), "reply_to": None, "record": "c1",
      "evidence": ["program=p1 email_approved=false"], "texts": ["program manager has not approved"]}),
    ("1a assumed when the organisation config is absent", [rec()], {"program": None, "assume": True}, OK),
    ("1a assumed overrides an unapproved program", [rec()], {"program": NOT_APPROVED, "assume": True}, OK),
    ("1a no program and no assumption", [rec()], {"program": None},
     {"status": "failing", "codes": ("1a",), "evidence": ["program unknown"]}),
    ("1b clinician has not determined", [rec(clinician_determined=False)], {},
     {"status": "failing", "codes": ("1b",), "reply_to": None, "evidence": ["clinician_determined=false"],
      "texts": ["(standard 1b)"]}),
    ("1c client does not prefer email", [rec(client_prefers_email=False)], {},
     {"status": "failing", "codes": ("1c",), "reply_to": None, "evidence": ["client_prefers_email=false"],
      "texts": ["The client has not identified email as their preferred method (standard 1c)"]}),
    ("1e form not signed", [rec(form_signed_on=None)], {},
     {"status": "failing", "codes": ("1e",), "reply_to": None, "evidence": ["form_signed_on is empty"],
      "texts": ["has not been signed (standard 1e)"]}),
    ("1e form signed in the future", [rec(form_signed_on=date(2026, 7, 2))], {},
     {"status": "failing", "codes": ("1e",), "evidence": ["form_signed_on=2026-07-02 is after today 2026-07-01"]}),
    ("1e form signed today", [rec(form_signed_on=TODAY)], {}, OK),
    ("1e signed with another clinician only", [rec(clinician_email=SAM)], {},
     {"status": "failing", "codes": ("1e",), "record": None, "client_ids": ("c1",), "reply_to": None,
      "evidence": [f"sender=c1@example.com is on the form of client c1 signed with {SAM}"],
      "texts": ["signed with a different workforce member"]}),
    ("1e another clinician's client writing from their own address", [rec(clinician_email=SAM,
                                                                          client_email="own@example.org")],
     {"sender": "own@example.org"}, {"status": "failing", "codes": ("1e",), "client_ids": ("c1",)}),
    ("1e a record with this clinician as well as another", [rec(clinician_email=SAM, client_prefers_email=False),
                                                            rec()], {}, OK),
    ("a record under the clinician's alias", [rec(clinician_email="AMorgan@dmh.example.org ")], {}, OK),
    ("revoked today", [rec(revoked_on=TODAY)], {},
     {"status": "failing", "codes": ("revoked",), "reply_to": None, "evidence": ["revoked_on=2026-07-01"],
      "texts": ["revoked their consent"]}),
    ("revoked before today", [rec(revoked_on=date(2026, 6, 1))], {},
     {"status": "failing", "codes": ("revoked",), "evidence": ["revoked_on=2026-06-01"]}),
    ("a revocation dated tomorrow is not yet in force", [rec(revoked_on=date(2026, 7, 2))], {}, OK),
    ("every failure at once, in order", [rec(clinician_determined=False, client_prefers_email=False,
                                             form_signed_on=None, revoked_on=date(2026, 6, 1))],
     {"program": NOT_APPROVED}, {"status": "failing", "codes": ("1a", "1b", "1c", "1e", "revoked")}),
]


@pytest.mark.parametrize(("case", "records", "kw", "expected"), STANDARD_1, ids=[c[0] for c in STANDARD_1])
def test_standard_1(case: str, records: list[ConsentRecord], kw: dict[str, Any], expected: dict[str, Any]) -> None:
    sender = kw.pop("sender", "c1@example.com")
    assert_check(run(records, sender, **kw), expected)


# --------------------------------------------------------------------------- standards 2 and 3

MINOR_SELF = rec(date_of_birth=date(2010, 4, 9))
STANDARDS_2_3 = [
    ("2 minor under own consent, conditions met", [MINOR_SELF], "c1@example.com",
     {**OK, "minor": True, "standard": "2"}),
    ("2 minor under own consent, 1c not met", [dataclasses.replace(MINOR_SELF, client_prefers_email=False)],
     "c1@example.com", {"status": "failing", "codes": ("1c",), "minor": True, "standard": "2", "reply_to": None}),
    ("2 minor under own consent, not signed", [dataclasses.replace(MINOR_SELF, form_signed_on=None)],
     "c1@example.com", {"status": "failing", "codes": ("1e",), "standard": "2"}),
    ("3 mail from the responsible adult", [minor_via_adult()], "parent@example.net",
     {"status": "ok", "codes": (), "reply_to": "parent@example.net", "record": "m1", "client_ids": ("m1",),
      "basis": "responsible_adult", "minor": True, "standard": "3", "multiple_clients": False}),
    ("3 mail from the adult, 1b not met", [minor_via_adult(clinician_determined=False)], "parent@example.net",
     {"status": "failing", "codes": ("1b",), "reply_to": None, "standard": "3"}),
    ("3 mail from the minor's own address", [minor_via_adult()], "m1.kid@example.net",
     {"status": "failing", "codes": ("4", "3"), "reply_to": "parent@example.net", "record": "m1",
      "basis": "responsible_adult", "minor": True, "standard": "3",
      "evidence": ["sender=m1.kid@example.net but form address=parent@example.net", "responsible_adult"],
      "texts": ["email may go only to the responsible adult (standard 3)", "(standard 4)"]}),
    ("3 mail from the minor's own address, consent revoked", [minor_via_adult(revoked_on=date(2026, 6, 1))],
     "m1.kid@example.net", {"status": "failing", "codes": ("revoked", "4", "3"), "reply_to": None}),
    ("3 client now an adult, mail from the adult", [minor_via_adult(date_of_birth=date(2008, 1, 1))],
     "parent@example.net",
     {"status": "failing", "codes": ("3",), "reply_to": None, "minor": False, "standard": "",
      "basis": "responsible_adult", "evidence": ["date_of_birth=2008-01-01: 18 or older on 2026-07-01"],
      "texts": ["The client is now an adult", "must sign their own Consent to Email form"]}),
    ("3 client now an adult, mail from the client", [minor_via_adult(date_of_birth=date(2008, 1, 1))],
     "m1.kid@example.net", {"status": "failing", "codes": ("3", "4"), "reply_to": None, "minor": False,
                            "texts": ["now an adult"]}),
    ("3 responsible adult without a birth date", [minor_via_adult(date_of_birth=None)], "parent@example.net",
     {"status": "failing", "codes": ("3",), "reply_to": None, "evidence": ["date_of_birth is empty"],
      "texts": ["cannot be confirmed that the client is a minor"]}),
]


@pytest.mark.parametrize(("case", "records", "sender", "expected"), STANDARDS_2_3, ids=[c[0] for c in STANDARDS_2_3])
def test_standards_2_and_3(case: str, records: list[ConsentRecord], sender: str, expected: dict[str, Any]) -> None:
    assert_check(run(records, sender), expected)


BIRTHDAY = date(2008, 7, 1)  # 18 on TODAY
MINORITY = [
    ("self, the day before the 18th birthday", "self", date(2026, 6, 30),
     {"status": "ok", "minor": True, "standard": "2"}),
    ("self, on the 18th birthday", "self", TODAY, {"status": "ok", "minor": False, "standard": ""}),
    ("adult's consent, the day before the 18th birthday", "responsible_adult", date(2026, 6, 30),
     {"status": "ok", "minor": True, "standard": "3", "reply_to": "parent@example.net"}),
    ("adult's consent, on the 18th birthday", "responsible_adult", TODAY,
     {"status": "failing", "codes": ("3",), "minor": False, "standard": "", "reply_to": None}),
]


@pytest.mark.parametrize(("case", "basis", "today", "expected"), MINORITY, ids=[c[0] for c in MINORITY])
def test_minority_ends_at_18_by_date(case: str, basis: str, today: date, expected: dict[str, Any]) -> None:
    record = minor_via_adult(date_of_birth=BIRTHDAY, consent_basis=basis)
    assert_check(run([record], "parent@example.net", today=today), expected)


def test_a_29_february_birthday() -> None:
    record = minor_via_adult(date_of_birth=date(2008, 2, 29))
    assert run([record], "parent@example.net", today=date(2026, 2, 28)).status == "ok"
    assert run([record], "parent@example.net", today=date(2026, 3, 1)).codes == ("3",)


# --------------------------------------------------------------------------- standard 4

MOVED = rec(client_email="new.address@example.org")
STANDARD_4 = [
    ("mail from the client's other address", [MOVED], "new.address@example.org",
     {"status": "failing", "codes": ("4",), "reply_to": "c1@example.com", "record": "c1", "basis": "self",
      "evidence": ["sender=new.address@example.org but form address=c1@example.com"],
      "texts": ["reply only to the form's address (standard 4)"]}),
    ("the other address, consent not preferred", [dataclasses.replace(MOVED, client_prefers_email=False)],
     "new.address@example.org", {"status": "failing", "codes": ("1c", "4"), "reply_to": None}),
    ("case and spaces in the sender are ignored", [rec()], "  C1@Example.COM ", {**OK}),
    ("case and spaces in the record are ignored", [rec(consented_email=" C1@EXAMPLE.com")], "c1@example.com",
     {"status": "ok", "reply_to": "c1@example.com"}),
    ("case in client_email is ignored", [MOVED], "New.Address@EXAMPLE.org", {"status": "failing", "codes": ("4",)}),
    ("plus-address is not folded", [rec()], "c1+mh@example.com",
     {"status": "unverified", "codes": (), "record": None, "reply_to": None}),
    ("dots are not folded", [rec(consented_email="c.one@example.com")], "cone@example.com", {"status": "unverified"}),
    ("a Reply-To header does not change where a reply may go", [rec()], "c1@example.com",
     {**OK, "reply_to": "c1@example.com"}),
    ("client_email equal to the consented address is mail from the form's address",
     [rec(client_email="c1@example.com")], "c1@example.com", OK),
]


@pytest.mark.parametrize(("case", "records", "sender", "expected"), STANDARD_4, ids=[c[0] for c in STANDARD_4])
def test_standard_4(case: str, records: list[ConsentRecord], sender: str, expected: dict[str, Any]) -> None:
    reply_to = ("someone.else@example.net",) if "Reply-To" in case else ()
    assert_check(run(records, sender, reply_to=reply_to), expected)


# --------------------------------------------------------------------------- standard 5

SIBLINGS = [minor_via_adult("s1", consented_email="shared@example.net", client_email=""),
            minor_via_adult("s2", consented_email="shared@example.net", client_email="",
                            date_of_birth=date(2014, 1, 1))]
STANDARD_5 = [
    ("two clients on To and Cc", [rec(), rec("c2")], "c1@example.com", (ALEX.email,), ("c2@example.com",),
     {"status": "ok", "multiple_clients": True, "client_ids": ("c1",), "record": "c1"},
     ["c1 (from=c1@example.com)", "c2 (cc=c2@example.com)"]),
    ("a client of another clinician on Cc counts", [rec(), rec("c2", clinician_email=SAM)], "c1@example.com",
     (ALEX.email,), ("c2@example.com",), {"status": "ok", "multiple_clients": True}, ["c2 (cc=c2@example.com)"]),
    ("two clients on To, from a colleague", [rec(), rec("c2")], "colleague@dmh.example.org",
     ("c1@example.com", "c2@example.com"), (ALEX.email,), {"status": "not_applicable", "multiple_clients": True},
     ["c1 (to=c1@example.com)"]),
    ("one client's two addresses are one client", [MOVED], "c1@example.com", (ALEX.email,),
     ("new.address@example.org",), {"status": "ok", "multiple_clients": False}, []),
    ("a minor and their responsible adult are one client", [minor_via_adult()], "parent@example.net",
     (ALEX.email, "m1.kid@example.net"), (), {"status": "ok", "multiple_clients": False}, []),
    ("addresses outside the registry do not count", [rec()], "c1@example.com", (ALEX.email, "friend@example.net"),
     ("other@example.org",), {"status": "ok", "multiple_clients": False}, []),
    ("the clinician's own addresses do not count", [rec(), rec("own", consented_email=ALEX.aliases[0])],
     "c1@example.com", (ALEX.email,), (ALEX.aliases[0],), {"status": "ok", "multiple_clients": False}, []),
    ("siblings share the parent's consented address", SIBLINGS, "shared@example.net", (ALEX.email,), (),
     {"status": "ok", "multiple_clients": True, "client_ids": ("s1", "s2"), "record": "s1",
      "reply_to": "shared@example.net", "standard": "3", "basis": "responsible_adult", "minor": True},
     ["address shared@example.net is on the forms of clients s1, s2", "ambiguous"]),
    ("siblings, one of whom fails 1c", [SIBLINGS[0], dataclasses.replace(SIBLINGS[1], client_prefers_email=False)],
     "shared@example.net", (ALEX.email,), (),
     {"status": "failing", "codes": ("1c",), "multiple_clients": True, "reply_to": None,
      "evidence": ["client s2: client_prefers_email=false"]}, ["ambiguous"]),
]


@pytest.mark.parametrize(("case", "records", "sender", "to", "cc", "expected", "evidence"), STANDARD_5,
                         ids=[c[0] for c in STANDARD_5])
def test_standard_5(case: str, records: list[ConsentRecord], sender: str, to: tuple[str, ...], cc: tuple[str, ...],
                    expected: dict[str, Any], evidence: list[str]) -> None:
    result = run(records, sender, to=to, cc=cc)
    assert_check(result, expected)
    for want in evidence:
        assert want in result.multiple_clients_evidence, (want, result.multiple_clients_evidence)
    assert bool(result.multiple_clients_evidence) == result.multiple_clients


WITHOUT_REGISTRY = [
    ("the clinician alone", (ALEX.email,), (), False),
    ("one other person", (ALEX.email,), ("spouse@example.net",), False),
    ("two other people", (ALEX.email, "a@example.net"), ("b@example.com",), True),
    ("the same person twice, case aside", (ALEX.email, "a@example.net"), ("A@Example.NET",), False),
    ("colleagues do not count", (ALEX.email, "a@example.net"), ("boss@dmh.example.org", "x@team.dmh.example.org"),
     False),
    ("the clinician's alias does not count", (ALEX.email, "a@example.net"), (ALEX.aliases[0],), False),
    ("partners count (only the department's own domains are left out)", ("a@example.net",), ("cm@partner.example.net",),
     True),
]


@pytest.mark.parametrize(("case", "to", "cc", "expected"), WITHOUT_REGISTRY, ids=[c[0] for c in WITHOUT_REGISTRY])
def test_without_registry(case: str, to: tuple[str, ...], cc: tuple[str, ...], expected: bool) -> None:
    message = msg("someone@example.com", to=to, cc=cc)
    assert without_registry(message, ALEX.addresses, DEPT) is expected
    result = run(None, "someone@example.com", to=to, cc=cc)
    assert result.status == "unknown" and result.multiple_clients is expected


def test_without_registry_without_a_department() -> None:
    message = msg("someone@example.com", to=(ALEX.email, "a@example.net"), cc=("boss@dmh.example.org",))
    assert without_registry(message, ALEX.addresses, None) is True
    assert without_registry(message, ALEX.addresses, DEPT) is False


# --------------------------------------------------------------------------- who the sender is

WHO = [
    ("department domain", [rec(consented_email="colleague@dmh.example.org")], "colleague@dmh.example.org", {},
     "not_applicable", "department"),
    ("department subdomain", [rec()], "it@mail.dmh.example.org", {}, "not_applicable", "department"),
    ("partner domain", [rec(consented_email="cm@partner.example.net")], "cm@partner.example.net", {},
     "not_applicable", "partner"),
    ("the clinician's own address", [rec()], "Alex.Morgan@dmh.example.org", {}, "not_applicable", "own address"),
    ("the clinician's alias", [rec()], "amorgan@dmh.example.org", {}, "not_applicable", "own address"),
    ("an auto-reply from a client", [rec()], "c1@example.com", {"headers": {"auto-submitted": "auto-replied"}},
     "not_applicable", "automated"),
    ("a bounce", [rec()], "mailer-daemon@example.net", {"subject": "Undeliverable: Appointment"}, "not_applicable",
     "automated"),
    ("a mailing list", [rec()], "news@example.org", {"headers": {"list-id": "<news.example.org>"}},
     "not_applicable", "automated"),
    ("department mail without a registry", None, "colleague@dmh.example.org", {}, "not_applicable", "department"),
    ("a look-alike of the department's domain", [rec()], "x@evil-dmh.example.org", {}, "unverified", "verify"),
    ("the department's domain inside another", [rec()], "x@dmh.example.org.example.net", {}, "unverified", "verify"),
    ("unknown sender", [rec()], "stranger@example.net", {}, "unverified", "verify who it is before any reply"),
    ("an empty registry", [], "c1@example.com", {}, "unverified", "verify"),
    ("no From address", [rec()], "", {}, "unverified", "no usable From"),
    ("no sender at all", [rec()], None, {}, "unverified", "no usable From"),
    ("no registry", None, "c1@example.com", {}, "unknown", "no consent registry"),
]


@pytest.mark.parametrize(("case", "records", "sender", "kw", "status", "note"), WHO, ids=[c[0] for c in WHO])
def test_who_the_sender_is(case: str, records: list[ConsentRecord] | None, sender: str | None, kw: dict[str, Any],
                           status: str, note: str) -> None:
    result = run(records, sender, **kw)
    assert result.status == status and note in result.note
    assert result.record is None and result.failures == () and result.reply_to is None and result.client_ids == ()
    assert result.basis == "" and result.standard == "" and not result.minor


def test_automated_mail_is_never_flagged_for_standard_5() -> None:
    result = run([rec(), rec("c2")], "c1@example.com", to=(ALEX.email,), cc=("c2@example.com",),
                 headers={"auto-submitted": "auto-replied"})
    assert result.status == "not_applicable" and not result.multiple_clients


def test_the_result_is_frozen_and_the_records_untouched() -> None:
    records = [rec(), rec("c2")]
    before = list(records)
    result = run(records, "c1@example.com")
    assert records == before
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.status = "failing"  # type: ignore[misc]


@pytest.mark.parametrize(("record", "program", "assume", "codes"), [
    (rec(), APPROVED, False, ()),
    (rec(), None, False, ("1a",)),
    (rec(), None, True, ()),
    (rec(client_prefers_email=False, revoked_on=TODAY), APPROVED, False, ("1c", "revoked")),
    (minor_via_adult(date_of_birth=date(2000, 1, 1)), APPROVED, False, ("3",)),
    (minor_via_adult(), APPROVED, False, ()),
])
def test_record_failures(record: ConsentRecord, program: Program | None, assume: bool, codes: tuple[str, ...]) -> None:
    assert tuple(f.code for f in record_failures(record, program, TODAY, assume_program_approved=assume)) == codes
