"""item analyses

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 12:36:20.378590
"""

from alembic import op
import sqlalchemy as sa
import monitor.db.models


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('item_analyses',
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('library_version', sa.String(length=32), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('negative_prob', sa.Float(), nullable=False),
    sa.Column('item_negative_prob', sa.Float(), nullable=False),
    sa.Column('keyword_strength', sa.Float(), nullable=False),
    sa.Column('risk', sa.Integer(), nullable=False),
    sa.Column('hits', sa.JSON(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('analysed_at', monitor.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_analyses_item_id_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', name=op.f('pk_item_analyses'))
    )
    with op.batch_alter_table('item_analyses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_analyses_analysed_at'), ['analysed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_analyses_library_version'), ['library_version'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_analyses_risk'), ['risk'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('item_analyses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_analyses_risk'))
        batch_op.drop_index(batch_op.f('ix_item_analyses_library_version'))
        batch_op.drop_index(batch_op.f('ix_item_analyses_analysed_at'))

    op.drop_table('item_analyses')
