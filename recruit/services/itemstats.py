"""Item statistics of a form over many campaigns, from the item scores stored at scoring time.

A result keeps its item scores and the answers they came from (``Result.item_scores``,
``Result.picks``). What the dashboard's form quality needs of them — complete cases, item means,
co-moments (recruit.core.moments) and how often each option was picked — is summed once per
campaign and form version into ``ItemMoments`` and added up across campaigns; a group is summed
again only when its results changed (its stamp: how many results and when the latest was scored).
A period filter reads the stored item scores of the tests in that period instead.

An answer counts toward an item while the item reads, under the result's form version, as the
bank's current item (bank.item_wording): answers to a reworded item leave today's statistics.
Results stored before item scores were kept are re-scored from their answers here
(``legacy_item_scores``) until `recruit rescore` stores them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from recruit.core import scoring
from recruit.core.bank import Bank, Form
from recruit.core.moments import Moments
from recruit.data.models import (
    Answer,
    Invitation,
    ItemMoments,
    Result,
    dialect_insert,
    session_dialect,
    utcnow,
)
from recruit.extensions import db
from recruit.services import results, scorecache

BATCH = 5000
# Option counts of one item: option id -> [best, worst, chosen, rating sum].
OptionCounts = dict[str, list[float]]


@dataclass
class Endorsement:
    """How often each option of each item was picked, and how many people answered each item."""

    answered: dict[str, int]
    options: dict[str, OptionCounts]

    @classmethod
    def empty(cls, form: Form) -> Endorsement:
        return cls(
            dict.fromkeys(form.item_ids, 0),
            {item.id: {o.id: [0, 0, 0, 0.0] for o in item.options} for item in form.items},
        )

    def count(self, item_id: str, payload: dict) -> None:
        """Add one answer, in the shape the candidate pages store it."""
        options = self.options.get(item_id)
        if options is None or not isinstance(payload, dict):
            return
        if "best" in payload and payload.get("best") in options and payload.get("worst") in options:
            options[payload["best"]][0] += 1
            options[payload["worst"]][1] += 1
        elif "choice" in payload and payload["choice"] in options:
            options[payload["choice"]][2] += 1
        elif isinstance(payload.get("ratings"), dict):
            for option_id, value in payload["ratings"].items():
                if option_id in options:
                    options[option_id][3] += value
        else:
            return
        self.answered[item_id] += 1

    def add(self, other: Endorsement) -> None:
        for item_id, n in other.answered.items():
            if item_id not in self.answered:
                continue
            self.answered[item_id] += n
            for option_id, counts in other.options[item_id].items():
                if option_id in self.options[item_id]:
                    mine = self.options[item_id][option_id]
                    for i, value in enumerate(counts):
                        mine[i] += value

    def table(self, form: Form) -> dict[str, list[dict]]:
        """Per item, each option's share picked as best / worst / chosen (%) or mean rating."""
        table = {}
        for item in form.items:
            n = self.answered[item.id]
            rows = []
            for option in item.options:
                best, worst, chosen, rating_sum = self.options[item.id][option.id]
                rows.append(
                    {
                        "option": option.id,
                        "text": option.text,
                        "key": option.key,
                        "keyed_best": option.id == item.keyed_best.id,
                        "best": 100.0 * best / n if n else None,
                        "worst": 100.0 * worst / n if n else None,
                        "chosen": 100.0 * chosen / n if n else None,
                        "mean_rating": rating_sum / n if n else None,
                    }
                )
            table[item.id] = rows
        return table

    def to_json(self) -> dict:
        return {"answered": self.answered, "options": self.options}

    @classmethod
    def from_json(cls, data: dict) -> Endorsement:
        return cls(dict(data["answered"]), {k: dict(v) for k, v in data["options"].items()})


@dataclass
class Summary:
    """A form's item statistics inputs over some tests: moments of the complete cases and the
    option endorsement; ``n`` counts the tests."""

    n: int
    moments: Moments
    endorsement: Endorsement

    @classmethod
    def empty(cls, form: Form) -> Summary:
        return cls(0, Moments.empty(form.item_ids), Endorsement.empty(form))

    def add(self, other: Summary) -> None:
        self.n += other.n
        self.moments = self.moments + other.moments
        self.endorsement.add(other.endorsement)


def _chunks(values: Sequence[int], size: int = BATCH) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield [int(v) for v in values[start : start + size]]


def _reading(bank: Bank, form: Form, versions: set[str]) -> dict[str, list[bool]]:
    """Per result form version, which of the current form's items read as now under it."""
    stored = results.StoredVersions(bank, form.form)
    return {
        version: [stored.reads_as_now(form, item_id, version) for item_id in form.item_ids]
        for version in versions
    }


def _rows_summary(
    bank: Bank, form: Form, rows: list[tuple[int, str, str, dict | None, dict | None]]
) -> tuple[Summary, pd.DataFrame]:
    """Summary and item-score matrix of result rows (invitation_id, form_version, method,
    item_scores, picks); rows without stored item scores are re-scored from their answers."""
    item_ids = form.item_ids
    reading = _reading(bank, form, {version for _, version, _, _, _ in rows})
    legacy = [(i, method) for i, _, method, scores, _ in rows if scores is None]
    rescored = legacy_item_scores(bank, form, legacy) if legacy else {}
    matrix = np.full((len(rows), len(item_ids)), np.nan)
    endorsement = Endorsement.empty(form)
    for r, (invitation_id, version, _method, scores, picks) in enumerate(rows):
        if scores is None:
            scores, picks = rescored[invitation_id]
        mask = reading[version]
        for c, item_id in enumerate(item_ids):
            value = scores.get(item_id)
            if value is not None and mask[c]:
                matrix[r, c] = value
        for item_id, payload in (picks or {}).items():
            endorsement.count(item_id, payload)
    index = pd.Index([row[0] for row in rows], name="invitation_id")
    frame = pd.DataFrame(matrix, columns=item_ids, index=index)
    return Summary(len(rows), Moments.of(matrix, item_ids), endorsement), frame


def legacy_item_scores(
    bank: Bank, form: Form, rows: Sequence[tuple[int, str]]
) -> dict[int, tuple[dict[str, float], dict[str, dict]]]:
    """Item scores and picks of results stored before they were kept, from their answers:
    (invitation_id, scoring method) -> (item scores, valid answers); answers to items that read
    otherwise today are left out, as the stored scores of a newer result would be."""
    stored = results.StoredVersions(bank, form.form)
    methods = dict(rows)
    out: dict[int, tuple[dict[str, float], dict[str, dict]]] = {}
    for chunk in _chunks(list(methods)):
        payloads: dict[int, dict[str, dict]] = {i: {} for i in chunk}
        for invitation_id, item_id, payload, version in db.session.execute(
            sa.select(
                Answer.invitation_id, Answer.item_id, Answer.payload, Answer.form_version
            ).where(Answer.invitation_id.in_(chunk))
        ):
            if stored.reads_as_now(form, item_id, version):
                payloads[invitation_id][item_id] = payload
        for invitation_id, answered in payloads.items():
            method = methods[invitation_id]
            attempt = scoring.score_attempt(
                form,
                results.valid_responses(form, answered),
                method=method if method in scoring.METHODS else scoring.METHOD,
            )
            out[invitation_id] = (dict(attempt.items), results.valid_payloads(form, answered))
    return out


_RESULT_ROW = (
    Result.invitation_id,
    Result.form_version,
    Result.scoring_method,
    Result.item_scores,
    Result.picks,
)


def item_matrix(bank: Bank, form_id: str, language: str, invitation_ids: Sequence[int]):
    """Per person (index invitation_id, in the order given), one column per item of the bank's
    current form: the stored item score (0..1); NaN where unanswered, left unscored, or answered
    when the item read otherwise."""
    form = bank.get(form_id, language)
    rows = []
    for chunk in _chunks(list(invitation_ids)):
        rows += db.session.execute(
            sa.select(*_RESULT_ROW).where(Result.invitation_id.in_(chunk))
        ).all()
    _summary, frame = _rows_summary(bank, form, [tuple(r) for r in rows])
    return frame.reindex(pd.Index([int(i) for i in invitation_ids], name="invitation_id"))


def summary_of(bank: Bank, form: Form, invitation_ids: Sequence[int]) -> Summary:
    """The summary of some tests, read from their stored item scores (no cache)."""
    summary = Summary.empty(form)
    for chunk in _chunks(list(invitation_ids)):
        rows = db.session.execute(
            sa.select(*_RESULT_ROW).where(Result.invitation_id.in_(chunk))
        ).all()
        summary.add(_rows_summary(bank, form, [tuple(r) for r in rows])[0])
    return summary


def _stamp(count: int, latest: datetime | str | None) -> str:
    latest_text = latest.isoformat() if isinstance(latest, datetime) else str(latest)
    return f"{count}:{latest_text}"


def campaigns_summary(bank: Bank, form: Form, campaign_ids: Sequence[int]) -> Summary:
    """The summary of every completed test of these campaigns scored on ``form``'s form id,
    added up from the per-campaign groups, each summed again only if its results changed.
    Flushes the groups it rebuilt; the caller commits."""
    summary = Summary.empty(form)
    if not campaign_ids:
        return summary
    ids = [int(i) for i in campaign_ids]
    groups = db.session.execute(
        sa.select(
            Result.campaign_id,
            Result.form_version,
            sa.func.count(),
            sa.func.max(Result.scored_at),
        )
        .where(Result.campaign_id.in_(ids))  # a campaign's results are of its form
        .group_by(Result.campaign_id, Result.form_version)
    ).all()
    kept = db.session.execute(
        sa.select(
            ItemMoments.id,
            ItemMoments.campaign_id,
            ItemMoments.form_version,
            ItemMoments.current_version,
            ItemMoments.stamp,
        ).where(ItemMoments.campaign_id.in_(ids))
    ).all()
    # Sums of groups no longer there (their results moved to another version) or kept for an
    # earlier bank version are dropped.
    present = {(campaign_id, version) for campaign_id, version, _, _ in groups}
    stale = [
        row.id
        for row in kept
        if row.current_version != form.version or (row.campaign_id, row.form_version) not in present
    ]
    if stale:
        db.session.execute(sa.delete(ItemMoments).where(ItemMoments.id.in_(stale)))
    cached = {
        (row.campaign_id, row.form_version): row
        for row in kept
        if row.current_version == form.version
    }
    memo = scorecache.memo("item_sums", MEMO_SIZE)
    for campaign_id, version, count, latest in groups:
        stamp = _stamp(count, latest)
        row = cached.get((campaign_id, version))
        key = (campaign_id, version, form.version)
        if row is not None and row.stamp == stamp:
            known = memo.get(key)
            if known is not None and known[0] == stamp:
                part = known[1]
            else:
                content = db.session.scalar(
                    sa.select(ItemMoments.content).where(ItemMoments.id == row.id)
                )
                part = Summary(
                    int(content["n"]),
                    Moments.from_json(content["moments"]),
                    Endorsement.from_json(content["endorsement"]),
                )
        else:
            part = _rebuild(bank, form, campaign_id, version, stamp)
        memo[key] = (stamp, part)
        summary.add(part)
    return summary


MEMO_SIZE = 20_000  # decoded per-campaign sums kept per process (a few kB each)


def _rebuild(bank: Bank, form: Form, campaign_id: int, version: str, stamp: str) -> Summary:
    """Sum one campaign's results of one form version again and keep the sum."""
    invitation_ids = list(
        db.session.scalars(
            sa.select(Result.invitation_id).where(
                Result.campaign_id == campaign_id,
                Result.form_id == form.form,
                Result.form_version == version,
            )
        )
    )
    part = summary_of(bank, form, invitation_ids)
    values = {
        "campaign_id": campaign_id,
        "form_version": version,
        "current_version": form.version,
        "stamp": stamp,
        "content": {
            "n": part.n,
            "moments": part.moments.to_json(),
            "endorsement": part.endorsement.to_json(),
        },
        "built_at": utcnow(),
    }
    insert = dialect_insert(session_dialect())
    statement = insert(ItemMoments).values(**values)
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["campaign_id", "form_version", "current_version"],
            set_={k: statement.excluded[k] for k in ("stamp", "content", "built_at")},
        )
    )
    return part


def completed_in(campaign_ids: Sequence[int], low: datetime | None, high: datetime | None):
    """The invitation ids of the results of these campaigns completed in [low, high)."""
    query = (
        sa.select(Result.invitation_id)
        .join(Invitation, Invitation.id == Result.invitation_id)
        .where(Result.campaign_id.in_([int(i) for i in campaign_ids]))
    )
    if low is not None:
        query = query.where(Invitation.completed_at >= low)
    if high is not None:
        query = query.where(Invitation.completed_at < high)
    return list(db.session.scalars(query))
