"""How strong a staff password must be: 10 characters or more, no control characters, and not
easy to guess by zxcvbn's estimate (dictionaries of common passwords, names and words, keyboard
patterns, repeats, dates, and the account's own email and name). Pure: no Flask, no database."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from zxcvbn import zxcvbn

MIN_LENGTH = 10
MAX_LENGTH = 200
# zxcvbn's score: 0 too guessable ... 4 very unguessable; 3 means "safely unguessable"
# (about 10^8 to 10^10 guesses), enough against throttled online attacks and a slow hash.
MIN_SCORE = 3
# zxcvbn's matching grows quickly with length; past this many characters the rest only adds.
CHECKED_PREFIX = 64


@dataclass(frozen=True)
class Weakness:
    """Why a password is refused: ``code`` is one of too_short, too_long, control, guessable;
    for guessable, ``guesses_log10`` says how many guesses would find it (10^x)."""

    code: str
    guesses_log10: float | None = None


def weakness(password: str, user_inputs: Iterable[str] = ()) -> Weakness | None:
    """None when the password is acceptable, else why not."""
    if len(password) < MIN_LENGTH:
        return Weakness("too_short")
    if len(password) > MAX_LENGTH:
        return Weakness("too_long")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in password):
        return Weakness("control")
    inputs = [part for text in user_inputs if text for part in _parts(text)]
    result = zxcvbn(password[:CHECKED_PREFIX], user_inputs=inputs)
    if result["score"] < MIN_SCORE:
        return Weakness("guessable", float(result["guesses_log10"]))
    return None


def _parts(text: str) -> list[str]:
    """An email or a name, and the words in it: "alix.admin@acme.fr" -> alix, admin, acme..."""
    lowered = text.lower()
    words = [w for w in "".join(c if c.isalnum() else " " for c in lowered).split() if len(w) > 2]
    return [lowered, *words]
