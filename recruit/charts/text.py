"""Text in server-side SVG charts: XML-safe, measured, wrapped and shortened to fit."""

from __future__ import annotations

import re

from recruit.charts.style import FONT

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NARROW = set("fijlrtI!|.,:;'’()[]-  ")
_WIDE = set("mwMW@%")


def clean(text: object) -> str:
    """Drop characters that XML 1.0 cannot carry and collapse whitespace."""
    return " ".join(_NOT_XML.sub("", str(text)).split())


def num(value: float) -> str:
    """Format a coordinate compactly."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def text_width(text: str, size: float = FONT) -> float:
    """Estimate the rendered width of a string in a proportional sans-serif font."""
    em = 0.0
    for char in text:
        if char in _NARROW:
            em += 0.32
        elif char in _WIDE or char.isupper():
            em += 0.72
        else:
            em += 0.58
    return em * size


def truncate(text: str, max_width: float) -> str:
    """Shorten text with an ellipsis so that it fits max_width."""
    if text_width(text) <= max_width:
        return text
    while text and text_width(text.rstrip() + "…") > max_width:
        text = text[:-1]
    return text.rstrip() + "…"


def wrap(text: str, max_width: float, max_lines: int) -> list[str]:
    """Break text into at most max_lines lines, the last one truncated if needed."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if not current or text_width(candidate) <= max_width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [" ".join(lines[max_lines - 1 :])]
    return [truncate(line, max_width) for line in lines] or [""]
