"""Drafts, notes, letters and alerts (triage.drafts): what each holds, whom it goes to, and what it never shows.
Pure: assessments come from the real consent check and policy with hand-written detections; synthetic data."""

from __future__ import annotations

import email
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import jinja2
import pytest

from triage import drafts
from triage.config import Clinician, DepartmentConfig, Program
from triage.consent import check
from triage.detect import Detection, Evidence, Text
from triage.drafts import (
    FORM_TITLES,
    RIGHT_LABELS,
    STATEMENT,
    DraftError,
    ProgramContact,
    SecureMarker,
    alert_message,
    alert_text,
    check_draft,
    choose_language,
    clinician_note,
    letter_pdf,
    letter_text,
    note_kinds,
    pdf_text,
    rights_reply,
    to_bytes,
)
from triage.policy import STANDARD_10_STATEMENT, Assessment, assess
from triage.registry import ConsentRecord
from triage.values import Address, Message

ROOT = Path(__file__).resolve().parent.parent
FORMS_DIR = ROOT / "examples" / "forms"
FORMS = {r: FORMS_DIR / f"{r.replace('_', '-')}-request-SAMPLE.pdf"
         for r in ("access", "amendment", "accounting", "restriction", "confidential_communication")}
TODAY = date(2026, 11, 16)
NOW = datetime(2026, 11, 16, 17, 30, tzinfo=UTC)
RECEIVED = datetime(2026, 11, 16, 16, 5, tzinfo=UTC)
ALEX = Clinician("alex.morgan@dmh.example.org", "Alex Morgan", "p1", ("amorgan@dmh.example.org",), "UTC")
PROGRAM = Program("p1", "Adult Outpatient", True, "Pat Manager", date(2026, 1, 1), "UTC", (), ())
DEPT = DepartmentConfig("DMH", ("dmh.example.org",), (), "UTC", "(800) 555-0100")
CONTACT = ProgramContact("Adult Outpatient", "100 Clinic Way\nSuite 5\nSpringfield, CA 90001", "555-0199")
MARKER = SecureMarker(subject_tag="[secure]", header_name="X-Secure-Send", header_value="yes")
ITEM = 42

# Distinctive words that must never leak into a subject or an alert.
CLIENT_NAME = "Quinn Zephyrine"
ADULT_NAME = "Marisela Quillfeather"
MAILING = "77 Juniperberry Lane\nSpringfield, CA 90000"
PHONE = "555-0142"
SUBJECT = "Quokka marmalade paperwork"
NEW_TEXT = "Please send my zebrafish lanterns records and fix the periwinkle entry. I feel thunderclap awful."
SECRET_WORDS = ("Quinn", "Zephyrine", "Marisela", "Quillfeather", "Juniperberry", "Quokka", "marmalade",
                "zebrafish", "lanterns", "periwinkle", "thunderclap", "555-0142")


def record(client_id: str = "c1", **kw: Any) -> ConsentRecord:
    values: dict[str, Any] = dict(
        client_id=client_id, client_name=CLIENT_NAME, clinician_email=ALEX.email,
        consented_email=f"{client_id}@example.com", client_email="", date_of_birth=date(1990, 1, 1),
        consent_basis="self", responsible_adult_name="", clinician_determined=True, client_prefers_email=True,
        form_signed_on=date(2026, 1, 1), revoked_on=None, phone=PHONE, mailing_address=MAILING,
        preferred_language="en")
    values.update(kw)
    return ConsentRecord(**values)


def minor(client_id: str = "m1", **kw: Any) -> ConsentRecord:
    values: dict[str, Any] = dict(consented_email="parent@example.net", client_email=f"{client_id}.kid@example.net",
                                  date_of_birth=date(2012, 3, 4), consent_basis="responsible_adult",
                                  responsible_adult_name=ADULT_NAME)
    values.update(kw)
    return record(client_id, **values)


def message(sender: str = "c1@example.com", *, cc: tuple[str, ...] = (), language: str = "en",
            subject: str = SUBJECT, text: str = NEW_TEXT) -> Message:
    return Message(
        message_id="<orig-1@example.com>", sender=Address(CLIENT_NAME, sender), reply_to=(),
        to=(Address("", ALEX.email),), cc=tuple(Address("", a) for a in cc), date=RECEIVED, subject=subject,
        new_text=text, quoted_text="", signature="", attachments=(), references=("<earlier-1@example.com>",),
        in_reply_to="<earlier-1@example.com>", language=language)


def detection(rights: tuple[str, ...] = (), *, clinical: bool = False, emergent: bool = False) -> Detection:
    evidence = tuple(Evidence(r, "send my zebrafish lanterns records", "rule:test") for r in rights)
    if clinical:
        evidence += (Evidence("clinical_question", "should I double my periwinkle dose", "rule:test"),)
    return Detection(emergent, 0.95 if emergent else 0.01, "intent_or_plan" if emergent else "", rights,
                     "clinical_question" if clinical else "information", clinical, evidence, "test")


def judged(records: list[ConsentRecord], original: Message, found: Detection) -> Assessment:
    c = check(original, ALEX, PROGRAM, DEPT, records, TODAY)
    return assess(c, found, records=records, today=TODAY, crisis_line=DEPT.crisis_line)


def body(m: EmailMessage) -> str:
    part = m.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def attachments(m: EmailMessage) -> dict[str, bytes]:
    return {str(p.get_filename()): bytes(p.get_content()) for p in m.iter_attachments()}


def reply_for(records: list[ConsentRecord], original: Message, rights: tuple[str, ...] = ("access", "amendment"),
              ) -> tuple[EmailMessage, Assessment]:
    a = judged(records, original, detection(rights))
    r = record_of(records, a)
    return rights_reply(item_id=ITEM, assessment=a, original=original, clinician=ALEX, record=r, program=CONTACT,
                        forms=FORMS, marker=MARKER, now=NOW), a


def record_of(records: list[ConsentRecord], a: Assessment) -> ConsentRecord | None:
    return next((r for r in records if r.client_id in a.client_ids), None)


def note_for(records: list[ConsentRecord], original: Message, found: Detection) -> tuple[EmailMessage, Assessment]:
    a = judged(records, original, found)
    return clinician_note(item_id=ITEM, assessment=a, clinician=ALEX, record=record_of(records, a), program=CONTACT,
                          now=NOW, original=original, forms=FORMS, base_url="https://triage.dmh.example.org/",
                          crisis_line=DEPT.crisis_line), a


def assert_no_secret_words(text: str) -> None:
    lowered = text.lower()
    leaked = [w for w in SECRET_WORDS if w.lower() in lowered]
    assert not leaked, (leaked, text)


# --------------------------------------------------------------------------- the rights reply (standard 10)


def test_rights_reply_with_two_rights_is_one_draft_to_the_consented_address_with_both_forms() -> None:
    records = [record(), record("c2", client_name="Other Person")]
    reply, a = reply_for(records, message())
    assert [x.kind for x in a.actions] == ["send_rights_forms"]
    assert reply["To"] == "c1@example.com"  # the consented address, and nobody else
    assert reply.get_all("Cc") is None and reply.get_all("Bcc") is None
    assert "alex.morgan@dmh.example.org" in reply["From"]
    assert reply["In-Reply-To"] == "<orig-1@example.com>"
    assert reply["References"] == "<earlier-1@example.com> <orig-1@example.com>"
    assert reply["X-Triage-Item"] == "42" and reply["X-Triage-Kind"] == "rights_reply"
    # The secure-send marker, both forms of it (standard 1d).
    assert reply["Subject"] == "[secure] Your request about your health information"
    assert reply["X-Secure-Send"] == "yes"
    files = attachments(reply)
    assert files == {"access-request-SAMPLE.pdf": FORMS["access"].read_bytes(),
                     "amendment-request-SAMPLE.pdf": FORMS["amendment"].read_bytes()}
    assert all(p.get_content_type() == "application/pdf" for p in reply.iter_attachments())
    text = body(reply)
    assert STANDARD_10_STATEMENT in text
    for right in ("access", "amendment"):
        assert RIGHT_LABELS["en"][right] in text and FORM_TITLES["en"][right] in text
    assert "100 Clinic Way" in text and "Springfield, CA 90001" in text and "Adult Outpatient" in text
    assert f"Dear {CLIENT_NAME}," in text
    for word in ("zebrafish", "periwinkle", "thunderclap", "Quokka"):  # the client's own words are not quoted
        assert word not in text
    assert check_draft(reply, a, records, clinician=ALEX, marker=MARKER) == []


def test_rights_reply_bytes_are_crlf_and_read_back() -> None:
    reply, _ = reply_for([record()], message(), rights=("accounting",))
    raw = to_bytes(reply)
    assert b"\r\nX-Triage-Item: 42\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    back = email.message_from_bytes(raw, policy=email_policy.default)
    assert isinstance(back, EmailMessage)
    assert back["To"] == "c1@example.com"
    assert list(attachments(back)) == ["accounting-request-SAMPLE.pdf"]


def test_rights_reply_in_spanish_when_the_registry_prefers_it() -> None:
    reply, a = reply_for([record(preferred_language="es")], message(language="en"))
    assert reply["Subject"] == "[secure] Su solicitud sobre su información de salud"
    assert reply["Content-Language"] == "es"
    text = body(reply)
    assert STATEMENT["es"] in text and STANDARD_10_STATEMENT not in text
    assert RIGHT_LABELS["es"]["access"] in text and FORM_TITLES["es"]["amendment"] in text
    assert f"Estimado/a {CLIENT_NAME}:" in text
    assert len(attachments(reply)) == 2
    assert check_draft(reply, a, [record(preferred_language="es")], clinician=ALEX, marker=MARKER) == []


@pytest.mark.parametrize(("preferred", "message_language", "expected"), [
    ("es", "en", "es"), ("en", "es", "en"), ("", "es", "es"), ("", "", "en"), ("", "fr", "en")])
def test_language_is_the_registry_then_the_message_then_english(preferred: str, message_language: str,
                                                               expected: str) -> None:
    assert choose_language(record(preferred_language=preferred), message(language=message_language)) == expected


def test_minor_under_a_responsible_adult_the_reply_goes_to_the_adult() -> None:
    records = [minor()]
    reply, a = reply_for(records, message("parent@example.net"), rights=("access",))
    assert a.minor_standard == "3"
    assert reply["To"] == "parent@example.net"
    assert "m1.kid@example.net" not in str(reply)
    text = body(reply)
    assert f"Dear {ADULT_NAME}," in text and f"health information of {CLIENT_NAME}" in text
    assert check_draft(reply, a, records, clinician=ALEX, marker=MARKER) == []


def test_no_reply_draft_without_consent_or_without_a_form() -> None:
    records = [record(client_prefers_email=False)]
    original = message()
    a = judged(records, original, detection(("access",)))
    assert "send_rights_forms" not in [x.kind for x in a.actions]
    with pytest.raises(DraftError, match="standards 6 and 10"):
        rights_reply(item_id=ITEM, assessment=a, original=original, clinician=ALEX, record=records[0],
                     program=CONTACT, forms=FORMS, marker=MARKER, now=NOW)
    ok = judged([record()], original, detection(("restriction",)))
    with pytest.raises(DraftError, match="restriction") as caught:
        rights_reply(item_id=ITEM, assessment=ok, original=original, clinician=ALEX, record=record(),
                     program=CONTACT, forms={"access": FORMS["access"]}, marker=MARKER, now=NOW)
    assert_no_secret_words(str(caught.value))


def test_secure_marker_needs_a_tag_or_a_header_and_a_header_alone_works() -> None:
    with pytest.raises(ValueError, match="standard 1d"):
        SecureMarker()
    with pytest.raises(ValueError):
        SecureMarker(header_name="X Bad: name", header_value="yes")
    header_only = SecureMarker(header_name="X-Gateway-Encrypt", header_value="1")
    a = judged([record()], message(), detection(("access",)))
    reply = rights_reply(item_id=ITEM, assessment=a, original=message(), clinician=ALEX, record=record(),
                         program=CONTACT, forms=FORMS, marker=header_only, now=NOW)
    assert reply["Subject"] == "Your request about your health information"
    assert reply["X-Gateway-Encrypt"] == "1"
    assert check_draft(reply, a, [record()], clinician=ALEX, marker=header_only) == []
    assert check_draft(reply, a, [record()], clinician=ALEX, marker=MARKER) == [drafts.REFUSE_MARKER]


# --------------------------------------------------------------------------- notes and letters


def test_note_for_failing_consent_holds_the_conditions_the_phone_a_script_and_the_letter() -> None:
    records = [record(client_prefers_email=False, clinician_determined=False)]
    note, a = note_for(records, message(), detection())
    assert note_kinds(a) == ("respond_by_phone_or_mail",)
    assert note["Subject"] == "[triage note] item 42: consent to email fails: respond by phone or letter"
    assert note["To"] == "Alex Morgan <alex.morgan@dmh.example.org>"
    assert "alex.morgan@dmh.example.org" in note["From"] and note["X-Triage-Kind"] == "note"
    assert note["X-Triage-Item"] == "42"
    text = body(note)
    failing = [r.text for r in a.reasons if r.flag == "no_consent" and r.standard != "6"]
    assert len(failing) == 2
    assert any("(standard 1b)" in t for t in failing) and any("(standard 1c)" in t for t in failing)
    for t in failing:  # each failing condition, in its fixed words
        assert t in text
    assert PHONE in text and "Call script:" in text and "May I speak with Quinn Zephyrine?" in text
    assert "Do not reply by email." in text and "https://triage.dmh.example.org/items/42" in text
    files = attachments(note)
    assert list(files) == ["letter-item-42.pdf"]
    pdf = files["letter-item-42.pdf"]
    assert pdf.startswith(b"%PDF") and b"/Type /Page" in pdf
    printed = pdf_text(pdf)
    assert CLIENT_NAME in printed and "77 Juniperberry Lane" in printed and "Springfield, CA 90000" in printed
    assert "November 16, 2026" in printed and "not able to answer it by email" in printed
    assert "Enclosed" not in printed  # no rights, no forms
    assert b"Zephyrine" not in pdf.split(b"/Title", 1)[1][:200]  # metadata names the program, not the client
    assert check_draft(note, a, records, clinician=ALEX) == []


def test_failing_consent_with_a_rights_request_the_letter_encloses_the_forms_and_the_statement() -> None:
    records = [record(revoked_on=date(2026, 10, 1))]
    note, a = note_for(records, message(), detection(("access", "accounting")))
    assert note_kinds(a) == ("respond_by_phone_or_mail", "mail_rights_forms")
    files = attachments(note)
    assert list(files) == ["letter-item-42.pdf", "access-request-SAMPLE.pdf", "accounting-request-SAMPLE.pdf"]
    assert files["access-request-SAMPLE.pdf"] == FORMS["access"].read_bytes()
    text = body(note)
    assert STANDARD_10_STATEMENT in text and FORM_TITLES["en"]["accounting"] in text
    printed = " ".join(pdf_text(files["letter-item-42.pdf"]).split())
    assert "The enclosed forms must be completed and signed by the client" in printed
    assert "Enclosed:" in printed
    for right in ("access", "accounting"):
        assert FORM_TITLES["en"][right] in printed and RIGHT_LABELS["en"][right] in printed


def test_letter_in_spanish_with_accents_and_characters_outside_latin1() -> None:
    r = record(preferred_language="es", client_name="Zoë Łukasz 李")
    text = letter_text(record=r, program=CONTACT, clinician=ALEX, today=TODAY, rights=("access",),
                       received=RECEIVED, crisis_line=DEPT.crisis_line)
    assert text.startswith("# Adult Outpatient\n") and "16 de noviembre de 2026" in text
    pdf = letter_pdf(record=r, program=CONTACT, clinician=ALEX, today=TODAY, rights=("access",), received=RECEIVED)
    printed = " ".join(pdf_text(pdf).split())
    assert "Estimado/a Zoë ?ukasz ?:" in printed  # latin-1 kept, the rest replaced, never a crash
    assert "Los formularios incluidos deben ser completados y firmados" in printed
    assert FORM_TITLES["es"]["access"] in printed and "Documentos incluidos:" in printed
    # The same inputs give the same bytes (the creation date is the letter's date).
    assert pdf == letter_pdf(record=r, program=CONTACT, clinician=ALEX, today=TODAY, rights=("access",),
                             received=RECEIVED)


def test_note_for_an_unverified_sender_says_verify_identity_first() -> None:
    original = message("stranger@example.net")
    note, a = note_for([record()], original, detection())
    assert note_kinds(a) == ("verify_identity",)
    assert note["Subject"] == "[triage note] item 42: unverified sender: verify identity first"
    text = body(note)
    assert "verify identity first" in text and "not a number given in the message" in text
    assert "stranger@example.net" in text and "Do not reply by email." in text
    assert list(attachments(note)) == []  # no record, so no letter


def test_unverified_sender_asking_for_a_right_gets_the_forms_but_no_letter() -> None:
    note, a = note_for([record()], message("stranger@example.net"), detection(("amendment",)))
    assert note_kinds(a) == ("verify_identity", "mail_rights_forms")
    assert list(attachments(note)) == ["amendment-request-SAMPLE.pdf"]
    assert "Verify who is asking first" in body(note)


def test_note_for_a_clinical_question_says_answer_outside_email() -> None:
    note, a = note_for([record()], message(), detection(clinical=True))
    assert a.consent == "ok" and note_kinds(a) == ("answer_outside_email",)
    assert note["Subject"] == "[triage note] item 42: clinical question: answer outside email"
    text = body(note)
    assert "answer outside email (standard 8)" in text and PHONE in text
    assert next(r.text for r in a.reasons if r.standard == "8") in text
    assert list(attachments(note)) == []


def test_no_note_when_nothing_needs_one() -> None:
    a = judged([record()], message(), detection())
    assert note_kinds(a) == ()
    with pytest.raises(DraftError):
        clinician_note(item_id=ITEM, assessment=a, clinician=ALEX, record=record(), program=CONTACT, now=NOW)


# --------------------------------------------------------------------------- emergent alerts


def test_alert_holds_no_word_of_the_message_no_name_and_no_address() -> None:
    original = message(subject="Quokka marmalade thunderclap", text=NEW_TEXT)
    a = judged([record()], original, detection(emergent=True))
    assert a.emergent
    kw: dict[str, Any] = dict(item_id=ITEM, mailbox="alex-inbox", received_at=RECEIVED,
                              base_url="https://triage.dmh.example.org", crisis_line="(800) 555-0100",
                              time_zone="America/Los_Angeles")
    text = alert_text(**kw)
    assert "EMERGENT: item 42" in text and "Mailbox: alex-inbox" in text
    assert "Received: 2026-11-16 08:05 PST" in text and "standard 6: emergent" in text
    assert "https://triage.dmh.example.org/items/42" in text
    assert "phone number in the client's record" in text and "(800) 555-0100" in text
    assert "988" in text and "911" in text and "triage ack 42" in text
    mail = alert_message(**kw, sender="triage@dmh.example.org", to=[ALEX.email, "oncall@dmh.example.org"], now=NOW)
    assert mail["Subject"] == "[triage] EMERGENT item 42 (mailbox alex-inbox): respond now"
    assert mail["Auto-Submitted"] == "auto-generated" and mail["X-Triage-Item"] == "42"
    escalation = alert_message(**kw, sender="triage@dmh.example.org", to=["supervisor@dmh.example.org"], now=NOW,
                               level=1, unacknowledged_for=timedelta(minutes=17, seconds=40))
    assert "ESCALATION 1" in escalation["Subject"] and "17 minutes" in body(escalation)
    for out in (text, mail.as_string(), escalation.as_string()):
        assert_no_secret_words(out)
        assert "c1@example.com" not in out and "Juniperberry" not in out


# --------------------------------------------------------------------------- the refusal check


def _retarget(draft: EmailMessage, **headers: str) -> EmailMessage:
    copy = email.message_from_bytes(to_bytes(draft), policy=email_policy.default)
    assert isinstance(copy, EmailMessage)
    for name, value in headers.items():
        name = name.replace("_", "-")
        del copy[name]
        copy[name] = value
    return copy


def test_check_refuses_a_draft_to_two_clients() -> None:
    records = [record(), record("c2", client_name="Other Person")]
    reply, a = reply_for(records, message())
    reasons = check_draft(_retarget(reply, To="c1@example.com, c2@example.com"), a, records, clinician=ALEX,
                          marker=MARKER)
    assert drafts.REFUSE_MULTIPLE_CLIENTS in reasons and drafts.REFUSE_SEVERAL in reasons
    assert drafts.REFUSE_NOT_CONSENTED in reasons


def test_check_refuses_an_unconsented_address() -> None:
    records = [record(client_email="own@example.org")]
    reply, a = reply_for(records, message())
    for address in ("own@example.org", "someone@example.net"):
        reasons = check_draft(_retarget(reply, To=address), a, records, clinician=ALEX, marker=MARKER)
        assert drafts.REFUSE_NOT_CONSENTED in reasons and drafts.REFUSE_NO_RECORD in reasons


def test_check_refuses_cc_and_bcc() -> None:
    records = [record()]
    reply, a = reply_for(records, message())
    assert check_draft(_retarget(reply, Cc="c1@example.com"), a, records, clinician=ALEX) == [drafts.REFUSE_COPIES]
    bcc = _retarget(reply, Bcc="alex.morgan@dmh.example.org")
    assert drafts.REFUSE_COPIES in check_draft(bcc, a, records, clinician=ALEX)


def test_check_refuses_anything_but_a_rights_reply_to_a_client() -> None:
    records = [record()]
    a = judged(records, message(), detection(clinical=True))
    answer = EmailMessage()
    answer["From"] = ALEX.email
    answer["To"] = "c1@example.com"
    answer["Subject"] = "[secure] Your question"
    answer.set_content("Take the periwinkle twice a day.")
    reasons = check_draft(answer, a, records, clinician=ALEX, marker=MARKER)
    assert drafts.REFUSE_KIND in reasons and drafts.REFUSE_CLINICAL in reasons and drafts.REFUSE_NO_EMAIL in reasons


def test_check_refuses_a_reply_when_the_assessment_forbids_email_and_a_note_to_a_client() -> None:
    good = [record()]
    reply, _ = reply_for(good, message())
    failing = [record(client_prefers_email=False)]
    a = judged(failing, message(), detection(("access", "amendment")))
    assert drafts.REFUSE_NO_EMAIL in check_draft(reply, a, failing, clinician=ALEX, marker=MARKER)
    note, a2 = note_for(failing, message(), detection())
    assert check_draft(_retarget(note, To="c1@example.com"), a2, failing, clinician=ALEX) == [
        drafts.REFUSE_NOTE_RECIPIENT]


def test_check_refuses_a_reply_missing_a_form_and_one_for_several_clients() -> None:
    records = [record()]
    reply, a = reply_for(records, message())
    stripped = _retarget(reply)
    stripped.clear_content()
    stripped.set_content("No attachments any more.")
    assert drafts.REFUSE_FORMS in check_draft(stripped, a, records, clinician=ALEX, marker=MARKER)
    several = [record(), record("c2", client_name="Other Person")]
    b = judged(several, message(cc=("c2@example.com",)), detection(("access", "amendment")))
    assert b.multiple_clients
    assert drafts.REFUSE_ASSESSED_MULTIPLE in check_draft(reply, b, several, clinician=ALEX, marker=MARKER)


def test_refusal_reasons_are_fixed_sentences_without_client_data() -> None:
    sentences = [v for k, v in vars(drafts).items() if k.startswith("REFUSE_")]
    assert len(sentences) >= 12
    for s in sentences:
        assert "@" not in s and not re.search(r"\d{3}-\d{4}", s)
        assert_no_secret_words(s)


# --------------------------------------------------------------------------- subjects, templates, sample forms


def test_subjects_never_hold_the_client_name_or_words_of_the_message() -> None:
    subjects = []
    for records, original, found in [
        ([record()], message(), detection(("access", "amendment"))),
        ([record(preferred_language="es")], message(), detection(("restriction",))),
        ([minor()], message("parent@example.net"), detection(("access",))),
    ]:
        reply, _ = reply_for(records, original, found.rights)
        subjects.append(str(reply["Subject"]))
    for records, original, found in [
        ([record(client_prefers_email=False)], message(), detection(("access",), clinical=True)),
        ([record()], message("stranger@example.net"), detection(("amendment",))),
        ([record()], message(), detection(clinical=True)),
        ([record(), record("c2", client_name="Other Person")], message(cc=("c2@example.com",)), detection()),
    ]:
        note, _ = note_for(records, original, found)
        subjects.append(str(note["Subject"]))
        assert str(note["Subject"]).startswith("[triage note] item 42: ")
    subjects.append(drafts.alert_subject(ITEM, "alex-inbox", level=2))
    for s in subjects:
        assert_no_secret_words(s)
        assert not s.lower().startswith("re:") and "@" not in s


def test_templates_live_in_the_package_flat_both_languages_for_what_clients_read() -> None:
    names = {p.name for p in drafts.TEMPLATES.iterdir()}
    assert {"rights_reply.en.txt", "rights_reply.es.txt", "letter.en.txt", "letter.es.txt", "note.en.txt",
            "alert.en.txt"} <= names
    assert drafts.TEMPLATES.parent == Path(drafts.__file__).parent
    assert all(p.is_file() for p in drafts.TEMPLATES.iterdir())  # flat: `templates/*` ships them all
    with pytest.raises(jinja2.UndefinedError):  # StrictUndefined: a missing value fails, never prints ""
        drafts.render("alert.en.txt", item_id=1)


def test_sample_forms_are_marked_and_current() -> None:
    for right, path in FORMS.items():
        data = path.read_bytes()
        assert data.startswith(b"%PDF")
        printed = pdf_text(data)
        assert "SAMPLE - not an official form" in printed and FORM_TITLES["en"][right] in printed
    result = subprocess.run([sys.executable, str(FORMS_DIR / "make_forms.py"), "--check"], capture_output=True,
                            text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr


def test_note_for_an_emergent_message_with_failing_consent_puts_the_emergency_first() -> None:
    note, a = note_for([record(client_prefers_email=False)], message(), detection(emergent=True))
    assert a.emergent and note_kinds(a) == ("respond_by_phone_or_mail",)
    text = body(note)
    assert text.index("EMERGENT (standard 6)") < text.index("Consent to email fails")
    assert "email may be used whatever the consent" in text and "Apart from the emergency, do not reply" in text
    assert_no_secret_words(str(note["Subject"]))


def test_a_parent_of_two_clients_settled_to_one_child_passes_the_check() -> None:
    records = [minor("m1", client_name="Mateo Navarro"), minor("m2", client_name="Camila Navarro")]
    original = message("parent@example.net", subject="records", text="Please send Mateo's records to me.")
    c = check(original, ALEX, PROGRAM, DEPT, records, TODAY)
    a = assess(c, detection(("access",)), text=Text.from_message(original), records=records, today=TODAY)
    assert a.client_ids == ("m1",) and not a.multiple_clients
    reply = rights_reply(item_id=ITEM, assessment=a, original=original, clinician=ALEX, record=records[0],
                         program=CONTACT, forms=FORMS, marker=MARKER, now=NOW)
    assert reply["To"] == "parent@example.net" and "health information of Mateo Navarro" in body(reply)
    assert check_draft(reply, a, records, clinician=ALEX, marker=MARKER) == []
