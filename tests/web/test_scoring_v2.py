"""Scoring v2 in the app: a flat rater is flagged wherever a recruiter reads the score, and
results stored with v1 stay readable until `recruit rescore` moves them to v2."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from recruit.candidate import services as taking
from recruit.data.models import Campaign, Result
from recruit.extensions import db
from tests.conftest import complete_invitation, make_invitation
from tests.helpers import api_key, logged_in, make_user

FLAG_LABEL = "Réponses uniformes, à vérifier"
# m1 most a, least b -> 1; m3 choice a -> 1: plaisir 100 by hand from the mini keys.
HONEST = {"m1": {"best": "a", "worst": "b"}, "m3": {"choice": "a"}}


def finish(app, email, ratings, **answers):
    token = make_invitation(app, email=email, name=email.split("@")[0].title())
    responses = HONEST | {"m2": {"ratings": ratings}} | answers
    complete_invitation(app, token, responses)
    with app.app_context():
        return taking.find_invitation(token).id


@pytest.fixture
def flat(app):
    """One flat rater (every rating 3) and one who uses the scale, in the default campaign."""
    flat_id = finish(app, "flat@example.org", {"a": 3, "b": 3, "c": 3, "d": 3})
    spread_id = finish(app, "spread@example.org", {"a": 6, "b": 2, "c": 1, "d": 5})
    with app.app_context():
        campaign_id = db.session.scalar(sa.select(Campaign.id))
    return flat_id, spread_id, campaign_id


def test_a_flat_rater_is_flagged_and_scored_on_the_other_items(app, flat):
    flat_id, spread_id, _ = flat
    with app.app_context():
        flagged = db.session.scalar(sa.select(Result).where(Result.invitation_id == flat_id))
        scored = db.session.scalar(sa.select(Result).where(Result.invitation_id == spread_id))
        assert flagged.flags == "uniform_ratings" and flagged.scoring_method == "pomp-v2"
        assert {s.scale_id for s in flagged.scales} == {"plaisir"}  # ecoute missing, not 0
        assert flagged.composite == pytest.approx(100.0)
        assert scored.flags == ""
        # Ratings equal to the keys map onto them exactly: ecoute 100 too.
        assert {s.scale_id: s.value for s in scored.scales} == pytest.approx(
            {"plaisir": 100.0, "ecoute": 100.0}
        )


def test_the_flag_shows_on_the_candidate_page_the_shortlist_and_the_comparison(app, flat):
    flat_id, spread_id, campaign_id = flat
    recruiter = logged_in(app, make_user(app))
    page = recruiter.get(f"/candidates/{flat_id}").text
    assert FLAG_LABEL in page and "ne sont pas comptées" in page
    assert FLAG_LABEL not in recruiter.get(f"/candidates/{spread_id}").text
    shortlist = recruiter.get(f"/campaigns/{campaign_id}/shortlist").text
    assert shortlist.count(FLAG_LABEL) == 1
    flagged_row = next(r for r in shortlist.split("<tr") if "Flat" in r)
    assert FLAG_LABEL in flagged_row
    compare = recruiter.get(f"/compare?id={flat_id}&id={spread_id}").text
    assert compare.count(FLAG_LABEL) == 1


def test_the_flag_is_in_the_csv_export_and_the_api(app, flat):
    flat_id, spread_id, campaign_id = flat
    hr = logged_in(app, make_user(app, role="hr"))
    response = hr.get("/hr/export.csv")
    assert response.status_code == 200
    text = response.get_data(as_text=True).lstrip("\ufeff")
    dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;")
    rows = {int(r["invitation_id"]): r for r in csv.DictReader(io.StringIO(text), dialect=dialect)}
    assert rows[flat_id]["flags"] == "uniform_ratings"
    assert rows[spread_id]["flags"] == ""
    assert rows[flat_id]["ecoute"] == ""  # missing, not 0
    key = api_key(app)
    body = (
        app.test_client()
        .get(
            f"/api/v1/campaigns/{campaign_id}/results",
            headers={"Authorization": f"Bearer {key}"},
        )
        .json
    )
    flags = {item["invitation_id"]: item["flags"] for item in body["items"]}
    assert flags == {flat_id: ["uniform_ratings"], spread_id: []}


def test_v1_results_stay_readable_and_rescore_moves_them_to_v2_in_one_go(app, runner, flat):
    flat_id, spread_id, _ = flat
    with app.app_context():
        # As stored before v2: v1 method, the flat rater scored (raw distance 8 -> 0.6) and
        # unflagged, composite by hand .75 * 100 + .25 * 60.
        for result in db.session.scalars(sa.select(Result)):
            result.scoring_method = "pomp-v1"
            result.flags = ""
            if result.invitation_id == flat_id:
                result.composite = 0.75 * 100 + 0.25 * 60
        db.session.commit()
    recruiter = logged_in(app, make_user(app))
    page = recruiter.get(f"/candidates/{flat_id}").text
    assert "pomp-v1" in page and FLAG_LABEL not in page
    out = runner.invoke(args=["rescore", "--form", "mini"])
    assert out.exit_code == 0, out.output
    assert "2 completed test(s) rescored with pomp-v2 (before: 2 pomp-v1)" in out.output
    assert "1 score(s) changed" in out.output  # only the flat rater's
    with app.app_context():
        stored = {r.invitation_id: r for r in db.session.scalars(sa.select(Result))}
        assert {r.scoring_method for r in stored.values()} == {"pomp-v2"}
        assert stored[flat_id].flags == "uniform_ratings"
        assert stored[flat_id].composite == pytest.approx(100.0)
    assert FLAG_LABEL in recruiter.get(f"/candidates/{flat_id}").text
