"""The candidate's test through the Flask test client, on SQLite and on PostgreSQL."""

from __future__ import annotations

import math
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from recruit.data import questions
from recruit.data.models import (
    Answer,
    ConsentText,
    Invitation,
    PageTime,
    Result,
    ScaleScore,
    token_hash,
    utcnow,
)
from recruit.extensions import db
from tests.conftest import csrf_from, make_invitation
from tests.helpers import GOOD, answer_page, consent, count, finish, invitation, page_items


def stored(app, token) -> dict[str, dict]:
    inv = invitation(app, token)
    with app.app_context():
        rows = db.session.execute(
            sa.select(Answer.item_id, Answer.payload).where(Answer.invitation_id == inv.id)
        )
        return dict(rows.all())


def test_welcome_page_says_who_hires_how_long_and_shows_no_item_before_consent(app, client):
    token = make_invitation(app)
    page = client.get(f"/t/{token}")
    assert page.status_code == 200
    assert "Acme" in page.text and "Mini test" in page.text
    assert "3 minutes" in page.text
    assert "CNIL" in page.text and "24 mois" in page.text
    assert "sans gluten" not in page.text  # the first scenario's words
    assert client.get(f"/t/{token}/p/1").status_code in (302, 303)
    assert invitation(app, token).status == "pending"


def test_consent_is_required_and_refusing_it_saves_nothing(app, client):
    token = make_invitation(app)
    page = client.get(f"/t/{token}")
    response = client.post(f"/t/{token}/consent", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 400
    assert "Cochez la case" in response.text
    inv = invitation(app, token)
    assert (inv.status, inv.consented_at, inv.consent_version) == ("pending", None, None)
    assert count(app, ConsentText) == 0


def test_consent_stores_time_and_the_exact_text_version(app, client):
    token = make_invitation(app)
    before = utcnow()
    response = consent(client, token)
    assert response.status_code == 303 and response.location.endswith(f"/t/{token}/p/1")
    inv = invitation(app, token)
    assert inv.status == "started"
    assert before <= inv.consented_at <= utcnow()
    with app.app_context():
        text = db.session.get(ConsentText, inv.consent_version)
        assert text.language == "fr"
        assert "Acme" in text.text and "CNIL" in text.text
    assert inv.form_version == questions.bank(app).get("mini", "fr").version


def test_whole_flow_with_resume_back_review_and_scoring(app, client):
    token = make_invitation(app)
    consent(client, token)
    response = answer_page(client, app, token, 1)
    assert response.status_code == 303 and response.location.endswith("/p/2")
    first_page = page_items(app, token, 1)
    assert set(stored(app, token)) == set(first_page)

    # Coming back to the link resumes at the first unanswered page.
    resumed = client.get(f"/t/{token}", follow_redirects=True)
    assert resumed.request.path == f"/t/{token}/p/2"
    # Skipping ahead to the review is not possible yet.
    assert client.get(f"/t/{token}/review").location.endswith("/resume")

    # Going back shows the earlier answers checked, and they can be changed.
    back = client.get(f"/t/{token}/p/1")
    if "m1" in first_page:
        assert 'id="m1-best-a" value="a" aria-describedby="m1-a-text" checked' in back.text
    change = {"m1-best": "d"} if "m1" in first_page else {"m3-choice": "a"}
    answer_page(client, app, token, 1, overrides=change)
    answer_page(client, app, token, 2)
    answers = stored(app, token)
    assert answers["m1"] == {"best": "d", "worst": "c"} or answers["m3"] == {"choice": "a"}
    assert len(answers) == 3

    review = client.get(f"/t/{token}/review")
    assert review.status_code == 200
    assert "Envoyer mes réponses" in review.text
    done = client.post(f"/t/{token}/submit", data={"csrf_token": csrf_from(review.text)})
    assert done.status_code == 303
    thanks = client.get(done.location)
    assert thanks.status_code == 200 and "Merci" in thanks.text

    inv = invitation(app, token)
    assert inv.status == "completed" and inv.completed_at is not None
    with app.app_context():
        result = db.session.scalar(sa.select(Result).where(Result.invitation_id == inv.id))
        scales = {s.scale_id: s.value for s in result.scales}
        assert result.form_version == inv.form_version
        assert result.scoring_method == "pomp-v2" and result.flags == ""
    # By hand, from the mini keys. m2 (ecoute): ratings 5 2 3 5 (mean 3.75, SD 1.5) mapped onto
    # keys 6 2 1 5 (mean 3.5, SD sqrt(17 / 3)), then 1 - mean |mapped - key| / 5.
    mapped = [3.5 + math.sqrt(17 / 3) * (r - 3.75) / 1.5 for r in (5, 2, 3, 5)]
    ecoute = 1 - sum(abs(m - k) for m, k in zip(mapped, (6, 2, 1, 5), strict=True)) / 4 / 5
    # m1 most d least c -> (4 - 3 + 5) / 10 and m3 choice c -> (4 - 2) / 4, or
    # m1 most a least c -> (6 - 3 + 5) / 10 and m3 choice a -> 1.
    plaisir = (0.6 + 0.5) / 2 if "m1" in first_page else (0.8 + 1.0) / 2
    assert scales == pytest.approx({"plaisir": 100 * plaisir, "ecoute": 100 * ecoute})
    assert result.composite == pytest.approx(100 * (0.75 * plaisir + 0.25 * ecoute))


def test_time_per_page_is_recorded(app, client):
    token = make_invitation(app)
    consent(client, token)
    answer_page(client, app, token, 1)
    inv = invitation(app, token)
    with app.app_context():
        timing = db.session.get(PageTime, (inv.id, 1))
        assert timing.visits == 1
        assert 0 <= timing.seconds < 60


SHOWN_RE = r'name="shown" type="hidden" value="([^"]+)"'


def shown_page(client, token, number, monkeypatch, seconds_ago: int):
    """The page as shown ``seconds_ago`` (its signed stamp says so): its CSRF token and stamp."""
    import time

    from recruit.candidate import answers

    with client.application.app_context():
        signer = answers._signer()
    shown_at = int(time.time()) - seconds_ago
    with monkeypatch.context() as patch:
        patch.setattr(signer, "get_timestamp", lambda: shown_at)
        patch.setattr(answers, "_signer", lambda: signer)
        page = client.get(f"/t/{token}/p/{number}")
    assert page.status_code == 200
    return csrf_from(page.text), re.search(SHOWN_RE, page.text).group(1)


def page_time(app, token, number) -> tuple[float, int] | None:
    inv = invitation(app, token)
    with app.app_context():
        timing = db.session.get(PageTime, (inv.id, number))
        return None if timing is None else (timing.seconds, timing.visits)


def test_a_page_view_counts_once_however_often_its_form_is_posted(app, client, monkeypatch):
    token = make_invitation(app)
    consent(client, token)
    csrf, stamp = shown_page(client, token, 1, monkeypatch, seconds_ago=100)
    items = page_items(app, token, 1)
    data = {"csrf_token": csrf, "shown": stamp}
    for item_id in items:
        data.update(GOOD[item_id])
    assert client.post(f"/t/{token}/p/1", data=data).status_code == 303
    seconds, visits = page_time(app, token, 1)
    assert visits == 1 and 100 <= seconds < 160
    first_answer = stored(app, token)[items[0]]
    # The same signed view posted again, 20 times, with another answer the last time: the
    # answer is saved, the time on the page and the visits are not counted again.
    other = {"m1": {"m1-best": "b", "m1-worst": "d"}, "m2": {"m2-a": "1"}, "m3": {"m3-choice": "a"}}
    for replay in range(20):
        changed = other[items[0]] if replay == 19 else {}
        assert client.post(f"/t/{token}/p/1", data={**data, **changed}).status_code == 303
    assert page_time(app, token, 1) == (seconds, 1)
    assert stored(app, token)[items[0]] != first_answer  # saved as now
    # A new view of the page (a new stamp) counts; a view older than the last one counted
    # (a tab left open since before) does not.
    _csrf, old_stamp = shown_page(client, token, 1, monkeypatch, seconds_ago=500)
    _csrf, stamp = shown_page(client, token, 1, monkeypatch, seconds_ago=30)
    assert client.post(f"/t/{token}/p/1", data={**data, "shown": stamp}).status_code == 303
    again_seconds, visits = page_time(app, token, 1)
    assert visits == 2 and 30 <= again_seconds - seconds < 90
    assert client.post(f"/t/{token}/p/1", data={**data, "shown": old_stamp}).status_code == 303
    assert page_time(app, token, 1) == (again_seconds, 2)
    # A stamp of another page counts for nothing there.
    _csrf, page2_stamp = shown_page(client, token, 2, monkeypatch, seconds_ago=10)
    assert client.post(f"/t/{token}/p/1", data={**data, "shown": page2_stamp}).status_code == 303
    assert page_time(app, token, 1) == (again_seconds, 3)  # a visit without time, as before


def answer_rows(app, token) -> dict[str, Answer]:
    inv = invitation(app, token)
    with app.app_context():
        rows = db.session.scalars(sa.select(Answer).where(Answer.invitation_id == inv.id)).all()
        for row in rows:
            db.session.expunge(row)
        return {row.item_id: row for row in rows}


def test_saving_a_page_again_rewrites_only_what_changed(app, client):
    token = make_invitation(app)
    consent(client, token)
    assert answer_page(client, app, token, 1).status_code == 303
    first = answer_rows(app, token)
    items = page_items(app, token, 1)
    changed, kept = items  # two items per page in the mini form
    other = {
        "m1": {"m1-best": "b", "m1-worst": "d"},
        "m2": {"m2-a": "1", "m2-b": "1", "m2-c": "1", "m2-d": "1"},
        "m3": {"m3-choice": "a"},
    }[changed]
    again = answer_page(client, app, token, 1, overrides=other)
    assert again.status_code == 303
    second = answer_rows(app, token)
    assert set(second) == set(items)
    assert second[changed].payload != first[changed].payload
    assert second[changed].updated_at > first[changed].updated_at
    assert second[changed].answered_at == first[changed].answered_at  # first answer time kept
    assert second[kept].payload == first[kept].payload
    assert second[kept].updated_at == first[kept].updated_at  # untouched
    assert {row.id for row in second.values()} == {row.id for row in first.values()}
    inv = invitation(app, token)
    with app.app_context():
        timing = db.session.get(PageTime, (inv.id, 1))
        assert timing.visits == 2
        assert count(app, PageTime, invitation_id=inv.id) == 1


def test_double_submit_and_replayed_pages_change_nothing(app, client):
    token = make_invitation(app)
    consent(client, token)
    answer_page(client, app, token, 1)
    page2 = client.get(f"/t/{token}/p/2")
    old_page_csrf = csrf_from(page2.text)
    answer_page(client, app, token, 2)
    review = client.get(f"/t/{token}/review")
    review_csrf = csrf_from(review.text)
    first = client.post(f"/t/{token}/submit", data={"csrf_token": review_csrf})
    before = stored(app, token)
    second = client.post(f"/t/{token}/submit", data={"csrf_token": review_csrf})
    assert first.status_code == 303
    thanks = client.get(first.location)
    assert thanks.status_code == 200 and "Merci" in thanks.text
    assert second.status_code == 200 and "Merci" in second.text
    replay = {"csrf_token": old_page_csrf}
    for item_id in page_items(app, token, 2):
        replay.update(
            {k: "b" for k in GOOD[item_id]}
            if item_id != "m2"
            else {"m2-a": "1", "m2-b": "1", "m2-c": "1", "m2-d": "1"}
        )
    replayed = client.post(f"/t/{token}/p/2", data=replay)
    assert replayed.status_code == 200 and "Merci" in replayed.text
    assert stored(app, token) == before
    assert count(app, Result) == 1
    assert count(app, ScaleScore) == 2


def test_link_states_have_their_own_page_and_status(app, client):
    unknown = client.get("/t/" + "x" * 43)
    assert unknown.status_code == 404 and "pas valable" in unknown.text
    assert client.get("/t/short").status_code == 404
    assert client.get("/t/" + "a" * 500).status_code == 404

    expired = make_invitation(app, email="e@example.org")
    with app.app_context():
        inv = db.session.scalar(
            sa.select(Invitation).where(Invitation.token_hash == token_hash(expired))
        )
        inv.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    response = client.get(f"/t/{expired}")
    assert response.status_code == 410 and "expiré" in response.text

    revoked = make_invitation(app, email="r@example.org")
    with app.app_context():
        inv = db.session.scalar(
            sa.select(Invitation).where(Invitation.token_hash == token_hash(revoked))
        )
        inv.status = "revoked"
        db.session.commit()
    response = client.get(f"/t/{revoked}")
    assert response.status_code == 410 and "plus actif" in response.text

    completed = make_invitation(app, email="c@example.org")
    finish(client, app, completed)
    response = client.get(f"/t/{completed}")
    assert response.status_code == 200 and "Merci" in response.text
    for body in (unknown.text, response.text):
        assert "Traceback" not in body


def test_expired_link_refuses_answers(app, client):
    token = make_invitation(app)
    consent(client, token)
    page = client.get(f"/t/{token}/p/1")
    with app.app_context():
        inv = db.session.scalar(
            sa.select(Invitation).where(Invitation.token_hash == token_hash(token))
        )
        inv.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    data = {"csrf_token": csrf_from(page.text)}
    for item_id in page_items(app, token, 1):
        data.update(GOOD[item_id])
    assert client.post(f"/t/{token}/p/1", data=data).status_code == 410
    assert stored(app, token) == {}


def _bad_page_post(app, client, mutate, target="m1"):
    """Post the page holding ``target`` with one mutation; earlier pages are answered first."""
    token = make_invitation(app)
    consent(client, token)
    number = 1 if target in page_items(app, token, 1) else 2
    if number == 2:
        answer_page(client, app, token, 1)
    before = stored(app, token)
    page = client.get(f"/t/{token}/p/{number}")
    data = {"csrf_token": csrf_from(page.text)}
    for item_id in page_items(app, token, number):
        data.update(GOOD[item_id])
    mutate(data)
    return token, before, client.post(f"/t/{token}/p/{number}", data=data)


@pytest.mark.parametrize(
    ("target", "mutate", "message"),
    [
        ("m1", lambda d: d.update({"m1-best": "zz"}), "ne fait pas partie des choix"),
        ("m3", lambda d: d.update({"m3-choice": "e"}), "ne fait pas partie des choix"),
        ("m1", lambda d: d.pop("m1-worst"), "Une réponse est attendue"),
        ("m2", lambda d: d.pop("m2-c"), "Une réponse est attendue"),
        ("m2", lambda d: d.update({"m2-a": "7"}), "ne fait pas partie des choix"),
        ("m2", lambda d: d.update({"m2-a": "0"}), "ne fait pas partie des choix"),
        ("m2", lambda d: d.update({"m2-a": "abc"}), "ne fait pas partie des choix"),
        ("m1", lambda d: d.update({"m1-best": "b", "m1-worst": "b"}), "différente"),
    ],
)
def test_bad_answers_get_a_message_and_nothing_is_saved(app, client, target, mutate, message):
    token, before, response = _bad_page_post(app, client, mutate, target)
    assert response.status_code == 400
    assert "rien n'a été enregistré" in response.text
    assert message in response.text
    assert stored(app, token) == before
    assert count(app, PageTime) == len(before) // 2


def test_missing_csrf_token_is_refused_and_saves_nothing(app, client):
    token, before, response = _bad_page_post(app, client, lambda d: d.pop("csrf_token"))
    assert response.status_code == 400
    assert "rechargez la page" in response.text
    assert stored(app, token) == before
    review_less = client.post(f"/t/{token}/submit", data={})
    assert review_less.status_code == 400
    assert invitation(app, token).status == "started"


def test_oversized_request_is_refused_and_saves_nothing(app, client):
    token, before, response = _bad_page_post(
        app, client, lambda d: d.update({"m1-best": "a" * 100_000})
    )
    assert response.status_code == 413
    assert stored(app, token) == before


def test_submit_before_every_item_is_answered_goes_back_to_the_open_page(app, client):
    token = make_invitation(app)
    consent(client, token)
    answer_page(client, app, token, 1)
    page = client.get(f"/t/{token}/p/2")
    response = client.post(f"/t/{token}/submit", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 303 and response.location.endswith("/resume")
    assert invitation(app, token).status == "started"
    assert count(app, Result) == 0


def test_english_invitation_is_in_english(app, client):
    token = make_invitation(app, lang="en")
    page = client.get(f"/t/{token}")
    assert '<html lang="en">' in page.text
    assert "Start the test" in page.text or "Start" in page.text
    assert "Commencer" not in page.text
    consent(client, token)
    body = client.get(f"/t/{token}/p/1").text
    assert "Most effective" in body or "Your choice" in body or "very effective" in body
    assert "La plus efficace" not in body


def test_candidate_pages_never_leak_the_link_and_escape_names(app, client):
    token = make_invitation(app, name="<script>alert(1)</script> Eve")
    page = client.get(f"/t/{token}")
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Eve" in page.text


def test_options_are_shown_in_the_invitations_own_shuffled_order(app, client):
    token = make_invitation(app)
    consent(client, token)
    inv = invitation(app, token)
    form = questions.bank(app).get("mini", "fr")
    body = client.get(f"/t/{token}/p/1").text
    for item in form.pages(inv.seed)[0]:
        texts = [o.text.replace("'", "&#39;") for o in form.shuffled_options(item, inv.seed)]
        positions = [body.index(t) for t in texts]
        assert positions == sorted(positions)
    again = client.get(f"/t/{token}/p/1").text
    for item in form.pages(inv.seed)[0]:
        texts = [o.text.replace("'", "&#39;") for o in form.shuffled_options(item, inv.seed)]
        assert [again.index(t) for t in texts] == sorted(again.index(t) for t in texts)
