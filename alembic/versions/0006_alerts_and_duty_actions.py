"""alerts and duty actions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 13:12:13.178974
"""

from alembic import op
import sqlalchemy as sa
import monitor.db.models


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('escalation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('assignee', sa.String(length=100), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('published_at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('fetched_at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('analysed_at', monitor.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('alerted_at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('pushed_at', monitor.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', monitor.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', monitor.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['escalation_id'], ['escalations.id'], name=op.f('fk_alerts_escalation_id_escalations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_alerts_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_alerted_at'), ['alerted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_status_level'), ['status', 'level'], unique=False)

    op.create_table('alert_actions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('alert_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_actions_alert_id_alerts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_actions'))
    )
    with op.batch_alter_table('alert_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_actions_alert_id_at'), ['alert_id', 'at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('alert_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_actions_alert_id_at'))

    op.drop_table('alert_actions')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_status_level'))
        batch_op.drop_index(batch_op.f('ix_alerts_event_id'))
        batch_op.drop_index(batch_op.f('ix_alerts_alerted_at'))

    op.drop_table('alerts')
