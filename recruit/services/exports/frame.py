"""The export's rows, read from the database: one per completed test, with its context.

``export_frame`` gives the rows (the columns of ``columns.export_columns``) and an
``ExportContext``: what the workbook's other sheets show (the campaigns, the scales, the norm
table, the form versions, the item statistics). No commits here.

Normalized scores are those of ``results.normalized_scores`` on the whole of each chosen
campaign: the date filter selects rows afterwards, so a candidate's T-score in the export is the
one the shortlist shows, whatever period is exported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from recruit.core import norms
from recruit.core.bank import Bank
from recruit.data import frames, questions
from recruit.data.models import Campaign, Invitation, Organisation, Result, utcnow
from recruit.extensions import db
from recruit.services import results
from recruit.services.exports.columns import (
    COMPOSITE,
    ID_COLUMNS,
    NORM_COLUMNS,
    SCALE_HEADERS,
    export_columns,
    round_scores,
)
from recruit.services.exports.items import item_tables


@dataclass(frozen=True)
class ExportFilters:
    """Which completed tests an export holds, and on which norm."""

    campaign_ids: tuple[int, ...] | None = None  # None = every campaign of the organisation
    date_from: date | None = None  # on completed_at (UTC), inclusive
    date_to: date | None = None  # inclusive
    norm: str = "campaign"  # campaign | pooled | reference (see results.NORMS)
    method: str = "standard"  # standard | robust (see norms.METHODS)
    min_pool: int = 30  # smaller pools are provisional (see norms.fit_norms)


@dataclass(frozen=True)
class ExportContext:
    """What the workbook's sheets other than the candidates need, and the API may show."""

    organisation: str
    filters: ExportFilters
    exported_at: datetime  # naive UTC, like every time in the database
    norm: results.NormInfo
    # One row per pool and scale used by the rows: pool, then norms.TABLE_COLUMNS.
    norm_table: pd.DataFrame
    # form_id, language, scale, label, short, description, weight: the bank's scales of the
    # forms of the chosen campaigns.
    scales: pd.DataFrame
    # campaign_id, campaign, site, form_id, language: the campaigns the filters chose.
    campaigns: pd.DataFrame
    # form_id, language, form_version, n: the form versions the rows were scored with.
    form_versions: pd.DataFrame
    scoring_methods: tuple[str, ...]
    scale_ids: tuple[str, ...]  # the composite, then the scales, in column order
    rows: int
    # form_id, language, item, scale, format, n, mean, sd, item_rest_r, alpha_if_deleted,
    # negative (see norms.item_statistics); None when export_frame was asked not to compute it.
    item_statistics: pd.DataFrame | None = None
    # form_id, language, form_version, alpha, ci_low, ci_high, n, k (see norms.reliability).
    reliability: pd.DataFrame | None = None


def day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """[start, end) in naive UTC for the days ``first`` to ``last`` inclusive; None = open."""
    start = datetime.combine(first, datetime.min.time()) if first else None
    end = datetime.combine(last + timedelta(days=1), datetime.min.time()) if last else None
    return start, end


def _campaigns(organisation_id: int, campaign_ids: Sequence[int] | None) -> pd.DataFrame:
    query = sa.select(
        Campaign.id.label("campaign_id"),
        Campaign.title.label("campaign"),
        Campaign.site,
        Campaign.form_id,
        Campaign.language,
    ).where(Campaign.organisation_id == organisation_id)
    if campaign_ids is not None:
        query = query.where(Campaign.id.in_([int(i) for i in campaign_ids]))
    rows = db.session.execute(query.order_by(Campaign.id)).all()
    return pd.DataFrame(rows, columns=["campaign_id", "campaign", "site", "form_id", "language"])


def _scale_definitions(bank: Bank, campaigns: pd.DataFrame) -> pd.DataFrame:
    pairs = campaigns[["form_id", "language"]].drop_duplicates()
    rows = []
    for form_id, language in pairs.itertuples(index=False):
        if (form_id, language) not in bank:
            continue
        for scale in bank.get(form_id, language).scales:
            rows.append(
                (form_id, language, scale.id, scale.label, scale.short, scale.description)
                + (scale.weight,)
            )
    return pd.DataFrame(rows, columns=list(SCALE_HEADERS))


def _norm_table(
    organisation_id: int,
    scored: pd.DataFrame,
    scales: list[str],
    info: results.NormInfo,
    filters: ExportFilters,
) -> pd.DataFrame:
    """The norm table normalized_scores applied: refitted the same way, or the stored one."""
    columns = ["pool", *norms.TABLE_COLUMNS]
    if scored.empty:
        return pd.DataFrame(columns=columns)
    if info.kind == "reference":
        table, _built = results.reference_table(organisation_id, sorted(scored["form_id"].unique()))
        table = table.assign(pool="reference:" + table["form_id"])
    else:
        table = norms.fit_norms(
            scored,
            pool="norm_pool",
            scales=scales,
            method=filters.method,
            min_pool=filters.min_pool,
        ).rename(columns={"norm_pool": "pool"})
    return table[columns].reset_index(drop=True)


def _scale_ids(
    scored: pd.DataFrame, scale_definitions: pd.DataFrame
) -> tuple[list[str], list[str]]:
    """(the export's scale ids: the composite, the bank's scales in its order, then scales only
    stored; the scales normalized_scores normalized)."""
    stored_scales = [c for c in scored.columns if c != COMPOSITE and f"{c}_z" in scored.columns]
    bank_order = list(dict.fromkeys(scale_definitions["scale"]))
    scale_ids = [COMPOSITE] + [s for s in bank_order if s != COMPOSITE]
    scale_ids += sorted(set(stored_scales) - set(scale_ids))
    return scale_ids, stored_scales


def _chosen_rows(
    scored: pd.DataFrame, organisation_id: int, filters: ExportFilters
) -> pd.DataFrame:
    """The scored rows completed in the filters' days, with who took each test."""
    if scored.empty:
        return scored
    completed = pd.to_datetime(scored["completed_at"])
    start, end = day_bounds(filters.date_from, filters.date_to)
    keep = pd.Series(True, index=scored.index)
    if start is not None:
        keep &= completed >= pd.Timestamp(start)
    if end is not None:
        keep &= completed < pd.Timestamp(end)
    frame = scored[keep.to_numpy()].assign(completed_at=completed[keep].dt.floor("s"))
    people = frames.people(organisation_id, filters.campaign_ids, start, end)
    return frame.merge(people, on="invitation_id", how="left")


def count_rows(organisation_id: int, filters: ExportFilters) -> int:
    """How many rows ``export_frame`` gives for these filters, by one count in the database
    (to choose between a synchronous export and a job before building anything)."""
    start, end = day_bounds(filters.date_from, filters.date_to)
    query = (
        sa.select(sa.func.count())
        .select_from(Result)
        .join(Invitation, Invitation.id == Result.invitation_id)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .where(Campaign.organisation_id == organisation_id)
    )
    if filters.campaign_ids is not None:
        query = query.where(Campaign.id.in_([int(i) for i in filters.campaign_ids]))
    if start is not None:
        query = query.where(Invitation.completed_at >= start)
    if end is not None:
        query = query.where(Invitation.completed_at < end)
    return int(db.session.scalar(query) or 0)


def _form_versions(frame: pd.DataFrame) -> pd.DataFrame:
    return (
        frame.groupby(["form_id", "language", "form_version"], sort=True)
        .size()
        .rename("n")
        .reset_index()
    )


def export_frame(
    organisation_id: int, filters: ExportFilters | None = None, *, items: bool = True
) -> tuple[pd.DataFrame, ExportContext]:
    """One row per completed test of the organisation that the filters choose, and its context.

    Columns: ``export_columns(context.scale_ids)`` (see COLUMNS), sorted by invitation_id.
    Scores are rounded (``round_scores``), missing ones are NaN / NA; text is as stored (the
    writers neutralize it). ``items=False`` skips the item statistics (they re-score every
    answer: a CSV export does not need them). Raises results.NormUnavailable when the
    reference norm is asked for and not stored yet.
    """
    filters = filters or ExportFilters()
    bank: Bank = questions.bank()
    organisation = db.session.get(Organisation, organisation_id)
    campaigns = _campaigns(organisation_id, filters.campaign_ids)
    scale_definitions = _scale_definitions(bank, campaigns)

    scored, info = results.normalized_scores(
        organisation_id,
        filters.campaign_ids,
        norm=filters.norm,
        method=filters.method,
        min_pool=filters.min_pool,
    )
    scale_ids, stored_scales = _scale_ids(scored, scale_definitions)
    table = _norm_table(organisation_id, scored, [COMPOSITE, *stored_scales], info, filters)

    frame = _chosen_rows(scored, organisation_id, filters)
    frame = _typed(frame, export_columns(scale_ids), scale_ids, info, table)
    frame = frame.sort_values("invitation_id", kind="stable").reset_index(drop=True)

    table = table[table["pool"].isin(set(frame["norm_pool"].dropna()))].reset_index(drop=True)
    item_stats = reliability = None
    if items:
        item_stats, reliability = item_tables(
            frame[["invitation_id", "form_id", "language", "scoring_method"]], bank
        )
    context = ExportContext(
        organisation=organisation.name if organisation is not None else "",
        filters=filters,
        exported_at=utcnow().replace(microsecond=0),
        norm=info,
        norm_table=table,
        scales=scale_definitions,
        campaigns=campaigns,
        form_versions=_form_versions(frame),
        scoring_methods=tuple(sorted(frame["scoring_method"].dropna().unique())),
        scale_ids=tuple(scale_ids),
        rows=len(frame),
        item_statistics=item_stats,
        reliability=reliability,
    )
    return frame, context


def _typed(
    frame: pd.DataFrame,
    columns: list[str],
    scale_ids: list[str],
    info: results.NormInfo,
    table: pd.DataFrame,
) -> pd.DataFrame:
    """Every export column present, in order, with one dtype whatever the rows (even none)."""
    n = len(frame)
    out = {}
    for column in columns:
        values = frame[column] if column in frame.columns else pd.Series([np.nan] * n)
        values = values.reset_index(drop=True)
        if column in ("invitation_id", "campaign_id"):
            values = values.astype("int64")
        elif column == "completed_at":
            values = pd.to_datetime(values).astype("datetime64[us]")
        elif column == "norm_n":
            values = values.astype("Float64").astype("Int64")
        elif column == "norm_provisional":
            values = values.astype("boolean")
        elif column in NORM_COLUMNS or column in ID_COLUMNS:
            values = values.astype("str")  # pandas' text dtype: missing stays missing
        else:
            values = values.astype("float64")
        out[column] = values
    typed = pd.DataFrame(out, columns=columns, index=pd.RangeIndex(n))
    typed["norm_kind"] = pd.Series([info.kind] * n, dtype="str")
    by_pool = dict(zip(table["pool"], table["method"], strict=True)) if len(table) else {}
    method = typed["norm_pool"].map(by_pool).fillna(info.method) if n else typed["norm_method"]
    typed["norm_method"] = method.astype("str")
    return round_scores(typed, scale_ids)
