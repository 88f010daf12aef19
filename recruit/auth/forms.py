"""Login and account forms."""

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from recruit.forms import Form as BaseForm

ROLE_CHOICES = [
    SelectChoice("recruiter", _l("Recruteur·se — campagnes et candidats")),
    SelectChoice("hr", _l("RH — lecture seule, tableau de bord et exports")),
    SelectChoice("admin", _l("Administrateur·rice — gère aussi les comptes")),
]


class LoginForm(BaseForm):
    email = EmailField(
        _l("Adresse e-mail"),
        validators=[DataRequired(_l("Indiquez votre adresse e-mail.")), Length(max=254)],
    )
    password = PasswordField(
        _l("Mot de passe"),
        validators=[DataRequired(_l("Indiquez votre mot de passe.")), Length(max=200)],
    )


class UserForm(BaseForm):
    name = StringField(_l("Nom"), validators=[Length(max=160)])
    email = EmailField(
        _l("Adresse e-mail"),
        validators=[
            DataRequired(_l("Indiquez une adresse e-mail.")),
            Email(_l("Cette adresse e-mail n'est pas valable.")),
            Length(max=254),
        ],
    )
    role = SelectField(_l("Rôle"), choices=ROLE_CHOICES)
    password = PasswordField(
        _l("Mot de passe initial (10 caractères au moins)"),
        validators=[
            DataRequired(_l("Choisissez un mot de passe initial.")),
            Length(min=10, max=200, message=_l("10 caractères au moins.")),
        ],
    )


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
