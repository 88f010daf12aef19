"""Exports of completed tests: one frame of candidates, streamed as CSV or written as XLSX.

``export_frame`` builds the rows (one per completed test) and an ``ExportContext`` (what the
workbook's other sheets show); ``csv_chunks`` and ``write_xlsx`` turn them into files. No routes
and no commits here: the HR export routes and the JSON API call these functions.

columns.py: the columns, their meanings and rounding; frame.py: the rows and their context, read
from the database; items.py: item statistics and reliability; formulas.py: neutralizing
formula injection; csv.py: the streamed CSV; xlsx.py: the workbook; about.py: its "à propos"
sheet.

File conventions (the README repeats them):

- Columns: ``COLUMNS`` (stable, lowercase, English names). The workbook's texts (sheet names,
  headers, meanings, the "about" sheet) are in the request's language: French unless the user
  reads the site in English (or an API client asks for it with Accept-Language).
- CSV: UTF-8, with a byte-order mark by default so that Excel reads the accents; separator ``,``
  or ``;`` (French Excel); the decimal separator is always a point; lines end with CRLF (RFC
  4180); an empty field is a missing value; dates are UTC, ``YYYY-MM-DD HH:MM:SS``; booleans
  are ``True``/``False``.
- Formula injection: every text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return gets a leading single quote (``neutralize``), in the CSV and in the workbook;
  the workbook also writes every text as a string cell, never as a formula.
- Normalized scores are those of ``results.normalized_scores`` on the whole of each chosen
  campaign: the date filter selects rows afterwards, so a candidate's T-score in the export is
  the one the shortlist shows, whatever period is exported.
"""

from recruit.services.exports.about import about_rows
from recruit.services.exports.columns import (
    COLUMNS,
    DECIMALS,
    ITEM_COLUMNS,
    RELIABILITY_COLUMNS,
    export_columns,
    round_scores,
)
from recruit.services.exports.csv import CSV_CONTENT_TYPE, CSV_SEPARATORS, csv_chunks
from recruit.services.exports.formulas import DANGEROUS_STARTS, neutralize
from recruit.services.exports.frame import (
    ExportContext,
    ExportFilters,
    count_rows,
    day_bounds,
    export_frame,
)
from recruit.services.exports.items import item_scores
from recruit.services.exports.xlsx import (
    EXCEL_MAX_ROWS,
    SHEETS,
    XLSX_MIMETYPE,
    write_xlsx,
    xlsx_stream,
)

__all__ = [
    "COLUMNS",
    "CSV_CONTENT_TYPE",
    "CSV_SEPARATORS",
    "DANGEROUS_STARTS",
    "DECIMALS",
    "EXCEL_MAX_ROWS",
    "ITEM_COLUMNS",
    "RELIABILITY_COLUMNS",
    "SHEETS",
    "XLSX_MIMETYPE",
    "ExportContext",
    "ExportFilters",
    "about_rows",
    "count_rows",
    "csv_chunks",
    "day_bounds",
    "export_columns",
    "export_frame",
    "item_scores",
    "neutralize",
    "round_scores",
    "write_xlsx",
    "xlsx_stream",
]
