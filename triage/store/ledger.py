"""Every query the ingestion needs: checkpoints, the message ledger, attempts,
quarantine, mailbox health and the audit trail. Each function takes a Session;
the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from triage.clock import now
from triage.crypto import Crypto
from triage.pipeline import Processed
from triage.store.models import (
    Attempt,
    AuditEvent,
    FolderState,
    Mailbox,
    MessageRecord,
    Quarantine,
    WorkerHeartbeat,
)
from triage.values import RawMessage

# --------------------------------------------------------------------------- audit


def audit(session: Session, action: str, *, actor: str = "worker", mailbox_id: int | None = None,
          message_record_id: int | None = None, **detail: Any) -> None:
    """Append to the audit trail. Details are ids, counts and error classes: no message text."""
    from triage.store.audit import chain

    chain(session, AuditEvent(actor=actor, action=action, mailbox_id=mailbox_id, at=now(),
                              message_record_id=message_record_id, detail=detail))


# --------------------------------------------------------------------------- checkpoints


def folder_state(session: Session, mailbox_id: int, folder: str) -> FolderState:
    fs = session.scalar(select(FolderState).where(FolderState.mailbox_id == mailbox_id,
                                                  FolderState.folder == folder))
    if fs is None:
        fs = FolderState(mailbox_id=mailbox_id, folder=folder, uidvalidity=None, last_uid=0,
                         uidvalidity_changes=[], stopped_reason="")
        session.add(fs)
        session.flush()
    return fs


def known_keys(session: Session, mailbox_id: int, folder: str, uidvalidity: int,
               keys: Sequence[str]) -> set[str]:
    """Which of these keys the ledger already holds (recorded, duplicate or quarantined)."""
    if not keys:
        return set()
    found: set[str] = set()
    base = select(MessageRecord.key).where(MessageRecord.mailbox_id == mailbox_id,
                                           MessageRecord.folder == folder,
                                           MessageRecord.uidvalidity == uidvalidity)
    if len(keys) > 500:
        # Large folders (a first read, a Maildir): one scan beats thousands of IN parameters.
        wanted = set(keys)
        found.update(k for k in session.scalars(base) if k in wanted)
        return found
    found.update(session.scalars(base.where(MessageRecord.key.in_(keys))))
    return found


# --------------------------------------------------------------------------- attempts


def attempt_counts(session: Session, mailbox_id: int, folder: str, uidvalidity: int) -> dict[str, int]:
    rows = session.execute(select(Attempt.key, Attempt.attempts).where(
        Attempt.mailbox_id == mailbox_id, Attempt.folder == folder, Attempt.uidvalidity == uidvalidity))
    return {k: n for k, n in rows}


@dataclass(frozen=True)
class Claim:
    attempts: int  # including this one
    last_error: str


def claim(session: Session, mailbox_id: int, folder: str, uidvalidity: int,
          keys: Sequence[str]) -> dict[str, Claim]:
    """Count one more try for each key, committed before the try so a crash still counts."""
    where = (Attempt.mailbox_id == mailbox_id, Attempt.folder == folder, Attempt.uidvalidity == uidvalidity)
    existing = {k: (n, e) for k, n, e in session.execute(
        select(Attempt.key, Attempt.attempts, Attempt.last_error).where(*where, Attempt.key.in_(keys)))}
    t = now()
    new = [k for k in keys if k not in existing]
    if new:
        session.execute(insert(Attempt), [
            {"mailbox_id": mailbox_id, "folder": folder, "uidvalidity": uidvalidity, "key": k, "attempts": 1,
             "last_error": "", "first_at": t, "last_at": t} for k in new])
    if existing:
        session.execute(update(Attempt).where(*where, Attempt.key.in_(list(existing)))
                        .values(attempts=Attempt.attempts + 1, last_at=t))
    return {k: Claim(existing[k][0] + 1, existing[k][1]) if k in existing else Claim(1, "") for k in keys}


def unclaim(session: Session, mailbox_id: int, folder: str, uidvalidity: int, keys: Sequence[str]) -> None:
    """Give back one try of each key: the batch failed because of the store, not of the messages."""
    if keys:
        session.execute(update(Attempt).where(
            Attempt.mailbox_id == mailbox_id, Attempt.folder == folder, Attempt.uidvalidity == uidvalidity,
            Attempt.key.in_(list(keys)), Attempt.attempts > 0).values(attempts=Attempt.attempts - 1))


def note_failure(session: Session, mailbox_id: int, folder: str, uidvalidity: int, key: str,
                 error: str) -> None:
    session.execute(update(Attempt).where(
        Attempt.mailbox_id == mailbox_id, Attempt.folder == folder, Attempt.uidvalidity == uidvalidity,
        Attempt.key == key).values(last_error=error[:2000]))


def clear_attempts(session: Session, mailbox_id: int, folder: str, uidvalidity: int,
                   keys: Iterable[str]) -> None:
    keys = list(keys)
    for i in range(0, len(keys), 500):
        session.execute(delete(Attempt).where(
            Attempt.mailbox_id == mailbox_id, Attempt.folder == folder, Attempt.uidvalidity == uidvalidity,
            Attempt.key.in_(keys[i:i + 500])))


# --------------------------------------------------------------------------- the ledger


def existing_by_digest(session: Session, mailbox_id: int, digests: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
    """Recorded or quarantined messages of this mailbox with these digests: digest -> [(id, message_id)]."""
    out: dict[str, list[tuple[int, str]]] = {}
    if not digests:
        return out
    rows = session.execute(select(MessageRecord.digest, MessageRecord.id, MessageRecord.message_id).where(
        MessageRecord.mailbox_id == mailbox_id, MessageRecord.digest.in_(set(digests)),
        MessageRecord.status != "duplicate"))
    for d, rid, mid in rows:
        out.setdefault(d, []).append((rid, mid))
    return out


def record_row(mailbox_id: int, raw: RawMessage, processed: Processed, crypto: Crypto,
               duplicate_of: int | None) -> dict[str, Any]:
    """The ledger row of one processed message: metadata and encrypted facts, never the body."""
    m = processed.message
    return {
        "mailbox_id": mailbox_id, "folder": raw.folder, "uidvalidity": raw.uidvalidity, "key": raw.key,
        "uid": raw.uid, "status": "duplicate" if duplicate_of else "recorded", "duplicate_of_id": duplicate_of,
        "message_id": m.message_id[:998], "digest": processed.digest, "size": len(raw.raw),
        "received_at": raw.received_at, "sent_at": m.date, "recorded_at": now(), "parser": m.parser,
        "language": m.language, "attachment_count": len(m.attachments), "automated": bool(processed.automated),
        "defects": list(m.defects)[:50], "error": "",
        "facts_enc": None if duplicate_of else crypto.encrypt_json(processed.facts),
    }


def insert_records(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ledger rows in one statement; returns their ids in the same order."""
    if not rows:
        return []
    table = MessageRecord.__table__  # Core, not ORM bulk: a third of the cost per row
    result = session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return [r[0] for r in result]


def quarantine_message(session: Session, mailbox_id: int, raw: RawMessage, error: str, crypto: Crypto,
                       days: int, digest: str) -> MessageRecord:
    row = MessageRecord(
        mailbox_id=mailbox_id, folder=raw.folder, uidvalidity=raw.uidvalidity, key=raw.key, uid=raw.uid,
        status="quarantined", message_id="", digest=digest, size=len(raw.raw), received_at=raw.received_at,
        defects=[], error=error[:2000],
    )
    session.add(row)
    session.flush()
    session.add(Quarantine(message_record_id=row.id, raw_enc=crypto.encrypt(raw.raw),
                           purge_after=now() + timedelta(days=days)))
    return row


def purge_quarantine(session: Session) -> int:
    """Drop the bytes of quarantined messages past their keeping time; the record stays."""
    t = now()
    result = session.execute(update(Quarantine).where(Quarantine.purge_after <= t, Quarantine.raw_enc.is_not(None))
                             .values(raw_enc=None, purged_at=t))
    return result.rowcount or 0


# --------------------------------------------------------------------------- mailbox health


def mark_success(session: Session, mailbox_id: int) -> None:
    mb = session.get(Mailbox, mailbox_id)
    assert mb is not None
    t = now()
    if mb.consecutive_failures or mb.reauth_required:
        audit(session, "mailbox_recovered", mailbox_id=mailbox_id, failures=mb.consecutive_failures)
    mb.last_attempt_at = mb.last_success_at = t
    mb.consecutive_failures = 0
    mb.last_error = ""
    mb.failing_since = None
    mb.failure_reported_at = None
    mb.reauth_required = False
    mb.next_attempt_at = None


@dataclass(frozen=True)
class FailureOutcome:
    report: bool  # failing past the limit and not yet reported: say so once
    first_reauth: bool  # the token was refused just now (not on an earlier poll)
    retry_at: datetime


def mark_failure(session: Session, mailbox_id: int, error: str, *, reauthorise: bool,
                 interval_seconds: int, backoff_max_seconds: int, report_after_minutes: int) -> FailureOutcome:
    mb = session.get(Mailbox, mailbox_id)
    assert mb is not None
    t = now()
    mb.last_attempt_at = t
    mb.consecutive_failures += 1
    mb.last_error = error[:1000]
    mb.failing_since = mb.failing_since or t
    first_reauth = reauthorise and not mb.reauth_required
    mb.reauth_required = mb.reauth_required or reauthorise
    delay = min(backoff_max_seconds, interval_seconds * 2 ** min(mb.consecutive_failures - 1, 16))
    mb.next_attempt_at = t + timedelta(seconds=delay)
    report = (mb.failure_reported_at is None
              and (t - mb.failing_since >= timedelta(minutes=report_after_minutes) or first_reauth))
    if report:
        mb.failure_reported_at = t
    return FailureOutcome(report, first_reauth, mb.next_attempt_at)


# --------------------------------------------------------------------------- worker heartbeat


def heartbeat(session: Session, name: str, *, started: bool = False, polled: bool = False,
              stopped: bool = False) -> None:
    hb = session.get(WorkerHeartbeat, name)
    t = now()
    if hb is None:
        hb = WorkerHeartbeat(name=name, started_at=t)
        session.add(hb)
    if started:
        hb.started_at, hb.stopped_at = t, None
    if polled:
        hb.last_poll_at = t
    if stopped:
        hb.stopped_at = t


def last_poll(session: Session) -> datetime | None:
    return session.scalar(select(func.max(WorkerHeartbeat.last_poll_at)))
