"""item body retention: when an item's raw text was pruned

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 15:10:00
"""

from alembic import op
import sqlalchemy as sa
import monitor.db.models


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pruned_at', monitor.db.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('pruned_at')
