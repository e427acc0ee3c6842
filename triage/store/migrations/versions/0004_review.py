"""review queue: resolution of items, rights-request workflow, label corrections

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolved_by', sa.String(length=320), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('resolution_enc', sa.LargeBinary(), nullable=True))
    op.create_table(
        'rights_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_record_id', sa.Integer(), nullable=False),
        sa.Column('right', sa.String(length=32), nullable=False),
        sa.Column('state', sa.String(length=24), nullable=False),
        sa.Column('forms_sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('forms_sent_by', sa.String(length=320), nullable=False),
        sa.Column('signed_form_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('signed_form_by', sa.String(length=320), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_by', sa.String(length=320), nullable=False),
        sa.Column('extended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('extended_by', sa.String(length=320), nullable=False),
        sa.Column('extension_reason_enc', sa.LargeBinary(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['message_record_id'], ['messages.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_record_id', 'right', name='uq_rights_request'),
    )
    with op.batch_alter_table('rights_requests', schema=None) as batch_op:
        batch_op.create_index('ix_rights_requests_state', ['state'], unique=False)
    op.create_table(
        'label_corrections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_record_id', sa.Integer(), nullable=False),
        sa.Column('mailbox_id', sa.Integer(), nullable=False),
        sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('corrected_by', sa.String(length=320), nullable=False),
        sa.Column('emergent', sa.Boolean(), nullable=True),
        sa.Column('hipaa_rights', sa.String(length=200), nullable=True),
        sa.Column('purpose', sa.String(length=32), nullable=True),
        sa.Column('clinical_question', sa.Boolean(), nullable=True),
        sa.Column('before', sa.JSON(), nullable=False),
        sa.Column('evidence_enc', sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(['mailbox_id'], ['mailboxes.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['message_record_id'], ['messages.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('label_corrections', schema=None) as batch_op:
        batch_op.create_index('ix_label_corrections_item', ['message_record_id'], unique=False)
        batch_op.create_index('ix_label_corrections_at', ['corrected_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('label_corrections', schema=None) as batch_op:
        batch_op.drop_index('ix_label_corrections_at')
        batch_op.drop_index('ix_label_corrections_item')
    op.drop_table('label_corrections')
    with op.batch_alter_table('rights_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_rights_requests_state')
    op.drop_table('rights_requests')
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_column('resolution_enc')
        batch_op.drop_column('resolved_by')
        batch_op.drop_column('resolved_at')
