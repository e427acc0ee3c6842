"""Standards 1–10 → Assessment (triage.policy): a table per standard, each with a message that passes and
one that fails. Pure: consent checks from triage.consent, detections written by hand."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from test_consent import ALEX, APPROVED, DEPT, NOT_APPROVED, TODAY, minor_via_adult, msg, rec

from triage.consent import check
from triage.detect import Detection, Evidence, Text
from triage.policy import ACTION_KINDS, FLAGS, Assessment, assess
from triage.registry import ConsentRecord

QUIET = Detection(False, 0.01, purpose="scheduling", detector="test",
                  evidence=(Evidence("scheduling", "can we move thursday", "rule:test"),))


def judged(records: list[ConsentRecord] | None, sender: str | None, detection: Detection = QUIET, *,
           program: Any = APPROVED, text: Text | None = None, automated: tuple[str, ...] = (),
           today: date = TODAY, **message: Any) -> Assessment:
    m = msg(sender, **message)
    c = check(m, ALEX, program, DEPT, records, today)
    return assess(c, detection, automated=automated, text=text, records=records or (), today=today,
                  crisis_line="(800) 555-0100")


def assert_assessment(a: Assessment, expected: dict[str, Any]) -> None:
    for name, value in expected.items():
        if name == "actions":
            assert tuple(x.kind for x in a.actions) == value, a.actions
        elif name == "cites":  # every listed standard has a reason
            for standard in value:
                assert any(r.standard == standard for r in a.reasons), (standard, a.reasons)
        elif name == "not_cites":
            for standard in value:
                assert not any(r.standard == standard for r in a.reasons), (standard, a.reasons)
        else:
            assert getattr(a, name) == value, (name, getattr(a, name), value)
    # Invariants of every assessment.
    assert set(a.flags) <= set(FLAGS) and list(a.flags) == [f for f in FLAGS if f in a.flags]
    assert all(x.kind in ACTION_KINDS for x in a.actions)
    for r in a.reasons:  # reason texts are fixed sentences: no address, name or client id
        assert "@" not in r.text and "c1" not in r.text and "Test Client" not in r.text
        if r.flag:
            assert r.flag in a.flags
    if not a.email_reply_allowed:
        assert not any(x.channel == "secure_email" for x in a.actions)


# --------------------------------------------------------------------------- standards 1 and 6

STANDARD_1_6 = [
    ("all conditions met", [rec()], "c1@example.com", {},
     {"consent": "ok", "flags": (), "priority": 6, "email_reply_allowed": True, "reply_to": "c1@example.com",
      "standards": ("7a",), "actions": ()}),
    ("1a program not approved", [rec()], "c1@example.com", {"program": NOT_APPROVED},
     {"consent": "failing", "flags": ("no_consent",), "priority": 3, "consent_failures": ("1a",),
      "cites": ("1a", "6"), "actions": ("respond_by_phone_or_mail",), "email_reply_allowed": False, "reply_to": ""}),
    ("1b clinician has not determined", [rec(clinician_determined=False)], "c1@example.com", {},
     {"consent": "failing", "consent_failures": ("1b",), "cites": ("1b", "6"), "standards": ("1b", "6", "7a")}),
    ("1c client does not prefer email", [rec(client_prefers_email=False)], "c1@example.com", {},
     {"consent": "failing", "consent_failures": ("1c",), "cites": ("1c", "6")}),
    ("1e form never signed", [rec(form_signed_on=None)], "c1@example.com", {},
     {"consent": "failing", "consent_failures": ("1e",), "cites": ("1e", "6")}),
    ("revoked consent", [rec(revoked_on=date(2026, 6, 1))], "c1@example.com", {},
     {"consent": "failing", "consent_failures": ("revoked",), "cites": ("1e", "6"), "priority": 3}),
    ("unknown sender", [rec()], "stranger@example.net", {},
     {"consent": "unverified", "flags": ("unverified_sender",), "priority": 5, "actions": ("verify_identity",),
      "standards": ("1e", "4", "6", "7a"), "email_reply_allowed": False}),
    ("department colleague", [rec()], "boss@dmh.example.org", {},
     {"consent": "not_applicable", "flags": (), "priority": 6, "email_reply_allowed": False}),
    ("partner organisation", [rec()], "dr@partner.example.net", {},
     {"consent": "not_applicable", "flags": ()}),
    ("no registry", None, "c1@example.com", {}, {"consent": "unknown", "flags": (), "email_reply_allowed": False}),
]


@pytest.mark.parametrize(("case", "records", "sender", "kw", "expected"), STANDARD_1_6,
                         ids=[c[0] for c in STANDARD_1_6])
def test_standards_1_and_6(case: str, records: list[ConsentRecord] | None, sender: str, kw: dict[str, Any],
                           expected: dict[str, Any]) -> None:
    assert_assessment(judged(records, sender, **kw), expected)


def test_failing_consent_carries_phone_and_mailing_address() -> None:
    a = judged([rec(client_prefers_email=False, phone="555-0142", mailing_address="9 Elm St")], "c1@example.com")
    [action] = a.actions
    assert (action.channel, action.phone, action.mailing_address) == ("phone_or_mail", "555-0142", "9 Elm St")
    assert any(r.evidence == "client_prefers_email=false" for r in a.reasons)


def test_automated_mail_is_never_flagged_for_consent() -> None:
    a = judged([rec()], "news@lists.example.org", automated=("Precedence: bulk",),
               headers={"precedence": "bulk"})
    assert a.flags == () and a.automated and not a.email_reply_allowed


# --------------------------------------------------------------------------- standards 2, 3 and 4

STANDARDS_2_4 = [
    ("2: minor under own consent writes from the form's address",
     [rec("k1", date_of_birth=date(2011, 5, 5), consented_email="kid@example.com")], "kid@example.com",
     {"consent": "ok", "minor_standard": "2", "cites": ("2",), "email_reply_allowed": True,
      "reply_to": "kid@example.com"}),
    ("3: responsible adult writes from the form's address", [minor_via_adult()], "parent@example.net",
     {"consent": "ok", "minor_standard": "3", "cites": ("3",), "reply_to": "parent@example.net",
      "email_reply_allowed": True, "flags": ()}),
    ("3+4: the minor writes from their own address", [minor_via_adult()], "m1.kid@example.net",
     {"consent": "failing", "consent_failures": ("4", "3"), "cites": ("3", "4", "6"), "flags": ("no_consent",),
      "email_reply_allowed": False}),
    ("3: the client has turned 18", [minor_via_adult(date_of_birth=date(2008, 1, 1))], "parent@example.net",
     {"consent": "failing", "consent_failures": ("3",), "flags": ("no_consent",)}),
    ("4: an adult client writes from another address on record",
     [rec(client_email="c1.work@example.net")], "c1.work@example.net",
     {"consent": "failing", "consent_failures": ("4",), "cites": ("4", "6"), "flags": ("no_consent",),
      "actions": ("respond_by_phone_or_mail",)}),
    ("4: the form's address, in another case and with spaces", [rec()], "  C1@Example.COM ",
     {"consent": "ok", "flags": (), "reply_to": "c1@example.com"}),
]


@pytest.mark.parametrize(("case", "records", "sender", "expected"), STANDARDS_2_4, ids=[c[0] for c in STANDARDS_2_4])
def test_standards_2_to_4(case: str, records: list[ConsentRecord], sender: str, expected: dict[str, Any]) -> None:
    assert_assessment(judged(records, sender), expected)


# --------------------------------------------------------------------------- standard 5

SIBLINGS = [minor_via_adult("s1", client_name="Mateo Navarro"), minor_via_adult("s2", client_name="Camila Navarro")]

STANDARD_5 = [
    ("one client", [rec()], "c1@example.com", {}, None, {"multiple_clients": False, "flags": ()}),
    ("another client in Cc", [rec(), rec("c2")], "c1@example.com", {"cc": ("c2@example.com",)}, None,
     {"multiple_clients": True, "flags": ("multiple_clients",), "priority": 4,
      "actions": ("reply_to_each_client_separately",), "email_reply_allowed": False, "cites": ("5",)}),
    ("a shared address, no child named", SIBLINGS, "parent@example.net", {}, Text("Re: visit", "see you then"),
     {"multiple_clients": True, "client_ids": ("s1", "s2")}),
    ("a shared address, both children named", SIBLINGS, "parent@example.net", {},
     Text("", "Mateo and Camila both need new times"), {"multiple_clients": True}),
    ("a shared address, one child named", SIBLINGS, "parent@example.net", {},
     Text("", "camila has a fever, can we move her visit"),
     {"multiple_clients": False, "client_ids": ("s2",), "flags": (), "email_reply_allowed": True}),
    ("no registry: two outside addresses in To", None, "c1@example.com",
     {"to": (ALEX.email, "x@example.com", "y@example.net")}, None, {"multiple_clients": True}),
]


@pytest.mark.parametrize(("case", "records", "sender", "kw", "text", "expected"), STANDARD_5,
                         ids=[c[0] for c in STANDARD_5])
def test_standard_5(case: str, records: list[ConsentRecord] | None, sender: str, kw: dict[str, Any],
                    text: Text | None, expected: dict[str, Any]) -> None:
    assert_assessment(judged(records, sender, text=text, **kw), expected)


# --------------------------------------------------------------------------- emergent (standard 6)


EMERGENT = Detection(True, 0.97, "intent_or_plan", purpose="other", detector="test",
                     evidence=(Evidence("emergent", "i have the pills saved for tonight", "rule:plan"),))


@pytest.mark.parametrize(("case", "records", "sender"), [
    ("consent ok", [rec()], "c1@example.com"),
    ("consent failing", [rec(client_prefers_email=False)], "c1@example.com"),
    ("unknown sender", [rec()], "stranger@example.net"),
    ("no registry", None, "c1@example.com"),
])
def test_emergent_comes_first_whatever_the_consent(case: str, records: list[ConsentRecord] | None,
                                                   sender: str) -> None:
    a = judged(records, sender, EMERGENT)
    assert a.flags[0] == "emergent" and a.priority == 1
    assert a.actions[0].kind == "respond_now" and a.actions[0].channel == "most_effective"
    assert "alert_on_call" in [x.kind for x in a.actions]
    reason = next(r for r in a.reasons if r.flag == "emergent")
    assert reason.standard == "6" and reason.evidence == "i have the pills saved for tonight"
    assert "6" in a.standards and a.emergent_kind == "intent_or_plan"


def test_not_emergent() -> None:
    a = judged([rec()], "c1@example.com")
    assert not a.emergent and "emergent" not in a.flags and not any(x.kind == "respond_now" for x in a.actions)


# --------------------------------------------------------------------------- standards 7 and 8

PURPOSES = [
    ("scheduling", False, "7a", ()),
    ("reminder", False, "7b", ()),
    ("treatment_instructions", False, "7c", ()),
    ("information", False, "7d", ()),
    ("clinical_question", True, "8", ("clinical_question",)),
    ("scheduling", True, "8", ("clinical_question",)),  # a medication question inside a scheduling message
    ("other", False, "", ()),
]


@pytest.mark.parametrize(("purpose", "clinical", "standard", "flags"), PURPOSES)
def test_standards_7_and_8(purpose: str, clinical: bool, standard: str, flags: tuple[str, ...]) -> None:
    evidence = (Evidence("clinical_question", "should i double my dose", "rule:dose"),) if clinical else ()
    a = judged([rec()], "c1@example.com", Detection(False, 0.0, purpose=purpose, clinical_question=clinical,
                                                    evidence=evidence))
    assert a.flags == flags and a.purpose == purpose
    if standard:
        assert standard in a.standards
    if clinical:
        assert a.priority == 4 and "answer_outside_email" in [x.kind for x in a.actions]
        assert next(r for r in a.reasons if r.standard == "8").evidence == "should i double my dose"
    else:
        assert "8" not in a.standards
    # A reply the standards allow by email is limited to 7a-d, and the item says so.
    assert any(r.standard == "7" and "7" in r.text for r in a.reasons)


# --------------------------------------------------------------------------- standards 9 and 10


def rights(*names: str) -> Detection:
    return Detection(False, 0.0, rights=names, purpose="other",
                     evidence=tuple(Evidence(n, f"phrase for {n}", "rule:x") for n in names))


@pytest.mark.parametrize("right,standard", [("access", "9a"), ("amendment", "9b"), ("accounting", "9c"),
                                            ("restriction", "9d"), ("confidential_communication", "9e")])
def test_each_right_is_cited_with_its_evidence(right: str, standard: str) -> None:
    a = judged([rec()], "c1@example.com", rights(right))
    assert a.flags == ("rights_request",) and a.priority == 2 and a.hipaa_rights == (right,)
    assert (standard, "10") == tuple(s for s in a.standards if s.startswith(("9", "10")))
    assert next(r for r in a.reasons if r.standard == standard).evidence == f"phrase for {right}"
    [action] = a.actions
    assert (action.kind, action.channel, action.to, action.rights) == (
        "send_rights_forms", "secure_email", "c1@example.com", (right,))
    assert "signed by the client or the client's personal representative" in action.text
    assert "in person or by mail" in action.text


def test_several_rights_in_one_message_go_in_one_reply() -> None:
    a = judged([rec()], "c1@example.com", rights("amendment", "access"))
    assert a.hipaa_rights == ("access", "amendment")
    assert [x.rights for x in a.actions] == [("access", "amendment")]


def test_rights_request_without_consent_goes_by_letter() -> None:
    a = judged([rec(client_prefers_email=False, mailing_address="9 Elm St")], "c1@example.com", rights("access"))
    assert a.flags == ("rights_request", "no_consent") and a.priority == 2
    forms = next(x for x in a.actions if x.kind == "mail_rights_forms")
    assert forms.channel == "mail" and forms.mailing_address == "9 Elm St" and forms.to == ""


def test_rights_request_of_a_minor_goes_to_the_responsible_adult() -> None:
    a = judged([minor_via_adult()], "parent@example.net", rights("access"))
    assert a.actions[0].to == "parent@example.net" and "3" in a.standards


def test_emergent_rights_request_keeps_both() -> None:
    both = dataclasses.replace(EMERGENT, rights=("access",),
                               evidence=(*EMERGENT.evidence, Evidence("access", "send my chart", "rule:x")))
    a = judged([rec()], "c1@example.com", both)
    assert a.flags == ("emergent", "rights_request") and a.priority == 1
    assert [x.kind for x in a.actions][:2] == ["respond_now", "alert_on_call"]
    assert "send_rights_forms" in [x.kind for x in a.actions]


def test_priority_order() -> None:
    order = [judged([rec()], "c1@example.com", EMERGENT).priority,
             judged([rec()], "c1@example.com", rights("access")).priority,
             judged([rec(client_prefers_email=False)], "c1@example.com").priority,
             judged([rec(), rec("c2")], "c1@example.com", cc=("c2@example.com",)).priority,
             judged([rec()], "stranger@example.net").priority,
             judged([rec()], "c1@example.com").priority]
    assert order == sorted(order) and len(set(order)) == len(order)
