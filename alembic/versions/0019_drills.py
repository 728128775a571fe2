"""drills (应急演练): the drill runs, and the marker on the items and events a drill played

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 11:40:00
"""

from alembic import op
import sqlalchemy as sa

import monitor.db.models


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'drills',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('level', sa.String(length=8), nullable=False),
        sa.Column('story', sa.String(length=200), nullable=False),
        sa.Column('started_by', sa.String(length=100), nullable=False),
        sa.Column('started_at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('items', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_drills')),
    )
    # Nullable and without an index on items: real items (all but a few) carry NULL, and the
    # marker is read only as a filter beside other conditions; events are few and filtered often.
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('drill_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('drill_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_events_drill_id'), ['drill_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_drill_id'))
        batch_op.drop_column('drill_id')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('drill_id')
    op.drop_table('drills')
