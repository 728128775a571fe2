"""hot lists: snapshots, the stories on each list, and their rank history

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 10:00:00
"""

from alembic import op
import sqlalchemy as sa
import monitor.db.models


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'hotlist_snapshots',
        sa.Column('id', _ID, nullable=False),
        sa.Column('outlet_id', sa.String(length=64), nullable=False),
        sa.Column('taken_at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('entry_count', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'ix_hotlist_snapshots_outlet_id_taken_at', 'hotlist_snapshots', ['outlet_id', 'taken_at']
    )
    op.create_table(
        'hotlist_entries',
        sa.Column('id', _ID, nullable=False),
        sa.Column('outlet_id', sa.String(length=64), nullable=False),
        sa.Column('url_hash', sa.String(length=64), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('first_seen_at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('first_rank', sa.Integer(), nullable=False),
        sa.Column('best_rank', sa.Integer(), nullable=False),
        sa.Column('best_rank_at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_rank', sa.Integer(), nullable=False),
        sa.Column('peak_heat', sa.Float(), nullable=True),
        sa.Column('last_heat', sa.Float(), nullable=True),
        sa.Column('seconds_on_list', sa.Integer(), nullable=False),
        sa.Column('snapshots', sa.Integer(), nullable=False),
        sa.Column('on_list', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('outlet_id', 'url_hash'),
    )
    op.create_index('ix_hotlist_entries_url_hash', 'hotlist_entries', ['url_hash'])
    op.create_index('ix_hotlist_entries_outlet_id_on_list', 'hotlist_entries', ['outlet_id', 'on_list'])
    op.create_table(
        'hotlist_ranks',
        sa.Column('snapshot_id', _ID, nullable=False),
        sa.Column('entry_id', _ID, nullable=False),
        sa.Column('rank', sa.Integer(), nullable=False),
        sa.Column('heat', sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(['snapshot_id'], ['hotlist_snapshots.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['entry_id'], ['hotlist_entries.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('snapshot_id', 'entry_id'),
    )
    op.create_index('ix_hotlist_ranks_entry_id', 'hotlist_ranks', ['entry_id'])


def downgrade() -> None:
    op.drop_table('hotlist_ranks')
    op.drop_table('hotlist_entries')
    op.drop_table('hotlist_snapshots')
