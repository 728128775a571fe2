"""volume anomalies (one row per series and burst) and hot-story snapshots

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 12:00:00
"""

from alembic import op
import sqlalchemy as sa
import monitor.db.models


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_AT = monitor.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'volume_anomalies',
        sa.Column('id', _ID, nullable=False),
        sa.Column('series_by', sa.String(length=8), nullable=False),
        sa.Column('series_key', sa.String(length=64), nullable=False),
        sa.Column('started_at', _AT, nullable=False),
        sa.Column('last_hour', _AT, nullable=False),
        sa.Column('peak_count', sa.Integer(), nullable=False),
        sa.Column('expected', sa.Float(), nullable=False),
        sa.Column('upper', sa.Float(), nullable=False),
        sa.Column('raised_at', _AT, nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('series_by', 'series_key', 'started_at'),
    )
    op.create_index('ix_volume_anomalies_series_by_series_key_last_hour', 'volume_anomalies',
                    ['series_by', 'series_key', 'last_hour'])
    op.create_index('ix_volume_anomalies_raised_at', 'volume_anomalies', ['raised_at'])
    op.create_table(
        'trending_snapshots',
        sa.Column('id', _ID, nullable=False),
        sa.Column('made_at', _AT, nullable=False),
        sa.Column('items_indexed', sa.Integer(), nullable=False),
        sa.Column('stories', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_trending_snapshots_made_at', 'trending_snapshots', ['made_at'])


def downgrade() -> None:
    op.drop_index('ix_trending_snapshots_made_at', table_name='trending_snapshots')
    op.drop_table('trending_snapshots')
    op.drop_index('ix_volume_anomalies_raised_at', table_name='volume_anomalies')
    op.drop_index('ix_volume_anomalies_series_by_series_key_last_hour', table_name='volume_anomalies')
    op.drop_table('volume_anomalies')
