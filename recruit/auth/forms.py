"""Login, account and password forms."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length

from recruit.core import passwords
from recruit.web.forms import Form as BaseForm
from recruit.web.forms import NoControlChars

ROLE_CHOICES = [
    SelectChoice("recruiter", _l("Recruteur·se — campagnes et candidats")),
    SelectChoice("hr", _l("RH — lecture seule, tableau de bord et exports")),
    SelectChoice("admin", _l("Administrateur·rice — gère aussi les comptes")),
]

WEAKNESS_MESSAGES = {
    "too_short": _l("10 caractères au moins."),
    "too_long": _l("200 caractères au plus."),
    "control": _l("Le mot de passe contient des caractères de contrôle invisibles : retirez-les."),
    "guessable": _l(
        "Ce mot de passe est trop facile à deviner (mot de passe courant, mot du dictionnaire, "
        "suite de touches, répétition, date ou votre propre nom) : allongez-le, par exemple "
        "avec trois ou quatre mots sans rapport entre eux."
    ),
}


def weakness_message(weakness: passwords.Weakness) -> str:
    return str(WEAKNESS_MESSAGES[weakness.code])


def _password_field(label) -> PasswordField:
    """A password someone chooses; auth.services checks its strength (WeakPassword)."""
    return PasswordField(label, validators=[DataRequired(_l("Choisissez un mot de passe."))])


def _code_field(label=None) -> StringField:
    label = label or _l("Code à 6 chiffres de votre application")
    return StringField(label, validators=[DataRequired(_l("Indiquez le code.")), Length(max=32)])


class LoginForm(BaseForm):
    email = EmailField(
        _l("Adresse e-mail"),
        validators=[DataRequired(_l("Indiquez votre adresse e-mail.")), Length(max=254)],
    )
    password = PasswordField(
        _l("Mot de passe"),
        validators=[DataRequired(_l("Indiquez votre mot de passe.")), Length(max=200)],
    )


class TwoFactorLoginForm(BaseForm):
    code = _code_field(_l("Code à 6 chiffres, ou un code de secours"))


class UserForm(BaseForm):
    name = StringField(_l("Nom"), validators=[Length(max=160), NoControlChars()])
    email = EmailField(
        _l("Adresse e-mail"),
        validators=[
            DataRequired(_l("Indiquez une adresse e-mail.")),
            Email(_l("Cette adresse e-mail n'est pas valable.")),
            Length(max=254),
        ],
    )
    role = SelectField(_l("Rôle"), choices=ROLE_CHOICES)
    password = _password_field(_l("Mot de passe initial (10 caractères au moins)"))


class EmptyForm(BaseForm):
    """A button that posts: only the CSRF token."""


class ApiKeyForm(BaseForm):
    name = StringField(
        _l("À quoi sert cette clé ?"),
        validators=[
            DataRequired(_l("Donnez un nom à la clé, par exemple le nom de votre ATS.")),
            Length(max=80),
        ],
    )


class ForgotPasswordForm(BaseForm):
    email = EmailField(
        _l("Adresse e-mail de votre compte"),
        validators=[DataRequired(_l("Indiquez votre adresse e-mail.")), Length(max=254)],
    )


class NewPasswordForm(BaseForm):
    """A new password, typed twice."""

    password = _password_field(_l("Nouveau mot de passe (10 caractères au moins)"))
    confirm = PasswordField(
        _l("Le même, une seconde fois"),
        validators=[
            DataRequired(_l("Retapez le nouveau mot de passe.")),
            EqualTo("password", _l("Les deux mots de passe ne sont pas les mêmes.")),
        ],
    )


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(
        _l("Mot de passe actuel"),
        validators=[DataRequired(_l("Indiquez votre mot de passe actuel.")), Length(max=200)],
    )


class TwoFactorSetupForm(BaseForm):
    code = _code_field()


class PasswordConfirmForm(BaseForm):
    password = PasswordField(
        _l("Votre mot de passe"),
        validators=[DataRequired(_l("Indiquez votre mot de passe.")), Length(max=200)],
    )


class OrganisationSecurityForm(BaseForm):
    require_2fa = BooleanField(
        _l("Exiger la double authentification des comptes administrateur et RH")
    )
