"""page times: the stamp of the last view counted

Each page view is counted once: a save replaying the signed "shown" stamp of a view already
counted (or an older one) adds no seconds and no visit. Rows written before have none: their
next view counts.

Revision ID: b3d5f7a9c1e2
Revises: a7c3e9d41f20
Create Date: 2026-12-01 20:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3d5f7a9c1e2'
down_revision = 'a7c3e9d41f20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('page_times', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_shown_at', sa.Double(), nullable=True))


def downgrade():
    with op.batch_alter_table('page_times', schema=None) as batch_op:
        batch_op.drop_column('last_shown_at')
