"""The baseline of bench_answers.py: a bare Flask app whose one route inserts one row.

    DATABASE_URL=sqlite:////tmp/bare.sqlite3 gunicorn --chdir tests/benchmarks bare_wsgi:app

POST /insert stores the posted form as one JSON row with the SQLAlchemy ORM, in one transaction,
and answers 303 like the candidate's page save. The engine has recruit's options (pool_pre_ping)
and, on SQLite, recruit's connection pragmas (WAL, foreign keys, busy_timeout 10 s). No CSRF, no
session, no template: the least a request that writes one row through Flask and SQLAlchemy costs.
The table is created by the benchmark before gunicorn starts (`create_table`).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, redirect, request
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "bench_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    payload: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime]


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def create_table(url: str) -> None:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()


def create_app(url: str) -> Flask:
    engine = make_engine(url)
    app = Flask(__name__)

    @app.get("/ready")
    def ready():
        return "ok"

    @app.post("/insert")
    def insert():
        with Session(engine) as session, session.begin():
            now = datetime.now(UTC).replace(tzinfo=None)
            session.add(Row(payload=request.form.to_dict(), created_at=now))
        return redirect("/done", 303)

    return app


if os.environ.get("DATABASE_URL"):
    app = create_app(os.environ["DATABASE_URL"])
