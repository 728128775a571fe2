"""event keyword groups

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 13:37:04.480294
"""

from alembic import op
import sqlalchemy as sa
import monitor.db.models


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event_groups',
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('group_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_groups_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'group_id', name=op.f('pk_event_groups'))
    )
    with op.batch_alter_table('event_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_groups_group_id'), ['group_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('event_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_groups_group_id'))

    op.drop_table('event_groups')
