"""The export as CSV, streamed in chunks.

UTF-8, with a byte-order mark by default so that Excel reads the accents; separator ``,`` or
``;`` (French Excel); the decimal separator is always a point; lines end with CRLF (RFC 4180);
an empty field is a missing value; dates are UTC, ``YYYY-MM-DD HH:MM:SS``; booleans are
``True``/``False``; text is neutralized (recruit.services.exports.formulas).
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from recruit.services.exports.columns import DATE_FORMAT
from recruit.services.exports.formulas import neutralized_frame

# The whole Content-Type, written once: a Response given `mimetype="text/csv; charset=utf-8"`
# appends its own charset a second time.
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
CSV_SEPARATORS = {"comma": ",", "semicolon": ";"}  # the exports' `sep=` parameter
BOM = "\ufeff"
SEPARATORS = (",", ";", "\t")


def csv_chunks(
    frame: pd.DataFrame, *, sep: str = ",", bom: bool = True, chunk_rows: int = 5000
) -> Iterator[bytes]:
    """The frame as CSV, UTF-8 (with a BOM when asked, for Excel), ``chunk_rows`` rows a chunk.

    The header comes once, in the first chunk; text is neutralized chunk by chunk, so a large
    export starts streaming at once and never exists twice in memory. A wrong ``sep`` raises
    ValueError here, before anything is streamed.
    """
    if sep not in SEPARATORS:
        raise ValueError(f"sep must be one of {SEPARATORS!r}")
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    return _csv_chunks(frame, sep, bom, chunk_rows)


def _csv_chunks(frame: pd.DataFrame, sep: str, bom: bool, chunk_rows: int) -> Iterator[bytes]:
    options = {"sep": sep, "index": False, "lineterminator": "\r\n", "date_format": DATE_FORMAT}
    header = frame.iloc[:0].to_csv(**options)
    yield ((BOM if bom else "") + header).encode("utf-8")
    for start in range(0, len(frame), chunk_rows):
        part = neutralized_frame(frame.iloc[start : start + chunk_rows])
        yield part.to_csv(header=False, **options).encode("utf-8")
