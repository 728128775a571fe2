"""events and escalation log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 12:57:27.631903
"""

from alembic import op
import sqlalchemy as sa
import monitor.db.models


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('first_item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('first_outlet_id', sa.String(length=64), nullable=False),
    sa.Column('first_at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opened_at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_item_at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', monitor.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('updated_at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_level'), ['level'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_status_last_item_at'), ['status', 'last_item_at'], unique=False)

    op.create_table('escalations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_level', sa.String(length=8), nullable=True),
    sa.Column('to_level', sa.String(length=8), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_escalations_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalations'))
    )
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalations_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_escalations_event_id_at'), ['event_id', 'at'], unique=False)

    op.create_table('event_items',
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('joined_at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('similarity', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_items_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_event_items_item_id_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', name=op.f('pk_event_items'))
    )
    with op.batch_alter_table('event_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_items_event_id'), ['event_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('event_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_items_event_id'))

    op.drop_table('event_items')
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalations_event_id_at'))
        batch_op.drop_index(batch_op.f('ix_escalations_at'))

    op.drop_table('escalations')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_status_last_item_at'))
        batch_op.drop_index(batch_op.f('ix_events_level'))

    op.drop_table('events')
