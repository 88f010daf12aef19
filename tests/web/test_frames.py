"""frames reads the same frame however the rows travel: row by row (SQLite, and the reference)
or through COPY as CSV (PostgreSQL), with awkward text, missing values and timestamps."""

from __future__ import annotations

import random

import pandas as pd
import sqlalchemy as sa

from recruit.data import frames, questions
from recruit.data.models import Campaign, Candidate, Invitation, Result
from recruit.extensions import db
from recruit.services import invitations
from tests.conftest import complete_invitation, make_invitation, random_responses

AWKWARD = 'Caisse, "Nord"\nnuit ; 50 % \\N'


def test_copy_and_rows_read_the_same_frame(app):
    form = questions.bank(app).get("mini", "fr")
    rng = random.Random(5)
    names = ["Zoé N'Diaye", "", "0042"]
    for i, name in enumerate(names):
        token = make_invitation(app, campaign=AWKWARD, email=f"p{i}@example.org", name=name)
        complete_invitation(app, token, random_responses(form, rng))
    make_invitation(app, campaign=AWKWARD, email="late@example.org")  # not completed
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.title == AWKWARD))
        campaign.site = ""  # an empty text, not a missing one
        first = db.session.scalar(sa.select(Candidate).where(Candidate.email == "p0@example.org"))
        first.external_id = "007"  # digits, kept as text
        db.session.commit()
        query = (
            sa.select(
                Invitation.id.label("invitation_id"),
                Campaign.title.label("campaign"),
                Campaign.site.label("site"),
                Candidate.name.label("name"),
                Candidate.external_id.label("external_id"),
                Invitation.completed_at.label("completed_at"),
                Result.composite.label("composite"),
            )
            .join(Campaign, Campaign.id == Invitation.campaign_id)
            .join(Candidate, Candidate.id == Invitation.candidate_id)
            .outerjoin(Result, Result.invitation_id == Invitation.id)
            .order_by(Invitation.id)
        )
        read = frames._read(query)
        rows = frames._rows(db.session.connection(), query)
        pd.testing.assert_frame_equal(read, rows)
        assert list(read["campaign"]) == [AWKWARD] * 4
        assert list(read["name"]) == [*names, "Dominique Test"]
        assert list(read["site"]) == [""] * 4
        assert read["external_id"].iloc[0] == "007" and read["external_id"].iloc[1:].isna().all()
        everyone = frames._read(query.with_only_columns(Candidate.external_id.label("x")))
        assert everyone["x"].isna().sum() == 3
        assert read["completed_at"].notna().sum() == 3 and pd.isna(read["completed_at"].iloc[3])
        assert read["composite"].notna().sum() == 3
        organisation_id = invitations.find_organisation("Acme").id
        scores = frames.scores(organisation_id, [campaign.id])
        assert len(scores) == 3 and scores["invitation_id"].is_monotonic_increasing
        stored = dict(db.session.execute(sa.select(Result.invitation_id, Result.composite)).all())
        assert dict(zip(scores["invitation_id"], scores["composite"], strict=True)) == stored
        nothing = frames._read(query.where(Invitation.id < 0))
        assert nothing.empty and list(nothing.columns) == list(read.columns)
