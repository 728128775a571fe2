"""delivery attempt requests: how many HTTP requests an attempt made

A WeCom push that mentions by mobile number is two requests; the vendors' rate limits count
requests, so the worker sums this column, not attempts.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 09:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requests', sa.Integer(), nullable=False, server_default='1'))


def downgrade() -> None:
    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.drop_column('requests')
