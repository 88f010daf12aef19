"""Shortlists, decisions and side-by-side comparison.

Scores come only from ``recruit.results.normalized_scores``; this module adds names and the
current decision with a fixed number of queries, whatever the number of candidates, then sorts,
filters and pages in pandas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from recruit.core.bank import Form
from recruit.data.models import DECISIONS, Answer, Candidate, Decision, Invitation, User
from recruit.extensions import db
from recruit.services import results

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


def ranked(
    organisation_id: int, campaign_ids: Sequence[int], norm: str
) -> tuple[pd.DataFrame, results.NormInfo]:
    """Completed candidates of the campaigns on the chosen norm, ranked by the composite."""
    frame, info = results.normalized_scores(organisation_id, campaign_ids, norm=norm)
    if frame.empty:
        return frame.assign(rank=[], name=[], email=[], external_id=[], decision=[]), info
    ids = [int(i) for i in frame["invitation_id"]]
    frame = frame.merge(_names(ids), on="invitation_id", how="left")
    frame = frame.merge(current_decisions(ids), on="invitation_id", how="left")
    frame["rank"] = frame["composite_t"].rank(method="min", ascending=False).astype("Int64")
    return frame, info


def _sort_key(column: pd.Series) -> pd.Series:
    """Text columns sort without regard to case."""
    if column.name in ("name", "campaign", "decision"):
        return column.astype("string").str.casefold()
    return column


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
    frame, info = ranked(organisation_id, campaign_ids, norm)
    scales = results.scale_columns(frame) if not frame.empty else [results.frames.COMPOSITE]
    for scale, minimum in (minimums or {}).items():
        if f"{scale}_t" in frame.columns:
            frame = frame[frame[f"{scale}_t"] >= minimum]
    if sort in frame.columns:
        frame = frame.sort_values(
            [sort, "rank"], ascending=[not descending, True], na_position="last", key=_sort_key
        )
    total = len(frame)
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    rows = frame.iloc[(page - 1) * page_size : page * page_size]
    return Shortlist(rows, total, pages, page, scales, info)


def record_decision(invitation: Invitation, user: User, decision: str, note: str) -> Decision:
    if decision not in DECISIONS:
        raise ValueError(decision)
    entry = Decision(invitation_id=invitation.id, user_id=user.id, decision=decision, note=note)
    db.session.add(entry)
    db.session.flush()
    return entry


def decision_history(invitation: Invitation) -> list[Decision]:
    return list(
        db.session.scalars(
            sa.select(Decision)
            .where(Decision.invitation_id == invitation.id)
            .order_by(Decision.created_at.desc(), Decision.id.desc())
        )
    )


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
        primary = item.scales[0]
        best = item.keyed_best(primary)
        answers = []
        for invitation_id in ids:
            payload = payloads[invitation_id].get(item.id)
            answers.append(describe_answer(item, payload))
        comparisons.append(
            ItemComparison(item.id, item.format, item.scenario, best.text, best.rationale, answers)
        )
    return comparisons


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
                "matches": payload["best"] == item.keyed_best(item.scales[0]).id,
            }
        if item.format == "rating":
            best = item.keyed_best(item.scales[0])
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
            "matches": payload["choice"] == item.keyed_best(item.scales[0]).id,
        }
    except KeyError:
        return {"kind": "none"}
