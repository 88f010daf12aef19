"""Normalized scores kept between requests (services.scorecache) are those a computation from
scratch gives: after a new test, a rescore, a refreshed reference norm or a renamed campaign."""

from __future__ import annotations

import random

import pandas as pd
import pytest
import sqlalchemy as sa

from recruit.data import questions
from recruit.data.models import Campaign, Result
from recruit.extensions import db
from recruit.services import invitations, results, scorecache
from tests.conftest import complete_invitation, make_invitation, random_responses


def complete(app, campaign: str, count: int, seed: int) -> None:
    form = questions.bank(app).get("mini", "fr")
    rng = random.Random(seed)
    for i in range(count):
        token = make_invitation(app, campaign=campaign, email=f"{campaign}-{seed}-{i}@example.org")
        complete_invitation(app, token, random_responses(form, rng))


def from_scratch(organisation_id, campaign_ids, norm):
    chosen = None if campaign_ids is None else tuple(sorted(campaign_ids))
    return results._normalized(organisation_id, chosen, norm, "standard", 30)


def same(app, campaign_ids, norm="campaign") -> pd.DataFrame:
    """The served frame, checked equal to one computed from scratch; returns it."""
    with app.app_context():
        organisation = invitations.find_organisation("Acme")
        served, info = results.normalized_scores(organisation.id, campaign_ids, norm=norm)
        fresh, fresh_info = from_scratch(organisation.id, campaign_ids, norm)
        pd.testing.assert_frame_equal(served, fresh)
        assert info == fresh_info
        return served


@pytest.fixture
def pools(app):
    complete(app, "Lyon", 4, 1)
    complete(app, "Nice", 3, 2)
    with app.app_context():
        ids = {c.title: c.id for c in db.session.scalars(sa.select(Campaign))}
    return ids


def test_a_new_test_and_a_rename_reach_the_page(app, pools):
    lyon = [pools["Lyon"]]
    assert len(same(app, lyon)) == 4
    again = same(app, lyon)  # served from the cache
    again["composite_t"] = 0.0  # a caller changing its copy changes nothing kept
    assert (same(app, lyon)["composite_t"] != 0).all()
    complete(app, "Lyon", 1, 3)
    assert len(same(app, lyon)) == 5
    with app.app_context():
        db.session.get(Campaign, pools["Lyon"]).title = "Lyon Part-Dieu"
        db.session.commit()
    assert set(same(app, lyon)["campaign"]) == {"Lyon Part-Dieu"}
    both = same(app, None, norm="pooled")
    assert len(both) == 8 and set(both["norm_pool"]) == {"pooled"}


def test_a_rescored_or_removed_result_moves_the_scores(app, pools):
    lyon = [pools["Lyon"]]
    before = same(app, lyon)
    with app.app_context():  # a rescore writes new scores and a new scored_at
        result = db.session.scalars(sa.select(Result).where(Result.campaign_id == lyon[0])).first()
        moved = result.invitation_id
        result.composite = 99.0
        result.scored_at = result.scored_at.replace(year=result.scored_at.year + 1)
        db.session.commit()
    after = same(app, lyon)
    assert after.set_index("invitation_id").loc[moved, "composite"] == 99.0
    assert not after["composite_t"].equals(before["composite_t"])
    with app.app_context():
        db.session.delete(db.session.scalar(sa.select(Result).where(Result.invitation_id == moved)))
        db.session.commit()
    assert moved not in set(same(app, lyon)["invitation_id"])


def test_a_refreshed_reference_norm_is_used_at_once(app, pools):
    with app.app_context():
        organisation_id = invitations.find_organisation("Acme").id
        results.refresh_reference_norm(organisation_id, "mini")
        db.session.commit()
    first = same(app, None, norm="reference")
    complete(app, "Nice", 2, 4)
    with app.app_context():
        results.refresh_reference_norm(organisation_id, "mini")
        db.session.commit()
    second = same(app, None, norm="reference")
    assert first["norm_n"].iloc[0] == 7 and second["norm_n"].iloc[0] == 9


def test_the_cache_is_bounded_by_rows():
    kept = scorecache.FrameCache(max_rows=5)
    calls = []

    def compute(n):
        def run():
            calls.append(n)
            return pd.DataFrame({"x": range(n)}), None

        return run

    kept.get("a", 1, compute(3))
    kept.get("a", 1, compute(3))
    assert calls == [3]  # the second came from the cache
    kept.get("b", 1, compute(3))  # 6 rows > 5: "a" is dropped
    kept.get("a", 1, compute(3))
    assert calls == [3, 3, 3]
    kept.get("c", 1, compute(9))  # larger than the bound: computed, never kept
    kept.get("c", 1, compute(9))
    assert calls == [3, 3, 3, 9, 9]
    kept.get("a", 2, compute(3))  # a new stamp: computed again
    assert calls[-1] == 3 and len(calls) == 6


def expected_order(frame: pd.DataFrame, sort: str, descending: bool, minimum: float | None):
    """Invitation ids in the shortlist's order, worked out row by row: ranked on the composite
    T (ties share the better rank), sorted by ``sort`` with ties by rank then by invitation,
    rows without a value last, keeping those at or above ``minimum`` on the composite T."""
    rows = frame.to_dict("records")
    t = [r["composite_t"] for r in rows]
    for r in rows:
        value = r["composite_t"]
        r["rank"] = None if pd.isna(value) else 1 + sum(1 for x in t if x > value)
    if minimum is not None:
        rows = [r for r in rows if not pd.isna(r["composite_t"]) and r["composite_t"] >= minimum]
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["invitation_id"]))
    valued = [r for r in rows if not pd.isna(r[sort])]
    empty = [r for r in rows if pd.isna(r[sort])]
    text = isinstance(valued[0][sort], str) if valued else False
    valued.sort(key=lambda r: r[sort].casefold() if text else r[sort], reverse=descending)
    return [r["invitation_id"] for r in valued + empty]


def test_shortlist_pages_from_the_kept_order_are_those_sorted_afresh(app, pools):
    from recruit.recruiter import shortlist

    chosen = [pools["Lyon"], pools["Nice"]]
    asked = [
        ("rank", False, None),
        ("rank", True, None),
        ("composite_t", True, None),
        ("campaign", False, None),
        ("completed_at", True, 45.0),
        ("rank", False, 50.0),
    ]
    for round_ in range(2):
        with app.app_context():
            organisation_id = invitations.find_organisation("Acme").id
            fresh, _info = from_scratch(organisation_id, chosen, "pooled")
            for sort, descending, minimum in asked:
                wanted = expected_order(fresh, sort, descending, minimum)
                served = []
                for page in (1, 2, 3, 4, 5):
                    listed = shortlist.shortlist(
                        organisation_id,
                        chosen,
                        norm="pooled",
                        sort=sort,
                        descending=descending,
                        minimums=None if minimum is None else {"composite": minimum},
                        page=page,
                        page_size=2,
                    )
                    assert listed.total == len(wanted)
                    if page <= listed.pages:
                        served += [int(i) for i in listed.rows["invitation_id"]]
                        ranks = dict(
                            zip(listed.rows["invitation_id"], listed.rows["rank"], strict=True)
                        )
                        by_id = fresh.set_index("invitation_id")["composite_t"]
                        for invitation_id, rank in ranks.items():
                            assert rank == 1 + int((by_id > by_id[invitation_id]).sum())
                assert served == wanted, (sort, descending, minimum)
        complete(app, "Nice", 2, 10 + round_)  # new tests: the kept order must follow
