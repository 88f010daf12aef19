"""The export as an XLSX workbook: the candidates, then the sheets that explain them.

Sheets (SHEETS): candidats (the rows), échelles, normes, items, colonnes, à propos — or their
English names when the request is in English. xlsxwriter's constant_memory mode streams each
row to a temporary file as it is written, so the workbook never sits in memory. Text is
neutralized (recruit.services.exports.formulas) and written as string cells only, never as a
formula.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

import numpy as np
import pandas as pd
import xlsxwriter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from recruit.services.exports.about import about_rows
from recruit.services.exports.columns import (
    DATE_FORMAT,
    ITEM_HEADERS,
    NORM_HEADERS,
    RELIABILITY_HEADERS,
    SCALE_HEADERS,
    clean_round,
    describe_columns,
)
from recruit.services.exports.formulas import is_text, neutralize, neutralized
from recruit.services.exports.frame import ExportContext

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXCEL_MAX_ROWS = 1_048_576  # header included
SHEETS = {
    "candidates": _l("candidats"),
    "scales": _l("échelles"),
    "norms": _l("normes"),
    "items": _l("items"),
    "columns": _l("colonnes"),
    "about": _l("à propos"),
}
COLUMN_HEADERS = [_l("colonne"), _l("signification")]
ABOUT_HEADERS = [_l("rubrique"), _l("valeur")]
_EXCEL_EPOCH = np.datetime64("1899-12-30T00:00:00", "us")
_DAY = np.timedelta64(86_400_000_000, "us")


class _Formats:
    def __init__(self, workbook: xlsxwriter.Workbook):
        self.header = workbook.add_format({"bold": True, "bottom": 1, "text_wrap": True})
        self.title = workbook.add_format({"bold": True, "font_size": 12})
        self.when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.flag = workbook.add_format(
            {"bold": True, "font_color": "#9C0006", "bg_color": "#FFC7CE"}
        )
        self.wrap = workbook.add_format({"text_wrap": True, "valign": "top"})


# --- The candidates ------------------------------------------------------------------------


def _cell_values(column: pd.Series) -> tuple[str, list]:
    """(kind, the column's values as Python objects with None for missing) for writing."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return "bool", column.astype("object").where(column.notna(), None).tolist()
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        stamps = column.to_numpy(dtype="datetime64[us]")
        serial = ((stamps - _EXCEL_EPOCH) / _DAY).astype(object)
        serial[np.isnat(stamps)] = None
        return "date", serial.tolist()
    if pd.api.types.is_numeric_dtype(column.dtype):
        numbers = column.to_numpy(dtype="float64", na_value=np.nan)
        values = numbers.astype(object)
        values[np.isnan(numbers)] = None
        return "number", values.tolist()
    text = neutralized(column if is_text(column) else column.astype("str"))
    # An empty text is an empty cell, like a missing one.
    return "text", text.where(text != "").to_numpy(dtype=object, na_value=None).tolist()


def _width(column: pd.Series, name: str) -> float:
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return 19
    if is_text(column) and len(column):
        longest = column.str.len().max()
        return float(min(max(len(name), 0 if pd.isna(longest) else longest) + 2, 60))
    return float(max(len(name), 6) + 2)


def _write_candidates(
    worksheet,
    frame: pd.DataFrame,
    formats: _Formats,
    chunk_rows: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> None:
    columns = list(frame.columns)
    for c, name in enumerate(columns):
        worksheet.set_column(c, c, _width(frame[name], name))
        worksheet.write_string(0, c, name, formats.header)
    worksheet.freeze_panes(1, 0)
    if columns:
        worksheet.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)
    for start in range(0, len(frame), chunk_rows):
        part = frame.iloc[start : start + chunk_rows]
        kinds, values = zip(*(_cell_values(part[c]) for c in columns), strict=True)
        writers = [
            {
                "number": worksheet.write_number,
                "text": worksheet.write_string,
                "date": worksheet.write_number,
                "bool": worksheet.write_boolean,
            }[kind]
            for kind in kinds
        ]
        cell_formats = [formats.when if kind == "date" else None for kind in kinds]
        cells = list(zip(range(len(columns)), writers, cell_formats, strict=True))
        for r, row in enumerate(zip(*values, strict=True), start=start + 1):
            for (c, write, fmt), value in zip(cells, row, strict=True):
                if value is not None:
                    write(r, c, value, fmt)
        if progress is not None:
            progress(start + len(part))


# --- The small sheets ----------------------------------------------------------------------


def _write_cell(worksheet, r: int, c: int, value, fmt=None) -> None:
    """One cell of the small sheets: text always as a string, numbers as numbers, NaN empty."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return
    if isinstance(value, (bool, np.bool_)):
        worksheet.write_string(r, c, _("oui") if value else _("non"), fmt)
    elif isinstance(value, (int, float, np.integer, np.floating)):
        worksheet.write_number(r, c, float(value), fmt)
    elif isinstance(value, datetime):
        worksheet.write_string(r, c, value.strftime(DATE_FORMAT) + " UTC", fmt)
    else:
        worksheet.write_string(r, c, str(neutralize(str(value))), fmt)


def _write_table(
    worksheet,
    first_row: int,
    headers: Sequence[str],
    rows,
    formats: _Formats,
    cell_formats: Sequence | None = None,
) -> int:
    """Header and rows from ``first_row``; returns the next free row."""
    for c, name in enumerate(headers):
        worksheet.write_string(first_row, c, str(name), formats.header)
    r = first_row
    for r, row in enumerate(rows, start=first_row + 1):
        for c, value in enumerate(row):
            fmt = cell_formats[c] if cell_formats else None
            _write_cell(worksheet, r, c, value, fmt)
    return r + 1


def _rounded(frame: pd.DataFrame, decimals: int = 3) -> pd.DataFrame:
    floats = frame.select_dtypes("float").columns
    return frame.assign(**{c: clean_round(frame[c], decimals) for c in floats})


def _write_scales(worksheet, context: ExportContext, formats: _Formats) -> None:
    widths = [14, 7, 12, 30, 16, 60, 8]
    for c, width in enumerate(widths):
        worksheet.set_column(c, c, width)
    worksheet.freeze_panes(1, 0)
    scales = context.scales[list(SCALE_HEADERS)].itertuples(index=False, name=None)
    _write_table(worksheet, 0, list(SCALE_HEADERS.values()), scales, formats)


def _write_norms(worksheet, context: ExportContext, formats: _Formats) -> None:
    table = _rounded(context.norm_table[list(NORM_HEADERS)])
    worksheet.set_column(0, 0, 22)
    worksheet.set_column(1, len(NORM_HEADERS) - 1, 12)
    worksheet.freeze_panes(1, 0)
    rows = table.astype(object).where(table.notna(), None).itertuples(index=False, name=None)
    _write_table(worksheet, 0, list(NORM_HEADERS.values()), rows, formats)


def _write_items(worksheet, context: ExportContext, formats: _Formats) -> None:
    worksheet.set_column(0, 0, 22)
    worksheet.set_column(1, len(ITEM_HEADERS) - 1, 14)
    if context.item_statistics is None or context.reliability is None:
        worksheet.write_string(0, 0, _("Statistiques d'items non calculées pour cet export."))
        return
    worksheet.write_string(
        0,
        0,
        _("Fidélité : alpha de Cronbach, intervalle de confiance à 95 % (Feldt)"),
        formats.title,
    )
    reliability = _rounded(context.reliability[list(RELIABILITY_HEADERS)])
    rows = reliability.astype(object).where(reliability.notna(), None)
    r = _write_table(
        worksheet,
        1,
        list(RELIABILITY_HEADERS.values()),
        rows.itertuples(index=False, name=None),
        formats,
    )
    worksheet.write_string(
        r + 1,
        0,
        _(
            "Items : corrélation item-reste corrigée (l'item contre la somme des autres "
            "items) ; une corrélation négative (OUI) signale un item qui tire contre l'échelle."
        ),
        formats.title,
    )
    stats = _rounded(context.item_statistics[list(ITEM_HEADERS)])
    header_row = r + 2
    for c, name in enumerate(ITEM_HEADERS.values()):
        worksheet.write_string(header_row, c, str(name), formats.header)
    flag_column = len(ITEM_HEADERS) - 1
    for r, row in enumerate(
        stats.astype(object).where(stats.notna(), None).itertuples(index=False, name=None),
        start=header_row + 1,
    ):
        for c, value in enumerate(row[:-1]):
            _write_cell(worksheet, r, c, value)
        if row[-1]:
            worksheet.write_string(r, flag_column, _("OUI"), formats.flag)
        else:
            worksheet.write_string(r, flag_column, _("non"))


def _write_columns(
    worksheet, frame: pd.DataFrame, context: ExportContext, formats: _Formats
) -> None:
    labels = {}
    for row in context.scales.itertuples(index=False):
        labels.setdefault(row.scale, row.label)
    worksheet.set_column(0, 0, 26)
    worksheet.set_column(1, 1, 100, formats.wrap)
    worksheet.freeze_panes(1, 0)
    _write_table(worksheet, 0, COLUMN_HEADERS, describe_columns(frame.columns, labels), formats)


def _write_about(worksheet, context: ExportContext, formats: _Formats) -> None:
    worksheet.set_column(0, 0, 34)
    worksheet.set_column(1, 1, 110, formats.wrap)
    _write_table(worksheet, 0, ABOUT_HEADERS, about_rows(context), formats)


# --- The workbook --------------------------------------------------------------------------


def write_xlsx(
    frame: pd.DataFrame,
    context: ExportContext,
    target,
    *,
    chunk_rows: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> None:
    """The export as an XLSX workbook into ``target`` (a path or a binary file object).

    Sheets (SHEETS): candidats (the frame), échelles, normes, items, colonnes, à propos — or
    their English names when the request is in English.
    xlsxwriter's constant_memory mode streams each row to a temporary file as it is written,
    so the workbook never sits in memory; text is neutralized and written as strings only.
    ``progress(rows)`` is told the candidates written after each chunk (a job's progress).
    """
    if len(frame) + 1 > EXCEL_MAX_ROWS:
        # xlsxwriter would silently drop the rows beyond the sheet's last one.
        raise ValueError(f"a sheet holds {EXCEL_MAX_ROWS - 1:,} rows at most: use the CSV export")
    options = {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
    }
    with xlsxwriter.Workbook(target, options) as workbook:
        formats = _Formats(workbook)
        sheets = {key: str(name) for key, name in SHEETS.items()}
        _write_candidates(
            workbook.add_worksheet(sheets["candidates"]), frame, formats, chunk_rows, progress
        )
        _write_scales(workbook.add_worksheet(sheets["scales"]), context, formats)
        _write_norms(workbook.add_worksheet(sheets["norms"]), context, formats)
        _write_items(workbook.add_worksheet(sheets["items"]), context, formats)
        _write_columns(workbook.add_worksheet(sheets["columns"]), frame, context, formats)
        _write_about(workbook.add_worksheet(sheets["about"]), context, formats)


def file_chunks(file, size: int = 64 * 1024) -> Iterator[bytes]:
    """Stream a finished export file from its start, then close it (for a streamed response)."""
    try:
        file.seek(0)
        while chunk := file.read(size):
            yield chunk
    finally:
        file.close()


def xlsx_stream(frame: pd.DataFrame, context: ExportContext) -> Iterator[bytes]:
    """Write the workbook to a temporary file (rows go to disk as they are written) and stream
    it; the file is removed once sent."""
    target = tempfile.TemporaryFile()  # noqa: SIM115 - closed by file_chunks
    try:
        write_xlsx(frame, context, target)
    except BaseException:
        target.close()
        raise
    return file_chunks(target)
