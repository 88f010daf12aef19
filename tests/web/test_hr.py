"""The HR dashboard's figures on a small data set computed by hand, and its exports."""

from __future__ import annotations

import io
import random
import re
from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from recruit.core import norms, scoring
from recruit.data import frames, questions
from recruit.data.models import Invitation, token_hash, utcnow
from recruit.extensions import db
from tests.conftest import complete_invitation, make_invitation, random_responses
from tests.helpers import export_job, login, make_user, stored_rows


def at(app, token, **values):
    with app.app_context():
        invitation = db.session.scalar(
            sa.select(Invitation).where(Invitation.token_hash == token_hash(token))
        )
        for key, value in values.items():
            setattr(invitation, key, value)
        db.session.commit()
        return invitation.id


@pytest.fixture
def world(app):
    """Lyon: 3 completed (10, 20, 30 min), 1 stopped after saving page 1, 1 pending, 1 expired,
    1 revoked. Nice: 2 completed (40, 50 min), created 40 days ago."""
    form = questions.bank(app).get("mini", "fr")
    rng = random.Random(7)
    now = utcnow()
    for i, minutes in enumerate((10, 20, 30)):
        token = make_invitation(app, campaign="Lyon", email=f"l{i}@example.org")
        complete_invitation(app, token, random_responses(form, rng))
        at(app, token, started_at=now - timedelta(minutes=minutes), completed_at=now)
    stopped = make_invitation(app, campaign="Lyon", email="stop@example.org")
    from recruit.candidate import services

    with app.app_context():
        invitation = services.find_invitation(stopped)
        services.record_consent(invitation, form, "x", "fr")
        first_page = form.pages(invitation.seed)[0]
        answers = random_responses(form, rng)
        typed = {i.id: scoring.parse_response(i, answers[i.id]) for i in first_page}
        services.save_page(invitation, form, 1, typed, 12.0)
        db.session.commit()
    make_invitation(app, campaign="Lyon", email="pending@example.org")
    expired = make_invitation(app, campaign="Lyon", email="expired@example.org")
    at(app, expired, expires_at=now - timedelta(days=1))
    revoked = make_invitation(app, campaign="Lyon", email="revoked@example.org")
    at(app, revoked, status="revoked")
    for i, minutes in enumerate((40, 50)):
        token = make_invitation(app, campaign="Nice", email=f"n{i}@example.org")
        complete_invitation(app, token, random_responses(form, rng))
        at(
            app,
            token,
            created_at=now - timedelta(days=40),
            started_at=now - timedelta(days=39, minutes=minutes),
            completed_at=now - timedelta(days=39),
        )
    return app


@pytest.fixture
def hr(world, client):
    login(client, make_user(world, "hr"))
    return client


def stat(html: str, label: str) -> str:
    match = re.search(r'<span class="stat">([^<]+)</span><span>' + label + "</span>", html)
    assert match, label
    return match.group(1).strip()


def test_funnel_timing_and_drop_off_by_hand(world, hr):
    page = hr.get("/hr/")
    assert page.status_code == 200
    html = page.text
    assert stat(html, "invitations") == "9"
    assert stat(html, "commencés") == "6"  # 5 completed + 1 stopped
    assert stat(html, "terminés") == "5"
    assert stat(html, "expirés") == "1"
    assert stat(html, "complétion") == "62 %"  # 5 / (9 - 1 revoked) = 62.5, shown rounded
    assert stat(html, "durée médiane") == "30 min"  # median of 10, 20, 30, 40, 50
    # The one who stopped had saved page 1: they stopped on page 2.
    rows = re.findall(r'<tr><th scope="row">(\d+)</th><td class="num">(\d+)</td></tr>', html)
    assert rows == [("1", "0"), ("2", "1")]


def test_period_filter(world, hr):
    today = utcnow().date()
    html = hr.get(f"/hr/?start={(today - timedelta(days=7)).isoformat()}").text
    assert stat(html, "invitations") == "7"  # Nice's two were created 40 days ago
    assert stat(html, "terminés") == "3"
    assert hr.get("/hr/?start=2026-13-01").status_code == 400
    assert hr.get("/hr/?start=2026-12-01&end=2026-11-01").status_code == 400


def scored_from_answers(app) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The organisation's scores, and every completed test's item scores re-derived from the raw
    answers (not from what was stored when the test was scored)."""
    from recruit.data.models import Answer
    from recruit.services.invitations import find_organisation

    with app.app_context():
        frame = frames.scores(find_organisation("Acme").id)
        form = questions.bank(app).get("mini", "fr")
        responses = {}
        for invitation_id, item_id, payload in db.session.execute(
            sa.select(Answer.invitation_id, Answer.item_id, Answer.payload).where(
                Answer.invitation_id.in_([int(i) for i in frame["invitation_id"]])
            )
        ):
            item = form.item(item_id)
            responses.setdefault(invitation_id, {})[item_id] = scoring.parse_response(item, payload)
        answers = {i: scoring.score_attempt(form, r).items for i, r in responses.items()}
    items = pd.DataFrame.from_dict(answers, orient="index")[[i.id for i in form.items]]
    return frame, items


def test_scores_and_quality_match_independent_computations(world, hr):
    html = hr.get("/hr/").text
    frame, items = scored_from_answers(world)
    for campaign, group in frame.groupby("campaign"):
        mean = f"{group['composite'].mean():.1f}"
        assert re.search(
            rf'<th scope="row">{campaign}</th><td class="num">{len(group)}</td>'
            rf'<td class="num">{mean}</td>',
            html,
        )
    alpha = norms.reliability(items).alpha
    assert f"Alpha de Cronbach : {alpha:.2f}" in html


def item_rows(html: str) -> list[tuple[str, ...]]:
    """The item statistics table's rows: item, n, mean, sd, r, alpha without."""
    table = html[html.index("quality-title") :]
    return re.findall(r'<tr[^>]*><th scope="row"[^>]*>(\S+?)</th>((?:<td[^>]*>[^<]*</td>)+)', table)


def test_kept_item_sums_follow_new_tests_and_old_results(world, hr):
    """The dashboard keeps each campaign's item sums; after a new test, and for a result stored
    before item scores were kept, it shows what a computation from scratch gives."""
    from recruit.data.models import ItemMoments, Result

    first = hr.get("/hr/").text
    assert len(item_rows(first)) == len(questions.bank(world).get("mini", "fr").items)
    with world.app_context():
        kept = db.session.scalars(sa.select(ItemMoments)).all()
        assert len(kept) == 2  # Lyon and Nice, one form version each
        assert sorted(row.content["moments"]["n"] for row in kept) == [2, 3]
    form = questions.bank(world).get("mini", "fr")
    token = make_invitation(world, campaign="Lyon", email="late@example.org")
    complete_invitation(world, token, random_responses(form, random.Random(11)))
    with world.app_context():  # a result scored before item scores were stored
        result = db.session.scalars(sa.select(Result).order_by(Result.id)).first()
        result.item_scores = None
        db.session.commit()
    second = hr.get("/hr/").text
    _frame, items = scored_from_answers(world)
    assert len(items) == 6
    alpha = norms.reliability(items).alpha
    assert f"Alpha de Cronbach : {alpha:.2f}" in second
    assert item_rows(second) != item_rows(first)
    with world.app_context():
        kept = db.session.scalars(sa.select(ItemMoments)).all()
        assert sorted(row.content["moments"]["n"] for row in kept) == [2, 4]
    # Read again, the kept sums give the same page.
    assert item_rows(hr.get("/hr/").text) == item_rows(second)


def test_roles(world, client):
    login(client, make_user(world, "recruiter"))
    assert client.get("/hr/").status_code == 403
    assert client.get("/hr/export.csv").status_code == 403
    anonymous = world.test_client()
    assert anonymous.get("/hr/").status_code == 302


def test_csv_export_reads_back_and_neutralises_formulas(world, hr):
    token = make_invitation(
        world, campaign="Lyon", email="evil@example.org", name='=HYPERLINK("http://x","y")'
    )
    complete_invitation(
        world,
        token,
        random_responses(questions.bank(world).get("mini", "fr"), random.Random(3)),
    )
    response = hr.get("/hr/export.csv?sep=semicolon")
    assert response.status_code == 200
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    frame = pd.read_csv(io.BytesIO(body), sep=";", encoding="utf-8-sig")
    assert len(frame) == 6
    assert frame.loc[frame["candidate_email"] == "evil@example.org", "candidate_name"].item() == (
        '\'=HYPERLINK("http://x","y")'
    )


def test_xlsx_export_has_every_sheet(world, hr):
    response = export_job(hr)
    assert response.status_code == 200
    data = response.get_data()
    response.close()
    sheets = pd.read_excel(io.BytesIO(data), sheet_name=None)
    assert {"candidats", "échelles", "normes", "items", "à propos"} <= set(sheets)
    assert len(sheets["candidats"]) == 5


def test_xlsx_export_speaks_the_language_of_the_dashboard(world, hr):
    # An HR user reading the site in English gets the workbook's texts in English too; the
    # data columns keep their stable names.
    response = export_job(hr, headers={"Accept-Language": "en"})
    data = response.get_data()
    response.close()
    sheets = pd.read_excel(io.BytesIO(data), sheet_name=None)
    assert list(sheets) == ["candidates", "scales", "norms", "items", "columns", "about"]
    assert len(sheets["candidates"]) == 5
    assert "candidate_name" in sheets["candidates"].columns
    assert list(sheets["scales"].columns)[:4] == ["questionnaire", "language", "scale", "label"]
    norm_headers = ["group", "scale", "n", "mean", "standard deviation"]
    assert list(sheets["norms"].columns)[:5] == norm_headers
    about = dict(zip(sheets["about"]["item"], sheets["about"]["value"], strict=True))
    assert about["Rows (candidates)"] == 5
    assert about["Keep in mind"].startswith("The test is one element of judgement")
    meanings = dict(zip(sheets["columns"]["column"], sheets["columns"]["meaning"], strict=True))
    assert meanings["candidate_name"] == "The candidate's name."
    assert meanings["composite_t"].startswith("Service orientation index. T-score")


# Filters that do not parse: each a 400 that names the filter, never read as "every campaign".
BAD_FILTERS = [
    ("campaign", "1.0"),
    ("campaign", "abc"),
    ("campaign", "1e3"),
    ("campaign", ""),
    ("campaign", "-1"),
    ("start", "2026-13-01"),
    ("start", "01/12/2026"),
    ("start", "20261201"),
    ("end", "demain"),
    ("end", "2026-02-30"),
]
EXPORT_ONLY = [("norm", "galaxy"), ("norm", ""), ("sep", "tab"), ("sep", ""), ("sep", ";")]


def test_a_filter_that_does_not_parse_is_a_400_naming_it_never_all(world, hr):
    lyon = re.search(r'name="campaign" value="(\d+)"', hr.get("/hr/").text).group(1)
    before = stored_rows(world)
    for path in ("/hr/", "/hr/export.csv", "/hr/export.xlsx"):
        for name, value in BAD_FILTERS + (EXPORT_ONLY if "export" in path else []):
            # Alone, and after a good campaign id (the bad one must not be dropped either).
            for query in (f"{name}={value}", f"campaign={lyon}&{name}={value}"):
                response = hr.get(f"{path}?{query}")
                assert response.status_code == 400, (path, query)
                assert response.mimetype == "text/html"
                assert f"« {name} »" in response.text, (path, query)
        refused = hr.get(f"{path}?start=2026-12-01&end=2026-11-01")
        assert refused.status_code == 400 and "« end »" in refused.text
    assert stored_rows(world) == before
    # The good values still work, empty dates included (the dashboard's form sends them so).
    assert hr.get(f"/hr/?campaign={lyon}&start=&end=").status_code == 200
    for sep, char in (("comma", ","), ("semicolon", ";")):
        response = hr.get(f"/hr/export.csv?campaign={lyon}&sep={sep}&norm=pooled&start=")
        assert response.status_code == 200
        assert len(pd.read_csv(io.BytesIO(response.get_data()), sep=char)) == 3  # Lyon only


def test_the_csv_says_its_charset_once(world, hr):
    response = hr.get("/hr/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers.getlist("Content-Type") == ["text/csv; charset=utf-8"]
