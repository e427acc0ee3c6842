"""audit trail: hash chain (prev_hash, hash), existing entries sealed in id order

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=False, server_default=''))
    # Seal what is already there, exactly as triage.store.audit does for new entries.
    bind = op.get_bind()
    audit = sa.table('audit', sa.column('id', sa.Integer), sa.column('at', sa.DateTime(timezone=True)),
                     sa.column('actor', sa.String), sa.column('action', sa.String),
                     sa.column('mailbox_id', sa.Integer), sa.column('message_record_id', sa.Integer),
                     sa.column('detail', sa.JSON), sa.column('prev_hash', sa.String), sa.column('hash', sa.String))
    prev = "0" * 64
    for row in bind.execute(sa.select(audit).order_by(audit.c.id)).mappings():
        at = row["at"]
        if isinstance(at, str):
            at = datetime.fromisoformat(at)
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        content = json.dumps([row["id"], at.isoformat(timespec="microseconds"), row["actor"], row["action"],
                              row["mailbox_id"], row["message_record_id"], row["detail"] or {}],
                             sort_keys=True, separators=(",", ":"), default=str).encode()
        digest = hashlib.sha256(prev.encode() + b"\n" + content).hexdigest()
        bind.execute(sa.update(audit).where(audit.c.id == row["id"]).values(prev_hash=prev, hash=digest))
        prev = digest


def downgrade() -> None:
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
