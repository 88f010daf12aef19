"""candidates: one per person and organisation

Merges the candidates of one organisation whose emails differ only in letter case (or not at
all) into the oldest row: their invitations move to it, and it takes an ATS id it lacked from a
merged row. Anonymised rows (empty email) are left as they are. Then a unique index on
(organisation_id, lower(email)) for the rows not anonymised keeps it so. The merge cannot be
undone; the downgrade only drops the index.

Revision ID: a7c3e9d41f20
Revises: f2327b8019c7
Create Date: 2026-11-27 07:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e9d41f20'
down_revision = 'f2327b8019c7'
branch_labels = None
depends_on = None

LIVE = "anonymised_at IS NULL"


def upgrade():
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, organisation_id, lower(email), external_id FROM candidates "
            f"WHERE {LIVE} ORDER BY id"
        )
    ).all()
    kept = {}
    for candidate_id, organisation_id, email, external_id in rows:
        key = (organisation_id, email)
        if key not in kept:
            kept[key] = [candidate_id, external_id]
            continue
        keep = kept[key]
        conn.execute(
            sa.text("UPDATE invitations SET candidate_id = :keep WHERE candidate_id = :merged"),
            {"keep": keep[0], "merged": candidate_id},
        )
        if keep[1] is None and external_id is not None:
            conn.execute(
                sa.text("UPDATE candidates SET external_id = :ext WHERE id = :keep"),
                {"ext": external_id, "keep": keep[0]},
            )
            keep[1] = external_id
        conn.execute(sa.text("DELETE FROM candidates WHERE id = :merged"), {"merged": candidate_id})
    op.create_index(
        "uq_candidates_organisation_email",
        "candidates",
        ["organisation_id", sa.text("lower(email)")],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )


def downgrade():
    op.drop_index("uq_candidates_organisation_email", table_name="candidates")
