"""api tokens

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 13:10:01.229832
"""

from alembic import op
import sqlalchemy as sa
import monitor.db.models


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', monitor.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', monitor.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('name', name=op.f('uq_api_tokens_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )


def downgrade() -> None:
    op.drop_table('api_tokens')
