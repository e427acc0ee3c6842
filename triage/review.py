"""The review queue: what clinicians and supervisors do with an item (a flagged message).

An item is named by its message's record id (the number in alerts, notes and links).
This module owns the queries; the command line and the web pages call it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.clock import now
from triage.errors import TriageError
from triage.store.ledger import audit
from triage.store.models import AssessmentRow


class ItemError(TriageError):
    """No such item, or the action does not apply to it."""


def acknowledge(session: Session, item: int, who: str) -> bool:
    """Record that someone has seen the item and is acting on it (it stops an emergent item's escalation).
    False when it was already acknowledged (the first acknowledgement stands)."""
    row = session.scalar(select(AssessmentRow).where(AssessmentRow.message_record_id == item))
    if row is None:
        raise ItemError(f"no item {item}")
    if row.acknowledged_at is not None:
        return False
    row.acknowledged_at, row.acknowledged_by = now(), who
    audit(session, "item_acknowledged", actor=who, mailbox_id=row.mailbox_id, message_record_id=item,
          emergent=row.emergent)
    return True
