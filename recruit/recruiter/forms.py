"""Forms of the recruiter's workspace."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from recruit.data import questions
from recruit.data.models import DECISIONS
from recruit.services.privacy import (
    ADMIN_ERASE_REASONS,
    DEFAULT_RETENTION_MONTHS,
    MAX_RETENTION_MONTHS,
)
from recruit.web.forms import Form as BaseForm
from recruit.web.forms import NoControlChars

DECISION_LABELS = {
    "shortlist": _l("Retenir pour un entretien"),
    "hold": _l("En attente"),
    "reject": _l("Ne pas retenir"),
}


def questionnaire_choices() -> list[tuple[str, str]]:
    """Each questionnaire of the bank in each of its languages ("form:language"), French first."""
    return [
        (f"{f.form}:{f.language}", f"{f.title} — {'français' if f.language == 'fr' else 'English'}")
        for f in sorted(questions.bank(), key=lambda f: (f.form, f.language != "fr"))
    ]


class CampaignForm(BaseForm):
    """A new campaign; its questionnaire is picked from the bank's (questionnaire_choices)."""

    title = StringField(
        _l("Intitulé du poste"),
        validators=[
            DataRequired(_l("Indiquez l'intitulé du poste.")),
            Length(max=160),
            NoControlChars(),
        ],
    )
    site = StringField(_l("Site ou équipe"), validators=[Length(max=160), NoControlChars()])
    form_language = SelectField(_l("Questionnaire et langue"))
    invitation_days = IntegerField(
        _l("Validité des liens (jours)"),
        default=14,
        validators=[
            InputRequired(_l("Indiquez une durée.")),
            NumberRange(1, 365, _l("Entre 1 et 365 jours.")),
        ],
    )
    deadline = DateField(_l("Date limite (facultative)"), validators=[Optional()])
    retention_months = IntegerField(
        _l("Conservation des données (mois)"),
        default=DEFAULT_RETENTION_MONTHS,
        validators=[Optional(), NumberRange(1, MAX_RETENTION_MONTHS, _l("Entre 1 et 120 mois."))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.form_language.choices = questionnaire_choices()


class InviteForm(BaseForm):
    name = StringField(
        _l("Nom du candidat"),
        validators=[DataRequired(_l("Indiquez un nom.")), Length(max=160), NoControlChars()],
    )
    email = EmailField(
        _l("Adresse e-mail"),
        validators=[
            DataRequired(_l("Indiquez une adresse e-mail.")),
            Email(_l("Cette adresse e-mail n'est pas valable.")),
            Length(max=254),
        ],
    )
    external_id = StringField(
        _l("Identifiant ATS (facultatif)"), validators=[Length(max=64), NoControlChars()]
    )


class ImportForm(BaseForm):
    spreadsheet = FileField(
        _l("Fichier CSV ou Excel (.xlsx)"),
        validators=[
            FileRequired(_l("Choisissez un fichier.")),
            FileAllowed(["csv", "txt", "xlsx"], _l("Formats acceptés : CSV ou XLSX.")),
        ],
    )


class DecisionForm(BaseForm):
    decision = RadioField(
        _l("Décision"),
        choices=[SelectChoice(d, DECISION_LABELS[d]) for d in DECISIONS],
        validators=[InputRequired(_l("Choisissez une décision."))],
    )
    note = TextAreaField(
        _l("Motif (obligatoire)"),
        validators=[
            DataRequired(_l("Expliquez la décision en quelques mots.")),
            Length(max=2000, message=_l("2 000 caractères au plus.")),
            NoControlChars(multiline=True),
        ],
    )


class ExtendForm(BaseForm):
    days = IntegerField(
        _l("Prolonger de (jours)"),
        default=7,
        validators=[InputRequired(), NumberRange(1, 90, _l("Entre 1 et 90 jours."))],
    )


ERASE_REASON_LABELS = {
    "request": _l("La personne a demandé l'effacement de ses données"),
    "objection": _l("La personne s'oppose au traitement ou retire son consentement"),
    "mistake": _l("Cette personne a été invitée par erreur"),
}


class EraseCandidateForm(BaseForm):
    """An admin's erasure of a candidate: a reason code from a short list, never free text."""

    reason = RadioField(
        _l("Motif"),
        choices=[SelectChoice(r, ERASE_REASON_LABELS[r]) for r in ADMIN_ERASE_REASONS],
        validators=[InputRequired(_l("Choisissez un motif."))],
    )


class ButtonForm(BaseForm):
    """A button that posts: only the CSRF token."""
