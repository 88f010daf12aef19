"""Server-side SVG charts for the HR dashboard: no script, no inline style, text escaped.

The charts follow the conventions of ``recruit.charts.svg`` (viewBox 640 units wide shown at
width="100%", 22-unit text, presentation attributes only, ``role="img"`` with a <title> and
a <desc> that says every value in words, ids prefixed by ``chart_id``) and share their text
helpers (``recruit.charts.text``), sizes and colours (``recruit.charts.style``) with the
recruiter's profile chart.  This module gathers what the dashboard draws:

* ``boxplot_svg`` and ``BoxWords`` (``recruit.charts.boxplot``), on ``five_numbers``
  (``recruit.charts.stats``);
* ``bars_svg`` (``recruit.charts.bars``).

Both share the value axis of ``recruit.charts.axis``.  Wrap a chart in ``<figure>`` with a
visible ``<figcaption>``: the title lives in the SVG for screen readers only.  The charts
carry the classes ``hr-chart box-chart`` and ``hr-chart bars-chart`` for sizing from the
stylesheet (e.g. ``max-width: 44rem``).
"""

from __future__ import annotations

from recruit.charts.bars import bars_svg
from recruit.charts.boxplot import BoxWords, boxplot_svg
from recruit.charts.stats import five_numbers

__all__ = ["BoxWords", "bars_svg", "boxplot_svg", "five_numbers"]
