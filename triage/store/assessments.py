"""Assessments in the store: written with the message they judge, read by the queue and summaries.
Each function takes a Session; the caller owns the transaction."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from triage.clock import now
from triage.crypto import Crypto
from triage.policy import Action, Assessment, Reason
from triage.store.models import AssessmentRow, Mailbox, MessageRecord


def assessment_row(message_record_id: int, mailbox_id: int, a: Assessment, crypto: Crypto) -> dict[str, Any]:
    detail = {
        "reasons": [dataclasses.asdict(r) for r in a.reasons],
        "actions": [dataclasses.asdict(x) for x in a.actions],
        "client_ids": list(a.client_ids),
        "reply_to": a.reply_to,
        "minor_standard": a.minor_standard,
    }
    return {
        "message_record_id": message_record_id, "mailbox_id": mailbox_id, "assessed_at": now(),
        "priority": a.priority, "flags": " ".join(a.flags), "standards": " ".join(a.standards),
        "emergent": a.emergent, "emergent_score": a.emergent_score, "emergent_kind": a.emergent_kind,
        "hipaa_rights": " ".join(a.hipaa_rights), "purpose": a.purpose, "clinical_question": a.clinical_question,
        "multiple_clients": a.multiple_clients, "consent": a.consent,
        "consent_failures": " ".join(a.consent_failures), "email_reply_allowed": a.email_reply_allowed,
        "automated": a.automated, "detector": a.detector[:64], "detail_enc": crypto.encrypt_json(detail),
    }


def insert_assessments(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(AssessmentRow.__table__), rows)


def load(session: Session, crypto: Crypto, message_record_id: int) -> Assessment | None:
    """The stored assessment of one message, with its reasons and actions decrypted."""
    row = session.scalar(select(AssessmentRow).where(AssessmentRow.message_record_id == message_record_id))
    if row is None:
        return None
    detail = crypto.decrypt_json(row.detail_enc)
    return Assessment(
        flags=tuple(row.flags.split()), priority=row.priority,
        actions=tuple(Action(**{**x, "rights": tuple(x["rights"]), "client_ids": tuple(x["client_ids"])})
                      for x in detail["actions"]),
        reasons=tuple(Reason(**r) for r in detail["reasons"]), standards=tuple(row.standards.split()),
        emergent=row.emergent, emergent_score=row.emergent_score, emergent_kind=row.emergent_kind,
        hipaa_rights=tuple(row.hipaa_rights.split()), purpose=row.purpose, clinical_question=row.clinical_question,
        multiple_clients=row.multiple_clients, consent=row.consent,
        consent_failures=tuple(row.consent_failures.split()), client_ids=tuple(detail["client_ids"]),
        reply_to=detail["reply_to"], email_reply_allowed=row.email_reply_allowed, automated=row.automated,
        detector=row.detector, minor_standard=detail.get("minor_standard", ""))


def flag_counts(session: Session, mailbox_ids: Sequence[int] | None = None,
                since_record_id: int = 0) -> dict[str, Counter[str]]:
    """Per mailbox name: how many assessed messages carry each flag (and "assessed", the total),
    for messages recorded after `since_record_id`."""
    query = (select(Mailbox.name, AssessmentRow.flags)
             .join(Mailbox, Mailbox.id == AssessmentRow.mailbox_id)
             .where(AssessmentRow.message_record_id > since_record_id))
    if mailbox_ids is not None:
        query = query.where(AssessmentRow.mailbox_id.in_(list(mailbox_ids)))
    out: dict[str, Counter[str]] = {}
    for name, flags in session.execute(query):
        counts = out.setdefault(name, Counter())
        counts["assessed"] += 1
        for f in flags.split():
            counts[f] += 1
    return out


def last_record_id(session: Session) -> int:
    return session.scalar(select(MessageRecord.id).order_by(MessageRecord.id.desc()).limit(1)) or 0

