"""assessments: the decision for each recorded message

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'assessments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_record_id', sa.Integer(), nullable=False),
        sa.Column('mailbox_id', sa.Integer(), nullable=False),
        sa.Column('assessed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('priority', sa.Integer(), nullable=False),
        sa.Column('flags', sa.String(length=200), nullable=False),
        sa.Column('standards', sa.String(length=200), nullable=False),
        sa.Column('emergent', sa.Boolean(), nullable=False),
        sa.Column('emergent_score', sa.Float(), nullable=False),
        sa.Column('emergent_kind', sa.String(length=32), nullable=False),
        sa.Column('hipaa_rights', sa.String(length=200), nullable=False),
        sa.Column('purpose', sa.String(length=32), nullable=False),
        sa.Column('clinical_question', sa.Boolean(), nullable=False),
        sa.Column('multiple_clients', sa.Boolean(), nullable=False),
        sa.Column('consent', sa.String(length=16), nullable=False),
        sa.Column('consent_failures', sa.String(length=100), nullable=False),
        sa.Column('email_reply_allowed', sa.Boolean(), nullable=False),
        sa.Column('automated', sa.Boolean(), nullable=False),
        sa.Column('detector', sa.String(length=64), nullable=False),
        sa.Column('detail_enc', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['mailbox_id'], ['mailboxes.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['message_record_id'], ['messages.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_record_id'),
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index('ix_assessments_queue', ['mailbox_id', 'priority'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index('ix_assessments_queue')
    op.drop_table('assessments')
