"""results: the campaign index holds the result id too (score stamps read from the index alone)

Revision ID: f3c5e7a9b1d4
Revises: e8b2d4f6a0c3
Create Date: 2026-12-04 09:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f3c5e7a9b1d4'
down_revision = 'e8b2d4f6a0c3'
branch_labels = None
depends_on = None


def upgrade():
    # The score cache's stamp reads, per campaign, the count, the latest scored_at and the
    # highest id of its results; with the id in the index, PostgreSQL answers from the index
    # alone instead of reading every result row (1.2 GB at a million results).
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.create_index(
            'ix_results_campaign_id_form_version_scored_at_id',
            ['campaign_id', 'form_version', 'scored_at', 'id'],
            unique=False,
        )
        batch_op.drop_index('ix_results_campaign_id_form_version_scored_at')


def downgrade():
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.create_index(
            'ix_results_campaign_id_form_version_scored_at',
            ['campaign_id', 'form_version', 'scored_at'],
            unique=False,
        )
        batch_op.drop_index('ix_results_campaign_id_form_version_scored_at_id')
