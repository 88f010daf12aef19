"""The migrations build the schema the models describe, on SQLite and on PostgreSQL."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from recruit.extensions import db
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
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        db.engine.dispose()
    assert diff == []


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
