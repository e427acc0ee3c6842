"""The assessment is stored with the message it judges, in the same transaction (Maildir, SQLite)."""

from __future__ import annotations

import mailbox
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from conftest import make_mail
from sqlalchemy import func, select
from test_ingest import Env

from triage.assess import StoreAssessor
from triage.config import Config
from triage.detect import Detection, Evidence, Text
from triage.ingest import Ingestor, IngestSettings
from triage.registry import parse_csv
from triage.sources.maildir import MaildirSource
from triage.store import assessments
from triage.store import consent as consent_store
from triage.store.models import AssessmentRow, MessageRecord
from triage.values import RawMessage

REGISTRY = """client_id,client_name,clinician_email,consented_email,client_email,date_of_birth,consent_basis,\
responsible_adult_name,clinician_determined,client_prefers_email,form_signed_on,revoked_on,phone,mailing_address,\
preferred_language
C-1,Pat Example,alex.morgan@dmh.example.org,client@example.com,,1990-01-01,self,,true,true,2026-01-05,,555-0101,\
1 Main St,en
C-2,Lee Example,alex.morgan@dmh.example.org,other@example.com,,1990-01-01,self,,true,false,2026-01-05,,555-0102,\
2 Main St,en
"""


class KeywordDetector:
    """A stand-in detector for storage tests: 'pills tonight' is emergent, 'copy of my records' asks access."""

    name = "keywords-test"

    def __init__(self, fail_on: str = "") -> None:
        self.fail_on = fail_on
        self.calls = 0

    def detect(self, text: Text) -> Detection:
        self.calls += 1
        if self.fail_on and self.fail_on in text.new_text:
            raise RuntimeError("detector bug")
        evidence = []
        emergent = "pills tonight" in text.new_text
        if emergent:
            evidence.append(Evidence("emergent", "pills tonight", "rule:test"))
        rights = ("access",) if "copy of my records" in text.new_text else ()
        if rights:
            evidence.append(Evidence("access", "copy of my records", "rule:test"))
        return Detection(emergent, 0.9 if emergent else 0.1, "intent_or_plan" if emergent else "", rights,
                         "scheduling" if "appointment" in text.new_text else "other", False, tuple(evidence),
                         self.name)

    def detect_many(self, texts: Sequence[Text]) -> list[Detection]:
        return [self.detect(t) for t in texts]


def _env(maildir_config: Callable[..., Config], n: int) -> Env:
    e = Env(maildir_config(n))
    with e.store.begin() as s:
        consent_store.save(s, e.crypto, parse_csv(REGISTRY))
    return e


def _ingestor(e: Env, detector: KeywordDetector, **settings: object) -> Ingestor:
    return Ingestor(e.store, e.crypto, IngestSettings(**{"batch_size": 4, "max_attempts": 2, **settings}),  # type: ignore[arg-type]
                    assessor=StoreAssessor(e.store, e.crypto, e.config, detector))


def _add(path: Path, raw: bytes) -> str:
    return mailbox.Maildir(path, create=False).add(raw)


def test_every_recorded_message_has_its_assessment(maildir_config: Callable[..., Config]) -> None:
    e = _env(maildir_config, 5)
    _add(e.path, make_mail(50, body="i have saved the pills tonight is the night"))
    _add(e.path, make_mail(51, sender="other@example.com", body="please send me a copy of my records"))
    _add(e.path, make_mail(52, sender="stranger@example.net", body="can i book an appointment"))
    result = _ingestor(e, KeywordDetector()).poll(e.mailbox_id, MaildirSource("alex", e.path), ("INBOX",))
    assert result.total("recorded") == 8
    with e.store.begin() as s:
        rows = {r.message_id: r for r in s.scalars(select(MessageRecord))}
        stored = {mid: assessments.load(s, e.crypto, row.id) for mid, row in rows.items()}
        assert s.scalar(select(func.count()).select_from(AssessmentRow)) == 8
    emergent = stored["<msg-50@example.com>"]
    assert emergent is not None and emergent.flags == ("emergent",) and emergent.priority == 1
    assert emergent.reasons[0].evidence == "pills tonight" and emergent.detector == "keywords-test"
    rights = stored["<msg-51@example.com>"]
    assert rights is not None and rights.flags == ("rights_request", "no_consent")
    assert [x.kind for x in rights.actions] == ["respond_by_phone_or_mail", "mail_rights_forms"]
    assert rights.actions[0].phone == "555-0102"
    unknown = stored["<msg-52@example.com>"]
    assert unknown is not None and unknown.flags == ("unverified_sender",)
    ordinary = stored["<msg-0@example.com>"]
    assert ordinary is not None and ordinary.flags == () and ordinary.consent == "ok"


def test_evidence_and_addresses_are_encrypted_at_rest(maildir_config: Callable[..., Config]) -> None:
    e = _env(maildir_config, 0)
    _add(e.path, make_mail(60, body="i have the pills tonight"))
    _ingestor(e, KeywordDetector()).poll(e.mailbox_id, MaildirSource("alex", e.path), ("INBOX",))
    db = Path(e.config.store.url.removeprefix("sqlite:///")).read_bytes()
    for secret in (b"pills tonight", b"client@example.com", b"555-0101", b"C-1"):
        assert secret not in db


def test_a_message_that_cannot_be_assessed_is_retried_then_quarantined(
        maildir_config: Callable[..., Config]) -> None:
    e = _env(maildir_config, 3)
    bad = _add(e.path, make_mail(70, body="BOOM trips the detector"))
    detector = KeywordDetector(fail_on="BOOM")
    first = _ingestor(e, detector).poll(e.mailbox_id, MaildirSource("alex", e.path), ("INBOX",))
    assert (first.total("recorded"), first.total("failed")) == (3, 1)
    second = _ingestor(e, detector).poll(e.mailbox_id, MaildirSource("alex", e.path), ("INBOX",))
    assert second.total("quarantined") == 1
    with e.store.begin() as s:
        row = s.scalar(select(MessageRecord).where(MessageRecord.key == bad))
        assert row is not None and row.status == "quarantined"
        assert row.error.startswith("AssessmentError: RuntimeError")
        assert s.scalar(select(func.count()).select_from(AssessmentRow)) == 3


def test_a_duplicate_points_to_the_original_and_is_not_assessed_again(
        maildir_config: Callable[..., Config]) -> None:
    e = _env(maildir_config, 0)
    raw = make_mail(80, body="copy of my records please")
    _add(e.path, raw)
    _ingestor(e, KeywordDetector()).poll(e.mailbox_id, MaildirSource("alex", e.path), ("INBOX",))
    _add(e.path, raw)
    _ingestor(e, KeywordDetector()).poll(e.mailbox_id, MaildirSource("alex", e.path), ("INBOX",))
    with e.store.begin() as s:
        assert s.scalar(select(func.count()).select_from(AssessmentRow)) == 1
        assert s.scalar(select(func.count()).select_from(MessageRecord)
                        .where(MessageRecord.status == "duplicate")) == 1


def test_registry_changes_are_seen_by_the_next_batch(maildir_config: Callable[..., Config]) -> None:
    e = _env(maildir_config, 0)
    assessor = StoreAssessor(e.store, e.crypto, e.config, KeywordDetector())
    raw = RawMessage("alex", "INBOX", 1, "k1", make_mail(90, sender="new.client@example.org"))
    from triage.pipeline import process

    [before] = assessor.assess_batch(e.mailbox_id, [(raw, process(raw))])
    assert before.consent == "unverified"
    extra = (REGISTRY.splitlines()[0] + "\nC-3,New Client,alex.morgan@dmh.example.org,new.client@example.org,,"
             "1990-01-01,self,,true,true,2026-01-05,,555-0103,3 Main St,en\n")
    with e.store.begin() as s:
        consent_store.save(s, e.crypto, parse_csv(extra))
    [after] = assessor.assess_batch(e.mailbox_id, [(raw, process(raw))])
    assert after.consent == "ok" and after.client_ids == ("C-3",)


@pytest.mark.parametrize("parse_processes", [0, 2])
def test_assessment_with_parser_processes(maildir_config: Callable[..., Config], parse_processes: int) -> None:
    e = _env(maildir_config, 9)
    ingestor = _ingestor(e, KeywordDetector(), parse_processes=parse_processes)
    try:
        result = ingestor.poll(e.mailbox_id, MaildirSource("alex", e.path), ("INBOX",))
    finally:
        ingestor.close()
    assert result.total("recorded") == 9
    with e.store.begin() as s:
        assert s.scalar(select(func.count()).select_from(AssessmentRow)) == 9
