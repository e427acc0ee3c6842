"""The outbox in the store: planned actions, their state and tries. Each function takes a
Session; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage.clock import now
from triage.crypto import Crypto
from triage.outbox import ORDER, Planned
from triage.store.ledger import audit
from triage.store.models import OutboxRow


def add(session: Session, planned: Sequence[Planned], crypto: Crypto, *, mailbox_id: int | None,
        record_id: int | None) -> list[int]:
    """Insert the planned actions whose key is new; returns the ids of those added."""
    if not planned:
        return []
    keys = [p.key for p in planned]
    have = set(session.scalars(select(OutboxRow.key).where(OutboxRow.key.in_(keys))))
    t = now()
    rows = []
    for p in planned:
        if p.key in have:
            continue
        have.add(p.key)
        rows.append(OutboxRow(key=p.key, kind=p.kind, mailbox_id=mailbox_id, message_record_id=record_id,
                              state="pending", attempts=0, created_at=t, next_attempt_at=t, last_error="",
                              detail=dict(p.detail), payload_enc=crypto.encrypt_json(p.payload) if p.payload else None))
    session.add_all(rows)
    session.flush()
    return [r.id for r in rows]


def due(session: Session, *, kinds: Sequence[str], mailbox_id: int | None = None, limit: int = 100) -> list[OutboxRow]:
    """Pending actions whose time has come, alerts first, oldest first."""
    query = select(OutboxRow).where(OutboxRow.state == "pending", OutboxRow.next_attempt_at <= now(),
                                    OutboxRow.kind.in_(list(kinds)))
    if mailbox_id is not None:
        query = query.where(OutboxRow.mailbox_id == mailbox_id)
    rows = list(session.scalars(query.order_by(OutboxRow.id).limit(limit)))
    return sorted(rows, key=lambda r: (ORDER.get(r.kind, 99), r.id))


def payload(row: OutboxRow, crypto: Crypto) -> dict[str, Any]:
    return crypto.decrypt_json(row.payload_enc) if row.payload_enc else {}


def finish(session: Session, row: OutboxRow, state: str, *, outcome: str = "", **detail: Any) -> None:
    """Record the end of an action (done, refused, skipped) and audit it."""
    row.state, row.done_at = state, now()
    row.attempts += 1
    if detail:
        row.detail = {**row.detail, **detail}
    late = (row.done_at - row.created_at).total_seconds()
    audit(session, f"action_{state}", mailbox_id=row.mailbox_id, message_record_id=row.message_record_id,
          action_id=row.id, kind=row.kind, attempts=row.attempts, seconds_after_planned=round(late, 3),
          outcome=outcome, **detail)


def retry(session: Session, row: OutboxRow, error: str, *, max_attempts: int, retry_max_seconds: int,
          base_seconds: int = 5) -> bool:
    """A try failed: back off, or give up after max_attempts (True when it is now failed)."""
    row.attempts += 1
    row.last_error = error[:1000]
    if row.attempts >= max_attempts:
        row.state, row.done_at = "failed", now()
        audit(session, "action_failed", mailbox_id=row.mailbox_id, message_record_id=row.message_record_id,
              action_id=row.id, kind=row.kind, attempts=row.attempts, error_class=error.split(":", 1)[0])
        return True
    delay = min(retry_max_seconds, base_seconds * 2 ** min(row.attempts - 1, 16))
    row.next_attempt_at = now() + timedelta(seconds=delay)
    audit(session, "action_retry", mailbox_id=row.mailbox_id, message_record_id=row.message_record_id,
          action_id=row.id, kind=row.kind, attempts=row.attempts, retry_in_seconds=delay,
          error_class=error.split(":", 1)[0])
    return False


def counts(session: Session) -> dict[tuple[str, str], int]:
    rows = session.execute(select(OutboxRow.kind, OutboxRow.state, func.count()).group_by(OutboxRow.kind,
                                                                                         OutboxRow.state))
    return {(k, s): n for k, s, n in rows}


def first_alert_at(session: Session, record_id: int) -> datetime | None:
    return session.scalar(select(func.min(OutboxRow.done_at)).where(
        OutboxRow.message_record_id == record_id, OutboxRow.kind == "alert", OutboxRow.state == "done"))
