"""Bulk invitations: a recruiter's spreadsheet (CSV or XLSX) -> validated candidate rows.

Pure: no Flask, no database. Every problem is reported with the line number the recruiter sees
in their spreadsheet (header = line 1) and the column it concerns, so they can fix the file and
upload it again. The caller checks the rows against candidates already invited.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import openpyxl
from email_validator import EmailNotValidError, validate_email

MAX_ROWS = 20_000
NAME_MAX = 160
EXTERNAL_ID_MAX = 64
VALUE_MAX = 200
# Title rows above the header ("Candidats mars 2025") are common in hand-made spreadsheets.
HEADER_SEARCH_ROWS = 10
DELIMITERS = ",;\t"
SNIFF_LINES = 20
SNIFF_CHARS = 64 * 1024


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


class _Unreadable(Exception):
    """The file is not a CSV or XLSX we can read."""


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


def parse_candidates(data: bytes, filename: str) -> tuple[list[ImportRow], list[ImportProblem]]:
    """Parse a CSV or XLSX file of candidates. Returns the valid rows and every problem found."""
    suffix = PurePath(filename).suffix.lower()
    try:
        if not data.strip():
            raise _Unreadable
        if suffix in (".csv", ".txt"):
            lines = _read_csv(data)
        elif suffix == ".xlsx":
            lines = _read_xlsx(data)
        else:
            raise _Unreadable
    except _Unreadable:
        return [], [ImportProblem(None, None, "unreadable")]
    return _parse_lines(lines)


def _parse_lines(lines: list[list[str]]) -> tuple[list[ImportRow], list[ImportProblem]]:
    """Spreadsheet rows (index 0 = line 1) -> valid rows and problems."""
    filled = [i for i, cells in enumerate(lines) if any(cells)]
    if not filled:
        return [], [ImportProblem(None, None, "unreadable")]
    header_index, columns = _find_header(lines, filled[:HEADER_SEARCH_ROWS])
    if columns is None:
        found = ", ".join(cell for cell in lines[filled[0]] if cell)
        return [], [ImportProblem(None, None, "no_header", _clip(found))]
    if not columns.has_name:
        # Reported once rather than on every line: the fix is a column, not a cell.
        found = ", ".join(cell for cell in lines[header_index] if cell)
        return [], [ImportProblem(None, "name", "missing_name", _clip(found))]
    data_rows = [i for i in filled if i > header_index]
    if not data_rows:
        return [], [ImportProblem(None, None, "no_rows")]
    if len(data_rows) > MAX_ROWS:
        return [], [ImportProblem(None, None, "too_many_rows")]

    rows: list[ImportRow] = []
    problems: list[ImportProblem] = []
    first_seen: dict[str, int] = {}
    for index in data_rows:
        row, row_problems = _parse_row(index + 1, lines[index], columns, first_seen)
        problems.extend(row_problems)
        if row is not None:
            rows.append(row)
    return rows, problems


def _find_header(lines: list[list[str]], candidates: list[int]) -> tuple[int, _Columns | None]:
    """The first of the candidate rows with an email column, or (first candidate, None)."""
    for index in candidates:
        columns = _Columns.find(lines[index])
        if columns is not None:
            return index, columns
    return candidates[0], None


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
            problems.append(ImportProblem(line, "email", "bad_email", _clip(raw_email)))

    external_id = cell(columns.external_id) or None
    if external_id is not None and len(external_id) > EXTERNAL_ID_MAX:
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


def _until_too_many(lines: Iterable[list[str]]) -> Iterator[list[str]]:
    """Stop reading once there are surely more data rows than MAX_ROWS: enough to report it."""
    limit = MAX_ROWS + HEADER_SEARCH_ROWS + 1
    filled = 0
    for cells in lines:
        yield cells
        filled += any(cells)
        if filled > limit:
            return


# -- CSV ----------------------------------------------------------------------------------------


def _read_csv(data: bytes) -> list[list[str]]:
    """CSV bytes -> stripped cells, one list per spreadsheet line (blank lines included)."""
    text = _decode(data)
    records = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        return list(_until_too_many([cell.strip() for cell in record] for record in records))
    except csv.Error as error:  # e.g. a field larger than csv.field_size_limit()
        raise _Unreadable from error


def _decode(data: bytes) -> str:
    """UTF-16 with a BOM (Excel's "Unicode text"), else UTF-8 (BOM optional), else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise _Unreadable from error
    if b"\x00" in data:  # binary, not text
        raise _Unreadable
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _Unreadable


def _delimiter(text: str) -> str:
    """`,`, `;` or tab: csv.Sniffer on the first lines, checked against the header line."""
    lines = [line for line in text[:SNIFF_CHARS].splitlines() if line.strip()][:SNIFF_LINES]
    counts = {d: lines[0].count(d) if lines else 0 for d in DELIMITERS}
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""
    # The sniffer guesses from frequencies and can pick a comma that only appears inside names;
    # a delimiter absent from the header line cannot be the right one.
    if sniffed in counts and (counts[sniffed] or not any(counts.values())):
        return sniffed
    best = max(DELIMITERS, key=counts.__getitem__)
    return best if counts[best] else ","


# -- XLSX ---------------------------------------------------------------------------------------


def _read_xlsx(data: bytes) -> list[list[str]]:
    """XLSX bytes -> stripped cells of the first worksheet, one list per spreadsheet line."""
    # openpyxl warns about features it drops (data validation, missing styles): none matter here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as error:  # a corrupt file fails in many ways (zip, XML, KeyError...)
            raise _Unreadable from error
        try:
            if not workbook.worksheets:
                raise _Unreadable
            sheet = workbook.worksheets[0]
            # Some writers store a wrong sheet size; read every row and cell that is there.
            sheet.reset_dimensions()
            rows = sheet.iter_rows(values_only=True)
            return list(_until_too_many([_xlsx_text(value) for value in row] for row in rows))
        except _Unreadable:
            raise
        except Exception as error:
            raise _Unreadable from error
        finally:
            workbook.close()


def _xlsx_text(value: Any) -> str:
    """A cell value as the recruiter reads it: 12345.0 -> "12345"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
