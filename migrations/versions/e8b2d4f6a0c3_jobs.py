"""jobs: long work done off the request by a worker (exports, imports, rescoring, norms)

Revision ID: e8b2d4f6a0c3
Revises: d7a1c3e5f9b2
Create Date: 2026-12-03 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e8b2d4f6a0c3'
down_revision = 'd7a1c3e5f9b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('api_key_id', sa.Integer(), nullable=True),
        sa.Column('role', sa.String(length=10), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('parameters', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('rows_done', sa.Integer(), nullable=False),
        sa.Column('rows_total', sa.Integer(), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('file_path', sa.String(length=500), nullable=True),
        sa.Column('file_name', sa.String(length=200), nullable=True),
        sa.Column('file_type', sa.String(length=120), nullable=True),
        sa.Column('file_size', sa.BigInteger(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_by', sa.String(length=120), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed', 'expired')",
            name=op.f('ck_jobs_status'),
        ),
        sa.CheckConstraint("role IN ('admin', 'recruiter', 'hr')", name=op.f('ck_jobs_role')),
        sa.ForeignKeyConstraint(
            ['api_key_id'], ['api_keys.id'], name=op.f('fk_jobs_api_key_id_api_keys')
        ),
        sa.ForeignKeyConstraint(
            ['organisation_id'], ['organisations.id'], name=op.f('fk_jobs_organisation_id_organisations')
        ),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_jobs_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_status_heartbeat_at', ['status', 'heartbeat_at'], unique=False)
        batch_op.create_index(
            'ix_jobs_organisation_id_user_id_created_at',
            ['organisation_id', 'user_id', 'created_at'],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_organisation_id_user_id_created_at')
        batch_op.drop_index('ix_jobs_status_heartbeat_at')
    op.drop_table('jobs')
