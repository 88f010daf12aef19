"""A recruiter's spreadsheet of candidates -> validated candidate rows, and every problem.

Every problem is reported with the line number the recruiter sees in their spreadsheet (header
= line 1) and the column it concerns, so they can fix the file and upload it again. Lines come
from ``reading`` one at a time; only the lines that make candidates are held. The caller checks
the rows against candidates already invited. Pure: no Flask, no database.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath

from email_validator import EmailNotValidError, validate_email

from recruit.core.spreadsheets import reading
from recruit.core.spreadsheets.reading import VALUE_MAX, shown
from recruit.core.textcheck import has_control_chars, strip_controls

MAX_ROWS = 20_000
NAME_MAX = 160
EXTERNAL_ID_MAX = 64
# Title rows above the header ("Candidats mars 2025") are common in hand-made spreadsheets.
HEADER_SEARCH_ROWS = 10


@dataclass(frozen=True)
class ImportRow:
    line: int
    name: str
    email: str
    external_id: str | None


@dataclass(frozen=True)
class ImportProblem:
    line: int | None
    field: str | None
    code: str
    value: str | None = None


@dataclass(frozen=True)
class ParsedFile:
    """The valid rows, every problem found, and the text encoding of a CSV (None for XLSX)."""

    rows: list[ImportRow]
    problems: list[ImportProblem]
    encoding: str | None = None


def _key(header: str) -> str:
    """Header cell -> comparison key: lower case, no accents, letters and digits only."""
    decomposed = unicodedata.normalize("NFKD", header.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def _keys(*headers: str) -> frozenset[str]:
    return frozenset(_key(h) for h in headers)


FULL_NAME = _keys(
    "name",
    "nom complet",
    "full name",
    "candidat",
    "candidate",
    "nom et prénom",
    "prénom nom",
)
# "nom" alone is the full name, unless a first-name column exists: then it is the last name.
NOM = _key("nom")
FIRST_NAME = _keys("prénom", "first name", "firstname", "given name")
LAST_NAME = _keys("nom de famille", "last name", "lastname", "surname", "family name")
EMAIL = _keys(
    "email",
    "e-mail",
    "courriel",
    "mail",
    "adresse e-mail",
    "adresse email",
    "adresse mail",
    "adresse courriel",
    "email address",
    "adresse électronique",
)
EXTERNAL_ID = _keys(
    "id",
    "identifiant",
    "external id",
    "id externe",
    "référence",
    "reference",
    "ref",
    "ats id",
    "id ats",
    "numéro de candidature",
    "application id",
)

ROLES = {
    **dict.fromkeys(EXTERNAL_ID, "external_id"),
    **dict.fromkeys(LAST_NAME, "last_name"),
    **dict.fromkeys(FIRST_NAME, "first_name"),
    NOM: "nom",
    **dict.fromkeys(FULL_NAME, "full_name"),
    **dict.fromkeys(EMAIL, "email"),
}


@dataclass(frozen=True)
class _Columns:
    """Indexes of the columns we use in the header; None when absent."""

    email: int
    full_name: int | None
    first_name: int | None
    last_name: int | None
    external_id: int | None

    @classmethod
    def find(cls, header: Sequence[str]) -> _Columns | None:
        """Recognise the columns of a header row; None when it has no email column."""
        found: dict[str, int] = {}
        for index, cell in enumerate(header):
            role = ROLES.get(_key(cell))
            if role is not None:
                found.setdefault(role, index)  # the leftmost column wins
        if "email" not in found:
            return None
        if "nom" in found:
            if "first_name" in found:
                found.setdefault("last_name", found["nom"])
            else:
                found.setdefault("full_name", found["nom"])
        return cls(
            email=found["email"],
            full_name=found.get("full_name"),
            first_name=found.get("first_name"),
            last_name=found.get("last_name"),
            external_id=found.get("external_id"),
        )

    @property
    def has_name(self) -> bool:
        return any(c is not None for c in (self.full_name, self.first_name, self.last_name))


def parse_candidates(data: bytes, filename: str) -> ParsedFile:
    """Parse a CSV or XLSX file of candidates: the valid rows and every problem found."""
    suffix = PurePath(strip_controls(filename)).suffix.lower()
    encoding = None
    try:
        if not data.strip():
            raise reading.Unreadable
        if suffix in (".csv", ".txt"):
            text, encoding = reading.decode(data)
            rows, problems = _parse_lines(reading.csv_lines(text))
        elif suffix == ".xlsx":
            with reading.xlsx_lines(data) as lines:
                rows, problems = _parse_lines(lines)
        else:
            raise reading.Unreadable
    except reading.Unreadable:
        return ParsedFile([], [ImportProblem(None, None, "unreadable")], encoding)
    except reading.Refused as refused:
        problem = ImportProblem(refused.line, None, refused.code, refused.value)
        return ParsedFile([], [problem], encoding)
    return ParsedFile(rows, problems, encoding)


def _parse_lines(
    lines: Iterable[tuple[int, list[str]]],
) -> tuple[list[ImportRow], list[ImportProblem]]:
    """Spreadsheet lines (line number, cells) -> valid rows and problems, reading as they come.

    Only the first filled lines (where the header is looked for) are held; a data line is
    checked and dropped at once, and reading stops at the first line past MAX_ROWS."""
    filled = ((line, cells) for line, cells in lines if any(cells))
    head = list(itertools.islice(filled, HEADER_SEARCH_ROWS))
    if not head:
        raise reading.Unreadable
    header_line, header, columns = _find_header(head)
    found = shown(", ".join(cell for cell in header if cell))
    if columns is None:
        return [], [ImportProblem(None, None, "no_header", found)]
    if not columns.has_name:
        # Reported once rather than on every line: the fix is a column, not a cell.
        return [], [ImportProblem(None, "name", "missing_name", found)]

    rows: list[ImportRow] = []
    problems: list[ImportProblem] = []
    first_seen: dict[str, int] = {}
    count = 0
    for line, cells in itertools.chain(((n, c) for n, c in head if n > header_line), filled):
        count += 1
        if count > MAX_ROWS:
            return [], [ImportProblem(None, None, "too_many_rows")]
        row, row_problems = _parse_row(line, cells, columns, first_seen)
        problems.extend(row_problems)
        if row is not None:
            rows.append(row)
    if not count:
        return [], [ImportProblem(None, None, "no_rows")]
    return rows, problems


def _find_header(
    head: list[tuple[int, list[str]]],
) -> tuple[int, list[str], _Columns | None]:
    """The first of the head lines with an email column, or (first line, None)."""
    for line, cells in head:
        columns = _Columns.find(cells)
        if columns is not None:
            return line, cells, columns
    return head[0][0], head[0][1], None


def _parse_row(
    line: int, cells: list[str], columns: _Columns, first_seen: dict[str, int]
) -> tuple[ImportRow | None, list[ImportProblem]]:
    """One data row -> the row if it is valid, and its problems."""

    def cell(index: int | None) -> str:
        return cells[index] if index is not None and index < len(cells) else ""

    problems: list[ImportProblem] = []

    name = cell(columns.full_name) or " ".join(
        part for part in (cell(columns.first_name), cell(columns.last_name)) if part
    )
    name = " ".join(name.split())  # newlines and runs of spaces inside a cell
    if not name:
        problems.append(ImportProblem(line, "name", "missing_name"))
    elif has_control_chars(name):
        problems.append(ImportProblem(line, "name", "control_chars", shown(name)))
    elif len(name) > NAME_MAX:
        problems.append(ImportProblem(line, "name", "name_too_long", _clip(name)))

    raw_email = cell(columns.email)
    email = ""
    if not raw_email:
        problems.append(ImportProblem(line, "email", "missing_email"))
    else:
        try:
            email = validate_email(raw_email, check_deliverability=False).normalized
        except EmailNotValidError:
            problems.append(ImportProblem(line, "email", "bad_email", shown(raw_email)))

    external_id = cell(columns.external_id) or None
    if external_id is not None and has_control_chars(external_id):
        problems.append(ImportProblem(line, "external_id", "control_chars", shown(external_id)))
    elif external_id is not None and len(external_id) > EXTERNAL_ID_MAX:
        problems.append(
            ImportProblem(line, "external_id", "external_id_too_long", _clip(external_id))
        )

    if email:
        seen = first_seen.setdefault(email.casefold(), line)
        if seen != line:
            problems.append(ImportProblem(line, "email", "duplicate_in_file", f"line {seen}"))

    if problems:
        return None, problems
    return ImportRow(line=line, name=name, email=email, external_id=external_id), []


def _clip(value: str) -> str:
    return value[:VALUE_MAX]
