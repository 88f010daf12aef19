"""The base of every form: Flask-WTF, with WTForms' own messages read once per process; and
the validator that refuses invisible control characters.

Flask-WTF reads WTForms' message catalogue from disk again on each request that validates a
form (about 0.3 ms, a tenth of a candidate's page save); the catalogue never changes while the
app runs, so it is loaded once per language here. Messages are still chosen per request, in the
language Flask-Babel selects for it.
"""

from __future__ import annotations

from functools import cache

from babel import support
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path
from wtforms.validators import ValidationError

from recruit.core.textcheck import has_control_chars


@cache
def _catalogue(locale: str) -> support.NullTranslations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _Messages:
    """WTForms' messages in the request's language."""

    @staticmethod
    def _current() -> support.NullTranslations | None:
        locale = get_locale()
        return _catalogue(str(locale)) if locale is not None else None

    def gettext(self, string: str) -> str:
        catalogue = self._current()
        return string if catalogue is None else catalogue.ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        catalogue = self._current()
        if catalogue is None:
            return singular if n == 1 else plural
        return catalogue.ungettext(singular, plural, n)


MESSAGES = _Messages()


class Form(FlaskForm):
    """A Flask-WTF form (CSRF, request data) whose WTForms messages are cached per language."""

    class Meta:
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return MESSAGES


CONTROL_CHARS_MESSAGE = _l(
    "Ce champ contient des caractères de contrôle invisibles (marques de sens d'écriture, "
    "caractère nul…) : retirez-les."
)


class NoControlChars:
    """Validator: the field's text holds no invisible control character (recruit.core.textcheck)."""

    def __init__(self, message: str | None = None, *, multiline: bool = False):
        self.message = message
        self.multiline = multiline

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and has_control_chars(field.data, multiline=self.multiline):
            raise ValidationError(self.message or CONTROL_CHARS_MESSAGE)


class PostButton(Form):
    """A button that posts: only the CSRF token (start a job, retry it)."""
