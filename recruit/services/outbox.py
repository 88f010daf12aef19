"""The outbox sender: claims pending messages, delivers them by SMTP or as .eml files, retries."""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from recruit.data import questions
from recruit.data.models import MESSAGE_KINDS, Invitation, OutboxMessage, PasswordReset, utcnow
from recruit.extensions import db
from recruit.services.links import invitation_link, password_reset_link

logger = logging.getLogger("recruit.mail")  # the name operators filter on

DEFAULT_SENDER = "recruit <no-reply@localhost>"
FIRST_RETRY = timedelta(seconds=60)
LONGEST_RETRY = timedelta(hours=1)
NOT_OPEN = "invitation no longer open"
NO_LINK = "invitation has no personal link"
RESET_CLOSED = "password reset used or expired"
# Errors that concern one message; any other delivery error means the server or the folder is
# unusable right now, so the round stops instead of waiting out a timeout per message.
PER_MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError)
ADDRESS_RE = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+")
URL_RE = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class SendReport:
    """What one round of send_pending did: messages sent, failed for good, left for a retry."""

    sent: int = 0
    failed: int = 0
    retried: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.retried


def enqueue(invitation: Invitation, kind: str) -> OutboxMessage:
    """Add a pending message announcing an invitation, in the caller's transaction."""
    if kind not in MESSAGE_KINDS:
        raise ValueError(f"unknown message kind: {kind!r}")
    return _queue(invitation.campaign.organisation_id, kind, invitation=invitation)


def enqueue_password_reset(reset: PasswordReset) -> OutboxMessage:
    """Add a pending password-reset email for a staff user, in the caller's transaction."""
    return _queue(reset.user.organisation_id, "password_reset", password_reset=reset)


def _queue(organisation_id: int, kind: str, **about) -> OutboxMessage:
    message = OutboxMessage(
        organisation_id=organisation_id,
        kind=kind,
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
        **about,
    )
    db.session.add(message)
    db.session.flush()
    return message


def render(message: OutboxMessage) -> EmailMessage:
    """The email of an outbox message, in its language, with text and HTML parts."""
    if message.kind == "password_reset":
        return _render_reset(message)
    invitation = message.invitation
    campaign = invitation.campaign
    candidate = invitation.candidate
    organisation = campaign.organisation
    link = invitation_link(invitation)
    if link is None:
        raise ValueError(NO_LINK)
    form = questions.form_of(campaign)
    with force_locale(campaign.language):
        if message.kind == "reminder":
            subject = _("Rappel : votre test de mise en situation – %(org)s", org=organisation.name)
        else:
            subject = _("Votre test de mise en situation – %(org)s", org=organisation.name)
        context = {
            "subject": subject,
            "language": campaign.language,
            "candidate": candidate,
            "campaign": campaign,
            "organisation": organisation,
            "invitation": invitation,
            "minutes": form.minutes,
            "link": link,
        }
        text = render_template(f"mail/{message.kind}.txt", **context)
        html = render_template(f"mail/{message.kind}.html", **context)
    return _email(message, subject, candidate.name, candidate.email, text, html, campaign.language)


def _render_reset(message: OutboxMessage) -> EmailMessage:
    """A staff user's forgotten-password email, in the language of the page that asked for it."""
    reset = message.password_reset
    user = reset.user
    link = password_reset_link(reset)
    if link is None:
        raise ValueError(RESET_CLOSED)
    with force_locale(reset.language):
        subject = _("Réinitialiser votre mot de passe – recruit")
        context = {
            "subject": subject,
            "language": reset.language,
            "user": user,
            "organisation": user.organisation,
            "link": link,
            "expires_at": reset.expires_at,
        }
        text = render_template("mail/password_reset.txt", **context)
        html = render_template("mail/password_reset.html", **context)
    return _email(message, subject, user.name, user.email, text, html, reset.language)


def _email(message, subject, name, address, text, html, language) -> EmailMessage:
    sender = str(current_app.config.get("MAIL_DEFAULT_SENDER") or DEFAULT_SENDER)
    email = EmailMessage()
    email["Subject"] = subject
    email["From"] = sender
    email["To"] = Address(display_name=name, addr_spec=address)
    email["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    email["Message-ID"] = make_msgid(idstring=f"recruit.{message.id}", domain=domain)
    email["Auto-Submitted"] = "auto-generated"
    email["X-Auto-Response-Suppress"] = "All"
    email.set_content(text)
    email.add_alternative(html, subtype="html")
    email["Content-Language"] = language  # after the body: set_content drops Content-*
    return email


def send_pending(*, limit: int = 200) -> SendReport:
    """Deliver the due messages, oldest first; commits each claim and each result itself.

    This is the worker's own transaction boundary, not a request's: a message is claimed
    (pending -> sending) and committed before delivery, so concurrent senders never deliver it
    twice; one left in "sending" by a crash is never retried (at most once).
    """
    config = current_app.config
    max_attempts = int(config.get("MAIL_MAX_ATTEMPTS", 5))
    due = db.session.scalars(
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= utcnow())
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    sent = failed = retried = 0
    transport = _Transport(config, current_app.instance_path)
    try:
        for message_id in due:
            if not _claim(message_id):
                continue
            message = db.session.get(OutboxMessage, message_id)
            reason = _closed_reason(message)
            if reason is not None:
                _give_up(message, reason)
                failed += 1
                continue
            try:
                email = render(message)
            except Exception as exc:  # a message must never stay claimed because of a bug
                _give_up(message, f"cannot render: {type(exc).__name__}")
                failed += 1
                continue
            message.attempts += 1
            try:
                message.eml_path = transport.deliver(message, email)
            except (OSError, smtplib.SMTPException) as exc:
                if _retry_or_fail(message, _reason(exc, message), max_attempts):
                    retried += 1
                else:
                    failed += 1
                if not isinstance(exc, PER_MESSAGE_ERRORS):
                    break
                continue
            except Exception as exc:  # as above: record it rather than leave it claimed
                _give_up(message, f"cannot deliver: {type(exc).__name__}")
                failed += 1
                continue
            message.status = "sent"
            message.sent_at = utcnow()
            logger.info("outbox message %s (%s) sent", message.id, message.kind)
            db.session.commit()
            sent += 1
    finally:
        transport.close()
    return SendReport(sent=sent, failed=failed, retried=retried)


def _claim(message_id: int) -> bool:
    """Mark one message as being sent, unless another sender did first; commits."""
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
        .values(status="sending")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _closed_reason(message: OutboxMessage) -> str | None:
    """Why this message must not go out any more, or None."""
    if message.password_reset is not None:
        return None if message.password_reset.is_open(utcnow()) else RESET_CLOSED
    invitation = message.invitation
    if invitation.status not in ("pending", "started") or invitation.is_expired(utcnow()):
        return NOT_OPEN
    if not invitation.token_nonce:
        return NO_LINK
    return None


def _give_up(message: OutboxMessage, reason: str) -> None:
    """Mark a claimed message as failed for good; commits."""
    message.status = "failed"
    message.last_error = reason[:500]
    logger.warning("outbox message %s (%s) failed: %s", message.id, message.kind, reason)
    db.session.commit()


def _retry_or_fail(message: OutboxMessage, reason: str, max_attempts: int) -> bool:
    """Record a failed attempt; True when the message will be retried later. Commits."""
    retry = message.attempts < max_attempts
    message.last_error = reason
    message.status = "pending" if retry else "failed"
    if retry:
        message.next_attempt_at = utcnow() + retry_delay(message.attempts)
    logger.warning(
        "outbox message %s (%s) attempt %s failed: %s",
        message.id,
        message.kind,
        message.attempts,
        reason,
    )
    db.session.commit()
    return retry


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next attempt: 60 s after the first failure, doubling, at most 1 h."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def _reason(exc: BaseException, message: OutboxMessage) -> str:
    """A short reason for a failure, without the candidate's address or personal link."""
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _msg in exc.recipients.values()})
        text = f"{name}: {' '.join(codes)}" if codes else name
    elif isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        if isinstance(error, bytes):
            error = error.decode("utf-8", "replace")
        text = f"{name}: {exc.smtp_code} {error}"
    else:
        detail = str(exc)
        text = f"{name}: {detail}" if detail else name
    if message.password_reset is not None:
        secrets = (message.password_reset.user.email, password_reset_link(message.password_reset))
    else:
        invitation = message.invitation
        secrets = (invitation.candidate.email, invitation_link(invitation))
    for secret in secrets:
        if secret:
            text = text.replace(secret, "…")
    text = URL_RE.sub("<link>", ADDRESS_RE.sub("<address>", text))
    return " ".join(text.split())[:500]


class _Transport:
    """One round's way out: an SMTP connection opened on first use, or the .eml folder."""

    def __init__(self, config: Any, instance_path: str):
        self.config = config
        self.instance_path = instance_path
        self.smtp: smtplib.SMTP | None = None

    def deliver(self, message: OutboxMessage, email: EmailMessage) -> str | None:
        """Send one email; return the .eml file's path when no SMTP server is configured."""
        if not self.config.get("MAIL_SERVER"):
            return self._write(message, email)
        try:
            self._connection().send_message(email)
        except BaseException:
            self.close()  # a fresh connection for the next message, whatever state this one is in
            raise
        return None

    def _connection(self) -> smtplib.SMTP:
        if self.smtp is None:
            config = self.config
            smtp = smtplib.SMTP(
                config["MAIL_SERVER"],
                int(config.get("MAIL_PORT") or 25),
                timeout=float(config.get("MAIL_TIMEOUT") or 10),
            )
            try:
                if _flag(config.get("MAIL_USE_TLS", False)):
                    smtp.starttls(context=ssl.create_default_context())
                if config.get("MAIL_USERNAME"):
                    smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            except BaseException:
                smtp.close()
                raise
            self.smtp = smtp
        return self.smtp

    def _write(self, message: OutboxMessage, email: EmailMessage) -> str:
        """Write the email where the UI lists them; the file holds a personal link, so 0600."""
        folder = Path(
            self.config.get("MAIL_OUTBOX_DIR") or os.path.join(self.instance_path, "outbox")
        )
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"{message.id}-{message.kind}.eml"
        partial = folder / f".{path.name}.partial"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(email.as_bytes())
        os.replace(partial, path)  # the UI never lists a half-written file
        return str(path)

    def close(self) -> None:
        if self.smtp is None:
            return
        smtp, self.smtp = self.smtp, None
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


WORKER_EXTENSION = "recruit.mail_worker"  # the app's MailWorker, with MAIL_WORKER=thread


def wake_worker() -> None:
    """Let the app's mail worker, if it runs one, send what was just committed to the outbox."""
    if worker := current_app.extensions.get(WORKER_EXTENSION):
        worker.notify()


def _flag(value: Any) -> bool:
    """A boolean setting, whether given as a bool or as an environment string."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class MailWorker:
    """A daemon thread that runs send_pending every MAIL_POLL_SECONDS, or at once when notified."""

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, app: Flask) -> None:
        """Start the thread for an app; does nothing if it already runs."""
        if self.running:
            return
        self._stopping.clear()
        self._wake.clear()
        self._thread = threading.Thread(
            target=self._run, args=(app,), name="recruit-mail", daemon=True
        )
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (it ends only when stopped)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def notify(self) -> None:
        """Ask for a round now, e.g. right after committing new messages."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread, letting a delivery in progress finish."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self, app: Flask) -> None:
        interval = float(app.config.get("MAIL_POLL_SECONDS", 5))
        limit = 200
        while not self._stopping.is_set():
            # Cleared before the round, so a notify that arrives during it triggers another one.
            self._wake.clear()
            report = None
            try:
                with app.app_context():
                    report = send_pending(limit=limit)
            except Exception:
                logger.exception("mail worker: a sending round failed")
            if report is not None and report.total >= limit:
                continue  # a full batch: more may be due
            self._wake.wait(interval)
