"""results: campaign_id, stored item scores and picks; item_moments (item statistics kept per campaign)

Revision ID: d7a1c3e5f9b2
Revises: c4e8a2f6b1d9
Create Date: 2026-12-02 09:00:00

"""
import contextlib
import warnings

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7a1c3e5f9b2'
down_revision = 'c4e8a2f6b1d9'
branch_labels = None
depends_on = None


@contextlib.contextmanager
def _quiet_reflection():
    """SQLite's batch mode reflects the tables the results refer to; the candidates' expression
    index cannot be reflected there (and is not touched here)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection", category=sa.exc.SAWarning)
        yield


def upgrade():
    with _quiet_reflection(), op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('item_scores', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('picks', sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_results_campaign_id_campaigns'), 'campaigns', ['campaign_id'], ['id']
        )
        batch_op.create_index(
            'ix_results_campaign_id_form_version_scored_at',
            ['campaign_id', 'form_version', 'scored_at'],
            unique=False,
        )
    op.create_index(
        'ix_invitations_campaign_id_created_at',
        'invitations',
        ['campaign_id', 'created_at', 'status', 'started_at', 'expires_at'],
        unique=False,
    )
    # Item scores of earlier results stay None (they are re-derived from the answers until
    # `recruit rescore` stores them); their campaign is copied from the invitation.
    op.execute(
        'UPDATE results SET campaign_id = '
        '(SELECT invitations.campaign_id FROM invitations WHERE invitations.id = results.invitation_id)'
    )
    op.create_table(
        'item_moments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('form_version', sa.String(length=16), nullable=False),
        sa.Column('current_version', sa.String(length=16), nullable=False),
        sa.Column('stamp', sa.String(length=80), nullable=False),
        sa.Column('content', sa.JSON(), nullable=False),
        sa.Column('built_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['campaign_id'], ['campaigns.id'], name=op.f('fk_item_moments_campaign_id_campaigns')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_item_moments')),
        sa.UniqueConstraint(
            'campaign_id',
            'form_version',
            'current_version',
            name=op.f('uq_item_moments_campaign_id'),
        ),
    )


def downgrade():
    op.drop_table('item_moments')
    op.drop_index('ix_invitations_campaign_id_created_at', table_name='invitations')
    with _quiet_reflection(), op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.drop_index('ix_results_campaign_id_form_version_scored_at')
        batch_op.drop_constraint(batch_op.f('fk_results_campaign_id_campaigns'), type_='foreignkey')
        batch_op.drop_column('picks')
        batch_op.drop_column('item_scores')
        batch_op.drop_column('campaign_id')
