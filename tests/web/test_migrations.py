"""The migrations build the schema the models describe, on SQLite and on PostgreSQL."""

import warnings
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy.exc import IntegrityError

from recruit.data import questions
from recruit.data.models import Campaign, Candidate, Invitation, utcnow
from recruit.extensions import db
from recruit.services import invitations
from tests.conftest import create_pg_database, make_app


def _check_head_and_no_diff(url):
    app = make_app(url)
    with app.app_context():
        upgrade()
        upgrade()  # a second upgrade is a no-op
        head = ScriptDirectory.from_config(
            app.extensions["migrate"].migrate.get_config()
        ).get_current_head()
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == head
            with warnings.catch_warnings():
                # SQLite's reflection cannot read expression indexes: alembic skips comparing
                # this one there; its definition is checked below on both databases instead.
                warnings.filterwarnings(
                    "ignore",
                    message=f"autogenerate skipping .* '{UNIQUE_EMAIL}'",
                    category=UserWarning,
                )
                warnings.filterwarnings(
                    "ignore",
                    message=f"Skipped unsupported reflection of expression-based index "
                    f"{UNIQUE_EMAIL}",
                    category=sa.exc.SAWarning,
                )
                diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
            definition = _index_sql(conn, UNIQUE_EMAIL)
        db.engine.dispose()
    assert diff == []
    # "lower(email)" on SQLite, "lower((email)::text)" on PostgreSQL.
    compact = " ".join(
        definition.lower().replace('"', "").replace("::text", "").replace("(", " ").split()
    ).replace(")", "")
    assert "unique index" in compact
    assert "organisation_id, lower email" in compact and "anonymised_at is null" in compact


UNIQUE_EMAIL = "uq_candidates_organisation_email"


def _index_sql(conn, name: str) -> str:
    if conn.dialect.name == "sqlite":
        query = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"
    else:
        query = "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
    return conn.scalar(sa.text(query), {"name": name}) or ""


def test_sqlite_empty_database_upgrades_to_head_matching_the_models(tmp_path):
    _check_head_and_no_diff(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")


def test_postgresql_empty_database_upgrades_to_head_matching_the_models(pg_server):
    _check_head_and_no_diff(create_pg_database(pg_server, "recruit_migrations"))


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'wal.sqlite3'}")
    with app.app_context(), db.engine.connect() as conn:
        assert conn.scalar(sa.text("PRAGMA journal_mode")) == "wal"
        assert conn.scalar(sa.text("PRAGMA foreign_keys")) == 1
        db.engine.dispose()


def _old_organisation(name: str) -> SimpleNamespace:
    organisation_id = db.session.execute(
        sa.text("INSERT INTO organisations (name, created_at) VALUES (:name, :now) RETURNING id"),
        {"name": name, "now": utcnow()},
    ).scalar_one()
    return SimpleNamespace(id=organisation_id)


def test_the_upgrade_merges_one_persons_candidates_then_keeps_them_one(database_url, request):
    # A database from before the unique index: the same person as three rows in one
    # organisation (one in another letter case, one with the ATS id), an anonymised row with
    # the same (emptied) email as another, and the same email in another organisation.
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{request.getfixturevalue('tmp_path') / 'old.sqlite3'}"
    else:
        url = create_pg_database(request.getfixturevalue("pg_server"), "recruit_merge")
    app = make_app(url)
    with app.app_context():
        upgrade(revision="f2327b8019c7")
        form = questions.bank(app).get("mini", "fr")
        # Organisations as that revision knew them (the model has columns added since).
        acme, other = (_old_organisation(name) for name in ("Acme", "Other"))
        campaign, elsewhere = (
            Campaign(organisation_id=org.id, title=form.title, form_id="mini", language="fr")
            for org in (acme, other)
        )
        db.session.add_all([campaign, elsewhere])
        people = [
            Candidate(organisation_id=acme.id, name="Ana", email="ana@example.org"),
            Candidate(organisation_id=acme.id, name="Ana L.", email="Ana@Example.org"),
            Candidate(
                organisation_id=acme.id, name="Ana", email="ana@example.org", external_id="X1"
            ),
            Candidate(organisation_id=acme.id, name="", email="", anonymised_at=utcnow()),
            Candidate(organisation_id=acme.id, name="", email="", anonymised_at=utcnow()),
            Candidate(organisation_id=other.id, name="Ana", email="ana@example.org"),
        ]
        db.session.add_all(people)
        db.session.flush()
        for person in people:
            invitations.invite(
                elsewhere if person.organisation_id == other.id else campaign, person, days=14
            )
        ids = [person.id for person in people]
        db.session.commit()

        upgrade()

        kept = db.session.scalars(sa.select(Candidate).order_by(Candidate.id)).all()
        assert [c.id for c in kept] == [ids[0], ids[3], ids[4], ids[5]]
        assert kept[0].external_id == "X1"  # taken from the merged row that had it
        owners = db.session.scalars(sa.select(Invitation.candidate_id)).all()
        assert sorted(owners) == sorted([ids[0]] * 3 + [ids[3], ids[4], ids[5]])
        db.session.add(Candidate(organisation_id=acme.id, name="Ana", email="ANA@example.org"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()
