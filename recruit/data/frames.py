"""The one bridge between the database and pandas: select(...) -> DataFrame.

Each column read here is defined once, with what it is read from (``_TESTS``, ``_PEOPLE``); the
column lists (``TEST_COLUMNS``, ``SCORE_COLUMNS``, ``PERSON_COLUMNS``) and the exports' columns
(recruit.services.exports.columns) are derived from them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from recruit.data.models import Campaign, Candidate, Invitation, Result, ScaleScore
from recruit.extensions import db

COMPOSITE = "composite"
# Which test a row of `scores` is: the invitation first (the rows' key), then its campaign and
# the form it took.
_TESTS = {
    "invitation_id": Result.invitation_id,
    "campaign_id": Invitation.campaign_id,
    "campaign": Campaign.title,
    "site": Campaign.site,
    "language": Campaign.language,
    "form_id": Result.form_id,
    "form_version": Result.form_version,
    "scoring_method": Result.scoring_method,
    "flags": Result.flags,
    "completed_at": Invitation.completed_at,
}
TEST_COLUMNS = list(_TESTS)
# Columns of `scores`, before the one column per scale.
SCORE_COLUMNS = [*TEST_COLUMNS, COMPOSITE]
# Who took a test: the columns of `people` besides invitation_id.
_PEOPLE = {
    "external_id": Candidate.external_id,
    "candidate_name": Candidate.name,
    "candidate_email": Candidate.email,
}
PERSON_COLUMNS = list(_PEOPLE)


def _read(query) -> pd.DataFrame:
    """The rows of a select as a frame, built column by column from plain tuples (pandas'
    from_records over SQLAlchemy rows probes every row for attributes: 5 to 10 times slower),
    through the Core connection (the ORM's row loading costs as much again). On PostgreSQL the
    rows come through COPY as CSV, parsed by pandas' C reader (``_copied``): the same frame,
    ten times faster over hundreds of thousands of rows."""
    connection = db.session.connection()  # Core: no ORM row loading
    if connection.dialect.name == "postgresql":
        return _copied(connection, query)
    return _rows(connection, query)


def _rows(connection: sa.Connection, query) -> pd.DataFrame:
    """``_read`` row by row, on any database."""
    result = connection.execute(query)
    names = list(result.keys())
    rows = result.all()
    if not rows:
        return pd.DataFrame(columns=names)
    return pd.DataFrame(dict(zip(names, zip(*rows, strict=True), strict=True)), columns=names)


_NULL = "\\N"  # how COPY writes NULL, apart from an empty text


def _copied(connection: sa.Connection, query) -> pd.DataFrame:
    """``_read`` on PostgreSQL: ``COPY (query) TO STDOUT`` as CSV into pandas, with each column
    typed as the row-by-row reading types it (text as str, timestamps as datetime64[us], and a
    column with no value at all as None), so that both give equal frames."""
    compiled = query.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    names = [column.name for column in query.selected_columns]
    kinds = {column.name: column.type for column in query.selected_columns}
    buffer = io.BytesIO()
    cursor = connection.connection.driver_connection.cursor()
    try:
        statement = f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv, NULL '{_NULL}')"
        with cursor.copy(statement, compiled.params) as copy:
            for block in copy:
                buffer.write(block)
    finally:
        cursor.close()
    if not buffer.tell():
        return pd.DataFrame(columns=names)
    buffer.seek(0)
    text = [n for n, kind in kinds.items() if isinstance(kind, sa.String)]
    frame = pd.read_csv(
        buffer,
        header=None,
        names=names,
        dtype=dict.fromkeys(text, str),
        na_values=[_NULL],
        keep_default_na=False,
    )
    for name, kind in kinds.items():
        column = frame[name]
        if not column.notna().any():
            frame[name] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        elif isinstance(kind, sa.DateTime):
            frame[name] = pd.to_datetime(column, format="ISO8601").astype("datetime64[us]")
    return frame


def scores(organisation_id: int, campaign_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Scores of the completed tests of an organisation's campaigns (all campaigns if None).

    Returns one row per scored invitation: the columns of SCORE_COLUMNS, then one column per
    scale id (0..100; NaN where the scale has no score), indexed by nothing in particular.
    """
    where = [Campaign.organisation_id == organisation_id]
    if campaign_ids is not None:
        where.append(Campaign.id.in_([int(i) for i in campaign_ids]))
    results = _read(
        sa.select(
            *(column.label(name) for name, column in _TESTS.items()),
            Result.composite.label(COMPOSITE),
        )
        .join(Invitation, Invitation.id == Result.invitation_id)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .where(*where)
        .order_by(Result.invitation_id)
    )
    if results.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    long = _read(
        sa.select(Result.invitation_id, ScaleScore.scale_id, ScaleScore.value)
        .join(ScaleScore, ScaleScore.result_id == Result.id)
        .join(Campaign, Campaign.id == Result.campaign_id)  # a result keeps its campaign
        .where(*where)
    )
    wide = long.pivot(index="invitation_id", columns="scale_id", values="value")
    wide.columns.name = None
    frame = results.merge(wide, left_on="invitation_id", right_index=True, how="left")
    frame[COMPOSITE] = frame[COMPOSITE].astype("float64")
    return frame


def people(
    organisation_id: int,
    campaign_ids: Sequence[int] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """Who took the scored tests of an organisation's campaigns (all campaigns if None), completed
    in [start, end) (naive UTC; None = open): one query.

    Returns invitation_id, then the columns of PERSON_COLUMNS, in no particular order.
    """
    query = (
        sa.select(
            Invitation.id.label("invitation_id"),
            *(column.label(name) for name, column in _PEOPLE.items()),
        )
        .join(Result, Result.invitation_id == Invitation.id)
        .join(Candidate, Candidate.id == Invitation.candidate_id)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .where(Campaign.organisation_id == organisation_id)
    )
    if campaign_ids is not None:
        query = query.where(Campaign.id.in_([int(i) for i in campaign_ids]))
    if start is not None:
        query = query.where(Invitation.completed_at >= start)
    if end is not None:
        query = query.where(Invitation.completed_at < end)
    rows = db.session.execute(query).all()
    return pd.DataFrame(rows, columns=["invitation_id", *PERSON_COLUMNS])
