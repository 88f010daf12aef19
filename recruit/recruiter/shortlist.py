"""Shortlists, one candidate's page and decisions, and side-by-side comparison.

Scores come only from ``recruit.services.results.normalized_scores`` (kept between requests by
the score cache); this module filters, sorts and pages them in pandas, then adds names and the
current decision of the rows shown with a fixed number of queries (of every row when sorted by
one of them). A decision or an erasure returns an ``Outcome`` after its
audit record and the request's one commit (see ``recruit.recruiter.services``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask_babel import gettext as _

from recruit.core.bank import Form
from recruit.data import questions
from recruit.data.models import (
    DECISIONS,
    Answer,
    Campaign,
    Candidate,
    Decision,
    Invitation,
    OutboxMessage,
    User,
    utcnow,
)
from recruit.extensions import db
from recruit.recruiter.services import Outcome, finish
from recruit.services import links, privacy, results

PAGE_SIZE = 50
MAX_COMPARE = 4
MINIMUM_RANGE = (0, 100)  # a minimum T-score a recruiter may ask for (T = 50 + 10 z)


@dataclass(frozen=True)
class Shortlist:
    rows: pd.DataFrame  # this page's rows
    total: int  # rows after filters
    pages: int
    page: int
    scales: list[str]
    info: results.NormInfo


def _names(invitation_ids: list[int]) -> pd.DataFrame:
    rows = db.session.execute(
        sa.select(Invitation.id, Candidate.name, Candidate.email, Candidate.external_id)
        .join(Candidate, Candidate.id == Invitation.candidate_id)
        .where(Invitation.id.in_(invitation_ids))
    ).all()
    return pd.DataFrame(rows, columns=["invitation_id", "name", "email", "external_id"])


def current_decisions(invitation_ids: list[int]) -> pd.DataFrame:
    """The latest decision of each invitation that has one: decision, note, who, when."""
    latest = (
        sa.select(sa.func.max(Decision.id))
        .where(Decision.invitation_id.in_(invitation_ids))
        .group_by(Decision.invitation_id)
    )
    rows = db.session.execute(
        sa.select(Decision.invitation_id, Decision.decision, Decision.created_at, User.email)
        .join(User, User.id == Decision.user_id)
        .where(Decision.id.in_(latest))
    ).all()
    return pd.DataFrame(rows, columns=["invitation_id", "decision", "decided_at", "decided_by"])


# Who a row is and what was decided: read for the rows shown, or for all when sorted by them.
PERSON_COLUMNS = ("name", "email", "external_id", "decision", "decided_at", "decided_by")


def with_people(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with each one's name, email, external id and current decision (2 queries)."""
    ids = [int(i) for i in frame["invitation_id"]]
    frame = frame.merge(_names(ids), on="invitation_id", how="left")
    return frame.merge(current_decisions(ids), on="invitation_id", how="left")


def _rank(entry) -> pd.Series:
    """Each row's rank on the composite T-score (1 = best, ties share the best rank), kept
    with the entry."""
    return entry.derived(
        "rank",
        lambda: entry.frame["composite_t"].rank(method="min", ascending=False).astype("Int64"),
    )


def _positions(entry) -> pd.Index:
    """The rows' invitation ids, to find a row's position at once."""
    return entry.derived("positions", lambda: pd.Index(entry.frame["invitation_id"]))


def _row(entry, invitation_id: int) -> pd.Series | None:
    """One invitation's row with its rank, or None when it has no completed test here."""
    position = _positions(entry).get_indexer([invitation_id])[0]
    if position < 0:
        return None
    row = entry.frame.iloc[position].copy()
    row["rank"] = _rank(entry).iloc[position]
    return row


def ranked(
    organisation_id: int, campaign_ids: Sequence[int], norm: str, *, people: bool = True
) -> tuple[pd.DataFrame, results.NormInfo]:
    """Completed candidates of the campaigns on the chosen norm, ranked by the composite, with
    who they are (``with_people``) unless ``people`` is False (a copy: the caller may change
    it)."""
    entry = results.scored(organisation_id, campaign_ids, norm=norm)
    frame, info = entry.frame, entry.extra
    if frame.empty:
        return frame.assign(rank=[], name=[], email=[], external_id=[], decision=[]), info
    frame = frame.assign(rank=_rank(entry))
    return (with_people(frame) if people else frame), info


def _sort_key(column: pd.Series) -> pd.Series:
    """Text columns sort without regard to case."""
    if column.name in ("name", "campaign", "decision"):
        return column.astype("string").str.casefold()
    return column


def _sorted(frame: pd.DataFrame, sort: str, descending: bool) -> pd.DataFrame:
    """The frame sorted by ``sort`` (when it is one of its columns), ties by rank."""
    if sort not in frame.columns:
        return frame
    return frame.sort_values(
        [sort, "rank"], ascending=[not descending, True], na_position="last", key=_sort_key
    )


def _order(entry, sort: str, descending: bool) -> np.ndarray:
    """The rows' positions in the order asked for, kept with the entry (sorting 400,000 rows
    on every page would cost more than the page)."""

    def compute() -> np.ndarray:
        frame = entry.frame
        columns = {"rank": _rank(entry).array}
        if sort != "rank" and sort in frame.columns:
            columns[sort] = frame[sort].array
        slim = pd.DataFrame(columns, index=np.arange(len(frame)))
        return _sorted(slim, sort, descending).index.to_numpy()

    return entry.derived(("order", sort, descending), compute)


def shortlist(
    organisation_id: int,
    campaign_ids: Sequence[int],
    *,
    norm: str = "campaign",
    sort: str = "rank",
    descending: bool = False,
    minimums: dict[str, float] | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> Shortlist:
    """One page of the ranked candidates, sorted by any column, filtered by minimum T-scores."""
    if sort in PERSON_COLUMNS:  # names and decisions change without the scores: read them all
        return _people_shortlist(
            organisation_id, campaign_ids, norm, sort, descending, minimums, page, page_size
        )
    entry = results.scored(organisation_id, campaign_ids, norm=norm)
    frame, info = entry.frame, entry.extra
    if frame.empty:
        return _paged(
            ranked(organisation_id, campaign_ids, norm, people=False)[0], info, page, page_size
        )
    order = _order(entry, sort, descending)
    keep = np.ones(len(frame), dtype=bool)
    for scale, minimum in (minimums or {}).items():
        if f"{scale}_t" in frame.columns:
            keep &= (frame[f"{scale}_t"] >= minimum).fillna(False).to_numpy(dtype=bool)
    if not keep.all():
        order = order[keep[order]]
    total = len(order)
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    shown = order[(page - 1) * page_size : page * page_size]
    rows = frame.iloc[shown].assign(rank=_rank(entry).iloc[shown].array)
    if not rows.empty:
        rows = with_people(rows)
    return Shortlist(rows, total, pages, page, results.scale_columns(frame), info)


def _people_shortlist(
    organisation_id, campaign_ids, norm, sort, descending, minimums, page, page_size
) -> Shortlist:
    """A shortlist sorted by a person's name, email, external id or decision."""
    frame, info = ranked(organisation_id, campaign_ids, norm, people=True)
    for scale, minimum in (minimums or {}).items():
        if f"{scale}_t" in frame.columns:
            frame = frame[frame[f"{scale}_t"] >= minimum]
    return _paged(_sorted(frame, sort, descending), info, page, page_size)


def _paged(frame: pd.DataFrame, info, page: int, page_size: int) -> Shortlist:
    scales = results.scale_columns(frame) if not frame.empty else [results.frames.COMPOSITE]
    total = len(frame)
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    rows = frame.iloc[(page - 1) * page_size : page * page_size]
    return Shortlist(rows, total, pages, page, scales, info)


@dataclass(frozen=True)
class ShortlistArgs:
    """What the recruiter asked of a shortlist: norm, sort, direction, minimum T-scores, page."""

    norm: str = "campaign"
    sort: str = "rank"
    descending: bool = False
    minimums: dict[str, float] | None = None
    page: int = 1


@dataclass(frozen=True)
class ShortlistPage:
    """A shortlist page and how to show it.

    ``norm`` is the norm shown: the campaign's when the one asked for cannot be built yet, which
    ``notice`` then says.
    """

    page: Shortlist
    norm: str
    notice: str | None
    scale_ids: list[str]
    labels: dict[str, str]
    shorts: dict[str, str]


def shortlist_page(
    organisation_id: int,
    campaigns: Sequence[Campaign],
    form: Form,
    args: ShortlistArgs,
) -> ShortlistPage:
    """The campaigns' shortlist as asked, ``form`` being their questionnaire."""
    ids = [c.id for c in campaigns]
    arguments = {
        "sort": args.sort,
        "descending": args.descending,
        "minimums": args.minimums,
        "page": args.page,
    }
    norm, notice = args.norm, None
    try:
        page = shortlist(organisation_id, ids, norm=norm, **arguments)
    except results.NormUnavailable:
        notice = _(
            "Aucune norme de référence n'a encore été calculée pour votre organisation "
            "(commande : recruit norms refresh). Affichage sur la norme de la campagne."
        )
        norm = "campaign"
        page = shortlist(organisation_id, ids, norm=norm, **arguments)
    return ShortlistPage(
        page=page,
        norm=norm,
        notice=notice,
        scale_ids=[results.COMPOSITE, *form.scale_ids],
        labels=results.scale_labels(form),
        shorts={results.COMPOSITE: _("Indice"), **{s.id: s.short or s.label for s in form.scales}},
    )


def record_decision(invitation: Invitation, user: User, decision: str, note: str) -> Decision:
    """Add ``user``'s decision on the invitation, with its reason (flushed, not committed)."""
    if decision not in DECISIONS:
        raise ValueError(decision)
    entry = Decision(invitation_id=invitation.id, user_id=user.id, decision=decision, note=note)
    db.session.add(entry)
    db.session.flush()
    return entry


def decision_history(invitation: Invitation) -> list[Decision]:
    """Every decision taken on the invitation, newest first."""
    return list(
        db.session.scalars(
            sa.select(Decision)
            .where(Decision.invitation_id == invitation.id)
            .order_by(Decision.created_at.desc(), Decision.id.desc())
        )
    )


@dataclass(frozen=True)
class CandidatePage:
    """One candidate: their scores on the campaign's norm (``row``, None before they finish)
    among ``pool_size`` finished, the decisions taken, their link and the emails sent."""

    row: pd.Series | None
    pool_size: int
    info: results.NormInfo
    bank_form: Form
    labels: dict[str, str]  # the composite's and each scale's, by id
    history: list[Decision]
    link: str | None
    messages: list[OutboxMessage]
    now: datetime


def candidate_page(organisation_id: int, invitation: Invitation) -> CandidatePage:
    """Everything the candidate's page shows, scores ranked within their campaign."""
    entry = results.scored(organisation_id, [invitation.campaign_id], norm="campaign")
    row = _row(entry, invitation.id) if not entry.frame.empty else None
    campaign = invitation.campaign
    form = questions.form_of(campaign)
    return CandidatePage(
        row=row,
        pool_size=len(entry.frame),
        info=entry.extra,
        bank_form=form,
        labels=results.scale_labels(form),
        history=decision_history(invitation),
        link=links.invitation_link(invitation),
        messages=list(
            db.session.scalars(
                sa.select(OutboxMessage)
                .where(OutboxMessage.invitation_id == invitation.id)
                .order_by(OutboxMessage.id)
            )
        ),
        now=utcnow(),
    )


def decide(invitation: Invitation, user: User, decision: str, note: str) -> Outcome:
    """Record a recruiter's decision on a candidate, with its reason."""
    entry = record_decision(invitation, user, decision, note)
    finish("decision", "invitation", invitation.id, decision=entry.decision, decision_id=entry.id)
    return Outcome(_("Décision enregistrée."))


def erase(invitation: Invitation, user: User, reason: str) -> Outcome:
    """Erase a candidate's identity at an admin's request (privacy.erase_candidate audits it)."""
    erased = privacy.erase_candidate(invitation, requested_by="admin", reason=reason, user=user)
    db.session.commit()
    if erased is None:
        return Outcome(_("Les données de cette personne étaient déjà effacées."), "info")
    return Outcome(_("Les données personnelles de cette personne ont été effacées."))


@dataclass(frozen=True)
class ItemComparison:
    item_id: str
    format: str
    scenario: str
    keyed_best: str  # option text
    rationale: str
    answers: list[dict]  # one per candidate, in the candidates' order (see describe_answer)


def compare_items(form: Form, invitations: Sequence[Invitation]) -> list[ItemComparison]:
    """For every item: what each candidate answered next to the keyed best option and why."""
    ids = [i.id for i in invitations]
    payloads: dict[int, dict[str, dict]] = {i: {} for i in ids}
    for invitation_id, item_id, payload in db.session.execute(
        sa.select(Answer.invitation_id, Answer.item_id, Answer.payload).where(
            Answer.invitation_id.in_(ids)
        )
    ):
        payloads[invitation_id][item_id] = payload
    comparisons = []
    for item in form.items:
        best = item.keyed_best
        answers = []
        for invitation_id in ids:
            payload = payloads[invitation_id].get(item.id)
            answers.append(describe_answer(item, payload))
        comparisons.append(
            ItemComparison(item.id, item.format, item.scenario, best.text, best.rationale, answers)
        )
    return comparisons


@dataclass(frozen=True)
class Comparison:
    """Candidates side by side: each with their scores (``people``), on ``norm``, and what
    each answered to every item."""

    people: list[tuple[Invitation, pd.Series]]
    scale_ids: list[str]
    labels: dict[str, str]
    items: list[ItemComparison]
    info: results.NormInfo


def comparison(organisation_id: int, invitations: Sequence[Invitation], norm: str) -> Comparison:
    """Finished candidates of one questionnaire compared on ``norm``, in the order given."""
    first = invitations[0].campaign
    form = questions.form_of(first)
    entry = results.scored(organisation_id, sorted({i.campaign_id for i in invitations}), norm=norm)
    people = []
    for invitation in invitations:
        row = _row(entry, invitation.id) if not entry.frame.empty else None
        if row is None:
            raise KeyError(invitation.id)
        people.append((invitation, row.drop("invitation_id").rename(invitation.id)))
    return Comparison(
        people=people,
        scale_ids=[results.COMPOSITE, *form.scale_ids],
        labels=results.scale_labels(form),
        items=compare_items(form, invitations),
        info=entry.extra,
    )


def describe_answer(item, payload: dict | None) -> dict:
    """An answer in words: the options picked (and, for ratings, the rating of the best one)."""
    if not payload:
        return {"kind": "none"}
    try:
        if item.format == "most_least":
            return {
                "kind": "most_least",
                "best": item.option(payload["best"]).text,
                "worst": item.option(payload["worst"]).text,
                "matches": payload["best"] == item.keyed_best.id,
            }
        if item.format == "rating":
            best = item.keyed_best
            return {
                "kind": "rating",
                "best_rating": payload["ratings"].get(best.id),
                "top": max(payload["ratings"], key=payload["ratings"].get),
                "top_text": item.option(max(payload["ratings"], key=payload["ratings"].get)).text,
                "matches": max(payload["ratings"].values()) == payload["ratings"].get(best.id),
            }
        return {
            "kind": "choice",
            "choice": item.option(payload["choice"]).text,
            "matches": payload["choice"] == item.keyed_best.id,
        }
    except KeyError:
        return {"kind": "none"}
