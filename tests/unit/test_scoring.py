"""Scoring of each format on cases computed by hand from the keys of the mini bank."""

import math
from pathlib import Path

import pytest

from recruit.core import bank, scoring
from recruit.core.scoring import Choice, InvalidResponse, MostLeast, Ratings

MINI = Path(__file__).resolve().parent.parent / "data" / "questions"
FORM = bank.load_bank(MINI).get("mini", "fr")
M1, M2, M3 = (FORM.item(i) for i in ("m1", "m2", "m3"))
# m1 (most_least, plaisir) keys: a=6 b=1 c=3 d=4 -> keyed best a, keyed worst b, span 5.
# m2 (rating, ecoute) keys: a=6 b=2 c=1 d=5.
# m3 (choice, plaisir) keys: a=6 b=2 c=4.
# The mini form weighs plaisir .75 and ecoute .25.


def mean_sd(values):
    m = sum(values) / len(values)
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


@pytest.mark.parametrize(
    ("most", "least", "expected"),
    [
        ("a", "b", 1.0),  # (6 - 1 + 5) / 10: keyed best as most, keyed worst as least
        ("b", "a", 0.0),  # (1 - 6 + 5) / 10: the reverse
        ("d", "b", 0.8),  # (4 - 1 + 5) / 10: the second best as most earns partial credit
        ("a", "c", 0.8),  # (6 - 3 + 5) / 10: the second worst as least
        ("d", "c", 0.6),  # (4 - 3 + 5) / 10
        ("c", "d", 0.4),  # (3 - 4 + 5) / 10: most and least in the wrong order
    ],
)
def test_most_least_v2_is_graded_by_the_keys_of_both_picks(most, least, expected):
    assert scoring.item_score(M1, MostLeast(most, least)) == pytest.approx(expected)
    attempt = scoring.score_attempt(FORM, {"m1": MostLeast(most, least)})
    assert attempt.items["m1"] == pytest.approx(expected)


def test_choice_is_the_chosen_key_between_the_lowest_and_the_highest():
    assert scoring.item_score(M3, Choice("c")) == pytest.approx((4 - 2) / (6 - 2))
    assert scoring.item_score(M3, Choice("a")) == 1.0
    assert scoring.item_score(M3, Choice("b")) == 0.0


def test_ratings_v2_are_standardized_and_mapped_onto_the_keys_without_clipping():
    # Ratings 5 2 3 5 (mean 3.75, SD 1.5); keys 6 2 1 5 (mean 3.5, SD sqrt(17 / 3)).
    ratings = {"a": 5, "b": 2, "c": 3, "d": 5}
    keys = {"a": 6, "b": 2, "c": 1, "d": 5}
    key_sd = math.sqrt(17 / 3)
    mapped = {o: 3.5 + key_sd * (r - 3.75) / 1.5 for o, r in ratings.items()}
    assert mapped["b"] < 1  # v2 keeps the mapped value as it is
    expected = 1 - sum(abs(mapped[o] - keys[o]) for o in keys) / 4 / 5
    attempt = scoring.score_attempt(FORM, {"m2": Ratings(ratings)})
    assert attempt.items["m2"] == pytest.approx(expected)
    assert attempt.flags == ()
    assert attempt.method == "pomp-v2"


def test_ratings_v2_remove_a_persons_elevation():
    # One point above every key (capped at 6): raw distance loses, standardized hardly does.
    shifted = Ratings({"a": 6, "b": 3, "c": 2, "d": 6})
    raw = scoring.item_score(M2, shifted)
    assert raw == pytest.approx(1 - (0 + 1 + 1 + 1) / 4 / 5)
    assert scoring.score_attempt(FORM, {"m2": shifted}).items["m2"] > raw


TWO_RATINGS = bank.parse_form(
    {
        "form": "two",
        "language": "fr",
        "title": "Deux",
        "intro": "Deux items à noter.",
        "minutes": 2,
        "page_size": 2,
        "instructions": {"rating": "Notez.", "most_least": "Choisissez."},
        "scales": [
            {"id": "ecoute", "label": "Écoute", "description": "Écoute.", "weight": 0.5},
            {"id": "plaisir", "label": "Plaisir", "description": "Plaisir.", "weight": 0.5},
        ],
        "items": [
            {
                "id": f"r{n}",
                "format": "rating",
                "scale": "ecoute",
                "scenario": "Une situation de service à évaluer.",
                "options": [
                    {"id": o, "text": o, "key": k, "rationale": "r"}
                    for o, k in zip("abc", keys, strict=True)
                ],
            }
            for n, keys in ((1, (6, 3, 1)), (2, (5, 4, 2)))
        ]
        + [
            {
                "id": "m1",
                "format": "most_least",
                "scale": "plaisir",
                "scenario": "Une situation de service à trier.",
                "options": [
                    {"id": o, "text": o, "key": k, "rationale": "r"}
                    for o, k in zip("abc", (5, 3, 1), strict=True)
                ],
            }
        ],
    },
    "two",
)


def test_ratings_v2_are_standardized_over_all_rating_items_together():
    # Ratings 4 3 2 | 6 5 4: mean 4, SD sqrt(10 / 5) = sqrt 2. Keys 6 3 1 | 5 4 2: mean 3.5,
    # SD sqrt((6.25 + .25 + 6.25 + 2.25 + .25 + 2.25) / 5) = sqrt 3.5.
    responses = {
        "r1": Ratings({"a": 4, "b": 3, "c": 2}),
        "r2": Ratings({"a": 6, "b": 5, "c": 4}),
    }

    def mapped(r):
        return 3.5 + math.sqrt(3.5) * (r - 4) / math.sqrt(2)

    r1 = 1 - (abs(mapped(4) - 6) + abs(mapped(3) - 3) + abs(mapped(2) - 1)) / 3 / 5
    r2 = 1 - (abs(mapped(6) - 5) + abs(mapped(5) - 4) + abs(mapped(4) - 2)) / 3 / 5
    attempt = scoring.score_attempt(TWO_RATINGS, responses)
    assert attempt.items["r1"] == pytest.approx(r1)
    assert attempt.items["r2"] == pytest.approx(r2)
    assert attempt.scales["ecoute"].value == pytest.approx(100 * (r1 + r2) / 2)


@pytest.mark.parametrize(
    "flat",
    [
        {"r1": {"a": 3, "b": 3, "c": 3}, "r2": {"a": 3, "b": 3, "c": 3}},  # no spread at all
        {"r1": {"a": 6, "b": 6, "c": 6}, "r2": {"a": 6, "b": 6, "c": 6}},
        {"r1": {"a": 6, "b": 1, "c": 1}, "r2": {"a": 6, "b": 6, "c": 1}},  # two values only
    ],
)
def test_a_flat_rater_gets_no_rating_scores_and_a_flag(flat):
    responses = {k: Ratings(v) for k, v in flat.items()} | {"m1": MostLeast("a", "c")}
    attempt = scoring.score_attempt(TWO_RATINGS, responses)
    assert "r1" not in attempt.items and "r2" not in attempt.items  # missing, not 0
    assert attempt.flags == (scoring.UNIFORM_RATINGS,)
    assert "ecoute" not in attempt.scales
    # The composite comes from the other items only: plaisir (5 - 1 + 4) / 8 = 1.
    assert attempt.composite == pytest.approx(100.0)


def test_three_distinct_ratings_are_enough_to_be_scored():
    responses = {
        "r1": Ratings({"a": 6, "b": 4, "c": 1}),
        "r2": Ratings({"a": 6, "b": 6, "c": 4}),
    }
    attempt = scoring.score_attempt(TWO_RATINGS, responses)
    assert attempt.flags == () and set(attempt.items) == {"r1", "r2"}


def test_attempt_scales_each_from_its_own_items_and_the_weighted_composite():
    ratings = Ratings({"a": 5, "b": 2, "c": 3, "d": 5})
    attempt = scoring.score_attempt(
        FORM, {"m1": MostLeast("a", "c"), "m2": ratings, "m3": Choice("c")}
    )
    m2 = scoring.score_attempt(FORM, {"m2": ratings}).items["m2"]
    assert attempt.scales["plaisir"].value == pytest.approx(100 * (0.8 + 0.5) / 2)
    assert attempt.scales["plaisir"].n_items == 2
    assert attempt.scales["ecoute"].value == pytest.approx(100 * m2)
    assert attempt.scales["ecoute"].n_items == 1
    assert attempt.composite == pytest.approx(0.75 * 65 + 0.25 * 100 * m2)


def test_composite_reweights_over_the_scales_that_have_a_score():
    attempt = scoring.score_attempt(FORM, {"m1": MostLeast("a", "b")})
    assert set(attempt.scales) == {"plaisir"}
    assert attempt.composite == pytest.approx(100.0)


def test_no_answer_no_composite():
    attempt = scoring.score_attempt(FORM, {})
    assert attempt.scales == {} and attempt.composite is None


@pytest.mark.parametrize(
    ("most", "least", "expected"),
    [("a", "b", 1.0), ("a", "c", 0.75), ("d", "c", 0.5), ("b", "c", 0.25), ("b", "a", 0.0)],
)
def test_v1_most_least_still_computes_for_stored_results(most, least, expected):
    attempt = scoring.score_attempt(FORM, {"m1": MostLeast(most, least)}, method="pomp-v1")
    assert attempt.items["m1"] == pytest.approx(expected)
    assert attempt.method == "pomp-v1"


def test_v1_ratings_raw_and_standardized_with_clipping():
    ratings = {"a": 5, "b": 2, "c": 3, "d": 5}
    keys = {"a": 6, "b": 2, "c": 1, "d": 5}
    raw = scoring.score_attempt(FORM, {"m2": Ratings(ratings)}, method="pomp-v1")
    assert raw.items["m2"] == pytest.approx(1 - (1 + 0 + 2 + 0) / 4 / 5)
    rm, rs = mean_sd(list(ratings.values()))
    km, ks = mean_sd(list(keys.values()))
    mapped = {o: min(6, max(1, km + ks * (r - rm) / rs)) for o, r in ratings.items()}
    expected = 1 - sum(abs(mapped[o] - keys[o]) for o in keys) / 4 / 5
    std = scoring.score_attempt(FORM, {"m2": Ratings(ratings)}, method="pomp-v1+rating-std")
    assert std.items["m2"] == pytest.approx(expected)
    # v1 scored flat raters and never flagged them.
    flat = scoring.score_attempt(FORM, {"m2": Ratings(dict.fromkeys("abcd", 3))}, method="pomp-v1")
    assert flat.items["m2"] == pytest.approx(1 - (3 + 1 + 2 + 2) / 4 / 5) and flat.flags == ()


def test_an_unknown_method_is_refused():
    with pytest.raises(ValueError, match="pomp-v9"):
        scoring.score_attempt(FORM, {}, method="pomp-v9")


@pytest.mark.parametrize(
    ("item", "payload"),
    [
        (M1, {"best": "z", "worst": "a"}),
        (M1, {"best": "a", "worst": "a"}),
        (M1, {"best": "a"}),
        (M2, {"ratings": {"a": 7, "b": 2, "c": 3, "d": 5}}),
        (M2, {"ratings": {"a": 0, "b": 2, "c": 3, "d": 5}}),
        (M2, {"ratings": {"a": 5, "b": 2, "c": 3}}),
        (M2, {"ratings": {"a": True, "b": 2, "c": 3, "d": 5}}),
        (M2, {"ratings": {"a": "5", "b": 2, "c": 3, "d": 5}}),
        (M3, {"choice": "e"}),
        (M3, []),
    ],
)
def test_answers_that_do_not_fit_the_item_are_refused(item, payload):
    with pytest.raises(InvalidResponse):
        scoring.parse_response(item, payload)


def test_stored_payload_round_trips():
    for item, response in [
        (M1, MostLeast("a", "b")),
        (M2, Ratings({"a": 1, "b": 2, "c": 3, "d": 4})),
        (M3, Choice("b")),
    ]:
        assert scoring.parse_response(item, scoring.response_payload(response)) == response
