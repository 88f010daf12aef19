"""The candidate's personal link: welcome and consent, pages of items, review, submit."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from recruit.candidate import services
from recruit.candidate.forms import ConsentForm, EraseForm, SubmitForm

bp = Blueprint("candidate", __name__, url_prefix="/t")

CLOSED_STATUS = {"unknown": 404, "expired": 410, "revoked": 410, "erased": 410, "completed": 200}


@bp.url_value_preprocessor
def _small_bodies_only(endpoint, values):
    # A page of answers is a few radio buttons: refuse anything bigger before reading it.
    request.max_content_length = current_app.config["CANDIDATE_MAX_CONTENT_LENGTH"]


@bp.errorhandler(services.LinkClosed)
def link_closed(exc: services.LinkClosed):
    services.closed_link(exc)
    template = "candidate/done.html" if exc.state == "completed" else "candidate/closed.html"
    return render_template(template, state=exc.state, invitation=exc.invitation), CLOSED_STATUS[
        exc.state
    ]


def _go(token: str, to: services.Redirect, code: int = 302):
    """The redirect a service asked for, to another view of the same link."""
    if to.number is None:
        return redirect(url_for(f".{to.endpoint}", token=token), code)
    return redirect(url_for(f".{to.endpoint}", token=token, number=to.number), code)


def _render_welcome(shown: services.Welcome):
    refused = shown.consent_form is not None
    return render_template(
        "candidate/welcome.html",
        invitation=shown.invitation,
        form=shown.form,
        consent_form=shown.consent_form if refused else ConsentForm(),
    ), 400 if refused else 200


def _consent_notice(invitation, form) -> str:
    """The consent notice exactly as the welcome page shows it."""
    return render_template("candidate/_consent.html", invitation=invitation, form=form)


@bp.get("/<token>")
def welcome(token: str):
    shown = services.welcome(token)
    if isinstance(shown, services.Redirect):
        return _go(token, shown)
    return _render_welcome(shown)


@bp.post("/<token>/consent")
def consent(token: str):
    shown = services.give_consent(token, _consent_notice)
    if isinstance(shown, services.Redirect):
        return _go(token, shown, 303)
    return _render_welcome(shown)


@bp.get("/<token>/resume")
def resume(token: str):
    return _go(token, services.resume_at(token))


@bp.route("/<token>/p/<int:number>", methods=["GET", "POST"])
def page(token: str, number: int):
    if request.method == "POST":
        shown = services.answer_page(token, number)
    else:
        shown = services.show_page(token, number)
    if isinstance(shown, services.Redirect):
        return _go(token, shown, 303)
    return render_template(
        "candidate/page.html",
        invitation=shown.invitation,
        form=shown.form,
        page_form=shown.page_form,
        views=shown.views,
        number=shown.number,
        pages=len(shown.progress.pages),
        answered=len(shown.progress.answered),
        total=shown.progress.total,
        token=token,
    ), 400 if shown.refused else 200


@bp.get("/<token>/review")
def review(token: str):
    shown = services.review(token)
    if isinstance(shown, services.Redirect):
        return _go(token, shown)
    return render_template(
        "candidate/review.html",
        invitation=shown.invitation,
        form=shown.form,
        pages=shown.progress.pages,
        answers=shown.answers,
        submit_form=SubmitForm(),
        token=token,
        seed=shown.invitation.seed,
    )


@bp.post("/<token>/submit")
def submit(token: str):
    done = services.submit_test(token)
    if done is None:
        return render_template("errors/400.html", message=_("La page a expiré.")), 400
    return _go(token, done, 303)


# --- The candidate's rights on their data ---------------------------------------------------


def _render_privacy(shown: services.PrivacyShown):
    refused = shown.erase_form is not None
    return render_template(
        "candidate/privacy.html",
        invitation=shown.invitation,
        erase_form=shown.erase_form if refused else EraseForm(),
        live=shown.live,
    ), 400 if refused else 200


@bp.get("/<token>/privacy")
def privacy_page(token: str):
    """What is held, a copy to download, and erasure: open whatever the link's state."""
    return _render_privacy(services.privacy_page(token))


@bp.get("/<token>/privacy/data.json")
def download_data(token: str):
    """The candidate's own data as a JSON file (right of access)."""
    data = services.data_copy(token)
    response = current_app.response_class(
        json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json"
    )
    response.headers["Content-Disposition"] = 'attachment; filename="mes-donnees.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<token>/privacy/erase")
def erase(token: str):
    """Erase the candidate's identity once they tick the confirmation; the link then says so."""
    shown = services.erase_data(token)
    if isinstance(shown, services.Redirect):
        return _go(token, shown, 303)
    return _render_privacy(shown)
