"""The HR dashboard's figures: funnel, timing, drop-off, score distributions, form quality.

Every figure is computed from a handful of queries over the selected campaigns and period, then
in pandas; nothing loops over candidates in Python except where answers are scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from recruit.charts import stats
from recruit.core import moments, norms
from recruit.core.bank import Bank, Form
from recruit.data.models import Campaign, Invitation, OutboxMessage, PageTime, utcnow
from recruit.extensions import db
from recruit.services import exports, itemstats, results, scorecache


@dataclass(frozen=True)
class Period:
    """Dates chosen on the dashboard, both inclusive; None = open-ended."""

    start: date | None = None
    end: date | None = None

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        return exports.day_bounds(self.start, self.end)


def _within(column, period: Period) -> list:
    low, high = period.bounds()
    conditions = []
    if low is not None:
        conditions.append(column >= low)
    if high is not None:
        conditions.append(column < high)
    return conditions


def selected_campaigns(organisation_id: int, campaign_ids: Sequence[int] | None) -> list[Campaign]:
    query = sa.select(Campaign).where(Campaign.organisation_id == organisation_id)
    if campaign_ids:
        query = query.where(Campaign.id.in_([int(i) for i in campaign_ids]))
    return list(db.session.scalars(query.order_by(Campaign.title, Campaign.id)))


@dataclass(frozen=True)
class Funnel:
    invited: int
    emailed: int
    started: int
    completed: int
    expired: int
    revoked: int
    median_minutes: float | None

    @property
    def completion_rate(self) -> float | None:
        base = self.invited - self.revoked
        return 100.0 * self.completed / base if base else None


def _invitations(campaign_ids: Sequence[int], period: Period) -> list:
    """Where the invitations counted are: created in the period, in the campaigns."""
    return [
        Invitation.campaign_id.in_([int(i) for i in campaign_ids]),
        *_within(Invitation.created_at, period),
    ]


def _minutes(dialect: str, start, end):
    """SQL for the minutes from ``start`` to ``end`` (two timestamp columns)."""
    if dialect == "postgresql":
        return sa.extract("epoch", end - start) / 60.0
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 1440.0


@dataclass(frozen=True)
class Tally:
    """The invitations created in the period, counted in one pass by the database: by state
    (completed, revoked, expired, or live: pending or started and not expired), and, for those
    who started without finishing, by the last page they saved (0: none)."""

    states: dict[str, int]
    started: int
    stopped_after: dict[int, int]

    @property
    def invited(self) -> int:
        return sum(self.states.values())


def tally(campaign_ids: Sequence[int], period: Period) -> Tally:
    now = utcnow()
    last_saved = (
        sa.select(sa.func.max(PageTime.page))
        .where(PageTime.invitation_id == Invitation.id)
        .correlate(Invitation)
        .scalar_subquery()
    )
    started = Invitation.started_at.is_not(None)
    stopped = sa.and_(started, Invitation.status != "completed")
    each = (
        sa.select(
            sa.case(
                (Invitation.status.in_(("completed", "revoked")), Invitation.status),
                (Invitation.expires_at <= now, "expired"),
                else_="live",
            ).label("state"),
            sa.case((started, 1), else_=0).label("started"),
            sa.case(
                (stopped, sa.func.coalesce(last_saved, 0)),
                else_=-1,
            ).label("saved"),
        )
        .where(*_invitations(campaign_ids, period))
        .subquery()
    )
    rows = db.session.execute(
        sa.select(each.c.state, each.c.started, each.c.saved, sa.func.count()).group_by(
            each.c.state, each.c.started, each.c.saved
        )
    ).all()
    states: dict[str, int] = {}
    after: dict[int, int] = {}
    begun = 0
    for state, has_started, saved, count in rows:
        states[state] = states.get(state, 0) + int(count)
        begun += int(count) if has_started else 0
        if int(saved) >= 0:
            after[int(saved)] = after.get(int(saved), 0) + int(count)
    return Tally(states, begun, after)


def funnel(
    organisation_id: int, campaign_ids: Sequence[int], period: Period, counted: Tally, stamp
) -> Funnel:
    """The funnel of the invitations ``counted`` (see ``tally``), and the median time taken by
    those who completed: their durations are read only when the campaigns' results moved
    (``stamp``: scorecache.stamp of the campaigns), kept per process otherwise."""
    if not counted.invited:
        return Funnel(0, 0, 0, 0, 0, 0, None)
    where = _invitations(campaign_ids, period)
    emailed = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(OutboxMessage.invitation_id)))
        .join(Invitation, Invitation.id == OutboxMessage.invitation_id)
        .where(*where, OutboxMessage.kind == "invitation", OutboxMessage.status == "sent")
    )
    kept = scorecache.memo("median_minutes")
    key = (organisation_id, tuple(sorted(campaign_ids)), *period.bounds())
    known = kept.get(key)
    if known is None or known[0] != stamp:
        known = (stamp, _median_minutes(where))
        kept[key] = known
    return Funnel(
        invited=counted.invited,
        emailed=int(emailed or 0),
        started=counted.started,
        completed=counted.states.get("completed", 0),
        expired=counted.states.get("expired", 0),
        revoked=counted.states.get("revoked", 0),
        median_minutes=known[1],
    )


def _median_minutes(where: list) -> float | None:
    dialect = db.session.get_bind().dialect.name
    taken = (
        db.session.connection()
        .execute(
            sa.select(_minutes(dialect, Invitation.started_at, Invitation.completed_at)).where(
                *where,
                Invitation.status == "completed",
                Invitation.started_at.is_not(None),
                Invitation.completed_at.is_not(None),
            )
        )
        .scalars()
        .all()
    )
    minutes = np.asarray(taken, dtype="float64")
    return float(np.median(minutes)) if len(minutes) else None


def drop_off(counted: Tally, page_count: int) -> list[tuple[int, int]]:
    """Where candidates who started but did not finish stopped: (page, how many).

    A candidate stopped on the page after the last one they saved (page 1 if they saved none).
    """
    counts: dict[int, int] = {}
    for saved, count in counted.stopped_after.items():
        page = min(saved + 1, page_count)
        counts[page] = counts.get(page, 0) + count
    return [(page, counts.get(page, 0)) for page in range(1, page_count + 1)]


@dataclass(frozen=True)
class Quality:
    form: Form
    n: int
    reliability: norms.Reliability
    items: pd.DataFrame  # norms.item_statistics + format and primary scale
    endorsement: dict[str, list[dict]]


def form_quality(
    bank: Bank, campaigns: Sequence[Campaign], scores: Sequence[CampaignScores], period: Period
) -> list[Quality]:
    """Reliability, item statistics and option endorsement per form and language, from the item
    scores stored when each test was scored: summed per campaign and kept (itemstats) when the
    period is open, read for the tests of the period otherwise."""
    qualities: list[Quality] = []
    if not scores:
        return qualities
    low, high = period.bounds()
    by_form: dict[tuple[str, str], list[int]] = {}
    for campaign in campaigns:
        by_form.setdefault((campaign.form_id, campaign.language), []).append(campaign.id)
    present = {summary.campaign_id for summary in scores}
    for (form_id, language), campaign_ids in sorted(by_form.items()):
        if not present.intersection(campaign_ids) or (form_id, language) not in bank:
            continue
        form = bank.get(form_id, language)
        if low is None and high is None:
            summary = itemstats.campaigns_summary(bank, form, campaign_ids)
        else:
            tested = db.session.scalars(
                sa.select(Invitation.id).where(
                    Invitation.campaign_id.in_(campaign_ids),
                    Invitation.status == "completed",
                    *_within(Invitation.completed_at, period),
                )
            ).all()
            summary = itemstats.summary_of(bank, form, list(tested))
        table = moments.item_statistics(summary.moments)
        table["format"] = [form.item(i).format for i in table.index]
        table["scale"] = [form.scale(form.item(i).scale).label for i in table.index]
        qualities.append(
            Quality(
                form,
                summary.n,
                moments.reliability(summary.moments),
                table,
                summary.endorsement.table(form),
            )
        )
    return qualities


@dataclass(frozen=True)
class CampaignScores:
    """One campaign's completed tests in the period: per scale, the five-number summary of the
    raw scores (charts.stats.five_numbers) and the mean T-score on the campaign's own norm."""

    campaign_id: int
    title: str
    n: int
    raw: dict[str, dict]
    t_mean: dict[str, float | None]


def campaign_scores(
    organisation_id: int, campaigns: Sequence[Campaign], period: Period, stamp: tuple
) -> list[CampaignScores]:
    """Each campaign's scores summary, computed from its own scores and kept per process while
    they stay the same (services.scorecache's stamps): a dashboard over a million tests reads
    only the campaigns whose results moved. Campaigns with no completed test are left out."""
    low, high = period.bounds()
    stamps = scorecache.campaign_stamps(stamp)
    kept = scorecache.memo("campaign_scores")
    summaries = []
    for campaign in campaigns:
        stamp = stamps.get(campaign.id)
        if stamp is None or stamp[1] is None:
            continue  # no result yet
        key = (organisation_id, campaign.id, low, high)
        known = kept.get(key)
        if known is None or known[0] != stamp:
            known = (stamp, _summarise(organisation_id, campaign, low, high))
            kept[key] = known
        if known[1].n:
            summaries.append(known[1])
    return sorted(summaries, key=lambda s: (s.title, s.campaign_id))


def _summarise(
    organisation_id: int, campaign: Campaign, low: datetime | None, high: datetime | None
) -> CampaignScores:
    frame, _info = results.normalized_scores(organisation_id, [campaign.id], norm="campaign")
    if not frame.empty:
        keep = np.ones(len(frame), dtype=bool)
        if low is not None:
            keep &= (frame["completed_at"] >= low).to_numpy()
        if high is not None:
            keep &= (frame["completed_at"] < high).to_numpy()
        frame = frame[keep]
    if frame.empty:
        return CampaignScores(campaign.id, campaign.title, 0, {}, {})
    scales = results.scale_columns(frame)
    raw = {s: stats.five_numbers(frame[s].to_numpy(dtype=float, na_value=np.nan)) for s in scales}
    t_mean = {}
    for scale in scales:
        column = frame.get(f"{scale}_t")
        t_mean[scale] = (
            float(column.mean()) if column is not None and column.notna().any() else None
        )
    return CampaignScores(campaign.id, campaign.title, len(frame), raw, t_mean)


@dataclass
class PoolComparison:
    """Per scale, each pool's mean before (raw) and after normalization (T on its campaign)."""

    scale: str
    rows: list[dict] = field(default_factory=list)
    raw_gap: float | None = None
    normalized_gap: float | None = None


def pool_differences(
    scores: Sequence[CampaignScores], scales: Sequence[str]
) -> list[PoolComparison]:
    """How far apart the pools' means are on raw scores, and on T-scores within each campaign."""
    comparisons = []
    for scale in scales:
        rows = [
            {
                "campaign": s.title,
                "n": s.raw[scale]["n"],
                "raw": s.raw[scale]["mean"],
                "t": s.t_mean.get(scale),
            }
            for s in scores
            if scale in s.raw
        ]
        raw = [r["raw"] for r in rows if r["raw"] is not None]
        normalized = [r["t"] for r in rows if r["t"] is not None]
        comparisons.append(
            PoolComparison(
                scale,
                rows,
                max(raw) - min(raw) if len(raw) > 1 else None,
                max(normalized) - min(normalized) if len(normalized) > 1 else None,
            )
        )
    return comparisons


@dataclass(frozen=True)
class Dashboard:
    campaigns: list[Campaign]
    period: Period
    funnel: Funnel
    drop_off: list[tuple[int, int]]
    scores: list[CampaignScores]  # the campaigns with completed tests, by title
    scales: list[str]
    differences: list[PoolComparison]
    quality: list[Quality]


def dashboard(
    bank: Bank, organisation_id: int, campaign_ids: Sequence[int] | None, period: Period
) -> Dashboard:
    """Every figure of the dashboard for the chosen campaigns and period."""
    campaigns = selected_campaigns(organisation_id, campaign_ids)
    ids = [c.id for c in campaigns]
    page_count = max((bank.get(c.form_id, c.language).page_count for c in campaigns), default=1)
    stamp = scorecache.stamp(organisation_id, ids)
    scores = campaign_scores(organisation_id, campaigns, period, stamp)
    counted = tally(ids, period)
    present = {scale for summary in scores for scale in summary.raw}
    ordered = ["composite"] + [
        s for c in campaigns for s in bank.get(c.form_id, c.language).scale_ids
    ]
    scales = [s for s in dict.fromkeys(ordered) if s in present]
    data = Dashboard(
        campaigns=campaigns,
        period=period,
        funnel=funnel(organisation_id, ids, period, counted, stamp),
        drop_off=drop_off(counted, page_count),
        scores=scores,
        scales=scales,
        differences=pool_differences(scores, scales),
        quality=form_quality(bank, campaigns, scores, period),
    )
    # The item sums rebuilt for the form quality are kept for the next visit.
    db.session.commit()
    return data
