"""The HR dashboard charts, read back as a user and a screen reader would see them."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from recruit.charts.bars import bars_svg
from recruit.charts.boxplot import BoxWords, boxplot_svg
from recruit.charts.stats import five_numbers

NS = "{http://www.w3.org/2000/svg}"
EPS = 0.011  # coordinates are written with two decimals
NAN = float("nan")


def box_chart(pools, **kwargs) -> ET.Element:
    """Render a box plot chart and parse it back."""
    kwargs.setdefault("title", "Écoute")
    kwargs.setdefault("axis_label", "Score brut")
    svg = boxplot_svg(pools, **kwargs)
    assert isinstance(svg, Markup)
    return ET.fromstring(str(svg))


def bar_chart(bars, **kwargs) -> ET.Element:
    """Render a bar chart and parse it back."""
    svg = bars_svg(bars, title=kwargs.pop("title", "Abandons par page"), **kwargs)
    assert isinstance(svg, Markup)
    return ET.fromstring(str(svg))


def of_class(root: ET.Element, css: str, pool: int | None = None) -> list[ET.Element]:
    """Elements whose class list contains css, optionally for one pool only."""
    return [
        el
        for el in root.iter()
        if css in el.get("class", "").split() and (pool is None or el.get("data-pool") == str(pool))
    ]


def texts(element: ET.Element) -> str:
    """All the text inside an element, as displayed."""
    return "".join(element.itertext())


def desc(root: ET.Element) -> str:
    return texts(root.find(f"{NS}desc"))


def axis_map(root: ET.Element):
    """The value -> x mapping a reader infers from the tick marks drawn under the chart."""
    ticks = [
        (float(el.get("data-value")), float(el.get("x1"))) for el in of_class(root, "tick-mark")
    ]
    assert len(ticks) >= 2
    (v0, x0), (v1, x1) = ticks[0], ticks[-1]
    scale = (x1 - x0) / (v1 - v0)
    for value, x in ticks:  # every tick sits on the same straight line
        assert x == pytest.approx(x0 + (value - v0) * scale, abs=2 * EPS)
    return lambda value: x0 + (value - v0) * scale


def tick_values(root: ET.Element) -> list[float]:
    return [float(el.get("data-value")) for el in of_class(root, "tick-mark")]


def close(value: float) -> object:
    return pytest.approx(value, abs=3 * EPS)


# --------------------------------------------------------------------------- five_numbers


def test_five_numbers_with_outliers_on_both_sides():
    stats = five_numbers([100, 1, 2, -50, 3, 4])
    # sorted: -50 1 2 3 4 100; type-7 positions 1.25, 2.5, 3.75
    assert stats["n"] == 6
    assert (stats["q1"], stats["median"], stats["q3"]) == (1.25, 2.5, 3.75)
    assert stats["min"] == -50 and stats["max"] == 100
    assert stats["mean"] == 10
    # IQR 2.5, fences -2.5 and 7.5
    assert (stats["whisker_low"], stats["whisker_high"]) == (1, 4)
    assert stats["outliers"] == [-50, 100]


def test_values_exactly_on_the_fences_are_whiskers_not_outliers():
    stats = five_numbers([1, 4, 5, 6, 9])  # Q1 4, Q3 6, fences 1 and 9
    assert (stats["whisker_low"], stats["whisker_high"]) == (1, 9)
    assert stats["outliers"] == []
    stats = five_numbers([0.5, 4, 5, 6, 9.5])
    assert (stats["whisker_low"], stats["whisker_high"]) == (4, 6)
    assert stats["outliers"] == [0.5, 9.5]


def test_ties_and_a_whisker_that_never_enters_the_box():
    stats = five_numbers([2, 9, 2, 2, 1, 2, 2, 3])
    # sorted 1 2 2 2 2 2 3 9: Q1 = 2, median = 2, Q3 = 2 + 0.25 * (3 - 2)
    assert (stats["q1"], stats["median"], stats["q3"]) == (2, 2, 2.25)
    # fences 1.625 and 2.625: no value between Q3 and the upper fence, so the whisker
    # stops at the box edge (matplotlib's rule), and 1, 3 and 9 are outliers.
    assert (stats["whisker_low"], stats["whisker_high"]) == (2, 2.25)
    assert stats["outliers"] == [1, 3, 9]
    flat = five_numbers([5, 5, 5, 5])
    assert {k: flat[k] for k in ("q1", "median", "q3", "whisker_low", "whisker_high")} == {
        "q1": 5,
        "median": 5,
        "q3": 5,
        "whisker_low": 5,
        "whisker_high": 5,
    }
    assert flat["outliers"] == []


def test_one_value():
    stats = five_numbers([42])
    assert stats == {
        "n": 1,
        "min": 42,
        "q1": 42,
        "median": 42,
        "q3": 42,
        "max": 42,
        "mean": 42,
        "whisker_low": 42,
        "whisker_high": 42,
        "outliers": [],
    }


@pytest.mark.parametrize("values", [[], [NAN, NAN], [None], [float("inf"), -float("inf")]])
def test_no_value(values):
    stats = five_numbers(values)
    assert stats["n"] == 0
    assert stats["outliers"] == []
    assert all(stats[k] is None for k in stats if k not in {"n", "outliers"})


def test_nan_and_missing_values_are_ignored():
    assert five_numbers([NAN, 3, None, 1, NAN, 2]) == five_numbers([1, 2, 3])
    assert five_numbers(np.array([NAN, 3.0, 1.0, 2.0]))["n"] == 3


def test_quartiles_are_numpys_default_linear_quartiles():
    rng = np.random.default_rng(3)
    values = rng.normal(50, 10, 37)
    stats = five_numbers(values.tolist())
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    assert (stats["q1"], stats["median"], stats["q3"]) == (q1, median, q3)
    assert stats["mean"] == pytest.approx(values.mean())


def test_huge_magnitudes_do_not_overflow():
    stats = five_numbers([-1.7e308, 1.7e308, 0.0])
    assert stats["median"] == 0
    assert stats["q1"] == -0.85e308 and stats["q3"] == 0.85e308
    assert math.isfinite(stats["mean"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6) | st.just(NAN), max_size=40))
def test_the_whisker_rule_holds_for_any_sample(values):
    stats = five_numbers(values)
    data = [v for v in values if not math.isnan(v)]
    assert stats["n"] == len(data)
    if not data:
        return
    assert [stats["q1"], stats["median"], stats["q3"]] == list(np.percentile(data, [25, 50, 75]))
    iqr = stats["q3"] - stats["q1"]
    low, high = stats["q1"] - 1.5 * iqr, stats["q3"] + 1.5 * iqr
    assert stats["outliers"] == sorted(v for v in data if v < low or v > high)
    inside = [v for v in data if low <= v <= high]
    assert stats["whisker_low"] == min(min(inside), stats["q1"])
    assert stats["whisker_high"] == max(max(inside), stats["q3"])


# --------------------------------------------------------------------------- box plot geometry

POOLS = [
    ("Campagne A", [100, 1, 2, -50, 3, 4]),
    ("Campagne B", [40, 50, 55, 60, 62, 70]),
    ("Campagne C", [20, 35]),
]


def test_boxes_span_the_quartiles_and_the_median_line_sits_on_the_median():
    root = box_chart(POOLS)
    x = axis_map(root)
    for index, (_, values) in enumerate(POOLS):
        stats = five_numbers(values)
        (box,) = of_class(root, "box", index)
        assert float(box.get("x")) == close(x(stats["q1"]))
        assert float(box.get("x")) + float(box.get("width")) == close(x(stats["q3"]))
        (median,) = of_class(root, "median", index)
        assert median.get("x1") == median.get("x2")
        assert float(median.get("x1")) == close(x(stats["median"]))
        caps = sorted(float(el.get("x1")) for el in of_class(root, "whisker-cap", index))
        assert caps == [close(x(stats["whisker_low"])), close(x(stats["whisker_high"]))]
        (mean,) = of_class(root, "mean", index)
        xs = [float(point.split(",")[0]) for point in mean.get("points").split()]
        assert (min(xs) + max(xs)) / 2 == close(x(stats["mean"]))
        markers = of_class(root, "outlier", index)
        assert len(markers) == len(stats["outliers"])
        assert sorted(float(el.get("cx")) for el in markers) == [
            close(x(v)) for v in stats["outliers"]
        ]


def test_outlier_markers_are_counted_per_pool():
    root = box_chart(POOLS)
    assert [len(of_class(root, "outlier", i)) for i in range(3)] == [2, 0, 0]
    assert len(of_class(root, "outlier")) == 2


def test_outliers_at_one_drawn_position_share_one_marker_that_counts_them():
    # 4,000 values in a tight box, then 300 low outliers at 0 and 200 high ones at 100 (60 of
    # them a hair apart, at 100 +/- 1e-9: the same hundredth of a pixel on the chart).
    values = [50 + (i % 5) for i in range(4000)] + [0] * 300 + [100] * 140
    values += [100 - 1e-9, 100 + 1e-9] * 30
    stats = five_numbers(values)
    assert len(stats["outliers"]) == 500
    root = box_chart([("Grand magasin", values)], low=0, high=100)
    markers = of_class(root, "outlier", 0)
    x = axis_map(root)
    assert [float(m.get("cx")) for m in markers] == [close(x(0)), close(x(100))]
    assert [int(m.get("data-count", 1)) for m in markers] == [300, 200]


def test_the_axis_covers_the_given_range_with_round_ticks():
    root = box_chart([("A", [30, 40, 50])], low=0, high=100)
    assert tick_values(root) == [0, 20, 40, 60, 80, 100]
    labels = [el.text for el in of_class(root, "tick")]
    assert labels == ["0", "20", "40", "60", "80", "100"]
    root = box_chart([("A", [45, 50, 55])], low=20, high=80)
    assert tick_values(root) == [20, 30, 40, 50, 60, 70, 80]


def test_a_value_outside_the_range_widens_the_axis_to_the_next_round_number():
    root = box_chart([("A", [17, 45, 50, 55])], low=20, high=80)
    assert tick_values(root) == [10, 20, 30, 40, 50, 60, 70, 80]
    x = axis_map(root)
    (outlier,) = of_class(root, "outlier")  # Q1 38, Q3 51.25: the lower fence is 18.125
    assert float(outlier.get("cx")) == close(x(17))


def test_without_a_range_the_axis_pads_the_data_to_round_numbers():
    root = box_chart([("A", [12.5, 13.1, 14.2, 17.9])])
    ticks = tick_values(root)
    assert ticks[0] < 12.5 and ticks[-1] > 17.9
    assert all(round(t, 6) == round(round(t / 0.5) * 0.5, 6) for t in ticks)
    x = axis_map(root)
    (box,) = of_class(root, "box")
    assert x(ticks[0]) <= float(box.get("x")) <= x(ticks[-1])


def test_a_pool_with_no_data_shows_the_missing_text():
    root = box_chart(
        [("Vide", []), ("Que des NaN", [NAN, NAN]), ("Pleine", [1, 2, 3])],
        missing="aucune donnée",
    )
    missing = of_class(root, "missing")
    assert [el.get("data-pool") for el in missing] == ["0", "1"]
    assert all(el.text == "aucune donnée" for el in missing)
    assert [el.get("data-pool") for el in of_class(root, "box")] == ["2"]
    assert [el.text for el in of_class(root, "pool-n")] == ["n = 0", "n = 0", "n = 3"]
    assert "Vide : aucune donnée. Que des NaN : aucune donnée. Pleine : n = 3" in desc(root)


def test_every_pool_gets_its_label_and_n():
    pools = [(f"Campagne {i}", list(range(i + 1))) for i in range(12)]
    root = box_chart(pools)
    labels = [texts(el) for el in of_class(root, "pool-label")]
    assert labels == [f"Campagne {i}" for i in range(12)]
    assert [el.text for el in of_class(root, "pool-n")] == [f"n = {i + 1}" for i in range(12)]
    assert len(of_class(root, "box")) == 12
    assert of_class(root, "tick-top"), "a tall chart repeats the tick labels at the top"


def test_the_description_says_every_figure_in_words():
    root = box_chart(
        [("Lyon", [10, 20, 30, 40, 47]), ("Nice", [1, 50, 52, 53, 55, 100])],
        axis_label="Score brut",
        low=0,
        high=100,
    )
    assert desc(root) == (
        "Score brut (0 – 100). "
        "Lyon : n = 5, médiane 30.0, quartiles 20.0 et 40.0, moyenne 29.4, "
        "minimum 10.0, maximum 47.0. "
        "Nice : n = 6, médiane 52.5, quartiles 50.5 et 54.5, moyenne 51.8, "
        "minimum 1.0, maximum 100.0, valeurs atypiques : 1.0, 100.0."
    )


def test_words_can_be_translated():
    words = BoxWords(
        box="middle half",
        median="median",
        mean="mean",
        outlier="outlier",
        count="n={n}",
        summary="n {n}, median {median}, quartiles {q1} and {q3}, mean {mean}",
        outliers="outliers: {values}",
    )
    root = box_chart([("A", [1, 5, 6, 7, 30])], words=words, missing="no data")
    legend = [texts(g) for g in of_class(root, "legend-item")]
    assert legend == ["middle half", "median", "mean", "outlier"]
    assert desc(root).endswith(
        "A : n 5, median 6.0, quartiles 5.0 and 7.0, mean 9.8, outliers: 1.0, 30.0."
    )
    assert [el.text for el in of_class(root, "pool-n")] == ["n=5"]


def test_the_key_names_the_marks_and_mentions_outliers_only_when_there_are_some():
    root = box_chart([("A", [1, 2, 3])])
    assert [g.get("data-mark") for g in of_class(root, "legend-item")] == [
        "box",
        "median",
        "mean",
    ]
    root = box_chart(POOLS)
    assert [g.get("data-mark") for g in of_class(root, "legend-item")][-1] == "outlier"


def test_marks_differ_by_shape_not_only_by_colour():
    root = box_chart(POOLS)
    shapes = {
        css: {el.tag for el in of_class(root, css)} for css in ("box", "median", "mean", "outlier")
    }
    assert shapes == {
        "box": {f"{NS}rect"},
        "median": {f"{NS}line"},
        "mean": {f"{NS}polygon"},
        "outlier": {f"{NS}circle"},
    }
    (mean,) = of_class(root, "mean", 0)
    (outlier, _) = of_class(root, "outlier", 0)
    assert mean.get("fill") != outlier.get("fill")


def test_long_labels_wrap_and_very_long_ones_are_shortened():
    long = "Accueil et orientation des usagers " * 6
    root = box_chart([("Conseillers clientèle Lyon", [1, 2]), (long, [1, 2])])
    short, wrapped = of_class(root, "pool-label")
    assert [t.text for t in short.iter(f"{NS}tspan")] == ["Conseillers clientèle Lyon"]
    lines = [t.text for t in wrapped.iter(f"{NS}tspan")]
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert wrapped.find(f"{NS}title").text == long.strip()
    assert long.strip() in desc(root)


def test_malicious_labels_are_text_not_markup():
    evil = '<script>alert(1)</script>" onload="alert(2)'
    svg = boxplot_svg(
        [(evil, [1, 2, 3]), ("<b>bold</b>", [])],
        title="</title><script>alert(3)</script>",
        axis_label="<i>x</i>",
        missing="<img src=x>",
    )
    assert "<script" not in svg and "<b>" not in svg and "<i>" not in svg and "<img" not in svg
    root = ET.fromstring(str(svg))
    assert not list(root.iter(f"{NS}script"))
    assert [texts(el) for el in of_class(root, "pool-label")] == [evil, "<b>bold</b>"]
    assert root.find(f"{NS}title").text == "</title><script>alert(3)</script>"
    assert of_class(root, "missing")[0].text == "<img src=x>"
    assert of_class(root, "axis-label")[0].text == "<i>x</i>"
    assert f"{evil} : n = 3" in desc(root)
    for el in root.iter():
        assert not [name for name in el.attrib if name.lower().startswith("on")]


def no_style_no_script(root: ET.Element) -> None:
    for el in root.iter():
        assert el.tag not in {f"{NS}style", f"{NS}script", f"{NS}foreignObject"}
        assert "style" not in el.attrib
        for value in el.attrib.values():
            assert "javascript:" not in value
            assert "url(" not in value or value.startswith("url(#")


def test_no_inline_style_and_no_script_anywhere():
    no_style_no_script(box_chart(POOLS + [("Vide", [])], low=0, high=100))
    no_style_no_script(bar_chart([("Page 1", 3), ("Page 2", None)], unit=" %"))


def test_title_and_description_label_the_image():
    for root in (box_chart(POOLS, title="Écoute"), bar_chart([("a", 1)], title="Écoute")):
        assert root.get("role") == "img"
        title, description = root[0], root[1]
        assert title.tag == f"{NS}title" and description.tag == f"{NS}desc"
        assert title.text == "Écoute"
        assert root.get("aria-labelledby").split() == [title.get("id"), description.get("id")]


def test_two_charts_on_one_page_have_disjoint_ids():
    charts = [
        box_chart(POOLS, chart_id="box-ecoute"),
        box_chart(POOLS, chart_id="box-fiab"),
        bar_chart([("Page 1", 2)], chart_id="drop"),
        bar_chart([("Page 1", 2)], chart_id="rates"),
    ]
    seen: set[str] = set()
    for root in charts:
        ids = [el.get("id") for el in root.iter() if el.get("id")]
        assert len(ids) == len(set(ids)) >= 2
        assert set(ids).isdisjoint(seen)
        seen |= set(ids)
        refs = set(root.get("aria-labelledby").split())
        refs |= {v[5:-1] for el in root.iter() for v in el.attrib.values() if "url(#" in v}
        assert refs <= set(ids)


def test_responsive_with_a_white_background_and_readable_at_phone_width():
    for root, css in ((box_chart(POOLS), "box-chart"), (bar_chart([("a", 1)]), "bars-chart")):
        assert css in root.get("class").split()
        assert root.get("width") == "100%"
        assert root.get("height") is None
        x, y, width, height = (float(v) for v in root.get("viewBox").split())
        assert (x, y) == (0, 0) and 600 <= width <= 700 and height > 0
        background = root.find(f"{NS}rect")
        assert background.get("fill") == "#ffffff"
        assert (background.get("width"), background.get("height")) == (_num(width), _num(height))
        # Shown 340 px wide, a 12 px font needs 12 * width / 340 viewBox units.
        assert float(root.get("font-size")) >= 12 * width / 340 * 0.9
        for el in root.iter(f"{NS}text"):
            assert float(el.get("font-size", root.get("font-size"))) >= float(root.get("font-size"))


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


@pytest.mark.parametrize(
    ("pools", "kwargs"),
    [
        ([], {}),
        ([("A", [1])], {"low": 50, "high": 50}),
        ([("A", [1])], {"low": 60, "high": 40}),
        ([("A", [1])], {"low": float("nan")}),
        ([("A", [1])], {"high": float("inf")}),
        ([("A", [1])], {"chart_id": 'x" onload="y'}),
        ([("A", [1])], {"chart_id": "1abc"}),
    ],
)
def test_invalid_box_arguments_are_refused(pools, kwargs):
    with pytest.raises(ValueError):
        boxplot_svg(pools, title="t", axis_label="x", **kwargs)


# --------------------------------------------------------------------------- bars


def bars(root: ET.Element) -> list[ET.Element]:
    return of_class(root, "bar")


def test_bars_are_proportional_to_their_values_from_zero():
    data = [("Page 1", 0), ("Page 2", 4), ("Page 3", 12), ("Page 4", 3), ("Page 5", 6)]
    root = bar_chart(data)
    x = axis_map(root)
    assert tick_values(root)[0] == 0
    drawn = bars(root)
    assert len(drawn) == 5
    for rect, (_, value) in zip(drawn, data, strict=True):
        assert float(rect.get("x")) == close(x(0))
        assert float(rect.get("width")) == close(x(value) - x(0))
    widths = [float(rect.get("width")) for rect in drawn]
    assert widths[2] == close(3 * widths[1]) and widths[4] == close(2 * widths[3])


def test_labels_and_values_are_printed():
    data = [("Page 1", 2), ("Page 2", 17), ("Page 3", 0)]
    root = bar_chart(data)
    assert [texts(el) for el in of_class(root, "bar-label")] == ["Page 1", "Page 2", "Page 3"]
    values = of_class(root, "value")
    assert [el.text for el in values] == ["2", "17", "0"]
    for rect, text in zip(bars(root), values, strict=True):  # each value at its bar's end
        end = float(rect.get("x")) + float(rect.get("width"))
        assert 0 < float(text.get("x")) - end <= 10
    assert desc(root) == "Page 1 : 2. Page 2 : 17. Page 3 : 0."


def test_rates_with_a_unit_and_a_fixed_maximum():
    root = bar_chart(
        [("Lyon", 87.5), ("Nice", 64), ("Sans invitation", None)],
        unit=" %",
        max_value=100,
        missing="aucune donnée",
    )
    assert tick_values(root)[-1] == 100
    x = axis_map(root)
    assert float(bars(root)[0].get("width")) == close(x(87.5) - x(0))
    assert [el.text for el in of_class(root, "value")] == ["87.5\u00a0%", "64\u00a0%"]
    (missing,) = of_class(root, "missing")
    assert missing.text == "aucune donnée" and missing.get("data-bar") == "2"
    assert desc(root) == "Lyon : 87.5\u00a0%. Nice : 64\u00a0%. Sans invitation : aucune donnée."


def test_long_bar_labels_go_above_their_bars_and_short_ones_beside_them():
    short = bar_chart([("Page 1", 3), ("Page 2", 5)])
    label = of_class(short, "bar-label")[0]
    assert float(label.get("x")) < float(bars(short)[0].get("x"))
    long = bar_chart([("Conseillers clientèle — Lyon, printemps 2025", 3), ("B", 5)])
    label = of_class(long, "bar-label")[0]
    (tspan,) = label.iter(f"{NS}tspan")
    assert float(tspan.get("y")) < float(bars(long)[0].get("y"))


def test_malicious_bar_labels_are_text_not_markup():
    evil = "<script>alert(1)</script>"
    svg = bars_svg([(evil, 1)], title=evil, unit="<b>%</b>")
    assert "<script" not in svg and "<b>" not in svg
    root = ET.fromstring(str(svg))
    assert texts(of_class(root, "bar-label")[0]) == evil
    assert of_class(root, "value")[0].text == "1<b>%</b>"


@pytest.mark.parametrize(
    ("data", "kwargs"),
    [
        ([], {}),
        ([("a", -1)], {}),
        ([("a", float("inf"))], {}),
        ([("a", 1)], {"max_value": 0}),
        ([("a", 1)], {"chart_id": "a b"}),
    ],
)
def test_invalid_bar_arguments_are_refused(data, kwargs):
    with pytest.raises(ValueError):
        bars_svg(data, title="t", **kwargs)


# --------------------------------------------------------------------------- any input

finite = st.floats(allow_nan=False, allow_infinity=False)


def all_coordinates_finite(root: ET.Element) -> None:
    for el in root.iter():
        if el is root:
            continue
        for name in ("x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "width", "height"):
            if el.get(name) is not None:
                assert math.isfinite(float(el.get(name)))


@settings(max_examples=80, deadline=None)
@given(
    pools=st.lists(
        st.tuples(st.text(max_size=80), st.lists(finite | st.just(NAN), max_size=30)),
        min_size=1,
        max_size=12,
    ),
    bounds=st.one_of(
        st.none(),
        st.tuples(finite, finite).filter(lambda b: b[0] < b[1]),
        st.sampled_from([(0.0, 100.0), (20.0, 80.0)]),
    ),
    label=st.text(max_size=40),
)
def test_any_finite_input_gives_a_well_formed_box_chart(pools, bounds, label):
    low, high = bounds if bounds else (None, None)
    root = ET.fromstring(str(boxplot_svg(pools, title=label, axis_label=label, low=low, high=high)))
    all_coordinates_finite(root)
    full = [s for s in (five_numbers(v) for _, v in pools) if s["n"]]
    assert len(of_class(root, "box")) == len(full)
    drawn = of_class(root, "outlier")
    assert sum(int(m.get("data-count", 1)) for m in drawn) == sum(len(s["outliers"]) for s in full)
    assert len(of_class(root, "missing")) == len(pools) - len(full)
    ticks = tick_values(root)
    assert len(ticks) >= 2 and ticks == sorted(ticks)
    for el in of_class(root, "median") + of_class(root, "whisker-cap"):
        assert 34 - EPS <= float(el.get("x1")) <= 606 + EPS


FMAX = 1.7976931348623157e308


@pytest.mark.parametrize(
    ("values", "low", "high"),
    [
        ([], None, -FMAX),
        ([], FMAX, None),
        ([-FMAX], None, -FMAX),
        ([FMAX, FMAX], None, None),
        ([-FMAX, FMAX], -FMAX, FMAX),
        ([0.0, 5e-324], None, None),
        ([1e10, 1e10 + 1e-5], None, None),
        ([3.0], 1.7e308, None),
    ],
)
def test_extreme_magnitudes_still_draw_an_axis(values, low, high):
    root = box_chart([("A", values)], low=low, high=high)
    all_coordinates_finite(root)
    marks = [
        (float(el.get("data-value")), float(el.get("x1"))) for el in of_class(root, "tick-mark")
    ]
    assert len(marks) >= 2 and marks == sorted(marks)
    (v0, x0), (v1, x1) = marks[0], marks[-1]
    (axis,) = of_class(root, "axis")
    for bound in (low, high):  # a given end lies on the drawn axis (halves: no overflow)
        if bound is not None:
            x = x0 + (bound / 2 - v0 / 2) / (v1 / 2 - v0 / 2) * (x1 - x0)
            assert float(axis.get("x1")) - EPS <= x <= float(axis.get("x2")) + EPS


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.text(max_size=60),
            st.none() | st.floats(0, 1e12, allow_nan=False),
        ),
        min_size=1,
        max_size=14,
    ),
    unit=st.sampled_from(["", " %", " candidats"]),
)
def test_any_non_negative_input_gives_a_well_formed_bar_chart(data, unit):
    root = ET.fromstring(str(bars_svg(data, title="t", unit=unit)))
    all_coordinates_finite(root)
    assert len(bars(root)) == sum(v is not None for _, v in data)
    assert all(float(rect.get("width")) >= 0 for rect in bars(root))
