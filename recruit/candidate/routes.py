"""The candidate's personal link: welcome and consent, pages of items, review, submit."""

from __future__ import annotations

import json
import time

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, TimestampSigner

from recruit.candidate import services
from recruit.candidate.forms import (
    ConsentForm,
    EraseForm,
    SubmitForm,
    form_data_from,
    page_form_class,
    responses_from,
)
from recruit.extensions import db
from recruit.services import privacy

bp = Blueprint("candidate", __name__, url_prefix="/t")

CLOSED_STATUS = {"unknown": 404, "expired": 410, "revoked": 410, "erased": 410, "completed": 200}


@bp.url_value_preprocessor
def _small_bodies_only(endpoint, values):
    # A page of answers is a few radio buttons: refuse anything bigger before reading it.
    request.max_content_length = current_app.config["CANDIDATE_MAX_CONTENT_LENGTH"]


@bp.errorhandler(services.LinkClosed)
def link_closed(exc: services.LinkClosed):
    db.session.rollback()
    if exc.invitation is not None:
        g.locale = exc.invitation.campaign.language
    elif exc.language is not None:
        g.locale = exc.language
    template = "candidate/done.html" if exc.state == "completed" else "candidate/closed.html"
    return render_template(template, state=exc.state, invitation=exc.invitation), CLOSED_STATUS[
        exc.state
    ]


def _open(token: str, *, for_update: bool = False):
    invitation = services.open_invitation(token, for_update=for_update)
    g.locale = invitation.campaign.language
    return invitation, services.form_for(invitation)


def _signer() -> TimestampSigner:
    return TimestampSigner(current_app.config["SECRET_KEY"], salt="recruit.page-shown")


def _page_view(signed: str | None, page: int) -> tuple[float | None, float | None]:
    """(seconds since the page was shown, when it was shown) from the signed stamp it carried;
    (None, None) if there is none or it is not this page's."""
    if not signed:
        return None, None
    try:
        value, shown = _signer().unsign(signed, return_timestamp=True)
    except BadSignature:
        return None, None
    if value.decode() != str(page):
        return None, None
    shown_at = shown.timestamp()
    return time.time() - shown_at, shown_at


def _render_welcome(invitation, form, consent_form, status=200):
    return render_template(
        "candidate/welcome.html", invitation=invitation, form=form, consent_form=consent_form
    ), status


@bp.get("/<token>")
def welcome(token: str):
    invitation, form = _open(token)
    if invitation.status == "started":
        return redirect(url_for(".resume", token=token))
    return _render_welcome(invitation, form, ConsentForm())


@bp.post("/<token>/consent")
def consent(token: str):
    invitation, form = _open(token, for_update=True)
    consent_form = ConsentForm()
    if invitation.status != "pending":
        return redirect(url_for(".resume", token=token), 303)
    if not consent_form.validate():
        return _render_welcome(invitation, form, consent_form, 400)
    text = render_template("candidate/_consent.html", invitation=invitation, form=form)
    services.record_consent(invitation, form, text, invitation.campaign.language)
    db.session.commit()
    return redirect(url_for(".page", token=token, number=1), 303)


@bp.get("/<token>/resume")
def resume(token: str):
    invitation, form = _open(token)
    if invitation.status == "pending":
        return redirect(url_for(".welcome", token=token))
    first = services.progress(invitation, form, services.stored_answers(invitation)).first_open_page
    if first is None:
        return redirect(url_for(".review", token=token))
    return redirect(url_for(".page", token=token, number=first))


@bp.route("/<token>/p/<int:number>", methods=["GET", "POST"])
def page(token: str, number: int):
    invitation, form = _open(token, for_update=request.method == "POST")
    if invitation.status == "pending":
        return redirect(url_for(".welcome", token=token), 303)
    stored = services.answer_records(invitation)
    answers = services.payloads(stored)
    progress = services.progress(invitation, form, answers)
    first_open = progress.first_open_page or len(progress.pages) + 1
    if not 1 <= number <= len(progress.pages) or number > first_open:
        # No skipping ahead: the candidate goes back to the first page still to answer.
        return redirect(url_for(".resume", token=token), 303)
    items = progress.pages[number - 1]
    first_number = sum(len(p) for p in progress.pages[: number - 1]) + 1
    form_class, views = page_form_class(form, items, invitation.seed, first_number)
    if request.method == "POST":
        page_form = form_class()
        if page_form.validate():
            seconds, shown_at = _page_view(page_form.shown.data, number)
            responses = responses_from(page_form, views)
            services.save_page(
                invitation, form, number, responses, seconds, stored, shown_at=shown_at
            )
            db.session.commit()
            if number < len(progress.pages):
                return redirect(url_for(".page", token=token, number=number + 1), 303)
            return redirect(url_for(".resume", token=token), 303)
        status = 400
    else:
        page_form = form_class(formdata=None, data=form_data_from(answers, views))
        status = 200
    page_form.shown.data = _signer().sign(str(number)).decode()
    return render_template(
        "candidate/page.html",
        invitation=invitation,
        form=form,
        page_form=page_form,
        views=views,
        number=number,
        pages=len(progress.pages),
        answered=len(progress.answered),
        total=progress.total,
        token=token,
    ), status


@bp.get("/<token>/review")
def review(token: str):
    invitation, form = _open(token)
    if invitation.status == "pending":
        return redirect(url_for(".welcome", token=token))
    answers = services.stored_answers(invitation)
    progress = services.progress(invitation, form, answers)
    if progress.first_open_page is not None:
        return redirect(url_for(".resume", token=token))
    return render_template(
        "candidate/review.html",
        invitation=invitation,
        form=form,
        pages=progress.pages,
        answers=answers,
        submit_form=SubmitForm(),
        token=token,
        seed=invitation.seed,
    )


@bp.post("/<token>/submit")
def submit(token: str):
    invitation, form = _open(token, for_update=True)
    if not SubmitForm().validate():
        return render_template("errors/400.html", message=_("La page a expiré.")), 400
    if invitation.status == "pending":
        return redirect(url_for(".welcome", token=token), 303)
    progress = services.progress(invitation, form, services.stored_answers(invitation))
    if progress.first_open_page is not None:
        return redirect(url_for(".resume", token=token), 303)
    services.submit(invitation, form)
    db.session.commit()
    return redirect(url_for(".welcome", token=token), 303)


# --- The candidate's rights on their data ---------------------------------------------------


def _render_privacy(invitation, erase_form, status=200):
    return render_template(
        "candidate/privacy.html",
        invitation=invitation,
        erase_form=erase_form,
        live=services.link_state(invitation) in ("pending", "started"),
    ), status


def _open_for_rights(token: str, *, for_update: bool = False):
    invitation = services.open_for_rights(token, for_update=for_update)
    g.locale = invitation.campaign.language
    return invitation


@bp.get("/<token>/privacy")
def privacy_page(token: str):
    """What is held, a copy to download, and erasure: open whatever the link's state."""
    return _render_privacy(_open_for_rights(token), EraseForm())


@bp.get("/<token>/privacy/data.json")
def download_data(token: str):
    """The candidate's own data as a JSON file (right of access)."""
    data = privacy.candidate_data(_open_for_rights(token))
    response = current_app.response_class(
        json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json"
    )
    response.headers["Content-Disposition"] = 'attachment; filename="mes-donnees.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<token>/privacy/erase")
def erase(token: str):
    """Erase the candidate's identity once they tick the confirmation; the link then says so."""
    invitation = _open_for_rights(token, for_update=True)
    erase_form = EraseForm()
    if not erase_form.validate():
        return _render_privacy(invitation, erase_form, 400)
    privacy.erase_candidate(
        invitation, requested_by="candidate", reason=privacy.CANDIDATE_ERASE_REASON
    )
    db.session.commit()
    return redirect(url_for(".welcome", token=token), 303)
