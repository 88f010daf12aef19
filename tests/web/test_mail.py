"""The outbox sender against a real local SMTP server, on SQLite and on PostgreSQL."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from aiosmtpd.smtp import AuthResult, LoginPassword
from markupsafe import escape

from recruit.data.models import Invitation, OutboxMessage, token_hash, utcnow
from recruit.extensions import db
from recruit.services import outbox
from recruit.services.outbox import MailWorker, SendReport, enqueue, send_pending
from tests.conftest import make_invitation
from tests.helpers import Inbox, free_port, serve

# These tests drive send_pending themselves.
pytestmark = pytest.mark.usefixtures("no_background_sender")

# The personal link itself, not the page of the candidate's rights under it (…/privacy).
LINK_RE = re.compile(r"http://localhost/t/[A-Za-z0-9_-]+(?![A-Za-z0-9_/-])")


@pytest.fixture
def mail_log(caplog, monkeypatch):
    # Alembic's fileConfig (migrations/env.py) disables the loggers that exist when it runs.
    monkeypatch.setattr(outbox.logger, "disabled", False)
    caplog.set_level(logging.INFO, logger="recruit.mail")
    return caplog


def find(token: str) -> Invitation:
    return db.session.scalar(
        sa.select(Invitation).where(Invitation.token_hash == token_hash(token))
    )


def queue(app, kind: str = "invitation", **invitation) -> tuple[str, int]:
    """An invitation and its message, committed together; return the token and the message id."""
    token = make_invitation(app, **invitation)
    with app.app_context():
        message = enqueue(find(token), kind)
        db.session.commit()
        return token, message.id


def send(app, **options) -> SendReport:
    with app.app_context():
        return send_pending(**options)


def stored(app, message_id: int) -> OutboxMessage:
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        db.session.expunge(message)
        return message


def make_due(app, message_id: int) -> None:
    with app.app_context():
        db.session.get(OutboxMessage, message_id).next_attempt_at = utcnow()
        db.session.commit()


def body(message: EmailMessage, subtype: str) -> str:
    return message.get_body((subtype,)).get_content()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_the_candidate_receives_one_french_message_whose_link_opens_the_test(
    app, client, smtp, mail_log
):
    token, message_id = queue(app, name="Dominique Test", email="dominique@example.org")

    assert send(app) == SendReport(sent=1)

    assert smtp.recipients() == ["dominique@example.org"]
    (message,) = smtp.messages()
    assert message["Subject"] == "Votre test de mise en situation – Acme"
    assert message["To"].addresses[0].display_name == "Dominique Test"
    assert message["To"].addresses[0].addr_spec == "dominique@example.org"
    assert message["From"] == "recruit <no-reply@localhost>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@localhost>")
    assert message["Content-Language"] == "fr"
    text, html = body(message, "plain"), body(message, "html")
    assert "Bonjour Dominique Test," in text
    assert "environ 3 minutes" in text
    assert "une personne décide" in text
    assert "en écrivant à Acme" in text
    links = LINK_RE.findall(text)
    assert links == [f"http://localhost/t/{token}"]
    assert f'href="{links[0]}"' in html
    assert "<img" not in html

    page = client.get(urlsplit(links[0]).path)
    assert page.status_code == 200
    assert "Dominique Test" in page.get_data(as_text=True)

    sent = stored(app, message_id)
    assert (sent.status, sent.attempts, sent.eml_path) == ("sent", 1, None)
    assert sent.sent_at is not None
    assert send(app) == SendReport()
    assert len(smtp.envelopes) == 1
    assert "sent" in mail_log.text
    assert token not in mail_log.text and "dominique@example.org" not in mail_log.text


def test_an_english_invitation_is_written_in_english(app, client, smtp):
    token, _ = queue(app, lang="en", name="Robin Smith", email="robin@example.org")

    assert send(app) == SendReport(sent=1)

    (message,) = smtp.messages()
    assert smtp.recipients() == ["robin@example.org"]
    assert message["Content-Language"] == "en"
    text = body(message, "plain")
    assert "Hello Robin Smith," in text
    assert "Valid until" in text and "Time: about 3 minutes" in text
    (link,) = LINK_RE.findall(text)
    assert link == f"http://localhost/t/{token}"
    page = client.get(urlsplit(link).path)
    assert page.status_code == 200 and "Robin Smith" in page.get_data(as_text=True)

    assert message["Subject"] == "Your situational judgement test – Acme"


def test_a_reminder_carries_the_same_link_and_expiry(app, smtp):
    token, _ = queue(app, kind="reminder")

    assert send(app) == SendReport(sent=1)

    (message,) = smtp.messages()
    assert message["Subject"] == "Rappel : votre test de mise en situation – Acme"
    text = body(message, "plain")
    assert "pas encore terminé" in text and "Valable jusqu'au" in text
    assert LINK_RE.findall(text) == [f"http://localhost/t/{token}"]
    assert f'href="http://localhost/t/{token}"' in body(message, "html")


def test_two_senders_at_once_deliver_each_message_once(app, smtp, monkeypatch):
    smtp.delay = 0.02
    emails = [f"candidat{i}@example.org" for i in range(6)]
    ids = [queue(app, name=f"Candidat {i}", email=email)[1] for i, email in enumerate(emails)]
    # Both senders select the same due messages before either claims one: the claim decides.
    both_selected = threading.Barrier(2)
    claim = outbox._claim
    waited = threading.local()

    outcomes: list[bool] = []

    def claim_once_both_selected(message_id: int) -> bool:
        if not getattr(waited, "done", False):
            waited.done = True
            both_selected.wait(timeout=10)
        won = claim(message_id)
        outcomes.append(won)
        return won

    monkeypatch.setattr(outbox, "_claim", claim_once_both_selected)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(send, app) for _ in range(2)]
        reports = [future.result(timeout=60) for future in futures]

    # Each sender tried every message; each message was won by exactly one of them.
    assert sorted(outcomes) == [False] * len(emails) + [True] * len(emails)
    assert sorted(smtp.recipients()) == sorted(emails)
    assert sum(report.sent for report in reports) == len(emails)
    assert all(report.failed == report.retried == 0 for report in reports)
    assert {stored(app, message_id).status for message_id in ids} == {"sent"}


def test_a_message_left_sending_by_a_crash_is_never_sent_again(app, smtp):
    _, message_id = queue(app)
    with app.app_context():
        db.session.get(OutboxMessage, message_id).status = "sending"
        db.session.commit()

    assert send(app) == SendReport()
    assert smtp.envelopes == []


def test_a_round_sends_at_most_its_limit_oldest_first(app, smtp):
    first = queue(app, email="first@example.org")[1]
    queue(app, email="second@example.org")

    assert send(app, limit=1) == SendReport(sent=1)
    assert smtp.recipients() == ["first@example.org"]
    assert stored(app, first).status == "sent"
    assert send(app, limit=1) == SendReport(sent=1)
    assert smtp.recipients() == ["first@example.org", "second@example.org"]


def test_an_unreachable_server_is_retried_with_back_off_then_the_message_fails(app, mail_log):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_MAX_ATTEMPTS=3)
    token, message_id = queue(app)

    before = utcnow()
    assert send(app) == SendReport(retried=1)
    message = stored(app, message_id)
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.last_error.startswith("ConnectionRefusedError")
    assert timedelta(seconds=60) <= message.next_attempt_at - before <= timedelta(seconds=70)
    assert send(app) == SendReport()  # not due yet

    make_due(app, message_id)
    before = utcnow()
    assert send(app) == SendReport(retried=1)
    message = stored(app, message_id)
    assert (message.status, message.attempts) == ("pending", 2)
    assert timedelta(seconds=120) <= message.next_attempt_at - before <= timedelta(seconds=130)

    make_due(app, message_id)
    assert send(app) == SendReport(failed=1)
    message = stored(app, message_id)
    assert (message.status, message.attempts) == ("failed", 3)
    assert message.last_error.startswith("ConnectionRefusedError")
    make_due(app, message_id)
    assert send(app) == SendReport()
    assert token not in mail_log.text and "dominique@example.org" not in mail_log.text


def test_an_unreachable_server_ends_the_round_after_one_attempt(app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    first = queue(app, email="first@example.org")[1]
    second = queue(app, email="second@example.org")[1]

    assert send(app) == SendReport(retried=1)

    assert stored(app, first).attempts == 1
    untouched = stored(app, second)
    assert (untouched.status, untouched.attempts, untouched.last_error) == ("pending", 0, None)


def test_a_message_that_cannot_be_rendered_fails_and_the_round_goes_on(app, smtp):
    token, broken = queue(app, email="first@example.org")
    with app.app_context():
        find(token).campaign.form_id = "no-such-form"
        db.session.commit()
    queue(app, email="second@example.org", org="Beta")

    assert send(app) == SendReport(sent=1, failed=1)

    message = stored(app, broken)
    assert (message.status, message.last_error) == ("failed", "cannot render: KeyError")
    assert smtp.recipients() == ["second@example.org"]


def test_the_back_off_doubles_up_to_an_hour():
    delays = [outbox.retry_delay(attempts).total_seconds() for attempts in range(1, 9)]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_refused_recipient_is_recorded_without_the_address(app, smtp, mail_log):
    smtp.refuse = True
    token, message_id = queue(app)

    assert send(app) == SendReport(retried=1)

    message = stored(app, message_id)
    assert message.last_error == "SMTPRecipientsRefused: 550"
    assert smtp.envelopes == []
    assert "example.org" not in mail_log.text and token not in mail_log.text


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_sender_logs_in_when_a_username_is_set(app):
    def authenticator(server, session, envelope, mechanism, auth_data):
        good = LoginPassword(b"mailer", b"s3cret")
        return AuthResult(success=auth_data == good, handled=False)

    inbox = Inbox()
    controller = serve(app, inbox, authenticator=authenticator, auth_require_tls=False)
    try:
        app.config.update(MAIL_USERNAME="mailer", MAIL_PASSWORD="wrong")
        _, message_id = queue(app)
        assert send(app) == SendReport(retried=1)
        assert stored(app, message_id).last_error.startswith("SMTPAuthenticationError: 535")

        app.config["MAIL_PASSWORD"] = "s3cret"
        make_due(app, message_id)
        assert send(app) == SendReport(sent=1)
        assert inbox.recipients() == ["dominique@example.org"]
    finally:
        controller.stop()


@pytest.mark.parametrize("state", ["revoked", "completed", "expired"])
def test_a_message_of_an_invitation_no_longer_open_is_not_sent(app, smtp, state):
    token, message_id = queue(app)
    with app.app_context():
        invitation = find(token)
        if state == "expired":
            invitation.expires_at = utcnow() - timedelta(minutes=1)
        else:
            invitation.status = state
            setattr(invitation, f"{state}_at", utcnow())
        db.session.commit()

    assert send(app) == SendReport(failed=1)

    assert smtp.envelopes == []
    message = stored(app, message_id)
    assert (message.status, message.attempts) == ("failed", 0)
    assert message.last_error == "invitation no longer open"


def test_without_a_mail_server_the_message_is_written_as_an_eml_file(app, client, tmp_path):
    app.config.pop("MAIL_SERVER", None)
    app.config["MAIL_OUTBOX_DIR"] = str(tmp_path / "outbox")
    token, message_id = queue(app)

    assert send(app) == SendReport(sent=1)

    path = tmp_path / "outbox" / f"{message_id}-invitation.eml"
    assert stored(app, message_id).eml_path == str(path)
    assert list(path.parent.iterdir()) == [path]
    assert path.stat().st_mode & 0o077 == 0
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["Subject"] == "Votre test de mise en situation – Acme"
    (link,) = LINK_RE.findall(body(message, "plain"))
    assert link == f"http://localhost/t/{token}"
    assert client.get(urlsplit(link).path).status_code == 200


def test_the_eml_folder_defaults_to_the_instance_folder(app, tmp_path):
    app.config.pop("MAIL_SERVER", None)
    app.config.pop("MAIL_OUTBOX_DIR", None)
    app.instance_path = str(tmp_path)
    _, message_id = queue(app, kind="reminder")

    assert send(app) == SendReport(sent=1)

    assert stored(app, message_id).eml_path == str(
        tmp_path / "outbox" / f"{message_id}-reminder.eml"
    )


@pytest.mark.parametrize("wake", ["notify", "poll"])
def test_the_worker_delivers_a_message_enqueued_after_it_started(app, smtp, wake):
    # With a long poll only notify() can deliver in time; with a short one, polling does.
    app.config["MAIL_POLL_SECONDS"] = 60 if wake == "notify" else 0.1
    worker = MailWorker()
    worker.start(app)
    try:
        assert worker.running
        _, message_id = queue(app)
        if wake == "notify":
            worker.notify()
        assert wait_for(lambda: len(smtp.envelopes) == 1, timeout=10)
    finally:
        worker.stop()
    assert not worker.running
    assert stored(app, message_id).status == "sent"
    assert smtp.recipients() == ["dominique@example.org"]


@pytest.mark.parametrize("name", ["Hélène Çağlar-Lefèvre", "<b>x</b>", "Zoë <b>O'Brien</b> & Co"])
def test_names_with_accents_or_markup_are_safe_in_both_parts(app, smtp, name):
    queue(app, name=name)

    assert send(app) == SendReport(sent=1)

    (message,) = smtp.messages()
    assert message["To"].addresses[0].display_name == name
    assert f"Bonjour {name}," in body(message, "plain")
    html = body(message, "html")
    assert f"Bonjour {escape(name)}," in html
    assert "<b>" not in html


def test_enqueue_only_adds_to_the_callers_transaction(app):
    token = make_invitation(app, org="Beta")
    with app.app_context():
        invitation = find(token)
        message = enqueue(invitation, "invitation")
        assert message.id is not None
        assert message.organisation_id == invitation.campaign.organisation_id
        assert (message.status, message.attempts, message.kind) == ("pending", 0, "invitation")
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
        with pytest.raises(ValueError):
            enqueue(find(token), "newsletter")
