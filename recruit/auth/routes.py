"""Logging in and out, the user's own account (password, 2FA, sessions), forgotten passwords,
and the organisation's accounts (admin)."""

from __future__ import annotations

import time
import unicodedata
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from recruit.auth import services, twofactor
from recruit.auth.forms import (
    ApiKeyForm,
    ChangePasswordForm,
    EmptyForm,
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
    OrganisationSecurityForm,
    PasswordConfirmForm,
    TwoFactorLoginForm,
    TwoFactorSetupForm,
    UserForm,
    weakness_message,
)
from recruit.data.models import User
from recruit.extensions import limiter
from recruit.services import apikeys, sessions
from recruit.web import access

bp = Blueprint("auth", __name__)

PENDING = "_2fa_pending"  # a login whose password was right, waiting for its second factor
PENDING_SECONDS = 300
PENDING_TRIES = 5
SETUP = "_2fa_setup"  # a secret being enrolled, not saved until a code from it is typed


def _failed(response) -> bool:
    """Only failed attempts count against an address's login limit."""
    return response.status_code == 401


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site, never another host, never a control character."""
    if not target:
        return None
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in target):
        return None  # "\r\n" would split a header; bidi marks disguise a path
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:  # browsers read "/\\host" as another host
        return None
    return target


def home_for(user) -> str:
    return url_for("hr.dashboard") if user.role == "hr" else url_for("recruiter.campaigns")


def _throttled(template: str, wait: int, **context):
    flash(
        _(
            "Trop d'essais sur ce compte depuis une adresse inconnue : réessayez dans "
            "%(seconds)s s.",
            seconds=wait,
        ),
        "error",
    )
    response = make_response(render_template(template, **context), 429)
    # Flask-Limiter rewrites Retry-After from it, truncating to whole seconds: one more second
    # keeps the answer at the real wait or above, never 0.
    response.headers["Retry-After"] = str(wait + 1)
    return response


def _finish_login(user: User, next_url: str | None):
    """Log the user in with a fresh session (new cookie content, new CSRF token)."""
    session.clear()
    login_user(user)
    services.complete_login(user)
    if access.must_enrol(user):
        flash(_("Votre organisation exige la double authentification : activez-la."), "info")
        return redirect(url_for("auth.two_factor"))
    return redirect(next_url or home_for(user))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"], deduct_when=_failed)
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        attempt = services.attempt_login(form.email.data, form.password.data)
        if attempt.wait is not None:
            return _throttled("auth/login.html", attempt.wait, form=form)
        if attempt.user is not None:
            next_url = _safe_next(request.args.get("next"))
            if not attempt.user.has_2fa:
                return _finish_login(attempt.user, next_url)
            session.clear()
            session[PENDING] = {
                "user": attempt.user.id,
                "version": attempt.user.session_version,
                "at": time.time(),
                "next": next_url,
                "tries": 0,
            }
            return redirect(url_for("auth.login_2fa"))
        flash(_("Adresse e-mail ou mot de passe incorrect."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


def _pending_user() -> User | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    return services.pending_user(pending.get("user"), pending.get("version"))


@bp.route("/login/2fa", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"], deduct_when=_failed)
def login_2fa():
    user = _pending_user()
    if user is None or not user.has_2fa:
        session.pop(PENDING, None)
        flash(_("Reconnectez-vous : la connexion n'a pas été confirmée à temps."), "info")
        return redirect(url_for("auth.login"))
    form = TwoFactorLoginForm()
    status = 200
    if form.validate_on_submit():
        method, wait = services.check_second_factor(user, form.code.data)
        if wait is not None:
            return _throttled("auth/login_2fa.html", wait, form=form)
        if method is not None:
            next_url = session[PENDING].get("next")
            if method == "recovery":
                flash(
                    _(
                        "Code de secours utilisé : il ne servira plus. Il vous en reste %(n)s.",
                        n=twofactor.remaining_codes(user),
                    ),
                    "info",
                )
            return _finish_login(user, _safe_next(next_url))
        pending = dict(session[PENDING], tries=session[PENDING].get("tries", 0) + 1)
        if pending["tries"] >= PENDING_TRIES:
            session.pop(PENDING, None)
            flash(_("Trop de codes erronés : reconnectez-vous."), "error")
            return redirect(url_for("auth.login"))
        session[PENDING] = pending
        form.code.errors.append(_("Ce code ne convient pas (ou a déjà servi)."))
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login_2fa.html", form=form), status


@bp.post("/logout")
def logout():
    if EmptyForm().validate() and current_user.is_authenticated:
        services.log_out()
        session.clear()
    return redirect(url_for("auth.login"))


# --- Forgotten password -----------------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("5 per 15 minutes", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_reset(form.email.data, str(get_locale() or "fr"))
        # The same answer whether the address has an account or not.
        flash(
            _(
                "Si un compte existe pour cette adresse, un e-mail vient de lui être envoyé "
                "avec un lien valable une heure."
            ),
            "success",
        )
        return redirect(url_for("auth.login"), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/forgot.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def reset_password(token: str):
    reset = services.find_reset(token)
    if reset is None:
        return render_template("auth/reset_invalid.html"), 410
    form = NewPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.complete_reset(reset, form.password.data)
        except services.WeakPassword as exc:
            form.password.errors.append(weakness_message(exc.weakness))
            status = 400
        except services.AccountError:
            return render_template("auth/reset_invalid.html"), 410
        else:
            session.clear()
            flash(_("Mot de passe changé : connectez-vous avec le nouveau."), "success")
            return redirect(url_for("auth.login"), 303)
    elif request.method == "POST":
        status = 400
    return render_template("auth/reset.html", form=form, user=reset.user), status


# --- The user's own account -------------------------------------------------------------------


def _account_page(status: int = 200, **forms):
    user = current_user._get_current_object()
    context = {
        "password_form": forms.get("password_form") or ChangePasswordForm(formdata=None),
        "disable_form": forms.get("disable_form") or PasswordConfirmForm(formdata=None),
        "codes_form": forms.get("codes_form") or TwoFactorSetupForm(formdata=None),
        "button": EmptyForm(),
        "sessions": sessions.live_sessions(user),
        "this_session": g.get("user_session"),
        "describe_agent": sessions.describe_agent,
        "recovery_left": twofactor.remaining_codes(user) if user.has_2fa else 0,
        "may_disable": not (user.role in access.TWO_FACTOR_ROLES and user.organisation.require_2fa),
    }
    return render_template("auth/account.html", **context), status


@bp.get("/account")
@login_required
def account():
    return _account_page()


@bp.post("/account/password")
@login_required
def change_password():
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        try:
            services.change_password(user, form.current.data, form.password.data)
        except services.WeakPassword as exc:
            form.password.errors.append(weakness_message(exc.weakness))
        except services.AccountError:
            form.current.errors.append(_("Ce n'est pas votre mot de passe actuel."))
        else:
            flash(_("Mot de passe changé. Vos autres sessions ont été fermées."), "success")
            return redirect(url_for("auth.account"), 303)
    return _account_page(400, password_form=form)


@bp.post("/account/sessions/end")
@login_required
def end_sessions():
    if not EmptyForm().validate():
        abort(400)
    services.log_out_everywhere(current_user._get_current_object())
    session.clear()
    flash(_("Toutes vos sessions sont fermées, sur tous vos appareils."), "success")
    return redirect(url_for("auth.login"), 303)


@bp.route("/account/2fa", methods=["GET", "POST"])
@login_required
def two_factor():
    """Enrolment: a new secret as a QR code, confirmed by a code; recovery codes shown once."""
    user = current_user._get_current_object()
    if user.has_2fa:
        return redirect(url_for("auth.account"))
    form = TwoFactorSetupForm()
    secret = session.get(SETUP)
    if request.method == "GET" or not isinstance(secret, str):
        secret = session[SETUP] = twofactor.new_secret()
    status = 200
    if form.validate_on_submit():
        codes = twofactor.enable(user, secret, form.code.data)
        if codes is not None:
            session.pop(SETUP, None)
            return render_template("auth/recovery_codes.html", codes=codes, enrolled=True)
        form.code.errors.append(_("Ce code ne convient pas : vérifiez l'heure de votre téléphone."))
        status = 400
    elif request.method == "POST":
        status = 400
    uri = twofactor.provisioning_uri(secret, user)
    return render_template(
        "auth/two_factor.html",
        form=form,
        qr=twofactor.qr_svg(uri),
        secret=twofactor.grouped(secret),
        required=access.must_enrol(user),
    ), status


@bp.post("/account/2fa/codes")
@login_required
def renew_recovery_codes():
    user = current_user._get_current_object()
    form = TwoFactorSetupForm()
    if user.has_2fa and form.validate_on_submit():
        codes = twofactor.regenerate_codes(user, form.code.data)
        if codes is not None:
            return render_template("auth/recovery_codes.html", codes=codes, enrolled=False)
        form.code.errors.append(_("Ce code ne convient pas (ou a déjà servi)."))
    return _account_page(400, codes_form=form)


@bp.post("/account/2fa/disable")
@login_required
def disable_two_factor():
    user = current_user._get_current_object()
    form = PasswordConfirmForm()
    if user.role in access.TWO_FACTOR_ROLES and user.organisation.require_2fa:
        flash(_("Votre organisation exige la double authentification pour votre rôle."), "error")
        return redirect(url_for("auth.account"), 303)
    if user.has_2fa and form.validate_on_submit():
        if services.authenticate(user.email, form.password.data) is not None:
            twofactor.disable(user)
            flash(_("Double authentification désactivée."), "success")
            return redirect(url_for("auth.account"), 303)
        form.password.errors.append(_("Ce n'est pas votre mot de passe actuel."))
    return _account_page(400, disable_form=form)


# --- The organisation's accounts (admin) ------------------------------------------------------


def _users_page(form: UserForm, status: int = 200, security_form=None):
    members = services.members(access.organisation_id())
    security_form = security_form or OrganisationSecurityForm(
        formdata=None, require_2fa=current_user.organisation.require_2fa
    )
    return render_template(
        "auth/users.html",
        form=form,
        users=members,
        button=EmptyForm(),
        security_form=security_form,
    ), status


@bp.route("/admin/users", methods=["GET", "POST"])
@access.role_required("admin")
def users():
    form = UserForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.add_user(
                current_user.organisation,
                form.email.data,
                form.role.data,
                form.password.data,
                form.name.data or "",
            )
        except services.WeakPassword as exc:
            form.password.errors.append(weakness_message(exc.weakness))
            status = 400
        except services.AccountError as exc:
            form.email.errors.append(str(exc))
            status = 400
        else:
            flash(_("Compte créé pour %(email)s.", email=user.email), "success")
            return redirect(url_for("auth.users"), 303)
    elif request.method == "POST":
        status = 400
    return _users_page(form, status)


@bp.post("/admin/security")
@access.role_required("admin")
def organisation_security():
    form = OrganisationSecurityForm()
    if not form.validate_on_submit():
        abort(400)
    services.require_2fa(current_user.organisation, form.require_2fa.data)
    if form.require_2fa.data:
        flash(
            _(
                "Double authentification exigée : les comptes administrateur et RH qui ne l'ont "
                "pas encore devront l'activer à leur prochaine page."
            ),
            "success",
        )
    else:
        flash(_("La double authentification n'est plus exigée."), "success")
    return redirect(url_for("auth.users"), 303)


@bp.post("/admin/users/<int:user_id>/active")
@access.role_required("admin")
def toggle_active(user_id: int):
    user = access.user_or_404(user_id)
    if not EmptyForm().validate():
        abort(400)
    if user.id == current_user.id:
        flash(_("Vous ne pouvez pas désactiver votre propre compte."), "error")
        return redirect(url_for("auth.users"), 303)
    services.toggle_active(user)
    return redirect(url_for("auth.users"), 303)


@bp.post("/admin/users/<int:user_id>/2fa/reset")
@access.role_required("admin")
def reset_two_factor(user_id: int):
    """For a user who lost their phone and their recovery codes: they enrol again."""
    user = access.user_or_404(user_id)
    if not EmptyForm().validate():
        abort(400)
    if user.id == current_user.id or not user.has_2fa:
        abort(400)
    twofactor.disable(user, by=current_user._get_current_object())
    flash(
        _(
            "Double authentification retirée pour %(email)s : ses sessions sont fermées ; "
            "il ou elle la réactivera à la prochaine connexion.",
            email=user.email,
        ),
        "success",
    )
    return redirect(url_for("auth.users"), 303)


@bp.route("/admin/api-keys", methods=["GET", "POST"])
@access.role_required("admin")
def api_keys():
    """The organisation's API keys; a new key is shown once, on the page that creates it."""
    form = ApiKeyForm()
    created = None
    status = 200
    if form.validate_on_submit():
        created = services.create_api_key(current_user._get_current_object(), form.name.data)
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
    services.revoke_api_key(record)
    flash(_("Clé révoquée : elle ne donne plus accès à l'API."), "success")
    return redirect(url_for("auth.api_keys"), 303)
