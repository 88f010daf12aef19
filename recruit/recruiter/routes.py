"""The recruiter's workspace: campaigns, invitations, imports, shortlists, decisions, comparison.

HTTP only: each view reads the request, calls one function of the recruiter's services
(``services`` for campaigns and invitations, ``imports``, ``shortlist``), then renders or
redirects. An action's service returns an ``Outcome``, flashed by ``_report``; the messages
written here are about the request itself (a form or a choice that cannot be taken).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from recruit.charts import profile
from recruit.core.bank import Form
from recruit.data import questions
from recruit.recruiter import imports, services, shortlist
from recruit.recruiter.forms import (
    DECISION_LABELS,
    ButtonForm,
    CampaignForm,
    DecisionForm,
    EraseCandidateForm,
    ExtendForm,
    ImportForm,
    InviteForm,
)
from recruit.services import invitations, results
from recruit.web import access, queryargs

bp = Blueprint("recruiter", __name__)

read = access.role_required(*access.READ_ROLES)
write = access.role_required(*access.WRITE_ROLES)


def _checked_button():
    if not ButtonForm().validate():
        abort(400)


def _report(outcome: services.Outcome, url: str):
    """Flash what an action did, if anything, then go to ``url`` (303: read it with GET)."""
    if outcome.message:
        flash(outcome.message, outcome.category)
    return redirect(url, 303)


def _campaign_url(campaign_id: int) -> str:
    return url_for(".campaign", campaign_id=campaign_id)


def _smtp() -> bool:
    """Emails go to an SMTP server; without one they are .eml files to download."""
    return bool(current_app.config.get("MAIL_SERVER"))


# --- Campaigns ------------------------------------------------------------------------------


@bp.get("/campaigns")
@read
def campaigns():
    listing = services.campaign_list(access.organisation_id())
    return render_template(
        "recruiter/campaigns.html",
        campaigns=listing.campaigns,
        stats=listing.stats,
        rates=listing.rates,
    )


@bp.route("/campaigns/new", methods=["GET", "POST"])
@write
def new_campaign():
    form = CampaignForm()
    status = 200
    if form.validate_on_submit():
        outcome = services.open_campaign(
            current_user.organisation,
            form.form_language.data,
            title=form.title.data,
            site=form.site.data or "",
            invitation_days=form.invitation_days.data,
            deadline=form.deadline.data,
            retention_months=form.retention_months.data,
        )
        return _report(outcome, _campaign_url(outcome.campaign_id))
    if request.method == "POST":
        status = 400
    return render_template("recruiter/campaign_form.html", form=form), status


def _campaign_page(campaign, invite_form=None, status=200):
    page = services.campaign_page(campaign, queryargs.page())
    return render_template(
        "recruiter/campaign.html",
        campaign=campaign,
        rows=page.rows,
        now=page.now,
        counts=page.counts,
        rate=page.rate,
        outbox=page.outbox,
        unsent=page.unsent,
        invite_form=invite_form or InviteForm(),
        button=ButtonForm(),
        extend_form=ExtendForm(),
        page=page.page,
        pages=page.pages,
        form=page.form,
        smtp=_smtp(),
    ), status


@bp.get("/campaigns/<int:campaign_id>")
@read
def campaign(campaign_id: int):
    return _campaign_page(access.campaign_or_404(campaign_id))


@bp.post("/campaigns/<int:campaign_id>/close")
@write
def close_campaign(campaign_id: int):
    campaign = access.campaign_or_404(campaign_id)
    _checked_button()
    return _report(services.close_campaign(campaign), _campaign_url(campaign.id))


@bp.post("/campaigns/<int:campaign_id>/invitations")
@write
def invite(campaign_id: int):
    campaign = access.campaign_or_404(campaign_id)
    form = InviteForm()
    if campaign.status != "open":
        closed = services.Outcome(_("Cette campagne est clôturée."), "error")
        return _report(closed, _campaign_url(campaign.id))
    if not form.validate():
        return _campaign_page(campaign, form, 400)
    try:
        outcome = services.invite(
            campaign,
            form.name.data.strip(),
            form.email.data.strip(),
            (form.external_id.data or "").strip() or None,
        )
    except invitations.InvitationError:
        form.email.errors.append(_("Cette personne a déjà un lien actif dans cette campagne."))
        return _campaign_page(campaign, form, 400)
    return _report(outcome, _campaign_url(campaign.id))


@bp.post("/campaigns/<int:campaign_id>/send")
@write
def send_invitations(campaign_id: int):
    """Queue an email for every pending link that never had one."""
    campaign = access.campaign_or_404(campaign_id)
    _checked_button()
    return _report(services.send_invitations(campaign), _campaign_url(campaign.id))


@bp.post("/campaigns/<int:campaign_id>/remind")
@write
def remind(campaign_id: int):
    """Queue a reminder for every live link whose test is not finished."""
    campaign = access.campaign_or_404(campaign_id)
    _checked_button()
    return _report(services.remind(campaign), _campaign_url(campaign.id))


@bp.get("/campaigns/<int:campaign_id>/outbox", endpoint="outbox")
@read
def outbox_page(campaign_id: int):
    campaign = access.campaign_or_404(campaign_id)
    page = services.outbox_page(campaign)
    return render_template(
        "recruiter/outbox.html",
        campaign=campaign,
        rows=page.rows,
        pending=page.pending,
        smtp=_smtp(),
    )


@bp.get("/messages/<int:message_id>.eml")
@write
def message_file(message_id: int):
    message = services.message_file(access.organisation_id(), access.id_or_404(message_id))
    if message is None:
        abort(404)
    return send_file(
        message.eml_path,
        mimetype="message/rfc822",
        as_attachment=True,
        download_name=f"message-{message.id}.eml",
    )


# --- Import ---------------------------------------------------------------------------------


@bp.route("/campaigns/<int:campaign_id>/import", methods=["GET", "POST"])
@write
def import_candidates(campaign_id: int):
    campaign = access.campaign_or_404(campaign_id)
    form = ImportForm()
    if request.method == "GET" or not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("recruiter/import.html", campaign=campaign, form=form), status
    upload = form.spreadsheet.data
    checked = imports.preview(campaign, current_user, upload.filename or "", upload.read())
    return render_template(
        "recruiter/import_preview.html",
        campaign=campaign,
        rows=checked.rows,
        problems=checked.problems,
        batch=checked.batch,
        filename=checked.filename,
        renamed=checked.renamed,
        encoding=checked.encoding,
        button=ButtonForm(),
        form=ImportForm(),
    ), (200 if checked.batch else 400)


@bp.post("/campaigns/<int:campaign_id>/import/<int:batch_id>")
@write
def confirm_import(campaign_id: int, batch_id: int):
    """Create every invitation of a checked file, all or nothing, in one transaction."""
    campaign = access.campaign_or_404(campaign_id)
    _checked_button()
    outcome = imports.confirm(campaign, access.id_or_404(batch_id), current_user)
    if outcome is None:
        abort(404)
    if isinstance(outcome, imports.Started):  # a large file: its job's page follows it
        return redirect(url_for("jobs.job", job_id=outcome.job_id), 303)
    if outcome.resend:
        return _report(outcome, url_for(".import_candidates", campaign_id=campaign.id))
    return _report(outcome, _campaign_url(campaign.id))


# --- One invitation -------------------------------------------------------------------------


@bp.post("/invitations/<int:invitation_id>/revoke")
@write
def revoke(invitation_id: int):
    invitation = access.invitation_or_404(invitation_id)
    _checked_button()
    outcome = services.revoke(invitation)
    return _report(outcome, request.referrer or _campaign_url(invitation.campaign_id))


@bp.post("/invitations/<int:invitation_id>/extend")
@write
def extend(invitation_id: int):
    invitation = access.invitation_or_404(invitation_id)
    form = ExtendForm()
    if not form.validate():
        abort(400)
    outcome = services.extend(invitation, form.days.data)
    return _report(outcome, _campaign_url(invitation.campaign_id))


@bp.post("/invitations/<int:invitation_id>/send")
@write
def send_one(invitation_id: int):
    invitation = access.invitation_or_404(invitation_id)
    _checked_button()
    return _report(services.send_one(invitation), _campaign_url(invitation.campaign_id))


# --- Shortlists -----------------------------------------------------------------------------


def _shortlist_args(form: Form) -> shortlist.ShortlistArgs:
    """Norm, sort, direction, minimum T-scores and page, read in this order (the first one that
    does not parse is the 400's); a minimum left empty is no filter."""
    norm = queryargs.choice("norm", results.NORMS, "campaign")
    sort = request.args.get("sort", "rank")
    descending = request.args.get("dir", "asc") == "desc"
    minimums = {}
    for scale in [results.COMPOSITE, *form.scale_ids]:
        minimum = queryargs.number(f"min_{scale}", *shortlist.MINIMUM_RANGE)
        if minimum is not None:
            minimums[scale] = minimum
    return shortlist.ShortlistArgs(norm, sort, descending, minimums, queryargs.page())


def _url_with(**changes) -> str:
    """This page's address with some query arguments changed (lists kept, e.g. campaign=)."""
    args = request.args.to_dict(flat=False)
    args.update({k: [str(v)] for k, v in changes.items()})
    return url_for(request.endpoint, **request.view_args, **args)


def _render_shortlist(campaigns_shown, campaign, cross: bool):
    first = campaigns_shown[0]
    form = questions.form_of(first)
    args = _shortlist_args(form)
    view = shortlist.shortlist_page(access.organisation_id(), campaigns_shown, form, args)
    if view.notice:
        flash(view.notice, "error")
    return render_template(
        "recruiter/shortlist.html",
        shorts=view.shorts,
        page=view.page,
        norm=view.norm,
        norm_labels=results.NORM_LABELS,
        sort=args.sort,
        descending=args.descending,
        minimums=args.minimums,
        scale_ids=view.scale_ids,
        labels=view.labels,
        campaigns=campaigns_shown,
        decision_labels=DECISION_LABELS,
        url_with=_url_with,
        campaign=campaign,
        cross=cross,
    )


@bp.get("/campaigns/<int:campaign_id>/shortlist")
@read
def campaign_shortlist(campaign_id: int):
    campaign = access.campaign_or_404(campaign_id)
    return _render_shortlist([campaign], campaign, cross=False)


@bp.get("/shortlist")
@read
def cross_shortlist():
    """Several campaigns ranked together on the common scale."""
    chosen = [access.campaign_or_404(i) for i in queryargs.ids("campaign")]
    mixed = len({c.form_id for c in chosen}) > 1
    if not chosen or mixed:
        if mixed:
            flash(
                _("Ces campagnes n'utilisent pas le même questionnaire : comparez-les séparément."),
                "error",
            )
        choices = services.campaign_titles(access.organisation_id())
        return render_template("recruiter/cross_pick.html", campaigns=choices), (
            400 if mixed else 200
        )
    if "norm" not in request.args:
        return redirect(url_for(".cross_shortlist", campaign=[c.id for c in chosen], norm="pooled"))
    return _render_shortlist(chosen, None, cross=True)


# --- One candidate, decisions, comparison ---------------------------------------------------


@bp.route("/candidates/<int:invitation_id>", methods=["GET", "POST"])
@read
def candidate(invitation_id: int):
    invitation = access.invitation_or_404(invitation_id)
    form = DecisionForm()
    status = 200
    if request.method == "POST":
        if current_user.role not in access.WRITE_ROLES:
            abort(403)
        if form.validate():
            outcome = shortlist.decide(
                invitation, current_user, form.decision.data, form.note.data.strip()
            )
            return _report(outcome, url_for(".candidate", invitation_id=invitation.id))
        status = 400
    page = shortlist.candidate_page(access.organisation_id(), invitation)
    return render_template(
        "recruiter/candidate.html",
        invitation=invitation,
        form=form,
        row=page.row,
        pool_size=page.pool_size,
        info=page.info,
        bank_form=page.bank_form,
        labels=page.labels,
        history=page.history,
        decision_labels=DECISION_LABELS,
        link=page.link,
        messages=page.messages,
        now=page.now,
    ), status


@bp.route("/candidates/<int:invitation_id>/erase", methods=["GET", "POST"])
@access.role_required("admin")
def erase_candidate(invitation_id: int):
    """Erase a candidate's identity on their request (admin only), with a reason code."""
    invitation = access.invitation_or_404(invitation_id)
    form = EraseCandidateForm()
    status = 200
    if request.method == "POST":
        if form.validate():
            outcome = shortlist.erase(invitation, current_user, form.reason.data)
            return _report(outcome, url_for(".candidate", invitation_id=invitation.id))
        status = 400
    return render_template("recruiter/erase.html", invitation=invitation, form=form), status


@bp.get("/compare")
@read
def compare():
    ids = queryargs.ids("id")
    if not 2 <= len(ids) <= shortlist.MAX_COMPARE:
        flash(_("Choisissez de 2 à 4 candidats à comparer."), "error")
        return redirect(url_for(".campaigns"))
    chosen = [access.invitation_or_404(i) for i in ids]
    if any(i.status != "completed" for i in chosen):
        flash(_("Seuls les candidats qui ont terminé le test peuvent être comparés."), "error")
        return redirect(url_for(".campaigns"))
    if len({i.campaign.form_id for i in chosen}) > 1:
        abort(400)
    norm = queryargs.choice(
        "norm",
        results.NORMS,
        "pooled" if len({i.campaign_id for i in chosen}) > 1 else "campaign",
    )
    view = shortlist.comparison(access.organisation_id(), chosen, norm)
    chart = profile.profile_svg(
        [(s, view.labels[s]) for s in view.scale_ids],
        [
            (inv.candidate.name, {s: row[f"{s}_t"] for s in view.scale_ids})
            for inv, row in view.people
        ],
        title=_("Profils comparés (notes T, moyenne 50)"),
        missing=_("sans score"),
    )
    return render_template(
        "recruiter/compare.html",
        people=view.people,
        scale_ids=view.scale_ids,
        labels=view.labels,
        chart=chart,
        items=view.items,
        info=view.info,
        norm=norm,
        zip=zip,
    )
