"""RGPD: retention purge, the candidate's copy of their data, erasure by the candidate or an admin.

On SQLite and PostgreSQL through the ``app`` fixture.
"""

from __future__ import annotations

import json
import logging
import random
import re
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from recruit.auth import services as accounts
from recruit.data import questions
from recruit.data.models import (
    Answer,
    AuditEvent,
    Campaign,
    Candidate,
    Decision,
    ImportBatch,
    Invitation,
    OutboxMessage,
    Result,
    ScaleScore,
    token_hash,
    utcnow,
)
from recruit.extensions import db, limiter
from recruit.services import invitations, outbox, privacy, results
from tests.conftest import complete_invitation, csrf_from, make_invitation, random_responses
from tests.helpers import PASSWORD, logged_in

NAME = "Zéphyrine Oberkampf"
EMAIL = "zephyrine.oberkampf@example.org"


# --- Helpers --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_rate_limits(app):
    """Erased and purged links answer 410 and 404, which the candidate links' rate limit counts
    as failed lookups, in storage shared by the whole process: start and leave it empty."""
    with app.app_context():
        limiter.reset()
    yield
    with app.app_context():
        limiter.reset()


TOKEN_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def session_csrf(client) -> str:
    """A CSRF token of a logged-in client's session (the logout form of any page has one)."""
    return TOKEN_RE.search(client.get("/campaigns").text).group(1)


def make_user(app, role: str, org: str = "Acme") -> tuple[str, int]:
    email = f"{role}@{org.lower()}.example"
    with app.app_context():
        organisation = invitations.find_organisation(org) or invitations.create_organisation(org)
        user = accounts.create_user(organisation, email, role, PASSWORD, name=f"{role} {org}")
        db.session.commit()
        return email, user.id


def find(token: str) -> Invitation:
    return db.session.scalar(
        sa.select(Invitation).where(Invitation.token_hash == token_hash(token))
    )


def invitation_id(app, token: str) -> int:
    with app.app_context():
        return find(token).id


def dump(app) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    with app.app_context():
        return {
            table.name: [
                tuple(row)
                for row in db.session.execute(sa.select(table).order_by(*table.primary_key.columns))
            ]
            for table in db.metadata.sorted_tables
        }


def columns_holding(app, *needles: str) -> list[str]:
    """table.column of every text or JSON value that contains one of the needles."""
    found = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, sa.String | sa.JSON)]
            if not columns:
                continue
            for row in db.session.execute(sa.select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    text = (
                        json.dumps(value, ensure_ascii=False)
                        if isinstance(value, dict | list)
                        else str(value or "")
                    ).casefold()
                    if any(n.casefold() in text for n in needles):
                        found.append(f"{table.name}.{column.name}")
    return found


def send_invitation_emails(app, tokens: list[str]) -> None:
    """Queue and deliver an invitation email per token, as .eml files (no SMTP server)."""
    with app.app_context():
        for token in tokens:
            outbox.enqueue(find(token), "invitation")
        db.session.commit()
        assert outbox.send_pending().sent == len(tokens)


def eml_path(app, token: str) -> Path:
    with app.app_context():
        return Path(
            db.session.scalar(
                sa.select(OutboxMessage.eml_path).where(
                    OutboxMessage.invitation_id == find(token).id
                )
            )
        )


def add_decision(app, token: str, user_id: int, note: str) -> None:
    with app.app_context():
        db.session.add(
            Decision(invitation_id=find(token).id, user_id=user_id, decision="hold", note=note)
        )
        db.session.commit()


def age(app, token: str, *, created: datetime, completed: datetime | None = None) -> None:
    with app.app_context():
        invitation = find(token)
        invitation.created_at = created
        invitation.expires_at = created + timedelta(days=14)
        if completed is not None:
            invitation.completed_at = completed
        db.session.commit()


def close(app, title: str, when: datetime) -> None:
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.title == title))
        campaign.status, campaign.closed_at = "closed", when
        db.session.commit()


def add_batch(app, title, user_id, rows: list[tuple[str, str]], *, created=None, imported=None):
    """An import batch of a campaign holding these (name, email) rows."""
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.title == title))
        batch = ImportBatch(
            campaign_id=campaign.id,
            user_id=user_id,
            filename="candidats.csv",
            rows=[
                {"line": i + 2, "name": n, "email": e, "external_id": None}
                for i, (n, e) in enumerate(rows)
            ],
            created_at=created or utcnow(),
            imported_at=imported,
        )
        db.session.add(batch)
        db.session.commit()
        return batch.id


def audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()
        for event in events:
            db.session.expunge(event)
        return events


def scores_frame(app, campaign_titles: list[str] | None, norm: str) -> pd.DataFrame:
    with app.app_context():
        organisation = invitations.find_organisation("Acme")
        ids = None
        if campaign_titles is not None:
            ids = db.session.scalars(
                sa.select(Campaign.id).where(Campaign.title.in_(campaign_titles))
            ).all()
        frame, _info = results.normalized_scores(organisation.id, ids, norm=norm)
        return frame.sort_values("invitation_id").reset_index(drop=True)


def answers_and_scores(app):
    with app.app_context():
        return (
            db.session.execute(
                sa.select(Answer.invitation_id, Answer.item_id, Answer.payload).order_by(Answer.id)
            ).all(),
            db.session.execute(
                sa.select(Result.invitation_id, Result.composite).order_by(Result.id)
            ).all(),
            db.session.execute(
                sa.select(ScaleScore.result_id, ScaleScore.scale_id, ScaleScore.value).order_by(
                    ScaleScore.result_id, ScaleScore.scale_id
                )
            ).all(),
        )


def test_months_are_added_on_the_calendar():
    assert privacy.add_months(datetime(2024, 1, 31, 9), 1) == datetime(2024, 2, 29, 9)
    assert privacy.add_months(datetime(2024, 3, 31), -1) == datetime(2024, 2, 29)
    assert privacy.add_months(datetime(2023, 11, 15), 24) == datetime(2025, 11, 15)
    assert privacy.add_months(datetime(2026, 1, 10), -13) == datetime(2024, 12, 10)


# --- Retention purge ------------------------------------------------------------------------


@pytest.fixture
def retention_world(app, tmp_path):
    """Four campaigns' worth of people, each on one side of their retention period."""
    app.config["MAIL_OUTBOX_DIR"] = str(tmp_path / "outbox")
    _, admin_id = make_user(app, "admin")
    form = questions.bank(app).get("mini", "fr")
    rng = random.Random(7)
    people = {
        # key: (campaign, name, email)
        "past": ("Ancienne", "Pascale Passée", "past@example.org"),
        "past_peer": ("Ancienne", "Paul Pair", "past-peer@example.org"),
        "not_yet": ("Récente", "Noé Pasencore", "not-yet@example.org"),
        "not_yet_peer": ("Récente", "Nina Pair", "not-yet-peer@example.org"),
        "not_yet_third": ("Récente", "Nour Troisième", "not-yet-third@example.org"),
        "open_old": ("Ouverte", "Octave Ancien", "open-old@example.org"),
        "open_recent": ("Ouverte", "Olga Récente", "open-recent@example.org"),
        "open_live": ("Ouverte", "Lina Enattente", "open-live@example.org"),
    }
    tokens = {
        key: make_invitation(app, campaign=campaign, name=name, email=email)
        for key, (campaign, name, email) in people.items()
    }
    send_invitation_emails(app, list(tokens.values()))
    for key, token in tokens.items():
        if key != "open_live":
            complete_invitation(app, token, random_responses(form, rng))
        add_decision(app, token, admin_id, f"Entretien avec {people[key][1]}.")
    now = utcnow()
    for key in ("past", "past_peer"):
        age(
            app,
            tokens[key],
            created=privacy.add_months(now, -27),
            completed=privacy.add_months(now, -26),
        )
    close(app, "Ancienne", privacy.add_months(now, -25))
    for key in ("not_yet", "not_yet_peer", "not_yet_third"):
        age(
            app,
            tokens[key],
            created=privacy.add_months(now, -25),
            completed=privacy.add_months(now, -24),
        )
    close(app, "Récente", privacy.add_months(now, -23))
    age(
        app,
        tokens["open_old"],
        created=privacy.add_months(now, -31),
        completed=privacy.add_months(now, -30),
    )
    with app.app_context():  # an old link that was extended is still open: never purged
        invitation = find(tokens["open_live"])
        invitation.created_at = privacy.add_months(now, -31)
        invitation.expires_at = now + timedelta(days=3)
        db.session.commit()
    old_batch = add_batch(
        app,
        "Ancienne",
        admin_id,
        [("Pascale Passée", "past@example.org"), ("Paul Pair", "past-peer@example.org")],
        created=privacy.add_months(now, -27),
        imported=privacy.add_months(now, -27),
    )
    waiting_batch = add_batch(
        app,
        "Récente",
        admin_id,
        [("Pascale Passée", "PAST@example.org"), ("Luc Lot", "luc@example.org")],
    )
    return {
        "tokens": tokens,
        "people": people,
        "old_batch": old_batch,
        "waiting_batch": waiting_batch,
    }


PURGED = ("past", "past_peer", "open_old")


def test_purge_anonymises_exactly_the_candidates_past_retention(
    app, client, runner, retention_world
):
    tokens, people = retention_world["tokens"], retention_world["people"]
    files = {key: eml_path(app, token) for key, token in tokens.items()}
    assert all(f.is_file() for f in files.values())
    before_campaign = scores_frame(app, ["Récente"], "campaign")
    before_pooled = scores_frame(app, None, "pooled")
    before_answers = answers_and_scores(app)
    before = dump(app)

    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Dry run: 3 candidate(s) and 3 invitation(s) would be anonymised" in dry.output
    assert dump(app) == before
    assert all(f.is_file() for f in files.values())

    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "3 candidate(s) and 3 invitation(s) were anonymised" in result.output
    assert "3 decision note(s), 3 message(s), 3 .eml file(s), 2 import batch(es)" in result.output
    for _campaign, name, email in people.values():
        assert name not in result.output and email not in result.output

    for key, token in tokens.items():
        purged = key in PURGED
        assert files[key].is_file() is not purged, key
        response = client.get(f"/t/{token}")
        assert (response.status_code == 404) is purged, key
    with app.app_context():
        candidates = {c.id: c for c in db.session.scalars(sa.select(Candidate))}
        emails = {c.email for c in candidates.values()}
        for key, (_campaign, _name, email) in people.items():
            assert (email in emails) is (key not in PURGED), key
        erased = [c for c in candidates.values() if c.anonymised_at is not None]
        assert len(erased) == 3
        assert {(c.name, c.email, c.external_id) for c in erased} == {(privacy.ERASED, "", None)}
        notes = db.session.scalars(sa.select(Decision.note)).all()
        assert notes.count(privacy.ERASED) == 3 and len(notes) == len(people)
        assert all(d.decision == "hold" for d in db.session.scalars(sa.select(Decision)))
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Invitation)
                .where(Invitation.erased_at.is_not(None), Invitation.token_nonce.is_(None))
            )
            == 3
        )
        assert db.session.get(ImportBatch, retention_world["old_batch"]) is None
        waiting = db.session.get(ImportBatch, retention_world["waiting_batch"])
        assert [r["email"] for r in waiting.rows] == ["luc@example.org"]
        messages = db.session.scalars(sa.select(OutboxMessage)).all()
        assert sum(m.eml_path is None for m in messages) == 3
    assert columns_holding(app, "past@example.org", "Pascale", "Octave", "open-old@") == []
    assert columns_holding(app, "Noé Pasencore", "open-recent@example.org") != []

    # Answers and scores stay, so every norm computed from them stays the same.
    assert answers_and_scores(app) == before_answers
    pd.testing.assert_frame_equal(scores_frame(app, ["Récente"], "campaign"), before_campaign)
    pd.testing.assert_frame_equal(scores_frame(app, None, "pooled"), before_pooled)

    (event,) = audit(app, "retention_purge")
    assert event.user_id is None and event.target_type == "organisation"
    assert event.details == {
        "invitations": 3,
        "candidates": 3,
        "notes": 3,
        "messages": 3,
        "files": 3,
        "batches": 2,
    }

    # Idempotent: a second run finds nothing and changes nothing.
    after = dump(app)
    again = runner.invoke(args=["purge"])
    assert again.exit_code == 0, again.output
    assert "0 candidate(s) and 0 invitation(s) were anonymised" in again.output
    assert dump(app) == after


def test_a_candidate_still_in_a_live_campaign_keeps_their_identity(app, retention_world):
    """Invitations are purged one by one; the person's name goes with the last of them."""
    tokens = retention_world["tokens"]
    with app.app_context():
        organisation = invitations.find_organisation("Acme")
        recent = invitations.create_campaign(
            organisation, questions.bank(app).get("mini", "fr"), "Nouvelle"
        )
        invitations.invite(recent, find(tokens["past"]).candidate, days=14)
        db.session.commit()
        report = privacy.purge()
        db.session.commit()
        assert report.total.invitations == 3 and report.total.candidates == 2
        candidate = db.session.scalar(
            sa.select(Candidate).where(Candidate.email == "past@example.org")
        )
        assert candidate.anonymised_at is None
        assert all(
            i.erased_at is not None
            for i in db.session.scalars(
                sa.select(Invitation)
                .join(Campaign)
                .where(Invitation.candidate_id == candidate.id, Campaign.title == "Ancienne")
            )
        )


# --- The candidate's copy of their data -----------------------------------------------------


def test_the_candidate_downloads_their_own_data_and_nothing_of_anyone_else(app, client):
    _, admin_id = make_user(app, "admin")
    form = questions.bank(app).get("mini", "fr")
    mine = make_invitation(app, name=NAME, email=EMAIL)
    theirs = make_invitation(app, name="Autre Personne", email="autre@example.org")
    rng = random.Random(3)
    complete_invitation(app, mine, random_responses(form, rng))
    complete_invitation(app, theirs, random_responses(form, rng))
    add_decision(app, mine, admin_id, "Bonne écoute, à revoir en entretien.")
    add_decision(app, theirs, admin_id, "Note sur une autre personne.")

    done = client.get(f"/t/{mine}")
    assert done.status_code == 200 and f"/t/{mine}/privacy" in done.text
    page = client.get(f"/t/{mine}/privacy")
    assert page.status_code == 200 and f"/t/{mine}/privacy/data.json" in page.text
    response = client.get(f"/t/{mine}/privacy/data.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_json()
    body = response.get_data(as_text=True)
    assert "Autre Personne" not in body and "autre@example.org" not in body
    assert "Note sur une autre personne" not in body
    assert "admin@acme.example" not in body  # who decided is someone else's data
    assert "rationale" not in body and "keys" not in body

    assert data["candidate"]["name"] == NAME and data["candidate"]["email"] == EMAIL
    assert data["controller"] == "Acme"
    (application,) = data["applications"]
    with app.app_context():
        invitation = find(mine)
        assert application["consent"]["text_version"] == invitation.consent_version
        assert application["consent"]["given_at"].startswith(
            invitation.consented_at.isoformat(timespec="seconds")
        )
        stored = dict(
            db.session.execute(
                sa.select(Answer.item_id, Answer.payload).where(
                    Answer.invitation_id == invitation.id
                )
            ).all()
        )
    assert {a["item_id"] for a in application["answers"]} == set(stored) == {"m1", "m2", "m3"}
    for answer in application["answers"]:
        item = form.item(answer["item_id"])
        assert answer["scenario"] == item.scenario
        payload = stored[item.id]
        if item.format == "most_least":
            assert answer["answer"]["best"]["text"] == item.option(payload["best"]).text
            assert answer["answer"]["worst"]["text"] == item.option(payload["worst"]).text
        elif item.format == "rating":
            assert {r["text"]: r["rating"] for r in answer["answer"]["ratings"]} == {
                item.option(o).text: v for o, v in payload["ratings"].items()
            }
        else:
            assert answer["answer"]["choice"]["text"] == item.option(payload["choice"]).text
    assert application["page_times"] == [{"page": 1, "seconds": 30.0, "visits": 1}]
    assert {s["scale_id"] for s in application["scores"]["scales"]} == {"plaisir", "ecoute"}
    assert application["decisions"][0]["note"] == "Bonne écoute, à revoir en entretien."
    assert application["campaign"]["retention_months"] == 24


def test_a_link_not_yet_used_gives_the_name_and_email_held(app, client):
    token = make_invitation(app, name=NAME, email=EMAIL)
    welcome = client.get(f"/t/{token}")
    assert f"/t/{token}/privacy" in welcome.text
    data = client.get(f"/t/{token}/privacy/data.json").get_json()
    assert data["candidate"]["email"] == EMAIL
    assert data["applications"][0]["answers"] == []
    assert data["applications"][0]["consent"]["text_version"] is None
    assert client.get("/t/" + "x" * 43 + "/privacy/data.json").status_code == 404


# --- Erasure --------------------------------------------------------------------------------


@pytest.fixture
def person(app, tmp_path):
    """One person with two invitations (a finished test and a live link), emails, a decision
    note naming them, and rows in two import batches; plus someone else."""
    app.config["MAIL_OUTBOX_DIR"] = str(tmp_path / "outbox")
    _, admin_id = make_user(app, "admin")
    form = questions.bank(app).get("mini", "fr")
    done = make_invitation(app, name=NAME, email=EMAIL, campaign="Accueil")
    live = make_invitation(app, name=NAME, email=EMAIL, campaign="Standard")
    other = make_invitation(app, name="Autre Personne", email="autre@example.org")
    send_invitation_emails(app, [done, live, other])
    complete_invitation(app, done, random_responses(form, random.Random(5)))
    add_decision(app, done, admin_id, f"{NAME} a une vraie écoute.")
    with app.app_context():
        find(done).candidate.external_id = "ATS-77"
        db.session.commit()
    imported = add_batch(app, "Accueil", admin_id, [(NAME, EMAIL)], imported=utcnow())
    waiting = add_batch(
        app, "Standard", admin_id, [(NAME, EMAIL.upper()), ("Luc Lot", "luc@example.org")]
    )
    return {
        "done": done,
        "live": live,
        "other": other,
        "files": [eml_path(app, t) for t in (done, live)],
        "other_file": eml_path(app, other),
        "batches": (imported, waiting),
        "admin_id": admin_id,
    }


def assert_erased(app, client, person):
    done, live = person["done"], person["live"]
    assert columns_holding(app, NAME, "Oberkampf", EMAIL, "ATS-77", done, live) == []
    assert not any(f.exists() for f in person["files"])
    assert person["other_file"].is_file()
    for f in person["other_file"].parent.iterdir():
        assert EMAIL not in f.read_text(errors="replace")
    for token in (done, live):
        for path in ("", "/privacy", "/privacy/data.json", "/p/1"):
            gone = client.get(f"/t/{token}{path}")
            assert gone.status_code == 410, path
            assert "Vos données ont été effacées" in gone.text
    assert client.get(f"/t/{person['other']}").status_code == 200
    with app.app_context():
        imported, waiting = person["batches"]
        assert db.session.get(ImportBatch, imported) is None
        assert [r["email"] for r in db.session.get(ImportBatch, waiting).rows] == [
            "luc@example.org"
        ]
        (decision,) = db.session.scalars(sa.select(Decision)).all()
        assert (decision.decision, decision.note, decision.user_id) == (
            "hold",
            privacy.ERASED,
            person["admin_id"],
        )
        # Answers and scores are kept without identity.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer)) == 3
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Result)) == 1
        statuses = db.session.scalars(
            sa.select(Invitation.status).where(Invitation.erased_at.is_not(None))
        ).all()
        assert sorted(statuses) == ["completed", "revoked"]
        messages = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [m.eml_path is None for m in messages] == [True, True, False]
    (event,) = audit(app, "candidate_erased")
    assert columns_holding(app, NAME, EMAIL) == []
    assert json.dumps(event.details).find("@") == -1
    return event


def test_the_candidate_erases_their_data_from_their_link(app, client, person, caplog):
    caplog.set_level(logging.DEBUG)
    token = person["done"]
    before = dump(app)
    page = client.get(f"/t/{token}/privacy")
    assert page.status_code == 200 and "Effacer mes données" in page.text

    unconfirmed = client.post(
        f"/t/{token}/privacy/erase", data={"csrf_token": csrf_from(page.text)}
    )
    assert unconfirmed.status_code == 400 and "Cochez la case" in unconfirmed.text
    forged = client.post(f"/t/{token}/privacy/erase", data={"csrf_token": "forged", "confirm": "y"})
    assert forged.status_code == 400
    assert client.post(f"/t/{token}/privacy/erase", data={"confirm": "y"}).status_code == 400
    assert dump(app) == before
    assert all(f.is_file() for f in person["files"])

    erased = client.post(
        f"/t/{token}/privacy/erase", data={"csrf_token": csrf_from(page.text), "confirm": "y"}
    )
    assert erased.status_code == 303 and erased.location.endswith(f"/t/{token}")
    event = assert_erased(app, client, person)
    with app.app_context():
        invitation_ids = sorted(
            db.session.scalars(
                sa.select(Invitation.id).where(Invitation.erased_at.is_not(None))
            ).all()
        )
    assert event.user_id is None and event.target_type == "invitation"
    assert event.target_id == invitation_ids[0]
    assert event.details["requested_by"] == "candidate"
    assert event.details["reason"] == privacy.CANDIDATE_ERASE_REASON
    assert event.details["invitations"] == invitation_ids
    for secret in (NAME, EMAIL, person["done"], person["live"]):
        assert secret not in caplog.text


def test_an_admin_erases_a_candidate_on_request(app, person):
    target = invitation_id(app, person["done"])
    url = f"/candidates/{target}/erase"
    admin = logged_in(app, "admin@acme.example")
    others = {role: logged_in(app, make_user(app, role)[0]) for role in ("recruiter", "hr")}
    b_admin = logged_in(app, make_user(app, "admin", org="Beta")[0])
    before = dump(app)

    page = admin.get(f"/candidates/{target}")
    assert url in page.text
    form = admin.get(url)
    assert form.status_code == 200 and "Motif" in form.text
    csrf = csrf_from(form.text)
    for role, client in others.items():
        assert client.get(url).status_code == 403, role
        assert client.get(f"/candidates/{target}").status_code == 200
        assert url not in client.get(f"/candidates/{target}").text
        token = session_csrf(client)
        assert client.post(url, data={"csrf_token": token, "reason": "request"}).status_code == 403
    assert b_admin.get(url).status_code == 404
    token = session_csrf(b_admin)
    assert b_admin.post(url, data={"csrf_token": token, "reason": "request"}).status_code == 404
    assert admin.post(url, data={"csrf_token": csrf}).status_code == 400
    assert admin.post(url, data={"csrf_token": csrf, "reason": "il l'a demandé"}).status_code == 400
    assert admin.post(url, data={"reason": "request"}).status_code == 400
    assert dump(app) == before

    response = admin.post(url, data={"csrf_token": csrf, "reason": "request"})
    assert response.status_code == 303 and response.location.endswith(f"/candidates/{target}")
    after = admin.get(response.location)
    assert after.status_code == 200 and privacy.ERASED in after.text
    assert url not in after.text
    client = app.test_client()
    event = assert_erased(app, client, person)
    assert event.user_id == person["admin_id"] and event.target_id == target
    assert event.details["requested_by"] == "admin" and event.details["reason"] == "request"

    again = admin.post(url, data={"csrf_token": csrf, "reason": "request"})
    assert again.status_code == 303
    assert len(audit(app, "candidate_erased")) == 1


# --- Retention settings and the links to the rights -----------------------------------------


def test_the_retention_period_is_set_when_opening_a_campaign(app, client):
    recruiter = logged_in(app, make_user(app, "recruiter")[0])
    page = recruiter.get("/campaigns/new")
    assert "Conservation des données (mois)" in page.text
    fields = {"title": "Caviste", "site": "", "form_language": "mini:fr", "invitation_days": "14"}
    for months in ("0", "121"):
        refused = recruiter.post(
            "/campaigns/new",
            data={"csrf_token": csrf_from(page.text), **fields, "retention_months": months},
        )
        assert refused.status_code == 400 and "Entre 1 et 120 mois." in refused.text
    created = recruiter.post(
        "/campaigns/new",
        data={"csrf_token": csrf_from(page.text), **fields, "retention_months": "36"},
    )
    assert created.status_code == 303
    assert "données conservées 36 mois" in recruiter.get(created.location).text
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.title == "Caviste"))
        assert campaign.retention_months == 36
    token = make_invitation(app, campaign="Caviste")
    assert "36 mois après la fin de ce recrutement" in client.get(f"/t/{token}").text
    default = recruiter.post(
        "/campaigns/new", data={"csrf_token": csrf_from(page.text), **fields, "title": "Barista"}
    )
    assert default.status_code == 303
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(Campaign.retention_months).where(Campaign.title == "Barista")
            )
            == 24
        )


def test_the_invitation_email_links_to_the_rights_page(app, client, tmp_path):
    app.config["MAIL_OUTBOX_DIR"] = str(tmp_path / "outbox")
    token = make_invitation(app, name=NAME, email=EMAIL)
    send_invitation_emails(app, [token])
    text = eml_path(app, token).read_text()
    assert f"http://localhost/t/{token}/privacy" in text
    assert "Vos droits" in text
    assert client.get(f"/t/{token}/privacy").status_code == 200


def test_an_english_link_offers_its_rights_and_says_it_was_erased_in_english(app, client):
    token = make_invitation(app, lang="en", name=NAME, email=EMAIL)
    page = client.get(f"/t/{token}/privacy")
    assert page.status_code == 200
    assert "Download my data" in page.text and "Télécharger" not in page.text
    client.post(
        f"/t/{token}/privacy/erase", data={"csrf_token": csrf_from(page.text), "confirm": "y"}
    )
    gone = client.get(f"/t/{token}")
    assert gone.status_code == 410
    assert '<html lang="en">' in gone.text and "Your data have been erased" in gone.text
