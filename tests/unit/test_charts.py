"""The candidate profile chart, read back as a user and a screen reader would see it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from recruit.charts.profile import profile_svg

NS = "{http://www.w3.org/2000/svg}"
EPS = 0.011  # coordinates are written with two decimals
SCALES = [
    ("ecoute", "Écoute et empathie"),
    ("audela", "Au-delà du contrat et de la procédure"),
    ("fiab", "Fiabilité"),
]


def render(candidates, scales=SCALES, **kwargs) -> ET.Element:
    """Render a chart and parse it back."""
    svg = profile_svg(scales, candidates, title=kwargs.pop("title", "Profils"), **kwargs)
    assert isinstance(svg, Markup)
    return ET.fromstring(str(svg))


def bars(root: ET.Element) -> list[ET.Element]:
    """Return the bar rectangles in drawing order."""
    return [el for el in root.iter(f"{NS}rect") if el.get("class") == "bar"]


def x_of_50(root: ET.Element) -> float:
    """Return the x of the vertical reference line at T=50."""
    lines = [el for el in root.iter(f"{NS}line") if el.get("class") == "reference"]
    assert len(lines) == 1
    assert lines[0].get("x1") == lines[0].get("x2")
    return float(lines[0].get("x1"))


def close(value: float) -> object:
    """Compare lengths to the precision of the written coordinates."""
    return pytest.approx(value, abs=2 * EPS)


def extent(bar: ET.Element, x50: float) -> float:
    """Signed length of a bar from the 50 line: positive to the right, negative to the left."""
    x, width = float(bar.get("x")), float(bar.get("width"))
    if abs(x - x50) < EPS:
        return width
    assert abs(x + width - x50) < EPS, "every bar starts or ends at the 50 line"
    return -width


def one_candidate(values: dict[str, float | None]) -> ET.Element:
    """Render one candidate with one scale per value, the scale id being the key."""
    scales = [(key, key) for key in values]
    return render([("Alex", values)], scales=scales)


def texts(element: ET.Element) -> str:
    """All the text inside an element, as displayed."""
    return "".join(element.itertext())


def test_bars_count_the_scores_that_are_present():
    root = render(
        [
            ("Alex", {"ecoute": 62, "audela": None, "fiab": 55}),
            ("Sam", {"ecoute": 48, "audela": 41}),
        ]
    )
    assert len(bars(root)) == 4
    missing = [el for el in root.iter(f"{NS}text") if el.get("class") == "missing"]
    assert [el.text for el in missing] == ["–", "–"]


def test_bar_lengths_are_proportional_to_the_distance_from_50():
    root = one_candidate({"a": 60, "b": 40, "c": 70, "d": 50, "e": 55.5})
    x50 = x_of_50(root)
    a, b, c, d, e = (extent(bar, x50) for bar in bars(root))
    assert a > 0 and b < 0
    assert a == close(-b)
    assert c == close(2 * a)
    assert d == close(0)
    assert e == close(0.55 * a)


def test_a_score_of_exactly_50_still_shows_a_mark_on_the_line():
    root = one_candidate({"a": 50})
    marks = [el for el in root.iter(f"{NS}circle") if el.get("class") == "at-mean"]
    assert len(marks) == 1
    assert float(marks[0].get("cx")) == pytest.approx(x_of_50(root))


def test_scores_outside_the_range_are_clipped_and_flagged():
    root = one_candidate({"a": 60, "b": 20, "c": 80, "d": 5, "e": 97.5})
    x50 = x_of_50(root)
    ten, low, high, below, above = (extent(bar, x50) for bar in bars(root))
    assert low == close(-3 * ten)
    assert high == close(3 * ten)
    assert below == close(low)
    assert above == close(high)
    flags = [el for el in root.iter(f"{NS}polygon") if el.get("class") == "clipped"]
    assert len(flags) == 2


def test_a_custom_range_moves_the_clip_points():
    root = render([("Alex", {"a": 0, "b": 60})], scales=[("a", "A"), ("b", "B")], low=10, high=90)
    x50 = x_of_50(root)
    clipped, ten = (extent(bar, x50) for bar in bars(root))
    assert clipped == close(-4 * ten)
    ticks = [el.text for el in root.iter(f"{NS}text") if el.get("class") == "tick"]
    assert ticks == ["20", "30", "40", "50", "60", "70", "80"]


def test_none_and_nan_draw_no_bar():
    root = one_candidate({"a": None, "b": float("nan"), "c": 45})
    assert len(bars(root)) == 1
    assert texts(root.find(f"{NS}desc")) == "a : Alex sans score. b : Alex sans score. c : Alex 45."


def test_reference_line_grid_and_tick_labels():
    root = render([("Alex", {"ecoute": 62})])
    grid = sorted(
        int(el.get("data-t")) for el in root.iter(f"{NS}line") if el.get("class") == "grid"
    )
    assert grid == [30, 40, 60, 70]
    ticks = [el for el in root.iter(f"{NS}text") if el.get("class") == "tick"]
    assert [el.text for el in ticks] == ["30", "40", "50", "60", "70"]
    assert float(ticks[2].get("x")) == pytest.approx(x_of_50(root))
    xs = [float(el.get("x")) for el in ticks]
    assert xs == sorted(xs)


def test_names_are_in_the_legend_and_the_description_with_their_values():
    root = render(
        [
            ("Alex", {"ecoute": 62, "audela": 41.6, "fiab": 55}),
            ("Sam", {"ecoute": 48, "audela": 58, "fiab": None}),
        ],
        title="Comparaison des profils",
    )
    legend = [texts(g) for g in root.iter(f"{NS}g") if g.get("class") == "legend-item"]
    assert legend == ["Alex", "Sam"]
    assert [texts(g) for g in root.iter(f"{NS}g") if g.get("class") == "legend-missing"] == [
        "–sans score"
    ]
    desc = texts(root.find(f"{NS}desc"))
    assert "Écoute et empathie : Alex 62, Sam 48." in desc
    assert "Au-delà du contrat et de la procédure : Alex 42, Sam 58." in desc
    assert "Fiabilité : Alex 55, Sam sans score." in desc


def test_no_missing_entry_in_the_legend_when_every_score_is_there():
    root = render([("Alex", {"ecoute": 62, "audela": 41, "fiab": 55})])
    assert not [g for g in root.iter(f"{NS}g") if g.get("class") == "legend-missing"]


def test_missing_wording_can_be_translated():
    root = render([("Alex", {"ecoute": 62})], scales=SCALES[:1] + [("x", "X")], missing="n/a")
    assert texts(root.find(f"{NS}desc")) == "Écoute et empathie : Alex 62. X : Alex n/a."


def test_title_and_description_label_the_image():
    root = render([("Alex", {"ecoute": 62})], title="Profils comparés")
    assert root.get("role") == "img"
    title, desc = root[0], root[1]
    assert title.tag == f"{NS}title" and desc.tag == f"{NS}desc"
    assert title.text == "Profils comparés"
    assert root.get("aria-labelledby").split() == [title.get("id"), desc.get("id")]


def test_long_labels_wrap_and_very_long_ones_are_shortened():
    long = "Capacité à maintenir une relation de confiance avec les usagers les plus exigeants"
    root = render(
        [("Alex", {"a": 60, "b": 55})],
        scales=[("a", "Au-delà du contrat et de la procédure"), ("b", long)],
    )
    first, second = (el for el in root.iter(f"{NS}text") if el.get("class") == "scale-label")
    lines = [t.text for t in first.iter(f"{NS}tspan")]
    assert len(lines) == 2
    assert " ".join(lines) == "Au-delà du contrat et de la procédure"
    lines = [t.text for t in second.iter(f"{NS}tspan")]
    assert len(lines) == 3
    assert lines[-1].endswith("…")
    assert second.find(f"{NS}title").text == long
    assert long in texts(root.find(f"{NS}desc"))


def test_responsive_and_readable_at_phone_width():
    root = render([("Alex", {"ecoute": 62}), ("Sam", {"ecoute": 40})])
    assert root.get("width") == "100%"
    assert root.get("height") is None
    x, y, width, height = (float(v) for v in root.get("viewBox").split())
    assert (x, y) == (0, 0) and 600 <= width <= 700 and height > 0
    # Shown 340 px wide, a 12 px font needs 12 * width / 340 viewBox units.
    assert float(root.get("font-size")) >= 12 * width / 340 * 0.9
    for el in root.iter(f"{NS}text"):
        assert float(el.get("font-size", root.get("font-size"))) >= float(root.get("font-size"))


def test_malicious_names_and_labels_are_text_not_markup():
    evil = "<script>alert(1)</script>"
    svg = profile_svg(
        [("a", 'Label "quoted" & <b>bold</b>')],
        [(evil, {"a": 61}), ('x" onload="alert(2)', {"a": 39})],
        title="</title><script>alert(3)</script>",
        missing="<i>none</i>",
    )
    assert "<script" not in svg and "<b>" not in svg and "<i>" not in svg
    root = ET.fromstring(str(svg))
    assert not list(root.iter(f"{NS}script"))
    legend = [texts(g) for g in root.iter(f"{NS}g") if g.get("class") == "legend-item"]
    assert legend == [evil, 'x" onload="alert(2)']
    assert root.find(f"{NS}title").text == "</title><script>alert(3)</script>"
    assert f'Label "quoted" & <b>bold</b> : {evil} 61' in texts(root.find(f"{NS}desc"))
    for el in root.iter():
        assert not [name for name in el.attrib if name.lower().startswith("on")]


def test_no_inline_style_and_no_script_anywhere():
    root = render(
        [(f"C{i}", {"ecoute": 30 + 10 * i, "audela": None, "fiab": 90}) for i in range(4)]
    )
    for el in root.iter():
        assert el.tag not in {f"{NS}style", f"{NS}script", f"{NS}foreignObject"}
        assert "style" not in el.attrib
        for value in el.attrib.values():
            assert "javascript:" not in value
            assert "url(" not in value or value.startswith("url(#")


def test_every_reference_points_inside_the_same_chart():
    root = render([(f"C{i}", {"ecoute": 55}) for i in range(4)], chart_id="cmp-1")
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    refs = {v[5:-1] for el in root.iter() for v in el.attrib.values() if v.startswith("url(#")}
    refs |= set(root.get("aria-labelledby").split())
    assert refs and refs <= ids
    assert all(i.startswith("cmp-1-") for i in ids)


def test_two_charts_on_one_page_have_disjoint_ids():
    people = [(f"C{i}", {"ecoute": 55, "fiab": None}) for i in range(4)]
    first = render(people, chart_id="profile-a")
    second = render(people, chart_id="profile-b")
    first_ids = [el.get("id") for el in first.iter() if el.get("id")]
    second_ids = [el.get("id") for el in second.iter() if el.get("id")]
    assert len(first_ids) == len(set(first_ids)) >= 4
    assert set(first_ids).isdisjoint(second_ids)


@pytest.mark.parametrize("count", [2, 3, 4])
def test_each_candidate_has_its_own_colour_and_pattern(count: int):
    people = [(f"C{i}", {"ecoute": 35 + 10 * i}) for i in range(count)]
    root = render(people, scales=SCALES[:1])
    drawn = bars(root)
    assert [b.get("data-candidate") for b in drawn] == [str(i) for i in range(count)]
    fills = [b.get("fill") for b in drawn]
    strokes = [b.get("stroke") for b in drawn]
    assert len(set(fills)) == count
    assert len(set(strokes)) == count
    patterns = {p.get("id"): p for p in root.iter(f"{NS}pattern")}
    shapes = set()
    for fill in fills:
        if fill.startswith("url(#"):
            pattern = patterns[fill[5:-1]]
            shapes.add(tuple(sorted(child.tag for child in pattern)))
        else:
            shapes.add(fill)
    assert len(shapes) == count, "patterns differ in shape, not only in colour"
    swatches = [
        g.find(f"{NS}rect").get("fill")
        for g in root.iter(f"{NS}g")
        if g.get("class") == "legend-item"
    ]
    assert swatches == fills


@pytest.mark.parametrize(
    ("candidates", "kwargs"),
    [
        ([], {}),
        ([(f"C{i}", {}) for i in range(5)], {}),
        ([("A", {})], {"low": 50}),
        ([("A", {})], {"high": 40}),
        ([("A", {})], {"chart_id": 'x" onload="y'}),
        ([("A", {})], {"chart_id": "1abc"}),
    ],
)
def test_invalid_arguments_are_refused(candidates, kwargs):
    with pytest.raises(ValueError):
        profile_svg(SCALES, candidates, title="t", **kwargs)


def test_no_scales_is_refused():
    with pytest.raises(ValueError):
        profile_svg([], [("A", {})], title="t")


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(st.text(max_size=60), min_size=1, max_size=4),
    labels=st.lists(st.text(max_size=80), min_size=1, max_size=6),
    values=st.lists(
        st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
        min_size=24,
        max_size=24,
    ),
)
def test_any_text_and_any_number_still_give_a_well_formed_chart(names, labels, values):
    scales = [(f"s{i}", label) for i, label in enumerate(labels)]
    it = iter(values)
    people = [(name, {sid: next(it) for sid, _ in scales}) for name in names]
    root = ET.fromstring(str(profile_svg(scales, people, title="t")))
    present = [v for _, scores in people for v in scores.values() if v is not None and v == v]
    assert len(bars(root)) == len(present)
    x50 = x_of_50(root)
    for bar in bars(root):
        assert abs(extent(bar, x50)) <= 356 / 2 + EPS
