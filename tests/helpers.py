"""Builders and steps the web tests share: accounts and logging in, counting rows, a recruiter's
campaign and import, a candidate's whole test, API keys and an SMTP server that keeps what it
gets. The fixtures built on them (``smtp``, ``no_background_sender``) are in tests/conftest.py."""

from __future__ import annotations

import asyncio
import io
import re
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import urlencode

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from recruit.auth import services as accounts
from recruit.data import questions
from recruit.data.models import Campaign, Invitation, token_for, token_hash
from recruit.extensions import db
from recruit.services import apikeys, invitations
from tests.conftest import csrf_from

PASSWORD = "correct horse battery staple"


# --- Accounts and logging in ----------------------------------------------------------------


def at(address: str) -> dict:
    """Test client arguments for a request from ``address``."""
    return {"environ_base": {"REMOTE_ADDR": address}}


def make_user(app, role="recruiter", org="Acme", email=None) -> str:
    """A user of ``org`` (created if needed) with the password PASSWORD; return their email."""
    email = email or f"{role}@{org.lower()}.example.org"
    with app.app_context():
        organisation = invitations.find_organisation(org) or invitations.create_organisation(org)
        accounts.create_user(organisation, email, role, PASSWORD, name=role.title())
        db.session.commit()
    return email


def login(client, email, password=PASSWORD, *, next_url=None, address=None):
    """Log in through the form: GET /login for its CSRF token, then POST it, with ``?next=``
    when ``next_url`` is given, both from ``address`` when given. Return the POST's response."""
    where = at(address) if address is not None else {}
    page = client.get("/login", **where)
    url = "/login" if next_url is None else "/login?" + urlencode({"next": next_url})
    return client.post(
        url,
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "email": email,
            "password": password,
        },
        **where,
    )


def logged_in(app, email, *, address=None):
    """A new client of ``app``, logged in as ``email`` (which must succeed)."""
    client = app.test_client()
    response = login(client, email, address=address)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


# --- The database ---------------------------------------------------------------------------


def count(app, model, *where, **equal) -> int:
    """The number of ``model`` rows matching every clause of ``where`` and every
    ``column=value`` of ``equal``."""
    clauses = [*where, *(getattr(model, column) == value for column, value in equal.items())]
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*clauses))


def stored_rows(app) -> dict[str, list]:
    """Every row of the recruiting data (not the accounts and keys, whose last-use times move):
    what a refused request must leave exactly as it was."""
    from recruit.data import models

    tables = [
        models.Organisation,
        models.Campaign,
        models.Candidate,
        models.FormVersion,
        models.ConsentText,
        models.Invitation,
        models.Answer,
        models.PageTime,
        models.Result,
        models.ScaleScore,
        models.ReferenceNorm,
        models.Decision,
        models.AuditEvent,
        models.OutboxMessage,
        models.ImportBatch,
        models.ErasedLink,
    ]
    with app.app_context(), db.engine.connect() as conn:
        return {
            model.__tablename__: sorted(
                (tuple(row) for row in conn.execute(sa.select(model.__table__))), key=repr
            )
            for model in tables
        }


def both_past_the_check(monkeypatch) -> list[str]:
    """Make each request wait (up to 2 s) at the "already invited?" check for the other one.

    Without a lock both pass the check before either invites: two links for one person. With
    the campaign locked, the second waits before the check, the barrier times out for the
    first, which invites and commits; the second then sees that invitation.
    """
    barrier = threading.Barrier(2)
    check = invitations.already_invited
    waits: list[str] = []

    def waiting_check(campaign, emails):
        try:
            barrier.wait(timeout=2)
            waits.append("met")
        except threading.BrokenBarrierError:
            waits.append("alone")
        return check(campaign, emails)

    monkeypatch.setattr(invitations, "already_invited", waiting_check)
    return waits


# --- The recruiter's pages ------------------------------------------------------------------


def new_campaign(client, title="Réceptionniste", site="Lyon", days="14", form="mini:fr"):
    """Open a campaign through the form of a logged-in client."""
    page = client.get("/campaigns/new")
    return client.post(
        "/campaigns/new",
        data={
            "csrf_token": csrf_from(page.text),
            "title": title,
            "site": site,
            "form_language": form,
            "invitation_days": days,
        },
    )


def campaign_id(app, title="Réceptionniste") -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Campaign.id).where(Campaign.title == title))


def token_of(app, invitation_id) -> str:
    """The link token of an invitation, as the app derives it."""
    with app.app_context():
        nonce = db.session.get(Invitation, invitation_id).token_nonce
        return token_for(nonce, app.config["SECRET_KEY"])


def upload(client, cid, content: bytes, filename="candidats.csv"):
    """Send a spreadsheet to the import form of campaign ``cid``: the preview."""
    page = client.get(f"/campaigns/{cid}/import")
    return client.post(
        f"/campaigns/{cid}/import",
        data={"csrf_token": csrf_from(page.text), "spreadsheet": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def confirm(client, response):
    """Confirm the import previewed in ``response``."""
    action = re.search(r'action="(/campaigns/\d+/import/\d+)"', response.text).group(1)
    return client.post(action, data={"csrf_token": csrf_from(response.text)})


# --- The candidate's test (the mini form) ---------------------------------------------------

# The mini form: m1 most_least (plaisir), m2 rating (ecoute), m3 choice (plaisir, ecoute),
# two items per page, so two pages. Answers below are keyed per item id.
GOOD = {
    "m1": {"m1-best": "a", "m1-worst": "c"},
    "m2": {"m2-a": "5", "m2-b": "2", "m2-c": "3", "m2-d": "5"},
    "m3": {"m3-choice": "c"},
}


def invitation(app, token) -> Invitation:
    """The invitation of a link token, detached from the session."""
    with app.app_context():
        inv = db.session.scalar(
            sa.select(Invitation).where(Invitation.token_hash == token_hash(token))
        )
        db.session.expunge(inv)
        return inv


def consent(client, token):
    page = client.get(f"/t/{token}")
    return client.post(
        f"/t/{token}/consent", data={"csrf_token": csrf_from(page.text), "agree": "y"}
    )


def page_items(app, token, number) -> list[str]:
    """The item ids on page ``number`` of this invitation's shuffled form."""
    inv = invitation(app, token)
    form = questions.bank(app).get("mini", "fr")
    return [item.id for item in form.pages(inv.seed)[number - 1]]


def answer_page(client, app, token, number, overrides=None, drop=()):
    """Post page ``number`` with the GOOD answers, changed by ``overrides``, less ``drop``."""
    page = client.get(f"/t/{token}/p/{number}")
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page.text)}
    for item_id in page_items(app, token, number):
        data.update(GOOD[item_id])
    data.update(overrides or {})
    for key in drop:
        data.pop(key, None)
    return client.post(f"/t/{token}/p/{number}", data=data)


def finish(client, app, token):
    """Consent, answer both pages and submit; return the submit's response."""
    consent(client, token)
    answer_page(client, app, token, 1)
    answer_page(client, app, token, 2)
    review = client.get(f"/t/{token}/review")
    assert review.status_code == 200
    return client.post(f"/t/{token}/submit", data={"csrf_token": csrf_from(review.text)})


# --- The API --------------------------------------------------------------------------------


def api_key(app, org="Acme", name="ATS") -> str:
    """A live API key of the organisation, created with it if needed."""
    with app.app_context():
        organisation = invitations.find_organisation(org) or invitations.create_organisation(org)
        _, key = apikeys.create_key(organisation, name)
        db.session.commit()
    return key


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


# --- Mail -----------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nothing listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.refuse = False
        self.delay = 0.0
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [
            message_from_bytes(e.original_content, policy=policy.default) for e in self.envelopes
        ]

    def recipients(self) -> list[str]:
        return [address for e in self.envelopes for address in e.rcpt_tos]


def serve(app, inbox: Inbox, **options) -> Controller:
    """Start an SMTP server on loopback delivering to ``inbox`` and point ``app`` at it."""
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    return controller


# --- Jobs -----------------------------------------------------------------------------------


def export_job(client, path="/hr/export.xlsx", query="", headers=None):
    """An HR export run as a job: the start page's button (POST, 303 to the job page), then the
    job's file. The tests' app runs jobs at once (RECRUIT_QUEUE_URL=immediate): the file is
    ready when the POST answers. Returns the file's response."""
    url = f"{path}?{query}" if query else path
    page = client.get(url, headers=headers)
    assert page.status_code == 200, page.status_code
    started = client.post(url, data={"csrf_token": csrf_from(page.text)}, headers=headers)
    assert started.status_code == 303, started.status_code
    job_page = started.headers["Location"]
    assert re.fullmatch(r"/jobs/\d+", job_page), job_page
    return client.get(job_page + "/file", headers=headers)
