"""Invisible control characters in names, titles and file names: one character set for the
forms, the API and the candidate import. Pure: no Flask, no database.

Bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C) make a name read
differently from what it holds ("Ana" shown, "anA" stored, or a title that reverses the words
after it on a shortlist); NUL and the other C0 and C1 control characters have no place in a
name and NUL cannot be stored by PostgreSQL; lone surrogates cannot be encoded at all. Only a
multi-line field (a decision note) may hold a tab or a line break.
"""

from __future__ import annotations

import re

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
LINE_CONTROLS = "\t\n\r"  # allowed in a multi-line field
# What a one-line text must not hold (besides lone surrogates): C0 (NUL and line breaks
# included), DEL, C1 and the bidirectional controls.
CONTROL_CHARS = frozenset(map(chr, [*range(0x20), *range(0x7F, 0xA0)])) | frozenset(BIDI_CONTROLS)
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # C0 but tab and line breaks, DEL, C1
_SURROGATES = "\ud800-\udfff"
_ONE_LINE = re.compile(f"[{_CONTROLS}{LINE_CONTROLS}{BIDI_CONTROLS}{_SURROGATES}]")
_MULTI_LINE = re.compile(f"[{_CONTROLS}{BIDI_CONTROLS}{_SURROGATES}]")


def has_control_chars(text: str, *, multiline: bool = False) -> bool:
    """True if ``text`` holds a character refused in names and titles (see the module)."""
    return (_MULTI_LINE if multiline else _ONE_LINE).search(text) is not None


def strip_controls(text: str, replacement: str = "") -> str:
    """``text`` with each character refused on one line replaced (removed by default)."""
    return _ONE_LINE.sub(replacement, text)
