"""Invisible control characters in names and titles: one check for the forms and the API.

Bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C) make a name read
differently from what it holds ("Ana" shown, "anA" stored, or a title that reverses the words
after it on a shortlist); NUL and the other C0 and C1 control characters have no place in a
name and NUL cannot be stored by PostgreSQL; lone surrogates cannot be encoded at all. Only a
multi-line field (a decision note) may hold a tab or a line break.
"""

from __future__ import annotations

import re

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
LINE_CONTROLS = "\t\n\r"  # allowed in a multi-line field
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # C0 but tab and line breaks, DEL, C1
_SURROGATES = "\ud800-\udfff"
_ONE_LINE = re.compile(f"[{_CONTROLS}\t\n\r{BIDI_CONTROLS}{_SURROGATES}]")
_MULTI_LINE = re.compile(f"[{_CONTROLS}{BIDI_CONTROLS}{_SURROGATES}]")

MESSAGE = _l(
    "Ce champ contient des caractères de contrôle invisibles (marques de sens d'écriture, "
    "caractère nul…) : retirez-les."
)
API_MESSAGE = "Must not contain control characters (bidirectional marks, NUL...)."


def has_control_chars(text: str, *, multiline: bool = False) -> bool:
    """True if ``text`` holds a character refused in names and titles (see the module)."""
    return (_MULTI_LINE if multiline else _ONE_LINE).search(text) is not None


class NoControlChars:
    """WTForms validator: the field's text holds no invisible control character."""

    def __init__(self, message: str | None = None, *, multiline: bool = False):
        self.message = message
        self.multiline = multiline

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and has_control_chars(field.data, multiline=self.multiline):
            raise ValidationError(self.message or MESSAGE)


class NoControlCharacters(ma.validate.Validator):
    """Marshmallow validator: the string holds no invisible control character."""

    def __init__(self, *, multiline: bool = False, error: str = API_MESSAGE):
        self.multiline = multiline
        self.error = error

    def __call__(self, value):
        if isinstance(value, str) and has_control_chars(value, multiline=self.multiline):
            raise ma.ValidationError(self.error)
        return value
