"""event reviews: the lessons of a post-incident review (复盘)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 09:30:00
"""

from alembic import op
import sqlalchemy as sa
import monitor.db.models


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'event_reviews',
        sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('lessons', sa.Text(), nullable=False),
        sa.Column('written_by', sa.String(length=100), nullable=False),
        sa.Column('updated_at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('event_id'),
    )


def downgrade() -> None:
    op.drop_table('event_reviews')
