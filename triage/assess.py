"""Assessing messages: who a message was sent to, against which registry, on which day.

`assess_message` is pure: a message, the mailbox's context and a detector give an
Assessment (standards 1–5 from `triage.consent`, detection from `triage.detect`,
the decision from `triage.policy`). `StoreAssessor` is the edge the ingestion
uses: it reads the registry from the store (decrypted once and kept until the
registry changes) and assesses a batch of parsed messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage import consent, outbox
from triage.automated import automated_reasons
from triage.clock import now
from triage.config import Clinician, Config, DepartmentConfig, Program
from triage.crypto import Crypto
from triage.detect import Detection, Detector, Text
from triage.pipeline import Processed
from triage.policy import Assessment, assess
from triage.registry import ConsentRecord
from triage.store import Store, assessments
from triage.store import consent as consent_store
from triage.store import outbox as outbox_store
from triage.store.models import ConsentRow, Mailbox
from triage.values import Message, RawMessage


@dataclass(frozen=True)
class Context:
    """The mailbox's owner and what their mail is judged against."""

    clinician: Clinician
    program: Program | None
    department: DepartmentConfig | None
    records: Sequence[ConsentRecord] | None  # None: no registry (consent "unknown")
    assume_program_approved: bool = False  # standard 1a taken as met (no organisation config)


def assess_message(message: Message, context: Context, detector: Detector, *, today: date) -> Assessment:
    return assess_with(message, context, detector.detect(Text.from_message(message)), today=today)


def assess_with(message: Message, context: Context, detection: Detection, *, today: date) -> Assessment:
    """The decision for a message whose detection is already made (batched detectors)."""
    automated = automated_reasons(message)
    check = consent.check(message, context.clinician, context.program, context.department, context.records, today,
                          assume_program_approved=context.assume_program_approved)
    involved = consent.participant_clients(message, context.clinician.addresses, context.records)
    return assess(check, detection, automated=automated, text=Text.from_message(message), involved=involved,
                  records=context.records or (), today=today,
                  crisis_line=context.department.crisis_line if context.department else "")


def local_day(when: datetime | None, zone: str) -> date:
    """The calendar day a message arrived, in the clinician's time zone: consent is judged as of then."""
    return (when or now()).astimezone(ZoneInfo(zone)).date()


class StoreAssessor:
    """Assesses batches for the ingestion; the registry comes from the store."""

    def __init__(self, store: Store, crypto: Crypto, config: Config, detector: Detector) -> None:
        self.store = store
        self.crypto = crypto
        self.config = config
        self.detector = detector
        self._registry: list[ConsentRecord] = []
        self._registry_version: tuple[int, object] | None = None
        self._clinician_of: dict[int, str] = {}

    def assess_batch(self, mailbox_id: int, items: Sequence[tuple[RawMessage, Processed]]) -> list[Assessment]:
        if not items:
            return []
        with self.store.begin() as s:
            records = self._records(s)
            context = self._context(s, mailbox_id, records)
        texts = [Text.from_message(p.message) for _, p in items]
        detections = self.detector.detect_many(texts)
        zone = context.clinician.time_zone
        return [assess_with(p.message, context, d, today=local_day(raw.received_at, zone))
                for (raw, p), d in zip(items, detections, strict=True)]

    def record(self, s: Session, mailbox_id: int, record_id: int, raw: RawMessage, processed: Processed,
               assessment: Assessment) -> None:
        """The assessment and its outbox, in the ingestion's transaction."""
        assessments.insert_assessments(s, [assessments.assessment_row(record_id, mailbox_id, assessment, self.crypto)])
        context = self._context(s, mailbox_id, self._registry)
        m = processed.message
        planned = outbox.plan(assessment, mailbox_id=mailbox_id, record_id=record_id,
                              thread=outbox.thread_key(m.message_id, m.in_reply_to, m.references),
                              clinician=context.clinician.email, program=context.program, now=now())
        outbox_store.add(s, planned, self.crypto, mailbox_id=mailbox_id, record_id=record_id)

    def _records(self, s: Session) -> list[ConsentRecord]:
        # One cheap query per batch tells whether the registry changed; decrypting it is not cheap.
        version = tuple(s.execute(select(func.count(ConsentRow.id), func.max(ConsentRow.updated_at))).one())
        if version != self._registry_version:
            self._registry = consent_store.load(s, self.crypto)
            self._registry_version = version  # type: ignore[assignment]
        return self._registry

    def _context(self, s: Session, mailbox_id: int, records: list[ConsentRecord]) -> Context:
        email = self._clinician_of.get(mailbox_id)
        if email is None:
            email = s.scalar(select(Mailbox.clinician_email).where(Mailbox.id == mailbox_id)) or ""
            self._clinician_of[mailbox_id] = email
        clinician = self.config.clinician(email)
        program = next((p for p in self.config.programs if p.id == clinician.program), None)
        # An empty registry means none was imported yet: consent is "unknown", not every sender unverified.
        return Context(clinician, program, self.config.department, records or None)
