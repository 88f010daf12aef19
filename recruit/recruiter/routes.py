"""The recruiter's workspace: campaigns, invitations, imports, shortlists, decisions, comparison."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
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

from recruit.charts import recruiter as charts
from recruit.core import textcheck
from recruit.data import questions
from recruit.data.models import (
    Campaign,
    Candidate,
    ImportBatch,
    Invitation,
    OutboxMessage,
    utcnow,
)
from recruit.extensions import db
from recruit.recruiter import importing, services
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
from recruit.services import audit, invitations, links, outbox, privacy, results
from recruit.web import access, queryargs

bp = Blueprint("recruiter", __name__)

read = access.role_required(*access.READ_ROLES)
write = access.role_required(*access.WRITE_ROLES)
INVITATIONS_PER_PAGE = 100


def _checked_button():
    if not ButtonForm().validate():
        abort(400)


def _notify_sender():
    worker = current_app.extensions.get("recruit.mail_worker")
    if worker is not None:
        worker.notify()


# --- Campaigns ------------------------------------------------------------------------------


def _form_choices():
    return [
        (f"{f.form}:{f.language}", f"{f.title} — {'français' if f.language == 'fr' else 'English'}")
        for f in sorted(questions.bank(), key=lambda f: (f.form, f.language != "fr"))
    ]


@bp.get("/campaigns")
@read
def campaigns():
    rows = db.session.scalars(
        sa.select(Campaign)
        .where(Campaign.organisation_id == access.organisation_id())
        .order_by(Campaign.status.desc(), Campaign.created_at.desc())
    ).all()
    counts = invitations.campaign_counts(access.organisation_id())
    empty = dict.fromkeys(invitations.STATUS_COUNTS, 0)
    stats = {c.id: counts.get(c.id, empty) for c in rows}
    rates = {c.id: invitations.completion_rate(stats[c.id]) for c in rows}
    return render_template("recruiter/campaigns.html", campaigns=rows, stats=stats, rates=rates)


@bp.route("/campaigns/new", methods=["GET", "POST"])
@write
def new_campaign():
    form = CampaignForm()
    form.form_language.choices = _form_choices()
    status = 200
    if form.validate_on_submit():
        form_id, language = form.form_language.data.split(":")
        campaign = invitations.open_campaign(
            current_user.organisation,
            questions.bank().get(form_id, language),
            title=form.title.data,
            site=form.site.data or "",
            invitation_days=form.invitation_days.data,
            deadline=form.deadline.data,
            retention_months=form.retention_months.data or privacy.DEFAULT_RETENTION_MONTHS,
        )
        audit.record("campaign_opened", "campaign", campaign.id)
        db.session.commit()
        flash(_("Campagne ouverte. Invitez maintenant vos candidats."), "success")
        return redirect(url_for(".campaign", campaign_id=campaign.id), 303)
    if request.method == "POST":
        status = 400
    return render_template("recruiter/campaign_form.html", form=form), status


def _campaign_page(campaign, invite_form=None, status=200):
    page = queryargs.page()
    query = (
        sa.select(Invitation, Candidate)
        .join(Candidate, Candidate.id == Invitation.candidate_id)
        .where(Invitation.campaign_id == campaign.id)
    )
    total = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Invitation)
        .where(Invitation.campaign_id == campaign.id)
    )
    rows = db.session.execute(
        query.order_by(Invitation.created_at.desc(), Invitation.id.desc())
        .limit(INVITATIONS_PER_PAGE)
        .offset((page - 1) * INVITATIONS_PER_PAGE)
    ).all()
    ids = [inv.id for inv, _ in rows]
    messages = {}
    for message in db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.invitation_id.in_(ids))
        .order_by(OutboxMessage.id)
    ):
        messages[message.invitation_id] = message  # the latest one wins
    counts = invitations.campaign_counts(access.organisation_id()).get(
        campaign.id, dict.fromkeys(invitations.STATUS_COUNTS, 0)
    )
    outbox = dict(
        db.session.execute(
            sa.select(OutboxMessage.status, sa.func.count())
            .join(Invitation, Invitation.id == OutboxMessage.invitation_id)
            .where(Invitation.campaign_id == campaign.id)
            .group_by(OutboxMessage.status)
        ).all()
    )
    unsent = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Invitation)
        .where(
            Invitation.campaign_id == campaign.id,
            Invitation.status == "pending",
            ~sa.exists().where(OutboxMessage.invitation_id == Invitation.id),
        )
    )
    now = utcnow()
    return render_template(
        "recruiter/campaign.html",
        campaign=campaign,
        rows=[(inv, cand, links.invitation_link(inv), messages.get(inv.id)) for inv, cand in rows],
        now=now,
        counts=counts,
        rate=invitations.completion_rate(counts),
        outbox=outbox,
        unsent=unsent,
        invite_form=invite_form or InviteForm(),
        button=ButtonForm(),
        extend_form=ExtendForm(),
        page=page,
        pages=max(1, -(-total // INVITATIONS_PER_PAGE)),
        form=questions.bank().get(campaign.form_id, campaign.language),
        smtp=bool(current_app.config.get("MAIL_SERVER")),
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
    if campaign.status == "open":
        revoked = invitations.close_campaign(campaign)
        audit.record("campaign_closed", "campaign", campaign.id, revoked=revoked)
        db.session.commit()
        flash(
            _("Campagne clôturée : %(n)s lien(s) non utilisé(s) désactivé(s).", n=revoked),
            "success",
        )
    return redirect(url_for(".campaign", campaign_id=campaign.id), 303)


@bp.post("/campaigns/<int:campaign_id>/invitations")
@write
def invite(campaign_id: int):
    campaign = access.campaign_or_404(campaign_id)
    form = InviteForm()
    if campaign.status != "open":
        flash(_("Cette campagne est clôturée."), "error")
        return redirect(url_for(".campaign", campaign_id=campaign.id), 303)
    if not form.validate():
        return _campaign_page(campaign, form, 400)
    try:
        invitation, _token = invitations.invite_one(
            campaign,
            form.name.data.strip(),
            form.email.data.strip(),
            (form.external_id.data or "").strip() or None,
        )
    except invitations.InvitationError:
        form.email.errors.append(_("Cette personne a déjà un lien actif dans cette campagne."))
        db.session.rollback()
        return _campaign_page(campaign, form, 400)
    outbox.enqueue(invitation, "invitation")
    audit.record("invited", "invitation", invitation.id)
    db.session.commit()
    _notify_sender()
    flash(_("Invitation créée ; l'e-mail part dans quelques instants."), "success")
    return redirect(url_for(".campaign", campaign_id=campaign.id), 303)


@bp.post("/campaigns/<int:campaign_id>/send")
@write
def send_invitations(campaign_id: int):
    """Queue an email for every pending link that never had one."""
    campaign = access.campaign_or_404(campaign_id)
    _checked_button()
    targets = invitations.invitation_targets(campaign)
    return _queue_emails(
        campaign,
        targets,
        "invitation",
        "invitations_queued",
        _("%(n)s e-mail(s) d'invitation en cours d'envoi.", n=len(targets)),
    )


@bp.post("/campaigns/<int:campaign_id>/remind")
@write
def remind(campaign_id: int):
    """Queue a reminder for every live link whose test is not finished."""
    campaign = access.campaign_or_404(campaign_id)
    _checked_button()
    targets = invitations.reminder_targets(campaign)
    return _queue_emails(
        campaign,
        targets,
        "reminder",
        "reminders_queued",
        _("%(n)s rappel(s) en cours d'envoi.", n=len(targets)),
    )


def _queue_emails(campaign, targets, kind: str, action: str, done: str):
    """One email of ``kind`` per target in the outbox, audited, committed; wake the sender."""
    for invitation in targets:
        outbox.enqueue(invitation, kind)
    audit.record(action, "campaign", campaign.id, count=len(targets))
    db.session.commit()
    _notify_sender()
    flash(done, "success")
    return redirect(url_for(".campaign", campaign_id=campaign.id), 303)


@bp.get("/campaigns/<int:campaign_id>/outbox", endpoint="outbox")
@read
def outbox_page(campaign_id: int):
    campaign = access.campaign_or_404(campaign_id)
    rows = db.session.execute(
        sa.select(OutboxMessage, Candidate)
        .join(Invitation, Invitation.id == OutboxMessage.invitation_id)
        .join(Candidate, Candidate.id == Invitation.candidate_id)
        .where(Invitation.campaign_id == campaign.id)
        .order_by(OutboxMessage.id.desc())
        .limit(500)
    ).all()
    pending = any(m.status in ("pending", "sending") for m, _ in rows)
    return render_template(
        "recruiter/outbox.html",
        campaign=campaign,
        rows=rows,
        pending=pending,
        smtp=bool(current_app.config.get("MAIL_SERVER")),
    )


@bp.get("/messages/<int:message_id>.eml")
@write
def message_file(message_id: int):
    message = db.session.scalar(
        sa.select(OutboxMessage).where(
            OutboxMessage.id == access.id_or_404(message_id),
            OutboxMessage.organisation_id == access.organisation_id(),
        )
    )
    if message is None or not message.eml_path or not Path(message.eml_path).is_file():
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
    # Control characters in a name (NUL, right-to-left override) hide what the file really is.
    filename = textcheck.strip_controls(upload.filename or "")
    parsed = importing.parse_candidates(upload.read(), filename)
    rows, problems = parsed.rows, parsed.problems
    taken = invitations.already_invited(campaign, [r.email for r in rows])
    problems += [
        importing.ImportProblem(r.line, "email", "already_invited", r.email)
        for r in rows
        if r.email.lower() in taken
    ]
    batch = None
    if not problems and rows:
        batch = ImportBatch(
            campaign_id=campaign.id,
            user_id=current_user.id,
            filename=filename[:200],
            rows=[
                {"line": r.line, "name": r.name, "email": r.email, "external_id": r.external_id}
                for r in rows
            ],
        )
        db.session.add(batch)
        db.session.commit()
    return render_template(
        "recruiter/import_preview.html",
        campaign=campaign,
        rows=rows,
        problems=sorted(problems, key=lambda p: (p.line or 0, p.field or "")),
        batch=batch,
        filename=filename,
        renamed=filename != (upload.filename or ""),
        encoding=parsed.encoding,
        button=ButtonForm(),
        form=ImportForm(),
    ), (200 if batch else 400)


@bp.post("/campaigns/<int:campaign_id>/import/<int:batch_id>")
@write
def confirm_import(campaign_id: int, batch_id: int):
    """Create every invitation of a checked file, all or nothing, in one transaction."""
    campaign = access.campaign_or_404(campaign_id)
    _checked_button()
    # Before reading the batch: a double click imports once, a concurrent invite waits.
    invitations.lock_for_invitations(campaign)
    batch = db.session.scalar(
        sa.select(ImportBatch).where(
            ImportBatch.id == access.id_or_404(batch_id), ImportBatch.campaign_id == campaign.id
        )
    )
    if batch is None:
        abort(404)
    if batch.imported_at is not None:
        flash(_("Ce fichier a déjà été importé."), "error")
        return redirect(url_for(".campaign", campaign_id=campaign.id), 303)
    if campaign.status != "open":
        flash(_("Cette campagne est clôturée."), "error")
        return redirect(url_for(".campaign", campaign_id=campaign.id), 303)
    # Someone may have been invited since the preview: check again, import nothing if so.
    taken = invitations.already_invited(campaign, [r["email"] for r in batch.rows])
    if taken:
        flash(
            _(
                "%(n)s personne(s) du fichier ont été invitées entre-temps : rien n'a été importé, "
                "renvoyez le fichier pour voir le détail.",
                n=len(taken),
            ),
            "error",
        )
        return redirect(url_for(".import_candidates", campaign_id=campaign.id), 303)
    invited = invitations.invite_many(campaign, batch.rows)
    batch.imported_at = utcnow()
    audit.record("candidates_imported", "campaign", campaign.id, count=len(invited), batch=batch.id)
    db.session.commit()
    flash(
        _(
            "%(n)s invitation(s) créée(s). Envoyez les e-mails quand vous êtes prêt.",
            n=len(invited),
        ),
        "success",
    )
    return redirect(url_for(".campaign", campaign_id=campaign.id), 303)


# --- One invitation -------------------------------------------------------------------------


@bp.post("/invitations/<int:invitation_id>/revoke")
@write
def revoke(invitation_id: int):
    invitation = access.invitation_or_404(invitation_id)
    _checked_button()
    if invitations.revoke(invitation):
        audit.record("invitation_revoked", "invitation", invitation.id)
        db.session.commit()
        flash(_("Lien désactivé."), "success")
    return redirect(
        request.referrer or url_for(".campaign", campaign_id=invitation.campaign_id), 303
    )


@bp.post("/invitations/<int:invitation_id>/extend")
@write
def extend(invitation_id: int):
    invitation = access.invitation_or_404(invitation_id)
    form = ExtendForm()
    if not form.validate():
        abort(400)
    if invitations.extend(invitation, form.days.data):
        audit.record("invitation_extended", "invitation", invitation.id, days=form.days.data)
        db.session.commit()
        flash(_("Lien prolongé jusqu'au %(date)s.", date=invitation.expires_at.date()), "success")
    else:
        flash(_("Ce lien ne peut plus être prolongé."), "error")
    return redirect(url_for(".campaign", campaign_id=invitation.campaign_id), 303)


@bp.post("/invitations/<int:invitation_id>/send")
@write
def send_one(invitation_id: int):
    invitation = access.invitation_or_404(invitation_id)
    _checked_button()
    if invitation.status in ("pending", "started") and not invitation.is_expired(utcnow()):
        kind = "reminder" if invitation.status == "started" else "invitation"
        outbox.enqueue(invitation, kind)
        audit.record("message_queued", "invitation", invitation.id, kind=kind)
        db.session.commit()
        _notify_sender()
        flash(_("E-mail en cours d'envoi."), "success")
    return redirect(url_for(".campaign", campaign_id=invitation.campaign_id), 303)


# --- Shortlists -----------------------------------------------------------------------------


def _shortlist_args(scales: list[str]):
    """Norm, sort, direction and minimum T-scores; a minimum left empty is no filter."""
    norm = queryargs.choice("norm", results.NORMS, "campaign")
    sort = request.args.get("sort", "rank")
    descending = request.args.get("dir", "asc") == "desc"
    minimums = {}
    for scale in scales:
        minimum = queryargs.number(f"min_{scale}", *services.MINIMUM_RANGE)
        if minimum is not None:
            minimums[scale] = minimum
    return norm, sort, descending, minimums


def _url_with(**changes) -> str:
    """This page's address with some query arguments changed (lists kept, e.g. campaign=)."""
    args = request.args.to_dict(flat=False)
    args.update({k: [str(v)] for k, v in changes.items()})
    return url_for(request.endpoint, **request.view_args, **args)


def _render_shortlist(campaign_ids, campaigns_shown, template_args):
    form = questions.bank().get(campaigns_shown[0].form_id, campaigns_shown[0].language)
    scale_ids = ["composite", *form.scale_ids]
    norm, sort, descending, minimums = _shortlist_args(scale_ids)
    arguments = {
        "sort": sort,
        "descending": descending,
        "minimums": minimums,
        "page": queryargs.page(),
    }
    try:
        page = services.shortlist(access.organisation_id(), campaign_ids, norm=norm, **arguments)
    except results.NormUnavailable:
        flash(
            _(
                "Aucune norme de référence n'a encore été calculée pour votre organisation "
                "(commande : recruit norms refresh). Affichage sur la norme de la campagne."
            ),
            "error",
        )
        norm = "campaign"
        page = services.shortlist(access.organisation_id(), campaign_ids, norm=norm, **arguments)
    labels = {
        "composite": _("Indice d'orientation service"),
        **{s.id: s.label for s in form.scales},
    }
    shorts = {"composite": _("Indice"), **{s.id: s.short or s.label for s in form.scales}}
    return render_template(
        "recruiter/shortlist.html",
        shorts=shorts,
        page=page,
        norm=norm,
        sort=sort,
        descending=descending,
        minimums=minimums,
        scale_ids=scale_ids,
        labels=labels,
        campaigns=campaigns_shown,
        decision_labels=DECISION_LABELS,
        url_with=_url_with,
        **template_args,
    )


@bp.get("/campaigns/<int:campaign_id>/shortlist")
@read
def campaign_shortlist(campaign_id: int):
    campaign = access.campaign_or_404(campaign_id)
    return _render_shortlist([campaign.id], [campaign], {"campaign": campaign, "cross": False})


@bp.get("/shortlist")
@read
def cross_shortlist():
    """Several campaigns ranked together on the common scale."""
    chosen = [access.campaign_or_404(i) for i in queryargs.ids("campaign")]
    all_campaigns = db.session.scalars(
        sa.select(Campaign)
        .where(Campaign.organisation_id == access.organisation_id())
        .order_by(Campaign.title)
    ).all()
    if not chosen:
        return render_template("recruiter/cross_pick.html", campaigns=all_campaigns)
    if len({c.form_id for c in chosen}) > 1:
        flash(
            _("Ces campagnes n'utilisent pas le même questionnaire : comparez-les séparément."),
            "error",
        )
        return render_template("recruiter/cross_pick.html", campaigns=all_campaigns), 400
    if "norm" not in request.args:
        return redirect(url_for(".cross_shortlist", campaign=[c.id for c in chosen], norm="pooled"))
    return _render_shortlist(
        [c.id for c in chosen],
        chosen,
        {"campaign": None, "cross": True, "all_campaigns": all_campaigns},
    )


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
            entry = services.record_decision(
                invitation, current_user, form.decision.data, form.note.data.strip()
            )
            audit.record(
                "decision",
                "invitation",
                invitation.id,
                decision=entry.decision,
                decision_id=entry.id,
            )
            db.session.commit()
            flash(_("Décision enregistrée."), "success")
            return redirect(url_for(".candidate", invitation_id=invitation.id), 303)
        status = 400
    frame, info = services.ranked(access.organisation_id(), [invitation.campaign_id], "campaign")
    row = frame[frame["invitation_id"] == invitation.id]
    bank_form = questions.bank().get(invitation.campaign.form_id, invitation.campaign.language)
    return render_template(
        "recruiter/candidate.html",
        invitation=invitation,
        form=form,
        row=None if row.empty else row.iloc[0],
        pool_size=len(frame),
        info=info,
        bank_form=bank_form,
        history=services.decision_history(invitation),
        decision_labels=DECISION_LABELS,
        link=links.invitation_link(invitation),
        messages=db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.invitation_id == invitation.id)
            .order_by(OutboxMessage.id)
        ).all(),
        now=utcnow(),
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
            erased = privacy.erase_candidate(
                invitation, requested_by="admin", reason=form.reason.data, user=current_user
            )
            db.session.commit()
            if erased is None:
                flash(_("Les données de cette personne étaient déjà effacées."), "info")
            else:
                flash(_("Les données personnelles de cette personne ont été effacées."), "success")
            return redirect(url_for(".candidate", invitation_id=invitation.id), 303)
        status = 400
    return render_template("recruiter/erase.html", invitation=invitation, form=form), status


@bp.get("/compare")
@read
def compare():
    ids = queryargs.ids("id")
    if not 2 <= len(ids) <= services.MAX_COMPARE:
        flash(_("Choisissez de 2 à 4 candidats à comparer."), "error")
        return redirect(url_for(".campaigns"))
    invitations = [access.invitation_or_404(i) for i in ids]
    if any(i.status != "completed" for i in invitations):
        flash(_("Seuls les candidats qui ont terminé le test peuvent être comparés."), "error")
        return redirect(url_for(".campaigns"))
    if len({i.campaign.form_id for i in invitations}) > 1:
        abort(400)
    first = invitations[0].campaign
    form = questions.bank().get(first.form_id, first.language)
    norm = queryargs.choice(
        "norm",
        results.NORMS,
        "pooled" if len({i.campaign_id for i in invitations}) > 1 else "campaign",
    )
    frame, info = services.ranked(
        access.organisation_id(), sorted({i.campaign_id for i in invitations}), norm
    )
    frame = frame.set_index("invitation_id")
    people = [(inv, frame.loc[inv.id]) for inv in invitations]
    scale_ids = ["composite", *form.scale_ids]
    labels = {
        "composite": _("Indice d'orientation service"),
        **{s.id: s.label for s in form.scales},
    }
    chart = charts.profile_svg(
        [(s, labels[s]) for s in scale_ids],
        [(inv.candidate.name, {s: row[f"{s}_t"] for s in scale_ids}) for inv, row in people],
        title=_("Profils comparés (notes T, moyenne 50)"),
        missing=_("sans score"),
    )
    return render_template(
        "recruiter/compare.html",
        people=people,
        scale_ids=scale_ids,
        labels=labels,
        chart=chart,
        items=services.compare_items(form, invitations),
        info=info,
        norm=norm,
        zip=zip,
    )
