"""The audit trail's hash chain: each entry carries the hash of the one before it.

An entry's hash is SHA-256 over the previous hash and the entry's canonical content
(id, time, actor, action, mailbox, message, detail). `chain` seals a new entry in the
transaction that writes it; writers are serialised so ids are committed in order: on
PostgreSQL by a transaction-scoped advisory lock taken before the insert, on SQLite by the
database's single write lock. `verify` walks the whole trail and names the first entry that
does not fit. Deleting the newest entries cannot be seen from the chain alone: `verify`
prints the head hash so it can be noted elsewhere (a ticket, a log collector) and compared.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from triage.store.models import AuditEvent

ADVISORY_KEY = 0x7472_6961_6765  # "triage": one lock for every writer of the trail
GENESIS = "0" * 64


def content(event: AuditEvent) -> bytes:
    at = event.at.astimezone(UTC).isoformat(timespec="microseconds") if event.at else ""
    return json.dumps([event.id, at, event.actor, event.action, event.mailbox_id, event.message_record_id,
                       event.detail or {}], sort_keys=True, separators=(",", ":"), default=str).encode()


def digest(prev: str, event: AuditEvent) -> str:
    return hashlib.sha256(prev.encode() + b"\n" + content(event)).hexdigest()


def lock(session: Session) -> None:
    """Serialise audit writers across workers (PostgreSQL); SQLite has one writer at a time anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_KEY})


def chain(session: Session, event: AuditEvent) -> None:
    """Add `event` sealed to the entry before it (call with the event not yet added)."""
    lock(session)
    session.add(event)
    session.flush()  # its id; on SQLite this takes the write lock, so no other writer is between
    prev = session.scalar(select(AuditEvent.hash).where(AuditEvent.id < event.id).order_by(AuditEvent.id.desc())
                          .limit(1))
    event.prev_hash = prev or GENESIS
    event.hash = digest(event.prev_hash, event)


@dataclass(frozen=True)
class Verification:
    entries: int
    head: str  # the newest entry's hash: note it elsewhere to detect removal of the newest entries
    broken_at: int | None = None  # the id of the first entry that does not fit
    why: str = ""


def verify(session: Session, *, batch: int = 2000) -> Verification:
    prev, count, last = GENESIS, 0, 0
    for event in _walk(session, batch):
        count += 1
        if event.prev_hash != prev:
            return Verification(count, prev, event.id, "its link to the entry before does not match: an entry "
                                "was removed or inserted before it")
        if event.hash != digest(prev, event):
            return Verification(count, prev, event.id, "its content does not match its hash: it was changed")
        prev, last = event.hash, event.id
    del last
    return Verification(count, prev)


def _walk(session: Session, batch: int) -> Iterator[AuditEvent]:
    after = 0
    while True:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id)
                                    .limit(batch)))
        if not rows:
            return
        yield from rows
        after = rows[-1].id
        session.expunge_all()
