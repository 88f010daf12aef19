"""The one bridge between the database and pandas: select(...) -> DataFrame."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import sqlalchemy as sa

from recruit.data.models import Campaign, Invitation, Result, ScaleScore
from recruit.extensions import db

COMPOSITE = "composite"
# Columns of `scores`, before the one column per scale.
SCORE_COLUMNS = [
    "invitation_id",
    "campaign_id",
    "campaign",
    "site",
    "language",
    "form_id",
    "form_version",
    "scoring_method",
    "completed_at",
    COMPOSITE,
]


def _read(query) -> pd.DataFrame:
    result = db.session.execute(query)
    return pd.DataFrame.from_records(list(result), columns=list(result.keys()))


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
            Result.invitation_id,
            Invitation.campaign_id,
            Campaign.title.label("campaign"),
            Campaign.site,
            Campaign.language,
            Result.form_id,
            Result.form_version,
            Result.scoring_method,
            Invitation.completed_at,
            Result.composite.label(COMPOSITE),
        )
        .join(Invitation, Invitation.id == Result.invitation_id)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .where(*where)
        .order_by(Result.invitation_id)
    )
    long = _read(
        sa.select(Result.invitation_id, ScaleScore.scale_id, ScaleScore.value)
        .join(ScaleScore, ScaleScore.result_id == Result.id)
        .join(Invitation, Invitation.id == Result.invitation_id)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .where(*where)
    )
    if results.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    wide = long.pivot(index="invitation_id", columns="scale_id", values="value")
    wide.columns.name = None
    frame = results.merge(wide, left_on="invitation_id", right_index=True, how="left")
    frame[COMPOSITE] = frame[COMPOSITE].astype("float64")
    return frame
