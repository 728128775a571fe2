"""operator overrides of event levels

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 13:05:30.483997
"""

from alembic import op
import sqlalchemy as sa
import monitor.db.models


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overruled_level', sa.String(length=8), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('overruled_level')

