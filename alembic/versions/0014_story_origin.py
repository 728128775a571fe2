"""story origin: how each item joined its event (reprint or story link) and what it reprints

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 09:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('event_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('reprint_of', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('event_items', schema=None) as batch_op:
        batch_op.drop_column('reprint_of')
        batch_op.drop_column('link')
