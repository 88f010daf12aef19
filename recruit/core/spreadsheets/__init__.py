"""Bulk invitations: a recruiter's spreadsheet (CSV or XLSX) -> validated candidate rows.

Pure: no Flask, no database. ``reading`` opens a file within fixed bounds of memory and time
(CSV decoding, the XLSX archive guard and its streaming scan) and gives its lines one at a time;
``candidates`` finds the columns and turns the lines into rows and problems.
"""

from recruit.core.spreadsheets.candidates import (
    ImportProblem,
    ImportRow,
    ParsedFile,
    parse_candidates,
)

__all__ = ["ImportProblem", "ImportRow", "ParsedFile", "parse_candidates"]
