"""The charts' shared sizes (viewBox units), font, colours and label limits, each defined once.

A size that only one chart uses is defined beside that chart's drawing code."""

from __future__ import annotations

WIDTH = 640  # every chart is 640 units wide and shown at width="100%"
PAD = 12
FONT = 22  # about 12 px when a 640-wide chart is shown 340-360 px wide
LINE = 26  # baseline to baseline of wrapped labels
SWATCH_W = 30
SWATCH_H = 18
TEXT = "#222222"
MUTED = "#555555"
RULE = "#e4e4e4"
WHITE = "#ffffff"  # the background, and the inside of open marks
FONT_FAMILY = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"

# Colours.  The charts also tell their marks apart by shape or pattern, never by colour alone.
BLUE = "#1f5f8b"
ORANGE = "#b35c00"
GREEN = "#2e7d32"
PURPLE = "#6a3d9a"
SERIES = (BLUE, ORANGE, GREEN, PURPLE)  # one per candidate in the profile, in order
BOX_FILL = "#d3e4f2"  # light blue inside a box plot's box
GRID = "#dddddd"  # grid behind the value axis of the box plot and the bar chart
PROFILE_GRID = "#d4d4d4"  # grid every 10 T-score points behind the profile
REFERENCE = "#333333"  # the profile's T=50 line

# Wrapped labels: beyond this many lines the last one is shortened, the full text a tooltip.
ROW_LABEL_LINES = 2  # a pool's or a bar's label on its own line above its row (HR charts)
SCALE_LABEL_LINES = 3  # a scale's label in the column left of the profile's bars
