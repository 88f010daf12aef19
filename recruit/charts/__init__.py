"""Server-side SVG charts: numbers in, accessible SVG text out (no Flask, no database).

One module per chart: boxplot.py (raw scores by campaign, on five_numbers from stats.py) and
bars.py for the HR dashboard, profile.py (candidates' T-scores by scale) for the recruiter's
comparison. They follow the conventions of svg.py (viewBox 640 units wide shown at
width="100%", 22-unit text, presentation attributes only, role="img" with a <title> and a
<desc> that says every value in words, ids prefixed by chart_id), and share the text helpers
of text.py, the value axis of axis.py and the sizes and colours of style.py. Wrap a chart in
<figure> with a visible <figcaption>: the title lives in the SVG for screen readers only.
"""
