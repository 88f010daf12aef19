"""Logging in and out, and the organisation's accounts (admin)."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from recruit import access, apikeys, audit
from recruit.auth import services
from recruit.auth.forms import ApiKeyForm, EmptyForm, LoginForm, UserForm
from recruit.extensions import db, limiter
from recruit.models import User

bp = Blueprint("auth", __name__)


def _login_key() -> str:
    """Throttle key per account: the email being tried (hashed: the counters' store never holds
    an address), whoever tries it."""
    email = request.form.get("email", "").strip().lower()
    return "login:" + hashlib.sha256(email.encode("utf-8")).hexdigest()


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site, never another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:  # browsers read "/\\host" as another host
        return None
    return target


def home_for(user) -> str:
    return url_for("hr.dashboard") if user.role == "hr" else url_for("recruiter.campaigns")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
@limiter.limit("10 per 10 minutes", methods=["POST"], key_func=_login_key)
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            audit.record("login", "user", user.id, user=user)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or home_for(user))
        flash(_("Adresse e-mail ou mot de passe incorrect."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    if EmptyForm().validate() and current_user.is_authenticated:
        logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/admin/users", methods=["GET", "POST"])
@access.role_required("admin")
def users():
    form = UserForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.create_user(
                current_user.organisation,
                form.email.data,
                form.role.data,
                form.password.data,
                form.name.data or "",
            )
        except services.AccountError as exc:
            form.email.errors.append(str(exc))
            status = 400
        else:
            audit.record("user_created", "user", user.id, role=user.role)
            db.session.commit()
            flash(_("Compte créé pour %(email)s.", email=user.email), "success")
            return redirect(url_for("auth.users"), 303)
    elif request.method == "POST":
        status = 400
    members = db.session.scalars(
        sa.select(User)
        .where(User.organisation_id == access.organisation_id())
        .order_by(User.active.desc(), User.email)
    ).all()
    return render_template("auth/users.html", form=form, users=members, button=EmptyForm()), status


@bp.post("/admin/users/<int:user_id>/active")
@access.role_required("admin")
def toggle_active(user_id: int):
    user = access.user_or_404(user_id)
    if not EmptyForm().validate():
        abort(400)
    if user.id == current_user.id:
        flash(_("Vous ne pouvez pas désactiver votre propre compte."), "error")
        return redirect(url_for("auth.users"), 303)
    services.set_active(user, not user.active)
    audit.record("user_enabled" if user.active else "user_disabled", "user", user.id)
    db.session.commit()
    return redirect(url_for("auth.users"), 303)


@bp.route("/admin/api-keys", methods=["GET", "POST"])
@access.role_required("admin")
def api_keys():
    """The organisation's API keys; a new key is shown once, on the page that creates it."""
    form = ApiKeyForm()
    created = None
    status = 200
    if form.validate_on_submit():
        record, key = apikeys.create_key(
            current_user.organisation, form.name.data, user_id=current_user.id
        )
        audit.record("api_key_created", "api_key", record.id)
        db.session.commit()
        created = key
    elif request.method == "POST":
        status = 400
    return render_template(
        "auth/api_keys.html",
        form=ApiKeyForm(formdata=None) if created else form,
        keys=apikeys.keys_of(access.organisation_id()),
        created=created,
        button=EmptyForm(),
    ), status


@bp.post("/admin/api-keys/<int:key_id>/revoke")
@access.role_required("admin")
def revoke_api_key(key_id: int):
    record = next((k for k in apikeys.keys_of(access.organisation_id()) if k.id == key_id), None)
    if record is None:
        abort(404)
    if not EmptyForm().validate():
        abort(400)
    apikeys.revoke(record)
    audit.record("api_key_revoked", "api_key", record.id)
    db.session.commit()
    flash(_("Clé révoquée : elle ne donne plus accès à l'API."), "success")
    return redirect(url_for("auth.api_keys"), 303)
