"""Bulk import: every spreadsheet a recruiter may upload, and every mistake reported by line."""

import io
import tracemalloc
import zipfile

import openpyxl
import pytest

from recruit.core import textcheck
from recruit.core.spreadsheets import (
    ImportProblem,
    ImportRow,
    candidates,
    parse_candidates,
    reading,
)
from tests.workbooks import (
    HEADER_ROW,
    NS,
    declare_size,
    inline_row,
    raw_xlsx,
    sheet_xml,
    strings_xml,
)


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


def parse(data: bytes, filename: str):
    """The rows and problems of a file, as the recruiter gets them."""
    parsed = parse_candidates(data, filename)
    return parsed.rows, parsed.problems


def parse_csv(*lines: str):
    return parse(csv_bytes(*lines), "candidats.csv")


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


def test_tab_separated_text_file():
    rows, problems = parse(
        csv_bytes("Name\tEmail", "Alice Martin\talice@example.com"), "export.TXT"
    )
    assert problems == []
    assert rows[0].name == "Alice Martin"


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
    rows, problems = parse(data, "Candidats.XLSX")
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
    rows, problems = parse(data, "candidats.xlsx")
    assert rows == []
    assert problems == [ImportProblem(2, "email", "bad_email", "not an email")]


def test_title_rows_above_the_header_are_skipped():
    data = xlsx_bytes(
        ("Candidats - campagne de mars",),
        (),
        ("Name", "Email"),
        ("Alice Martin", "alice@example.com"),
    )
    rows, problems = parse(data, "candidats.xlsx")
    assert problems == []
    assert [(r.line, r.name) for r in rows] == [(4, "Alice Martin")]


# -- text encodings -----------------------------------------------------------------------------


def test_utf8_is_read_as_utf8():
    data = "Nom;Email\r\nJosé Núñez;jose@exemple.fr\r\n".encode()
    assert b"Jos\xc3\xa9" in data
    parsed = parse_candidates(data, "export.csv")
    assert parsed.problems == []
    assert [r.name for r in parsed.rows] == ["José Núñez"]
    assert parsed.encoding == "UTF-8"


def test_utf8_with_bom():
    data = csv_bytes("Nom;Email", "Hélène Dubois;helene@exemple.fr", encoding="utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbfNom;")
    parsed = parse_candidates(data, "export.csv")
    assert parsed.problems == []
    assert [(r.name, r.email) for r in parsed.rows] == [("Hélène Dubois", "helene@exemple.fr")]
    assert parsed.encoding == "UTF-8"


def test_windows_1252_keeps_accents_and_says_so():
    data = (
        b"Nom;Email\r\n"
        b"Jos\xe9 Martin;jose@exemple.fr\r\n"
        b"L\xe9a \x93Lili\x94 Roux;lea@exemple.fr\r\n"  # curly quotes: 0x93 and 0x94
    )
    parsed = parse_candidates(data, "export.csv")
    assert parsed.problems == []
    assert [r.name for r in parsed.rows] == ["José Martin", "Léa “Lili” Roux"]
    assert parsed.encoding == "Windows-1252"


def test_utf16_unicode_text_from_excel():
    data = csv_bytes("Name\tEmail", "Hélène Dubois\thelene@exemple.fr", encoding="utf-16")
    assert data.startswith(b"\xff\xfe")
    parsed = parse_candidates(data, "export.txt")
    assert parsed.problems == []
    assert parsed.rows[0].name == "Hélène Dubois"
    assert parsed.encoding == "UTF-16"


def test_utf8_file_with_one_latin1_byte_is_refused_at_its_line():
    data = (
        b"Nom,Email\r\n"
        b"Jos\xc3\xa9 Martin,jose@exemple.fr\r\n"  # UTF-8
        b"Andr\xe9 Roux,andre@exemple.fr\r\n"  # one Latin-1 byte, line 3
        b"Zo\xc3\xa9 Petit,zoe@exemple.fr\r\n"
    )
    parsed = parse_candidates(data, "mixte.csv")
    assert parsed.rows == []
    assert parsed.problems == [
        ImportProblem(3, None, "not_utf8", "Andr\ufffd Roux,andre@exemple.fr")
    ]


def test_bad_byte_line_counts_spreadsheet_lines_not_text_lines():
    data = (
        b"Nom;Email\n"
        b'"Dubois\nH\xc3\xa9l\xc3\xa8ne";helene@exemple.fr\n'  # line 2 of the sheet, two of text
        b"L\xe9o Roux;leo@exemple.fr\n"  # line 3 of the sheet, 4 of the text
    )
    assert parse(data, "c.csv") == (
        [],
        [ImportProblem(3, None, "not_utf8", "L\ufffdo Roux;leo@exemple.fr")],
    )


def test_bad_byte_on_the_first_line():
    data = b"Pr\xe9nom,Email\r\nJos\xc3\xa9,jose@exemple.fr\r\n"
    assert parse(data, "c.csv") == ([], [ImportProblem(1, None, "not_utf8", "Pr\ufffdnom,Email")])


def test_a_bom_says_utf8_even_when_only_latin1_bytes_follow():
    data = b"\xef\xbb\xbfNom,Email\r\nAndr\xe9,andre@exemple.fr\r\n"
    assert parse(data, "c.csv") == (
        [],
        [ImportProblem(2, None, "not_utf8", "Andr\ufffd,andre@exemple.fr")],
    )


def test_a_byte_that_is_neither_utf8_nor_windows_1252_is_refused():
    # 0x81 has no character in Windows-1252.
    data = b"Nom,Email\r\nAndr\x81,andre@exemple.fr\r\n"
    assert parse(data, "c.csv") == (
        [],
        [ImportProblem(2, None, "not_utf8", "Andr\ufffd,andre@exemple.fr")],
    )


# -- control characters -------------------------------------------------------------------------


def test_control_chars_are_c0_del_c1_and_the_bidi_controls():
    listed = (
        {chr(c) for c in range(0x00, 0x20)}
        | {chr(c) for c in range(0x7F, 0xA0)}
        | {
            "\u061c",  # Arabic letter mark
            "\u200e",  # left-to-right mark
            "\u200f",  # right-to-left mark
            "\u202a",
            "\u202b",
            "\u202c",
            "\u202d",
            "\u202e",  # embeddings and overrides
            "\u2066",
            "\u2067",
            "\u2068",
            "\u2069",  # isolates
        }
    )
    assert listed == textcheck.CONTROL_CHARS


def test_strip_controls_keeps_everything_else():
    assert textcheck.strip_controls("liste\u202excs.\x00csv") == "listexcs.csv"
    assert textcheck.strip_controls("\u2067Zoé\u2069 Œuvre\t\r\n") == "Zoé Œuvre"
    assert textcheck.strip_controls("Ана Ñúñez 李 ‑ «x»") == "Ана Ñúñez 李 ‑ «x»"


def test_names_and_ids_with_control_characters_are_refused_by_line():
    data = (
        "Nom;Email;ID\r\n"
        "Alice Martin;alice@exemple.fr;A1\r\n"
        "Bob\u202e nitraM;bob@exemple.fr;A2\r\n"  # right-to-left override, line 3
        "Chlo\x00e Roux;chloe@exemple.fr;A3\r\n"  # NUL, line 4
        "Dan Petit;dan@exemple.fr;A\u20664\r\n"  # isolate in the id, line 5
        "Eve\x07 Blanc;eve@exemple.fr;A5\r\n"  # bell, line 6
        "Fay\x9b Noir;fay@exemple.fr;A6\r\n"  # C1 "control sequence introducer", line 7
    ).encode()
    parsed = parse_candidates(data, "c.csv")
    assert [r.line for r in parsed.rows] == [2]
    assert parsed.problems == [
        ImportProblem(3, "name", "control_chars", "Bob\ufffd nitraM"),
        ImportProblem(4, "name", "control_chars", "Chlo\ufffde Roux"),
        ImportProblem(5, "external_id", "control_chars", "A\ufffd4"),
        ImportProblem(6, "name", "control_chars", "Eve\ufffd Blanc"),
        ImportProblem(7, "name", "control_chars", "Fay\ufffd Noir"),
    ]


def test_tabs_and_line_breaks_inside_a_name_are_spaces_not_controls():
    rows, problems = parse_csv("Name;Email", '"Alice\tMartin\r\nDubois\x85Roux";alice@exemple.fr')
    assert problems == []
    assert rows[0].name == "Alice Martin Dubois Roux"


def test_xlsx_name_with_a_bidi_override_is_refused():
    data = xlsx_bytes(
        ("Nom", "Email"), ("Alice Martin", "a@exemple.fr"), ("\u202eelociN", "n@exemple.fr")
    )
    assert parse(data, "c.xlsx") == (
        [ImportRow(2, "Alice Martin", "a@exemple.fr", None)],
        [ImportProblem(3, "name", "control_chars", "\ufffdelociN")],
    )


def test_file_name_controls_do_not_hide_its_type():
    data = csv_bytes("Name,Email", "Alice Martin,alice@example.com")
    rows, problems = parse(data, "candidats.csv\u202e")
    assert problems == [] and len(rows) == 1
    rows, problems = parse(data, "candidats.c\x00sv")
    assert problems == [] and len(rows) == 1


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
    assert parse(data, filename) == ([], [ImportProblem(None, None, "unreadable")])


def test_damaged_xlsx_is_unreadable():
    good = xlsx_bytes(("Name", "Email"), ("Alice Martin", "alice@example.com"))
    damaged_sheet = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(damaged_sheet, "w") as copy:
        for name in source.namelist():
            content = source.read(name)
            copy.writestr(name, content[:100] if name.endswith("sheet1.xml") else content)
    unreadable = ([], [ImportProblem(None, None, "unreadable")])
    assert parse(good[: len(good) // 2], "c.xlsx") == unreadable
    assert parse(damaged_sheet.getvalue(), "c.xlsx") == unreadable


def test_csv_renamed_to_xlsx_is_unreadable():
    data = csv_bytes("Name,Email", "Alice Martin,alice@example.com")
    assert parse(data, "candidats.xlsx") == (
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
    monkeypatch.setattr(candidates, "MAX_ROWS", 3)
    lines = [f"Candidate {i},c{i}@example.com" for i in range(4)]
    assert parse_csv("Name,Email", *lines) == ([], [ImportProblem(None, None, "too_many_rows")])


def test_exactly_max_rows_is_accepted(monkeypatch):
    monkeypatch.setattr(candidates, "MAX_ROWS", 3)
    lines = [f"Candidate {i},c{i}@example.com" for i in range(3)]
    rows, problems = parse_csv("Name,Email", *lines, "", "")
    assert problems == []
    assert len(rows) == 3


def test_too_many_rows_in_xlsx(monkeypatch):
    monkeypatch.setattr(candidates, "MAX_ROWS", 3)
    data = xlsx_bytes(("Name", "Email"), *[(f"C {i}", f"c{i}@example.com") for i in range(4)])
    assert parse(data, "c.xlsx") == ([], [ImportProblem(None, None, "too_many_rows")])


# -- XLSX bounds --------------------------------------------------------------------------------


def refused(code: str, line: int | None = None, value: str | None = None):
    return [], [ImportProblem(line, None, code, value)]


def test_a_workbook_written_by_hand_reads():
    data = raw_xlsx(
        sheet_xml(
            HEADER_ROW,
            '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row>',
            inline_row(3, "Léo Roux", "leo@exemple.fr"),
        ),
        strings_xml("Nom", "Email", "Zoé Petit", "zoe@exemple.fr"),
    )
    assert parse(data, "c.xlsx") == (
        [
            ImportRow(2, "Zoé Petit", "zoe@exemple.fr", None),
            ImportRow(3, "Léo Roux", "leo@exemple.fr", None),
        ],
        [],
    )


def test_unpacked_size_over_the_bound(monkeypatch):
    monkeypatch.setattr(reading, "MAX_UNPACKED_BYTES", 10_000)
    rows = [inline_row(n, f"Personne {n}", f"p{n}@exemple.fr") for n in range(2, 200)]
    sheet = sheet_xml(HEADER_ROW, *rows)
    assert len(sheet) > 10_000
    assert parse(raw_xlsx(sheet), "c.xlsx") == refused(
        "too_large_unpacked", value="xl/worksheets/sheet1.xml"
    )


def test_declared_size_over_50_mb_is_refused_before_unpacking():
    data = declare_size(raw_xlsx(sheet_xml(HEADER_ROW)), "xl/sharedStrings.xml", 51 * 2**20)
    assert parse(data, "c.xlsx") == refused("too_large_unpacked", value="xl/sharedStrings.xml")


def test_compression_ratio_over_100_is_refused():
    sheet = sheet_xml(HEADER_ROW, " " * (2 * 2**20), inline_row(2, "Zoé Petit", "zoe@exemple.fr"))
    data = raw_xlsx(sheet)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    assert info.file_size > 100 * info.compress_size
    assert parse(data, "c.xlsx") == refused(
        "suspicious_compression", value="xl/worksheets/sheet1.xml"
    )


def test_a_small_part_may_compress_well():
    sheet = sheet_xml(HEADER_ROW, " " * 2**19, inline_row(2, "Zoé Petit", "zoe@exemple.fr"))
    rows, problems = parse(raw_xlsx(sheet), "c.xlsx")
    assert problems == [] and [r.name for r in rows] == ["Zoé Petit"]


def test_a_part_larger_than_it_declares_is_refused():
    names = [f"Personne {n:05d} {n * 7919 % 10007}" for n in range(5000)]
    data = raw_xlsx(sheet_xml(HEADER_ROW), strings_xml("Nom", "Email", *names))
    lying = declare_size(data, "xl/sharedStrings.xml", 1000)
    with zipfile.ZipFile(io.BytesIO(lying)) as archive:
        info = archive.getinfo("xl/sharedStrings.xml")
    assert info.file_size == 1000 < info.compress_size
    assert parse(lying, "c.xlsx") == refused("suspicious_compression", value="xl/sharedStrings.xml")


def test_a_stored_part_larger_than_it_declares_is_refused():
    data = raw_xlsx(sheet_xml(HEADER_ROW), method=zipfile.ZIP_STORED)
    lying = declare_size(data, "xl/worksheets/sheet1.xml", 10)
    assert parse(lying, "c.xlsx") == refused(
        "suspicious_compression", value="xl/worksheets/sheet1.xml"
    )


def test_a_shared_string_over_32767_characters_is_refused():
    at_limit = raw_xlsx(
        sheet_xml(HEADER_ROW, '<row r="2"><c r="A2" t="s"><v>2</v></c></row>'),
        strings_xml("Nom", "Email", "a" * 32_767),
    )
    assert parse(at_limit, "c.xlsx")[1] == [
        ImportProblem(2, "name", "name_too_long", "a" * 200),
        ImportProblem(2, "email", "missing_email"),
    ]
    over = raw_xlsx(sheet_xml(HEADER_ROW), strings_xml("Nom", "Email", "a" * 32_768))
    assert parse(over, "c.xlsx") == refused("cell_too_long")


def test_rich_text_runs_count_together():
    runs = "<si><r><t>" + "a" * 16_384 + "</t></r><r><t>" + "b" * 16_384 + "</t></r></si>"
    strings = strings_xml("Nom", "Email")[: -len("</sst>")] + runs.encode() + b"</sst>"
    assert parse(raw_xlsx(sheet_xml(HEADER_ROW), strings), "c.xlsx") == refused("cell_too_long")


def test_an_inline_cell_over_32767_characters_is_refused_with_its_line():
    sheet = sheet_xml(
        HEADER_ROW,
        inline_row(2, "Zoé Petit", "zoe@exemple.fr"),
        inline_row(7, "b" * 32_768, "b@exemple.fr"),
    )
    assert parse(raw_xlsx(sheet), "c.xlsx") == refused("cell_too_long", 7)


def test_too_many_shared_strings(monkeypatch):
    monkeypatch.setattr(reading, "MAX_STRINGS", 3)
    three = raw_xlsx(sheet_xml(HEADER_ROW), strings_xml("Nom", "Email", "x"))
    assert parse(three, "c.xlsx") == ([], [ImportProblem(None, None, "no_rows")])
    four = raw_xlsx(sheet_xml(HEADER_ROW), strings_xml("Nom", "Email", "x", "y"))
    assert parse(four, "c.xlsx") == refused("too_many_strings", value="xl/sharedStrings.xml")


def test_shared_strings_over_their_size_bound(monkeypatch):
    monkeypatch.setattr(reading, "MAX_STRINGS_BYTES", 200)
    strings = strings_xml("Nom", "Email", "x" * 150)
    assert len(strings) > 200
    assert parse(raw_xlsx(sheet_xml(HEADER_ROW), strings), "c.xlsx") == refused(
        "too_many_strings", value="xl/sharedStrings.xml"
    )


def test_too_many_parts(monkeypatch):
    monkeypatch.setattr(reading, "MAX_PARTS", 6)
    assert parse(raw_xlsx(sheet_xml(HEADER_ROW)), "c.xlsx")[1][0].code == "no_rows"
    seven = raw_xlsx(sheet_xml(HEADER_ROW), more={"docProps/core.xml": b"<x/>"})
    assert parse(seven, "c.xlsx") == refused("too_many_parts")


@pytest.mark.parametrize(
    ("bound", "value", "sheet", "more"),
    [
        # A part read as a tree: 21 elements.
        (
            "MAX_PART_ELEMENTS",
            20,
            sheet_xml(HEADER_ROW),
            {"xl/styles.xml": b"<a>" + b"<b/>" * 20 + b"</a>"},
        ),
        # Rows, blank ones included: 4.
        ("MAX_SHEET_ROWS", 3, sheet_xml(HEADER_ROW, '<row r="2"/><row r="3"/><row r="4"/>'), {}),
        # Cells up to the last of each row: 2 + 6 + 6 = 14.
        (
            "MAX_SHEET_CELLS",
            13,
            sheet_xml(HEADER_ROW, '<row r="2"><c r="F2"/></row>', '<row r="3"><c r="F3"/></row>'),
            {},
        ),
        # Elements inside one row: 2 inline cells of 3 elements each.
        ("MAX_RECORD_ELEMENTS", 5, sheet_xml(HEADER_ROW, inline_row(2, "Zoé", "z@exemple.fr")), {}),
        # Elements of the whole archive.
        ("MAX_XML_ELEMENTS", 10, sheet_xml(HEADER_ROW), {}),
        # One comment that expat holds whole, over more than a chunk.
        (
            "MAX_TOKEN_BYTES",
            50_000,
            sheet_xml(HEADER_ROW),
            {"xl/styles.xml": b"<a><!--" + b"x" * 100_000 + b"--></a>"},
        ),
    ],
    ids=["part-elements", "rows", "cells", "row-elements", "all-elements", "one-token"],
)
def test_bounds_on_the_xml_inside(monkeypatch, bound, value, sheet, more):
    monkeypatch.setattr(reading, bound, value)
    data = raw_xlsx(sheet, more=more)
    [problem] = parse(data, "c.xlsx")[1]
    assert problem.code == "too_complex" and problem.value.startswith("xl/")


def test_the_bounds_on_the_xml_inside_are_not_reached_by_these_sheets():
    data = raw_xlsx(
        sheet_xml(HEADER_ROW, '<row r="2"/><row r="3"/><row r="4"><c r="F4"/></row>'),
        more={"xl/styles.xml": b"<a>" + b"<b/>" * 20 + b"<!--" + b"x" * 100_000 + b"--></a>"},
    )
    assert parse(data, "c.xlsx") == ([], [ImportProblem(None, None, "no_rows")])


@pytest.mark.parametrize(
    "sheet",
    [
        sheet_xml(HEADER_ROW, '<row r="1048577"><c r="A1048577"><v>1</v></c></row>'),
        sheet_xml(HEADER_ROW, '<row r="99999999999999"/>'),
        sheet_xml(HEADER_ROW, '<row r="2"><c r="XFE2"><v>1</v></c></row>'),
        sheet_xml(HEADER_ROW, '<row r="2"><c r="AAAA2"><v>1</v></c></row>'),
        sheet_xml(HEADER_ROW, '<row r="two"/>'),
    ],
    ids=["row-past-excel", "huge-row", "column-past-excel", "four-letters", "not-a-number"],
)
def test_cells_outside_excel_sheets_are_unreadable(sheet):
    assert parse(raw_xlsx(sheet), "c.xlsx") == refused("unreadable")


def test_a_cell_on_excel_last_row_is_read_without_holding_the_blank_lines():
    sheet = sheet_xml(HEADER_ROW, inline_row(1_048_576, "Zoé Petit", "zoe@exemple.fr"))
    assert parse(raw_xlsx(sheet), "c.xlsx") == (
        [ImportRow(1_048_576, "Zoé Petit", "zoe@exemple.fr", None)],
        [],
    )


@pytest.mark.parametrize(
    "strings",
    [
        # An external entity (XXE): the content of a file of the server in a cell.
        b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<sst xmlns="' + NS.encode() + b'"><si><t>Nom</t></si><si><t>&x;</t></si></sst>',
        # "Billion laughs": entities that expand each other to gigabytes.
        b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(
            b'<!ENTITY %c "%s">' % (ord("a") + i, (b"&%c;" % (ord("a") + i - 1)) * 10)
            for i in range(1, 9)
        )
        + b']><sst xmlns="'
        + NS.encode()
        + b'"><si><t>Nom</t></si><si><t>&i;</t></si></sst>',
    ],
    ids=["external-entity", "billion-laughs"],
)
def test_entities_in_a_part_are_unreadable(strings):
    assert parse(raw_xlsx(sheet_xml(HEADER_ROW), strings), "c.xlsx") == refused("unreadable")


def test_encrypted_or_exotically_compressed_parts_are_unreadable():
    bzip2 = raw_xlsx(sheet_xml(HEADER_ROW), method=zipfile.ZIP_BZIP2)
    assert parse(bzip2, "c.xlsx") == refused("unreadable")
    encrypted = bytearray(raw_xlsx(sheet_xml(HEADER_ROW)))
    entry = encrypted.index(b"PK\x01\x02")
    encrypted[entry + 8] |= 0x1  # general purpose flag, bit 0: encrypted
    assert parse(bytes(encrypted), "c.xlsx") == refused("unreadable")


def test_blank_lines_are_not_held():
    data = b"Name,Email\n" + b",\n" * 300_000 + b"Zoe Petit,zoe@exemple.fr\n"
    tracemalloc.start()
    try:
        rows, problems = parse(data, "c.csv")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problems == [] and rows == [ImportRow(300_002, "Zoe Petit", "zoe@exemple.fr", None)]
    # The text itself (600 kB) and a few lines; not 300,000 lists (about 30 MB).
    assert peak < 5 * 2**20


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
