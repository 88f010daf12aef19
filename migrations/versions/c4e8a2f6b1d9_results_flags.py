"""results: flags (what a recruiter should check before trusting a score)

Revision ID: c4e8a2f6b1d9
Revises: e5b9f3a7c2d4
Create Date: 2026-12-02 02:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e8a2f6b1d9'
down_revision = 'e5b9f3a7c2d4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flags', sa.String(length=200), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.drop_column('flags')
