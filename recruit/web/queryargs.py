"""Query-string parameters of the HTML pages, read strictly: a value that does not parse, or
lies outside its range, is a 400 page that names the parameter. Never a 500 (``inf``, a number
past what the database takes) and never a value quietly dropped (``campaign=1.0`` read as "every
campaign"). An absent parameter takes its default; the API has its own (its schemas).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date

from flask import request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

MAX_PAGE = 1_000_000
_INTEGER = re.compile(r"[0-9]{1,18}")
_NUMBER = re.compile(r"[+-]?[0-9]{1,18}(?:[.,][0-9]{1,18})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class BadArgument(BadRequest):
    """A query-string parameter refused; the error page shows ``description``, in words."""

    def __init__(self, name: str, expected: str):
        self.parameter = name
        super().__init__(
            _(
                "Le paramètre « %(name)s » de l'adresse n'est pas valable (attendu : "
                "%(expected)s). Revenez en arrière et corrigez le filtre.",
                name=name,
                expected=expected,
            )
        )


def integer(name: str, default: int, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high`` (digits only: not 1.0, 1e3 or an empty value)."""
    value = request.args.get(name)
    if value is None:
        return default
    return _integer(name, value, low, high)


def _integer(name: str, value: str, low: int, high: int) -> int:
    if _INTEGER.fullmatch(value.strip()) and low <= (number := int(value)) <= high:
        return number
    raise BadArgument(name, _("un nombre entier de %(low)s à %(high)s", low=low, high=high))


def page(name: str = "page") -> int:
    """A page number, from 1 (a page past the last one shows the last one)."""
    return integer(name, 1, 1, MAX_PAGE)


def ids(name: str) -> list[int]:
    """Every value of a repeated id parameter (``campaign=3&campaign=5``), in order and without
    repeats; [] when absent. Each is a whole number from 1: one past the id columns is the
    look-up's 404 (recruit.web.access), like any id that does not exist."""
    found = []
    for value in request.args.getlist(name):
        if not (_INTEGER.fullmatch(value.strip()) and int(value) >= 1):
            raise BadArgument(name, _("un identifiant : un nombre entier à partir de 1"))
        found.append(int(value))
    return list(dict.fromkeys(found))


def number(name: str, low: float, high: float) -> float | None:
    """A finite decimal number from ``low`` to ``high`` (a comma or a point), None if absent or
    left empty (a filter not filled in)."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if _NUMBER.fullmatch(value):
        parsed = float(value.replace(",", "."))
        if math.isfinite(parsed) and low <= parsed <= high:
            return parsed
    raise BadArgument(name, _("un nombre de %(low)s à %(high)s", low=low, high=high))


def day(name: str) -> date | None:
    """A date as YYYY-MM-DD, None if absent or left empty (an open end of a period)."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise BadArgument(name, _("une date au format AAAA-MM-JJ"))


def choice(name: str, choices: Sequence[str], default: str) -> str:
    """One of ``choices``; ``default`` when absent."""
    value = request.args.get(name)
    if value is None:
        return default
    if value in choices:
        return value
    raise BadArgument(name, _("l'une des valeurs %(values)s", values=", ".join(choices)))


def period(start: str = "start", end: str = "end") -> tuple[date | None, date | None]:
    """Two dates that make a period: the end is not before the start."""
    first, last = day(start), day(end)
    if first and last and first > last:
        raise BadArgument(end, _("une date de fin qui ne précède pas la date de début"))
    return first, last
