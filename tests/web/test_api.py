"""The JSON API v1 through the test client, on SQLite and PostgreSQL, and schemathesis on it."""

from __future__ import annotations

import collections
import io
import json
import math
import random
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.exceptions import HTTPException

from recruit.core import norms
from recruit.data import frames, questions
from recruit.data.models import (
    AuditEvent,
    Campaign,
    Candidate,
    Invitation,
    OutboxMessage,
    ReferenceNorm,
    Result,
    ScaleScore,
    utcnow,
)
from recruit.extensions import db
from recruit.services import apikeys, invitations, results
from tests.conftest import complete_invitation, csrf_from, random_responses
from tests.helpers import api_key, bearer, both_past_the_check, count

DERIVED = ("z", "t", "pct", "sten", "stanine")


# --- Builders -------------------------------------------------------------------------------


@pytest.fixture
def key(app):
    return api_key(app)


def new_campaign(client, key, **fields) -> dict:
    body = {"title": "Réceptionniste", "site": "Lyon", "form_id": "mini", "language": "fr"}
    response = client.post("/api/v1/campaigns", headers=bearer(key), json={**body, **fields})
    assert response.status_code == 201, response.text
    return response.json


def invite(client, key, campaign_id, n, *, prefix="p", **extra):
    rows = [
        {"name": f"Personne {i}", "email": f"{prefix}{i}@example.org", "external_id": f"X{i}"}
        for i in range(n)
    ]
    body = {"candidates": rows, **extra} if extra else rows
    return client.post(
        f"/api/v1/campaigns/{campaign_id}/invitations", headers=bearer(key), json=body
    )


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


def assert_error(response, status, code, field="any"):
    """The one error shape, whatever the status."""
    assert response.status_code == status, response.text
    assert response.mimetype == "application/json"
    body = response.json
    assert set(body) == {"error"}
    error = body["error"]
    assert {"code", "message", "field"} <= set(error) <= {"code", "message", "field", "problems"}
    assert isinstance(error["message"], str) and error["message"]
    assert error["code"] == code, error
    if field != "any":
        assert error["field"] == field, error
    return error


def complete_some(app, invitations, seed=3):
    form = questions.bank(app).get("mini", "fr")
    rng = random.Random(seed)
    for item in invitations:
        complete_invitation(app, token_of(item["link"]), random_responses(form, rng))


def organisation_id(app, name="Acme") -> int:
    with app.app_context():
        return invitations.find_organisation(name).id


# --- Forms and campaigns --------------------------------------------------------------------


def test_forms_describe_the_bank(app, client, key):
    response = client.get("/api/v1/forms", headers=bearer(key))
    assert response.status_code == 200
    body = response.json
    bank = questions.bank(app)
    assert body["total"] == len(bank.form_ids()) == len(body["items"]) and body["pages"] == 1
    (mini,) = [f for f in body["items"] if f["id"] == "mini"]
    fr, en = bank.get("mini", "fr"), bank.get("mini", "en")
    assert mini["languages"] == ["en", "fr"]
    assert mini["title"] == {"fr": fr.title, "en": en.title}
    assert mini["version"] == {"fr": fr.version, "en": en.version}
    assert mini["item_count"] == len(fr.items) == 3
    assert [s["id"] for s in mini["scales"]] == ["plaisir", "ecoute"]
    assert mini["scales"][0]["label"]["fr"] == fr.scale("plaisir").label
    assert mini["scales"][0]["weight"] == 0.75


def test_create_a_campaign_then_read_it_alone_and_in_the_list(app, client, key):
    response = client.post(
        "/api/v1/campaigns",
        headers=bearer(key),
        json={
            "title": "  Conseiller clientèle ",
            "form_id": "mini",
            "language": "en",
            "invitation_days": 7,
            "deadline": (utcnow().date() + timedelta(days=30)).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    created = response.json
    assert response.headers["Location"].endswith(f"/api/v1/campaigns/{created['id']}")
    assert created["title"] == "Conseiller clientèle" and created["site"] == ""
    assert created["language"] == "en" and created["invitation_days"] == 7
    assert created["status"] == "open" and created["completion_rate"] is None
    assert created["counts"] == dict.fromkeys(invitations.STATUS_COUNTS, 0)
    assert created["created_at"].endswith("+00:00")
    with app.app_context():
        stored = db.session.get(Campaign, created["id"])
        assert stored.organisation_id == organisation_id(app) and stored.form_id == "mini"
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.target_id == stored.id))
        assert event.action == "campaign_opened" and event.user_id is None
        assert event.details["api_key"] is not None
    alone = client.get(f"/api/v1/campaigns/{created['id']}", headers=bearer(key))
    assert alone.status_code == 200 and alone.json == created
    listed = client.get("/api/v1/campaigns", headers=bearer(key)).json
    assert listed["items"] == [created] and listed["total"] == 1


def test_campaign_counts_and_completion_rate_follow_the_invitations(app, client, key):
    campaign = new_campaign(client, key)
    other = new_campaign(client, key, title="Accueil")
    made = invite(client, key, campaign["id"], 7).json["items"]
    invite(client, key, other["id"], 2, prefix="o")
    complete_some(app, made[:2])
    with app.app_context():
        from recruit.candidate import services as candidate

        form = questions.bank(app).get("mini", "fr")
        started = db.session.get(Invitation, made[2]["id"])
        candidate.record_consent(started, form, "consent", "fr")
        invitations.revoke(db.session.get(Invitation, made[3]["id"]))
        db.session.get(Invitation, made[4]["id"]).expires_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    # 7 invited: 2 completed, 1 started, 1 revoked, 1 expired, 2 pending.
    expected = {"invited": 7, "completed": 2, "started": 1, "revoked": 1, "expired": 1}
    shown = client.get(f"/api/v1/campaigns/{campaign['id']}", headers=bearer(key)).json
    assert shown["counts"] == expected
    assert shown["completion_rate"] == pytest.approx(100 * 2 / (7 - 1))
    listed = client.get("/api/v1/campaigns", headers=bearer(key)).json["items"]
    assert [c["id"] for c in listed] == [other["id"], campaign["id"]]  # newest first
    assert listed[0]["counts"] == {**dict.fromkeys(invitations.STATUS_COUNTS, 0), "invited": 2}
    assert listed[0]["completion_rate"] == 0.0


def test_campaign_list_pages_and_filters(app, client, key):
    ids = [new_campaign(client, key, title=f"Poste {i}")["id"] for i in range(5)]
    with app.app_context():
        invitations.close_campaign(db.session.get(Campaign, ids[0]))
        db.session.commit()
    first = client.get("/api/v1/campaigns?per_page=2", headers=bearer(key)).json
    assert (first["page"], first["per_page"], first["total"], first["pages"]) == (1, 2, 5, 3)
    pages = [
        client.get(f"/api/v1/campaigns?per_page=2&page={p}", headers=bearer(key)).json["items"]
        for p in (1, 2, 3, 4)
    ]
    assert [c["id"] for page in pages for c in page] == ids[::-1]
    assert pages[3] == []
    closed = client.get("/api/v1/campaigns?status=closed", headers=bearer(key)).json
    assert [c["id"] for c in closed["items"]] == [ids[0]]
    assert closed["items"][0]["status"] == "closed" and closed["items"][0]["closed_at"]


# --- Invitations ----------------------------------------------------------------------------


def test_invitations_come_back_with_links_that_open_the_test(app, client, key):
    campaign = new_campaign(client, key)
    response = invite(client, key, campaign["id"], 3)
    assert response.status_code == 201, response.text
    body = response.json
    assert body["send_email"] is False
    assert [i["email"] for i in body["items"]] == [f"p{i}@example.org" for i in range(3)]
    assert [i["external_id"] for i in body["items"]] == ["X0", "X1", "X2"]
    for item in body["items"]:
        assert item["status"] == "pending" and item["campaign_id"] == campaign["id"]
        assert item["link"].startswith("http://localhost/t/")
        assert client.get(item["link"]).status_code == 200
    assert count(app, Invitation) == 3 and count(app, Candidate) == 3
    assert count(app, OutboxMessage) == 0  # the ATS sends the links itself by default
    with app.app_context():
        stored = db.session.get(Invitation, body["items"][0]["id"])
        expected = stored.created_at + timedelta(days=campaign["invitation_days"])
        assert abs(stored.expires_at - expected) < timedelta(seconds=5)


def test_send_email_queues_one_message_per_invitation(app, client, key):
    campaign = new_campaign(client, key)
    response = invite(client, key, campaign["id"], 4, send_email=True)
    assert response.status_code == 201 and response.json["send_email"] is True
    ids = {i["id"] for i in response.json["items"]}
    with app.app_context():
        messages = db.session.scalars(sa.select(OutboxMessage)).all()
        assert {m.invitation_id for m in messages} == ids and len(messages) == 4
        assert {(m.kind, m.status) for m in messages} == {("invitation", "pending")}


def test_a_known_candidate_is_reused_and_a_new_campaign_can_invite_them(app, client, key):
    first = new_campaign(client, key)
    second = new_campaign(client, key, title="Accueil")
    assert invite(client, key, first["id"], 2).status_code == 201
    again = client.post(
        f"/api/v1/campaigns/{second['id']}/invitations",
        headers=bearer(key),
        json=[{"name": "Personne 0", "email": "P0@Example.org", "external_id": "NEW"}],
    )
    assert again.status_code == 201, again.text
    assert count(app, Candidate) == 2 and count(app, Invitation) == 3
    assert again.json["items"][0]["external_id"] == "NEW"


def test_two_calls_inviting_the_same_people_at_once_make_one_link_each(
    app, client, key, monkeypatch
):
    from concurrent.futures import ThreadPoolExecutor

    campaign = new_campaign(client, key)
    waits = both_past_the_check(monkeypatch)
    with ThreadPoolExecutor(max_workers=2) as pool:
        calls = list(pool.map(lambda _: invite(app.test_client(), key, campaign["id"], 2), [1, 2]))
    assert sorted(r.status_code for r in calls) == [201, 422]
    refused = next(r for r in calls if r.status_code == 422)
    error = assert_error(refused, 422, "invalid_candidates", "candidates")
    assert {(p["index"], p["code"]) for p in error["problems"]} == {
        (0, "already_invited"),
        (1, "already_invited"),
    }
    assert "met" not in waits
    assert count(app, Invitation) == 2


def test_invitation_list_shows_each_state_and_links_only_while_usable(app, client, key):
    campaign = new_campaign(client, key)
    made = invite(client, key, campaign["id"], 5).json["items"]
    complete_some(app, made[:1])
    with app.app_context():
        from recruit.candidate import services as candidate

        form = questions.bank(app).get("mini", "fr")
        candidate.record_consent(db.session.get(Invitation, made[1]["id"]), form, "c", "fr")
        invitations.revoke(db.session.get(Invitation, made[2]["id"]))
        db.session.get(Invitation, made[3]["id"]).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    url = f"/api/v1/campaigns/{campaign['id']}/invitations"
    body = client.get(url, headers=bearer(key)).json
    assert body["total"] == 5 and body["pages"] == 1
    states = {i["id"]: i["status"] for i in body["items"]}
    expected = ["completed", "started", "revoked", "expired", "pending"]
    assert [states[m["id"]] for m in made] == expected
    for item in body["items"]:
        usable = item["status"] in ("pending", "started")
        assert (item["link"] is not None) == usable
        if usable:
            assert client.get(item["link"], follow_redirects=True).status_code == 200
    done = next(i for i in body["items"] if i["status"] == "completed")
    assert done["completed_at"] and done["started_at"]
    for state in expected:
        only = client.get(f"{url}?status={state}", headers=bearer(key)).json
        assert [i["status"] for i in only["items"]] == [state] and only["total"] == 1
    paged = client.get(f"{url}?per_page=2&page=3", headers=bearer(key)).json
    assert paged["pages"] == 3 and [i["id"] for i in paged["items"]] == [made[4]["id"]]
    one = client.get(f"{url}/{made[1]['id']}", headers=bearer(key))
    assert one.status_code == 200
    assert one.json == next(i for i in body["items"] if i["id"] == made[1]["id"])


def test_five_thousand_candidates_in_one_request(app, client, key):
    campaign = new_campaign(client, key)
    response = invite(client, key, campaign["id"], 5000)
    assert response.status_code == 201
    assert len(response.json["items"]) == 5000
    assert count(app, Invitation) == 5000 and count(app, Candidate) == 5000


# --- Results --------------------------------------------------------------------------------


def expected_scores(app, campaign_id):
    """norms.normalize on frames.scores of the campaign: what the API must agree with."""
    with app.app_context():
        frame = frames.scores(organisation_id(app), [campaign_id])
    scales = results.scale_columns(frame)
    return frame.join(norms.normalize(frame, pool="campaign_id", scales=scales)), scales


def assert_scores_match(items, expected, scales):
    """The API's result items are ``expected``'s rows, one each, with the same scores."""
    assert len(expected) > 0, "nothing to compare: the check would prove nothing"
    by_id = {item["invitation_id"]: item for item in items}
    assert len(by_id) == len(items), "an invitation is listed twice"
    assert sorted(by_id) == sorted(int(i) for i in expected["invitation_id"])
    for row in expected.to_dict("records"):
        shown = by_id[int(row["invitation_id"])]["scores"]
        assert sorted(shown) == sorted(scales)
        for scale in scales:
            got = [shown[scale]["raw"]] + [shown[scale][d] for d in DERIVED]
            want = [row[scale]] + [row[f"{scale}_{d}"] for d in DERIVED]
            np.testing.assert_allclose(
                np.array(got, dtype=float), np.array(want, dtype=float), rtol=1e-9, atol=1e-9
            )


def test_assert_scores_match_fails_on_an_empty_export():
    nothing = pd.DataFrame({"invitation_id": pd.Series([], dtype=int)})
    with pytest.raises(AssertionError):
        assert_scores_match([], nothing, ["composite"])


@pytest.mark.parametrize("norm", ["campaign", "pooled"])
def test_results_match_normalize_on_the_same_campaign(app, client, key, norm):
    campaign = new_campaign(client, key)
    other = new_campaign(client, key, title="Accueil")
    made = invite(client, key, campaign["id"], 9).json["items"]
    complete_some(app, made[:8], seed=11)
    complete_some(app, invite(client, key, other["id"], 3, prefix="o").json["items"], seed=5)
    response = client.get(
        f"/api/v1/campaigns/{campaign['id']}/results?norm={norm}", headers=bearer(key)
    )
    assert response.status_code == 200, response.text
    body = response.json
    expected, scales = expected_scores(app, campaign["id"])
    assert body["scales"] == scales == ["composite", "ecoute", "plaisir"]
    assert body["total"] == 8 and len(body["items"]) == 8  # the started/pending one is not there
    assert_scores_match(body["items"], expected, scales)
    assert body["norm"]["kind"] == norm and body["norm"]["method"] == "standard"
    assert body["norm"]["n"] == 8 and body["norm"]["provisional"] is True  # 8 < 30
    assert body["norm"]["pool"] == ("pooled" if norm == "pooled" else f"campaign:{campaign['id']}")
    bank_form = questions.bank(app).get("mini", "fr")
    first = body["items"][0]
    assert first["form_version"] == bank_form.version and first["status"] == "completed"
    assert first["scoring_method"] and first["completed_at"]
    externals = {i["id"]: i["external_id"] for i in made}
    assert all(item["external_id"] == externals[item["invitation_id"]] for item in body["items"])
    paged = client.get(
        f"/api/v1/campaigns/{campaign['id']}/results?norm={norm}&per_page=3&page=3",
        headers=bearer(key),
    ).json
    assert paged["pages"] == 3 and paged["items"] == body["items"][6:]


def test_reference_norm_is_409_until_one_is_stored_then_used(app, client, key):
    campaign = new_campaign(client, key)
    complete_some(app, invite(client, key, campaign["id"], 6).json["items"], seed=8)
    url = f"/api/v1/campaigns/{campaign['id']}/results?norm=reference"
    error = assert_error(client.get(url, headers=bearer(key)), 409, "norm_unavailable", "norm")
    assert "recruit norms refresh" in error["message"]
    with app.app_context():
        results.refresh_reference_norm(organisation_id(app), "mini")
        db.session.commit()
        stored = db.session.scalar(sa.select(ReferenceNorm))
        table = {s.scale_id: (s.location, s.spread) for s in stored.scales}
        frame = frames.scores(organisation_id(app), [campaign["id"]])
    body = client.get(url, headers=bearer(key)).json
    assert body["norm"]["kind"] == "reference" and body["norm"]["n"] == 6
    assert body["norm"]["built_at"] and body["norm"]["provisional"] is False
    by_id = {item["invitation_id"]: item["scores"] for item in body["items"]}
    for row in frame.to_dict("records"):
        for scale, (location, spread) in table.items():
            z = (row[scale] - location) / spread
            shown = by_id[row["invitation_id"]][scale]
            assert shown["z"] == pytest.approx(z)
            assert shown["t"] == pytest.approx(50 + 10 * z)
            assert shown["sten"] == min(max(math.floor(2 * z) + 6, 1), 10)


def test_a_missing_score_is_null_not_nan(app, client, key):
    campaign = new_campaign(client, key)
    made = invite(client, key, campaign["id"], 4).json["items"]
    complete_some(app, made)
    with app.app_context():
        result = db.session.scalar(sa.select(Result).where(Result.invitation_id == made[0]["id"]))
        db.session.execute(
            sa.delete(ScaleScore).where(
                ScaleScore.result_id == result.id, ScaleScore.scale_id == "ecoute"
            )
        )
        db.session.commit()
    response = client.get(f"/api/v1/campaigns/{campaign['id']}/results", headers=bearer(key))

    def refuse(constant):
        raise AssertionError(f"{constant} in JSON")

    body = json.loads(response.get_data(as_text=True), parse_constant=refuse)
    missing = next(i for i in body["items"] if i["invitation_id"] == made[0]["id"])
    assert missing["scores"]["ecoute"] == dict.fromkeys(["raw", *DERIVED])
    assert missing["scores"]["plaisir"]["raw"] is not None


def test_results_of_a_campaign_without_completed_tests(app, client, key):
    campaign = new_campaign(client, key)
    invite(client, key, campaign["id"], 2)
    body = client.get(f"/api/v1/campaigns/{campaign['id']}/results", headers=bearer(key)).json
    assert body["items"] == [] and body["total"] == 0 and body["pages"] == 0
    assert body["norm"]["kind"] == "campaign" and body["norm"]["n"] == 0


# --- Authentication and scoping -------------------------------------------------------------

ROUTES = [
    ("get", "/api/v1/forms"),
    ("get", "/api/v1/campaigns"),
    ("post", "/api/v1/campaigns"),
    ("get", "/api/v1/campaigns/{cid}"),
    ("get", "/api/v1/campaigns/{cid}/invitations"),
    ("post", "/api/v1/campaigns/{cid}/invitations"),
    ("get", "/api/v1/campaigns/{cid}/invitations/{iid}"),
    ("get", "/api/v1/campaigns/{cid}/results"),
]
VALID_BODIES = {
    "/api/v1/campaigns": {"title": "T", "form_id": "mini", "language": "fr"},
    "/api/v1/campaigns/{cid}/invitations": [{"name": "Eve", "email": "eve@example.org"}],
}


def call(client, method, path, headers, cid, iid):
    url = path.format(cid=cid, iid=iid)
    body = VALID_BODIES.get(path)
    return getattr(client, method)(url, headers=headers, json=body)


def test_every_operation_needs_a_live_key(app, client, key):
    # Far more refused keys from one address than RECRUIT_RATELIMIT_API_FAILED lets through
    # (test_security checks that limit): every one of them must be the 401 here.
    app.config["RECRUIT_RATELIMIT_API_FAILED"] = "1000 per 10 minutes"
    campaign = new_campaign(client, key)
    iid = invite(client, key, campaign["id"], 1).json["items"][0]["id"]
    revoked = api_key(app)
    with app.app_context():
        apikeys.revoke(apikeys.authenticate(revoked))
        db.session.commit()
    before = (count(app, Campaign), count(app, Invitation))
    for method, path in ROUTES:
        missing = call(client, method, path, {}, campaign["id"], iid)
        assert_error(missing, 401, "missing_key")
        assert missing.headers["WWW-Authenticate"] == 'Bearer realm="recruit"'
        for headers in (
            bearer("rk_not-a-key"),
            bearer(revoked),
            {"Authorization": f"Basic {key}"},
            {"Authorization": "Bearer"},
        ):
            bad = call(client, method, path, headers, campaign["id"], iid)
            assert_error(bad, 401, "invalid_key")
            assert bad.headers["WWW-Authenticate"].startswith("Bearer ")
            assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    assert (count(app, Campaign), count(app, Invitation)) == before


def test_a_key_records_when_it_was_last_used(app, client, key):
    with app.app_context():
        assert apikeys.authenticate(key).last_used_at is None
    assert client.get("/api/v1/forms", headers=bearer(key)).status_code == 200
    with app.app_context():
        used = apikeys.authenticate(key).last_used_at
        assert used is not None and utcnow() - used < timedelta(minutes=1)


def test_a_key_from_the_cli_works(app, client, runner):
    runner.invoke(args=["org", "create", "Acme"])
    result = runner.invoke(args=["apikey", "create", "--org", "Acme"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert client.get("/api/v1/campaigns", headers=bearer(key)).status_code == 200


def test_another_organisations_ids_are_404_on_every_route(app, client, key):
    theirs = api_key(app, org="Globex")
    their_campaign = new_campaign(client, theirs)
    their_invitation = invite(client, theirs, their_campaign["id"], 1).json["items"][0]["id"]
    mine = new_campaign(client, key)
    my_invitation = invite(client, key, mine["id"], 1, prefix="m").json["items"][0]["id"]
    before = (count(app, Campaign), count(app, Invitation), count(app, Candidate))
    for method, path in ROUTES:
        if "{cid}" not in path:
            continue
        for cid, iid in ((their_campaign["id"], their_invitation), (999999, my_invitation)):
            assert_error(call(client, method, path, bearer(key), cid, iid), 404, "not_found")
    # Ids out of any column's range, or not ids at all: the same 404 (not a 405, not a 500).
    for cid, iid in ((0, 1), (2**31, 1), (10**30, 1), (mine["id"], 2**31), (mine["id"], 0)):
        for method, path in ROUTES:
            if "{cid}" in path and ("{iid}" in path or iid == 1):
                response = call(client, method, path, bearer(key), cid, iid)
                assert_error(response, 404, "not_found")
    # My campaign, their invitation: 404 as well.
    mixed = client.get(
        f"/api/v1/campaigns/{mine['id']}/invitations/{their_invitation}", headers=bearer(key)
    )
    assert_error(mixed, 404, "not_found")
    listed = client.get("/api/v1/campaigns", headers=bearer(key)).json["items"]
    assert [c["id"] for c in listed] == [mine["id"]]
    assert (count(app, Campaign), count(app, Invitation), count(app, Candidate)) == before


# --- Bad input ------------------------------------------------------------------------------

GOOD = {"name": "Ana", "email": "ana@example.org"}


@pytest.mark.parametrize(
    ("rows", "index", "field", "code"),
    [
        ([GOOD, {"name": "Bob"}], 1, "email", "missing_email"),
        ([GOOD, {"name": "Bob", "email": ""}], 1, "email", "missing_email"),
        ([GOOD, {"name": "Bob", "email": "bob@"}], 1, "email", "invalid_email"),
        ([GOOD, {"name": "Bob", "email": 12}], 1, "email", "invalid_email"),
        ([{"email": "bob@example.org"}, GOOD], 0, "name", "missing_name"),
        ([{"name": "  ", "email": "bob@example.org"}, GOOD], 0, "name", "missing_name"),
        ([{"name": "B\x00b", "email": "bob@example.org"}], 0, "name", "invalid_name"),
        ([{"name": "Bob\u202etset", "email": "bob@example.org"}], 0, "name", "invalid_name"),
        ([{"name": "\u2067Bob", "email": "bob@example.org"}], 0, "name", "invalid_name"),
        ([{"name": "Bob\u200e", "email": "bob@example.org"}], 0, "name", "invalid_name"),
        ([{**GOOD, "external_id": "X\u202e1"}], 0, "external_id", "invalid_external_id"),
        ([{"name": "B" * 161, "email": "bob@example.org"}], 0, "name", "name_too_long"),
        ([{**GOOD, "external_id": "X" * 65}], 0, "external_id", "external_id_too_long"),
        ([{**GOOD, "mail": "x"}], 0, "mail", "unknown_field"),
        ([GOOD, {"name": "Ana B", "email": "ANA@example.org"}], 1, "email", "duplicate_in_list"),
        ([GOOD, "ana@example.org"], 1, None, "not_an_object"),
        ([GOOD, {"name": "Old", "email": "old@example.org"}], 1, "email", "already_invited"),
    ],
)
def test_one_bad_row_refuses_the_whole_list(app, client, key, rows, index, field, code):
    campaign = new_campaign(client, key)
    url = f"/api/v1/campaigns/{campaign['id']}/invitations"
    old = client.post(url, headers=bearer(key), json=[{"name": "Old", "email": "old@example.org"}])
    assert old.status_code == 201
    before = (count(app, Invitation), count(app, Candidate), count(app, OutboxMessage))
    response = client.post(url, headers=bearer(key), json={"candidates": rows, "send_email": True})
    error = assert_error(response, 422, "invalid_candidates", "candidates")
    assert {"index": index, "field": field, "code": code} in [
        {k: p[k] for k in ("index", "field", "code")} for p in error["problems"]
    ]
    assert all(p["index"] == index for p in error["problems"])  # the good rows are fine
    after = (count(app, Invitation), count(app, Candidate), count(app, OutboxMessage))
    assert after == before


def test_every_bad_row_is_listed_with_its_index(app, client, key):
    campaign = new_campaign(client, key)
    rows = [GOOD, {"name": "x", "email": "nope"}, GOOD, {}]
    response = client.post(
        f"/api/v1/campaigns/{campaign['id']}/invitations", headers=bearer(key), json=rows
    )
    error = assert_error(response, 422, "invalid_candidates")
    found = [(p["index"], p["code"]) for p in error["problems"]]
    assert found == [
        (1, "invalid_email"),
        (2, "duplicate_in_list"),
        (3, "missing_name"),
        (3, "missing_email"),
    ]
    assert count(app, Invitation) == 0 and count(app, Candidate) == 0


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ("not a list", 422, "not_a_list", "candidates"),
        (42, 422, "not_a_list", "candidates"),
        (None, 422, "not_a_list", "candidates"),
        ({"candidates": {"name": "Ana"}}, 422, "not_a_list", "candidates"),
        ({"people": [GOOD]}, 422, "unknown_field", "people"),
        ({"send_email": True}, 422, "missing_candidates", "candidates"),
        ({"candidates": [GOOD], "send_email": "yes"}, 422, "invalid_input", "send_email"),
        ([], 422, "no_candidates", "candidates"),
        ([GOOD] * 5001, 422, "too_many_candidates", "candidates"),
    ],
)
def test_a_bad_invitation_body_creates_nothing(app, client, key, body, status, code, field):
    campaign = new_campaign(client, key)
    response = client.post(
        f"/api/v1/campaigns/{campaign['id']}/invitations",
        headers=bearer(key),
        data=json.dumps(body),  # json=None would send no body at all
        content_type="application/json",
    )
    assert_error(response, status, code, field)
    assert count(app, Invitation) == 0 and count(app, Candidate) == 0


def test_malformed_or_non_json_bodies(app, client, key):
    campaign = new_campaign(client, key)
    for url in ("/api/v1/campaigns", f"/api/v1/campaigns/{campaign['id']}/invitations"):
        for data in ('[{"name": "Ana",', "", "\xff"):
            response = client.post(
                url, headers=bearer(key), data=data, content_type="application/json"
            )
            assert_error(response, 400, "invalid_json", None)
        as_form = client.post(url, headers=bearer(key), data={"name": "Ana"})
        assert_error(as_form, 415, "unsupported_media_type")
    assert count(app, Campaign) == 1 and count(app, Invitation) == 0


def nested(depth: int) -> str:
    """A JSON body of ``depth`` arrays and objects within one another."""
    return '{"a": ' * (depth - 1) + "[1]" + "}" * (depth - 1)


def test_deeply_nested_json_is_a_400_and_creates_nothing(app, client, key):
    campaign = new_campaign(client, key)
    before = (count(app, Campaign), count(app, Invitation), count(app, AuditEvent))
    for url in ("/api/v1/campaigns", f"/api/v1/campaigns/{campaign['id']}/invitations"):
        for body in ("[" * 1500 + "]" * 1500, '{"a":' * 5000 + "1" + "}" * 5000, nested(33)):
            response = client.post(
                url, headers=bearer(key), data=body, content_type="application/json"
            )
            error = assert_error(response, 400, "json_too_deep", None)
            assert "32" in error["message"]
        # 32 levels parse (and are then refused for what they hold, not for their depth).
        response = client.post(
            url, headers=bearer(key), data=nested(32), content_type="application/json"
        )
        assert_error(response, 422, response.json["error"]["code"])
        assert response.json["error"]["code"] != "json_too_deep"
    assert (count(app, Campaign), count(app, Invitation), count(app, AuditEvent)) == before


@pytest.mark.parametrize(
    ("number", "status", "code"),
    [
        ("NaN", 400, "invalid_json"),
        ("Infinity", 400, "invalid_json"),
        ("-Infinity", 400, "invalid_json"),
        ("1e400", 422, "invalid_input"),  # JSON, but past any float: not a number of days
        ("-1e400", 422, "invalid_input"),
        ("14.0", 422, "invalid_input"),
    ],
)
def test_numbers_that_are_not_finite_integers_are_refused(app, client, key, number, status, code):
    body = (
        f'{{"title": "Accueil", "form_id": "mini", "language": "fr", "invitation_days": {number}}}'
    )
    response = client.post(
        "/api/v1/campaigns", headers=bearer(key), data=body, content_type="application/json"
    )
    error = assert_error(response, status, code)
    if status == 422:
        assert error["field"] == "invitation_days"
    assert count(app, Campaign) == 0


def test_a_closed_campaign_invites_nobody(app, client, key):
    campaign = new_campaign(client, key)
    with app.app_context():
        invitations.close_campaign(db.session.get(Campaign, campaign["id"]))
        db.session.commit()
    response = invite(client, key, campaign["id"], 2)
    assert_error(response, 422, "campaign_closed", None)
    assert count(app, Invitation) == 0 and count(app, Candidate) == 0


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"form_id": "nope"}, "unknown_form", "form_id"),
        ({"language": "de"}, "unknown_language", "language"),
        ({"title": None}, "invalid_input", "title"),
        ({"title": "   "}, "invalid_input", "title"),
        ({"title": "A" * 161}, "invalid_input", "title"),
        ({"title": "Tab\there"}, "invalid_input", "title"),
        ({"title": "Accueil\u202enuit"}, "invalid_input", "title"),
        ({"title": "Accueil\u2066nuit\u2069"}, "invalid_input", "title"),
        ({"title": "Accueil\x00"}, "invalid_input", "title"),
        ({"title": "\u200fAccueil"}, "invalid_input", "title"),
        ({"site": "Lyon\u061c"}, "invalid_input", "site"),
        ({"site": "Lyon\u202a"}, "invalid_input", "site"),
        ({"invitation_days": 14.5}, "invalid_input", "invitation_days"),
        ({"invitation_days": 0}, "invalid_input", "invitation_days"),
        ({"invitation_days": 366}, "invalid_input", "invitation_days"),
        ({"invitation_days": "two"}, "invalid_input", "invitation_days"),
        ({"deadline": "31/12/2030"}, "invalid_input", "deadline"),
        ({"deadline": "2000-01-01"}, "deadline_past", "deadline"),
        ({"colour": "blue"}, "invalid_input", "colour"),
    ],
)
def test_a_bad_campaign_is_refused_and_not_created(app, client, key, changes, code, field):
    body = {"title": "Accueil", "form_id": "mini", "language": "fr", **changes}
    body = {k: v for k, v in body.items() if not (k == "title" and v is None)}
    response = client.post("/api/v1/campaigns", headers=bearer(key), json=body)
    assert_error(response, 422, code, field)
    assert count(app, Campaign) == 0


@pytest.mark.parametrize("body", [[{"title": "A"}], "title", 3])
def test_a_campaign_body_that_is_not_an_object(app, client, key, body):
    response = client.post("/api/v1/campaigns", headers=bearer(key), json=body)
    error = assert_error(response, 422, "invalid_input", None)
    assert error["problems"]
    assert count(app, Campaign) == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=0", "per_page"),
        ("per_page=501", "per_page"),
        ("per_page=ten", "per_page"),
        ("page=0", "page"),
        ("page=-3", "page"),
        ("page=1000001", "page"),
        ("status=lost", "status"),
        ("norm=galaxy", "norm"),
    ],
)
def test_bad_query_parameters_are_400(app, client, key, query, field):
    campaign = new_campaign(client, key)
    name, _, _ = query.partition("=")
    urls = {
        "page": ["/api/v1/forms", "/api/v1/campaigns"],
        "per_page": ["/api/v1/forms", "/api/v1/campaigns"],
        "status": ["/api/v1/campaigns", f"/api/v1/campaigns/{campaign['id']}/invitations"],
        "norm": [f"/api/v1/campaigns/{campaign['id']}/results"],
    }[name]
    if name in ("page", "per_page"):
        urls += [
            f"/api/v1/campaigns/{campaign['id']}/invitations",
            f"/api/v1/campaigns/{campaign['id']}/results",
        ]
    for url in urls:
        error = assert_error(
            client.get(f"{url}?{query}", headers=bearer(key)), 400, "invalid_parameter", field
        )
        assert error["problems"][0]["field"] == field


# --- JSON for the API, HTML for the pages ---------------------------------------------------


def test_unknown_api_urls_and_methods_are_json(app, client, key):
    for url in ("/api/v1/nope", "/api/v1", "/api/v1/", "/api/v1/campaigns/abc"):
        assert_error(client.get(url, headers=bearer(key)), 404, "not_found")
    assert_error(client.get("/api/v1/nope"), 404, "not_found")  # no key: still JSON
    wrong = client.delete("/api/v1/campaigns", headers=bearer(key))
    assert_error(wrong, 405, "method_not_allowed")
    assert set(wrong.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert_error(
        client.put("/api/v1/forms", headers=bearer(key), json={}), 405, "method_not_allowed"
    )


def test_too_large_a_body_and_a_server_error_are_json_too(app, client, key, monkeypatch):
    campaign = new_campaign(client, key)
    app.config["MAX_CONTENT_LENGTH"] = 2000
    large = invite(client, key, campaign["id"], 100)
    assert_error(large, 413, "payload_too_large", None)
    assert count(app, Invitation) == 0

    def broken(_bank):
        raise RuntimeError("a bug")

    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the error is answered
    monkeypatch.setattr("recruit.api.services.describe_forms", broken)
    error = assert_error(client.get("/api/v1/forms", headers=bearer(key)), 500, "internal_error")
    assert "a bug" not in error["message"]


def test_the_html_pages_keep_their_html_errors(app, client):
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert "<html" in missing.text
    assert client.get("/api-v1/forms").mimetype == "text/html"
    page = client.get("/login")
    assert page.mimetype == "text/html"
    no_csrf = client.post("/login", data={"email": "a@example.org", "password": "x"})
    assert no_csrf.status_code == 400 and no_csrf.mimetype == "text/html"
    assert csrf_from(page.text)


def test_flask_smorest_registers_nothing_outside_the_api(app):
    assert HTTPException not in app.error_handler_spec[None].get(None, {})
    assert "openapi" not in app.cli.commands
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api") or "smorest" in rule.endpoint:
            assert rule.rule.startswith("/api/v1/"), rule
    assert not [r for r in app.url_map.iter_rules() if "api-docs" in r.endpoint]


# --- The OpenAPI document -------------------------------------------------------------------


def test_the_openapi_document_covers_every_operation(app, client):
    response = client.get("/api/v1/openapi.json")  # no key needed
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = response.json
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An organisation's API key.",
    }
    assert spec["security"] == [{"bearerAuth": []}]
    schemathesis.openapi.from_dict(spec).validate()  # against the OpenAPI meta-schema
    documented = {
        (path, method.upper())
        for path, operations in spec["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = rule.rule.replace("<api_id:", "{").replace(">", "}")
            routed |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed
    error = {"$ref": "#/components/schemas/Error"}
    for name in ("BAD_REQUEST", "UNAUTHORIZED", "NOT_FOUND", "CONFLICT", "UNPROCESSABLE_ENTITY"):
        assert spec["components"]["responses"][name]["content"]["application/json"] == {
            "schema": error
        }
    assert "WWW-Authenticate" in spec["components"]["responses"]["UNAUTHORIZED"]["headers"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            codes = set(operation["responses"])
            if path.endswith("/openapi.json"):
                assert operation["security"] == [] and codes == {"200"}
                continue
            assert "401" in codes, (path, method)
            # 404 for a campaign that is not the key's: in the path, or in the export filters;
            # and for an export job that is not the key's organisation's.
            takes_campaign = "{campaign_id}" in path or "/export" in path
            assert ("404" in codes) == takes_campaign, (path, method)
            if method == "post":
                assert {"400", "413", "415", "422"} <= codes
    results_codes = spec["paths"]["/api/v1/campaigns/{campaign_id}/results"]["get"]["responses"]
    assert {"200", "400", "401", "404", "409"} == set(results_codes)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def fuzz(operation, headers, seen, path_parameters=None):
    """One operation's generated cases, valid then invalid, through the app, every check run."""
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @settings(
            max_examples=30,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
        def run(case):
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            seen[operation.label].add(response.status_code)

        run()


def test_schemathesis_finds_no_server_error_and_every_response_conforms(app, client, key):
    """Every operation fuzzed with free ids, then again on a campaign with completed tests."""
    campaign = new_campaign(client, key)
    made = invite(client, key, campaign["id"], 5).json["items"]
    complete_some(app, made[:4])
    started = client.post("/api/v1/exports", json={"format": "csv"}, headers=bearer(key))
    pinned = {
        "campaign_id": campaign["id"],
        "invitation_id": made[0]["id"],
        "job_id": started.json["id"],  # an export job (done: the tests' app runs jobs at once)
    }
    # The fuzzer sends about a thousand requests with one key, and its negative cases many
    # without a valid one, all from one address: lift the per-key and per-address limits.
    app.config["RECRUIT_RATELIMIT_API"] = "100000 per minute"
    app.config["RECRUIT_RATELIMIT_API_FAILED"] = "100000 per minute"
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    seen = collections.defaultdict(set)
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {parameter.name for parameter in operation.path_parameters}
        fuzz(operation, bearer(key), seen)
        if names:
            fuzz(operation, bearer(key), seen, {name: pinned[name] for name in names})
    assert len(seen) == 13  # every operation but the document itself
    assert {202, 422} <= seen["POST /api/v1/exports"]
    assert {200, 404} <= seen["GET /api/v1/exports/{job_id}"]
    assert {200, 404} <= seen["GET /api/v1/export.csv"] & seen["GET /api/v1/export.xlsx"]
    # The cases reached past validation: things were created and results normalized.
    assert {201, 422} <= seen["POST /api/v1/campaigns"]
    assert {201, 404, 422} <= seen["POST /api/v1/campaigns/{campaign_id}/invitations"]
    assert {200, 400, 404} <= seen["GET /api/v1/campaigns/{campaign_id}/results"]


# --- Exports --------------------------------------------------------------------------------


def test_csv_export_matches_normalize_and_follows_the_filters(app, client, key):
    campaign = new_campaign(client, key)
    other = new_campaign(client, key, title="Accueil")
    complete_some(app, invite(client, key, campaign["id"], 5).json["items"], seed=2)
    complete_some(app, invite(client, key, other["id"], 3, prefix="o").json["items"], seed=4)
    response = client.get(
        f"/api/v1/export.csv?campaign={campaign['id']}&sep=semicolon", headers=bearer(key)
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    frame = pd.read_csv(io.BytesIO(response.get_data()), sep=";", encoding="utf-8-sig")
    expected, _scales = expected_scores(app, campaign["id"])
    merged = frame.merge(expected, on="invitation_id", suffixes=("", "_expected"))
    assert len(frame) == len(merged) == 5
    np.testing.assert_allclose(merged["composite_t"], merged["composite_t_expected"], atol=0.051)
    everything = client.get("/api/v1/export.csv", headers=bearer(key))
    assert len(pd.read_csv(io.BytesIO(everything.get_data()), encoding="utf-8-sig")) == 8


def test_xlsx_export_and_its_refusals(app, client, key):
    campaign = new_campaign(client, key)
    complete_some(app, invite(client, key, campaign["id"], 3).json["items"], seed=6)
    response = client.get(f"/api/v1/export.xlsx?campaign={campaign['id']}", headers=bearer(key))
    assert response.status_code == 200
    data = response.get_data()
    response.close()
    sheets = pd.read_excel(io.BytesIO(data), sheet_name=None)
    assert len(sheets["candidats"]) == 3 and "à propos" in sheets
    assert_error(client.get("/api/v1/export.xlsx"), 401, "missing_key")
    other_key = api_key(app, org="Other")
    assert_error(
        client.get(f"/api/v1/export.csv?campaign={campaign['id']}", headers=bearer(other_key)),
        404,
        "not_found",
    )
    assert_error(
        client.get("/api/v1/export.csv?norm=reference", headers=bearer(key)),
        409,
        "norm_unavailable",
    )
    assert_error(
        client.get("/api/v1/export.csv?start=2026-12-02&end=2026-12-01", headers=bearer(key)),
        400,
        "invalid_parameter",
    )


def test_export_filters_that_do_not_parse_are_400_as_on_the_dashboard(app, client, key):
    campaign = new_campaign(client, key)
    complete_some(app, invite(client, key, campaign["id"], 2).json["items"])
    refused = [
        ("campaign", "1.0"),
        ("campaign", "abc"),
        ("campaign", "1e3"),
        ("campaign", ""),
        ("start", "2026-13-01"),
        ("end", "demain"),
        ("norm", "galaxy"),
        ("sep", "tab"),
    ]
    before = (count(app, Campaign), count(app, Invitation), count(app, AuditEvent))
    for path in ("/api/v1/export.csv", "/api/v1/export.xlsx"):
        for name, value in refused:
            for query in (f"{name}={value}", f"campaign={campaign['id']}&{name}={value}"):
                response = client.get(f"{path}?{query}", headers=bearer(key))
                error = assert_error(response, 400, "invalid_parameter")
                assert error["field"].split(".")[0] == name, error  # campaign.1: the second
    assert (count(app, Campaign), count(app, Invitation), count(app, AuditEvent)) == before


def test_the_csv_export_says_its_charset_once(app, client, key):
    response = client.get("/api/v1/export.csv", headers=bearer(key))
    assert response.status_code == 200
    assert response.headers.getlist("Content-Type") == ["text/csv; charset=utf-8"]


def test_a_405_says_which_methods_are_allowed(app, client, key):
    campaign = new_campaign(client, key)
    for method, url, allowed in (
        ("delete", "/api/v1/campaigns", {"GET", "POST"}),
        ("put", "/api/v1/forms", {"GET"}),
        ("delete", f"/api/v1/campaigns/{campaign['id']}", {"GET"}),
        ("patch", f"/api/v1/campaigns/{campaign['id']}/invitations", {"GET", "POST"}),
    ):
        for headers in (bearer(key), {}):  # with a key or without one
            response = getattr(client, method)(url, headers=headers)
            assert_error(response, 405, "method_not_allowed")
            assert allowed <= set(response.headers["Allow"].split(", ")), url
    assert count(app, Campaign) == 1
