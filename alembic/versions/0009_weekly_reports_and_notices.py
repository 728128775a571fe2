"""weekly reports, and outbox messages that are not about one alert (notices)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 15:20:00
"""

from alembic import op
import sqlalchemy as sa
import monitor.db.models


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', monitor.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', monitor.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('figures', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('week', name=op.f('uq_reports_week'))
    )
    op.create_table('report_files',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_files_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'format', name=op.f('pk_report_files'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payload', sa.JSON(), nullable=True))
        batch_op.alter_column('alert_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.alter_column('alert_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False)
        batch_op.drop_column('payload')
    op.drop_table('report_files')
    op.drop_table('reports')
