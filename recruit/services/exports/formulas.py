"""Formula injection: a text a spreadsheet would run as a formula gets a leading quote.

Every text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
neutralized (OWASP "CSV injection"), in the CSV and in the workbook alike.
"""

from __future__ import annotations

import pandas as pd

DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value):
    """A text starting with =, +, -, @, a tab or a carriage return gets a leading quote.

    Spreadsheets read such a cell as a formula (OWASP "CSV injection"); anything else is
    returned unchanged.
    """
    if isinstance(value, str) and value.startswith(DANGEROUS_STARTS):
        return "'" + value
    return value


def is_text(column: pd.Series) -> bool:
    """Whether the column holds text (pandas' string dtype, not a categorical)."""
    return pd.api.types.is_string_dtype(column.dtype) and not isinstance(
        column.dtype, pd.CategoricalDtype
    )


def neutralized(column: pd.Series) -> pd.Series:
    """``neutralize`` on every cell of a text column, vectorized."""
    risky = column.str.startswith(DANGEROUS_STARTS, na=False)
    if not risky.any():
        return column
    return column.where(~risky, "'" + column)


def neutralized_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text column neutralized (a copy; the frame is left as it is)."""
    changed = {c: neutralized(frame[c]) for c in frame.columns if is_text(frame[c])}
    return frame.assign(**changed) if changed else frame
