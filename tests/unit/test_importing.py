"""Bulk import: every spreadsheet a recruiter may upload, and every mistake reported by line."""

import io
import zipfile

import openpyxl
import pytest

from recruit.recruiter import importing
from recruit.recruiter.importing import ImportProblem, ImportRow, parse_candidates


def csv_bytes(*lines: str, encoding: str = "utf-8", newline: str = "\r\n") -> bytes:
    return (newline.join(lines) + newline).encode(encoding)


def xlsx_bytes(*rows: tuple) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def parse_csv(*lines: str):
    return parse_candidates(csv_bytes(*lines), "candidats.csv")


def codes(problems: list[ImportProblem]) -> list[tuple[int | None, str | None, str]]:
    return [(p.line, p.field, p.code) for p in problems]


# -- formats ------------------------------------------------------------------------------------


def test_clean_csv_with_english_headers():
    rows, problems = parse_csv(
        "Name,Email,External ID",
        "Alice Martin,alice.martin@example.com,A-1",
        "Bob Stone,bob@example.com,",
    )
    assert problems == []
    assert rows == [
        ImportRow(line=2, name="Alice Martin", email="alice.martin@example.com", external_id="A-1"),
        ImportRow(line=3, name="Bob Stone", email="bob@example.com", external_id=None),
    ]


def test_french_headers_with_semicolons_and_first_and_last_name_columns():
    rows, problems = parse_csv(
        "Prénom;Nom;Adresse e-mail;Numéro de candidature",
        "Hélène;Dubois;helene.dubois@exemple.fr;12345",
        "Jean-Luc;Picard;jl.picard@exemple.fr;",
    )
    assert problems == []
    assert [(r.line, r.name, r.email, r.external_id) for r in rows] == [
        (2, "Hélène Dubois", "helene.dubois@exemple.fr", "12345"),
        (3, "Jean-Luc Picard", "jl.picard@exemple.fr", None),
    ]


@pytest.mark.parametrize(
    "header",
    [
        "nom complet,courriel",
        "Full_Name,E.Mail",
        "CANDIDAT , Adresse électronique ",
        "Nom et prénom,mail",
    ],
)
def test_header_names_ignore_case_accents_and_punctuation(header):
    rows, problems = parse_csv(header, "Alice Martin,alice@example.com")
    assert problems == []
    assert [(r.name, r.email) for r in rows] == [("Alice Martin", "alice@example.com")]


def test_nom_alone_is_the_full_name():
    rows, _ = parse_csv("Nom,Email", "Alice Martin,alice@example.com")
    assert rows[0].name == "Alice Martin"


def test_unknown_columns_are_ignored():
    rows, problems = parse_csv(
        "Poste,Name,Ville,Email",
        "Conseiller,Alice Martin,Lyon,alice@example.com",
    )
    assert problems == []
    assert [(r.name, r.email, r.external_id) for r in rows] == [
        ("Alice Martin", "alice@example.com", None)
    ]


def test_utf8_with_bom():
    data = csv_bytes("Nom;Email", "Hélène Dubois;helene@exemple.fr", encoding="utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbfNom;")
    rows, problems = parse_candidates(data, "export.csv")
    assert problems == []
    assert [(r.name, r.email) for r in rows] == [("Hélène Dubois", "helene@exemple.fr")]


def test_windows_1252_keeps_accents():
    data = csv_bytes("Nom;Email", "Hélène Dubois;helene@exemple.fr", encoding="cp1252")
    rows, problems = parse_candidates(data, "export.csv")
    assert problems == []
    assert rows[0].name == "Hélène Dubois"


def test_tab_separated_text_file():
    rows, problems = parse_candidates(
        csv_bytes("Name\tEmail", "Alice Martin\talice@example.com"), "export.TXT"
    )
    assert problems == []
    assert rows[0].name == "Alice Martin"


def test_utf16_unicode_text_from_excel():
    data = csv_bytes("Name\tEmail", "Hélène Dubois\thelene@exemple.fr", encoding="utf-16")
    rows, problems = parse_candidates(data, "export.txt")
    assert problems == []
    assert rows[0].name == "Hélène Dubois"


def test_quoted_fields_with_delimiters_and_newlines():
    rows, problems = parse_csv(
        "Nom;Email;Référence",
        '"Dubois; Hélène";helene@exemple.fr;"R-1"',
        '"Martin\nAlice";alice@exemple.fr;R-2',
        "Bob Stone;bob@exemple.fr;R-3",
    )
    assert problems == []
    # A quoted newline stays inside one spreadsheet row: Bob is still on line 4.
    assert [(r.line, r.name) for r in rows] == [
        (2, "Dubois; Hélène"),
        (3, "Martin Alice"),
        (4, "Bob Stone"),
    ]


def test_commas_inside_names_do_not_fool_delimiter_detection():
    rows, problems = parse_csv(
        "Nom;Email",
        "Dubois, Hélène;helene@exemple.fr",
        "Martin, Alice;alice@exemple.fr",
    )
    assert problems == []
    assert [r.name for r in rows] == ["Dubois, Hélène", "Martin, Alice"]


def test_single_column_file_reads_as_missing_names_column():
    rows, problems = parse_csv("Email", "alice@example.com")
    assert rows == []
    assert codes(problems) == [(None, "name", "missing_name")]
    assert problems[0].value == "Email"


def test_cells_are_stripped_and_blank_lines_skipped():
    rows, problems = parse_csv(
        "Name,Email,ID",
        "  Alice Martin  ,  alice@example.com ,  7 ",
        "",
        ",,",
        "  ,  ,  ",
        "Bob Stone,bob@example.com,",
    )
    assert problems == []
    assert [(r.line, r.name, r.email, r.external_id) for r in rows] == [
        (2, "Alice Martin", "alice@example.com", "7"),
        (6, "Bob Stone", "bob@example.com", None),
    ]


def test_email_is_normalized():
    rows, _ = parse_csv("Name,Email", "Alice Martin,Alice.Martin@EXAMPLE.COM")
    assert rows[0].email == "Alice.Martin@example.com"


def test_xlsx_with_numeric_ids():
    data = xlsx_bytes(
        ("Prénom", "Nom", "Email", "ID ATS"),
        ("Hélène", "Dubois", "helene@exemple.fr", 12345),
        ("Alice", "Martin", "alice@exemple.fr", 12346.0),
        (None, None, None, None),
        ("Bob", "Stone", "bob@exemple.fr", "00042"),
    )
    rows, problems = parse_candidates(data, "Candidats.XLSX")
    assert problems == []
    assert [(r.line, r.name, r.external_id) for r in rows] == [
        (2, "Hélène Dubois", "12345"),
        (3, "Alice Martin", "12346"),
        (5, "Bob Stone", "00042"),
    ]


def test_xlsx_problems_use_spreadsheet_line_numbers():
    data = xlsx_bytes(
        ("Name", "Email"),
        ("Alice Martin", "not an email"),
    )
    rows, problems = parse_candidates(data, "candidats.xlsx")
    assert rows == []
    assert problems == [ImportProblem(2, "email", "bad_email", "not an email")]


def test_title_rows_above_the_header_are_skipped():
    data = xlsx_bytes(
        ("Candidats - campagne de mars",),
        (),
        ("Name", "Email"),
        ("Alice Martin", "alice@example.com"),
    )
    rows, problems = parse_candidates(data, "candidats.xlsx")
    assert problems == []
    assert [(r.line, r.name) for r in rows] == [(4, "Alice Martin")]


# -- file-level problems ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"PK\x03\x04 this is not really a workbook", "candidats.xlsx"),
        (b"", "candidats.xlsx"),
        (b"", "candidats.csv"),
        (b"\r\n  \r\n", "candidats.csv"),
        (b"Name,Email\r\nAlice,alice@example.com\r\n", "candidats.xls"),
        (b"Name,Email\r\nAlice,alice@example.com\r\n", "candidats.pdf"),
        (b"Name,Email\r\nAlice,alice@example.com\r\n", "candidats"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "candidats.csv"),
    ],
    ids=["corrupt-xlsx", "empty-xlsx", "empty-csv", "blank-csv", "xls", "pdf", "none", "binary"],
)
def test_unreadable_files(data, filename):
    assert parse_candidates(data, filename) == ([], [ImportProblem(None, None, "unreadable")])


def test_damaged_xlsx_is_unreadable():
    good = xlsx_bytes(("Name", "Email"), ("Alice Martin", "alice@example.com"))
    damaged_sheet = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(damaged_sheet, "w") as copy:
        for name in source.namelist():
            content = source.read(name)
            copy.writestr(name, content[:100] if name.endswith("sheet1.xml") else content)
    unreadable = ([], [ImportProblem(None, None, "unreadable")])
    assert parse_candidates(good[: len(good) // 2], "c.xlsx") == unreadable
    assert parse_candidates(damaged_sheet.getvalue(), "c.xlsx") == unreadable


def test_csv_renamed_to_xlsx_is_unreadable():
    data = csv_bytes("Name,Email", "Alice Martin,alice@example.com")
    assert parse_candidates(data, "candidats.xlsx") == (
        [],
        [ImportProblem(None, None, "unreadable")],
    )


def test_header_without_an_email_column_lists_the_columns_found():
    rows, problems = parse_csv("Nom;Téléphone;Ville", "Alice Martin;0601020304;Lyon")
    assert rows == []
    assert codes(problems) == [(None, None, "no_header")]
    assert problems[0].value == "Nom, Téléphone, Ville"


def test_header_without_data_rows():
    assert parse_csv("Name,Email", "", ",") == ([], [ImportProblem(None, None, "no_rows")])


def test_too_many_rows(monkeypatch):
    monkeypatch.setattr(importing, "MAX_ROWS", 3)
    lines = [f"Candidate {i},c{i}@example.com" for i in range(4)]
    assert parse_csv("Name,Email", *lines) == ([], [ImportProblem(None, None, "too_many_rows")])


def test_exactly_max_rows_is_accepted(monkeypatch):
    monkeypatch.setattr(importing, "MAX_ROWS", 3)
    lines = [f"Candidate {i},c{i}@example.com" for i in range(3)]
    rows, problems = parse_csv("Name,Email", *lines, "", "")
    assert problems == []
    assert len(rows) == 3


def test_too_many_rows_in_xlsx(monkeypatch):
    monkeypatch.setattr(importing, "MAX_ROWS", 3)
    data = xlsx_bytes(("Name", "Email"), *[(f"C {i}", f"c{i}@example.com") for i in range(4)])
    assert parse_candidates(data, "c.xlsx") == ([], [ImportProblem(None, None, "too_many_rows")])


# -- row problems -------------------------------------------------------------------------------


def test_each_row_problem_has_its_line_field_and_value():
    long_name = "A" * 161
    long_id = "9" * 65
    rows, problems = parse_csv(
        "Name,Email,Reference",
        "Alice Martin,alice@example.com,R-1",
        "Missing Email,,R-2",
        ",noname@example.com,R-3",
        "Bad Email,bob@@example.com,R-4",
        f"{long_name},long@example.com,R-5",
        f"Long Id,longid@example.com,{long_id}",
    )
    assert [r.line for r in rows] == [2]
    assert problems == [
        ImportProblem(3, "email", "missing_email"),
        ImportProblem(4, "name", "missing_name"),
        ImportProblem(5, "email", "bad_email", "bob@@example.com"),
        ImportProblem(6, "name", "name_too_long", long_name),
        ImportProblem(7, "external_id", "external_id_too_long", long_id),
    ]


def test_limits_are_inclusive():
    rows, problems = parse_csv("Name,Email,ID", f"{'A' * 160},a@example.com,{'9' * 64}")
    assert problems == []
    assert len(rows[0].name) == 160
    assert len(rows[0].external_id) == 64


def test_a_row_reports_all_its_problems():
    _, problems = parse_csv("Name,Email,ID", f",not-an-email,{'x' * 65}")
    assert codes(problems) == [
        (2, "name", "missing_name"),
        (2, "email", "bad_email"),
        (2, "external_id", "external_id_too_long"),
    ]


def test_displayed_values_are_truncated():
    huge = "x" * 500
    _, problems = parse_csv("Name,Email", f"{huge},a@example.com")
    assert problems[0].code == "name_too_long"
    assert problems[0].value == "x" * 200


def test_duplicate_emails_differing_only_in_case():
    rows, problems = parse_csv(
        "Name,Email",
        "Alice Martin,alice@example.com",
        "Bob Stone,bob@example.com",
        "Alice Again,ALICE@Example.com",
        "Alice Thrice,Alice@example.COM",
    )
    assert [r.line for r in rows] == [2, 3]
    assert problems == [
        ImportProblem(4, "email", "duplicate_in_file", "line 2"),
        ImportProblem(5, "email", "duplicate_in_file", "line 2"),
    ]


def test_first_name_or_last_name_alone_is_enough():
    rows, problems = parse_csv(
        "First name,Last name,Email",
        "Alice,,alice@example.com",
        ",Stone,stone@example.com",
        ",,nobody@example.com",
    )
    assert [(r.line, r.name) for r in rows] == [(2, "Alice"), (3, "Stone")]
    assert codes(problems) == [(4, "name", "missing_name")]


def test_five_thousand_rows():
    lines = [f"Candidate {i};candidate.{i}@example.com;{i}" for i in range(5000)]
    rows, problems = parse_csv("Nom;Email;ID", *lines)
    assert problems == []
    assert len(rows) == 5000
    assert rows[-1] == ImportRow(5001, "Candidate 4999", "candidate.4999@example.com", "4999")
