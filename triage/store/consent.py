"""The consent registry in the store. Records are kept encrypted; a clinician's records are
few enough to be read whole and matched in memory."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from triage.clock import now
from triage.crypto import Crypto
from triage.registry import ConsentRecord
from triage.store.models import ConsentRow


def _to_json(record: ConsentRecord) -> dict[str, object]:
    out = dataclasses.asdict(record)
    for k, v in out.items():
        if isinstance(v, date):
            out[k] = v.isoformat()
    return out


def _from_json(data: dict[str, object]) -> ConsentRecord:
    kw = dict(data)
    for k in ("date_of_birth", "form_signed_on", "revoked_on"):
        kw[k] = date.fromisoformat(str(kw[k])) if kw.get(k) else None
    return ConsentRecord(**kw)  # type: ignore[arg-type]


def load(session: Session, crypto: Crypto, *, clinician: str | None = None) -> list[ConsentRecord]:
    query = select(ConsentRow).order_by(ConsentRow.clinician_email, ConsentRow.client_id)
    if clinician:
        query = query.where(ConsentRow.clinician_email == clinician.strip().lower())
    return [_from_json(crypto.decrypt_json(row.data_enc)) for row in session.scalars(query)]


def save(session: Session, crypto: Crypto, records: Sequence[ConsentRecord], *,
         replace: bool = False) -> dict[str, int]:
    """Merge records by (client_id, clinician_email); with replace, the registry becomes exactly these."""
    counts = {"added": 0, "updated": 0, "removed": 0}
    existing = {(r.client_id, r.clinician_email): r for r in session.scalars(select(ConsentRow))}
    incoming = {r.key for r in records}
    if replace:
        gone = [row.id for key, row in existing.items() if key not in incoming]
        if gone:
            session.execute(delete(ConsentRow).where(ConsentRow.id.in_(gone)))
        counts["removed"] = len(gone)
    t = now()
    for record in records:
        row = existing.get(record.key)
        data = crypto.encrypt_json(_to_json(record))
        if row is None:
            session.add(ConsentRow(client_id=record.client_id, clinician_email=record.clinician_email,
                                   data_enc=data, updated_at=t))
            counts["added"] += 1
        else:
            row.data_enc, row.updated_at = data, t
            counts["updated"] += 1
    return counts
