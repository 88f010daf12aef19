"""Scoring of each format on cases computed by hand from the keys of the mini bank."""

import math
from pathlib import Path

import pytest

from recruit.core import bank, scoring
from recruit.core.scoring import Choice, InvalidResponse, MostLeast, Ratings

MINI = Path(__file__).resolve().parent.parent / "data" / "questions"
FORM = bank.load_bank(MINI).get("mini", "fr")
M1, M2, M3 = (FORM.item(i) for i in ("m1", "m2", "m3"))
# m1 keys (plaisir): a=6 b=1 c=3 d=4 -> keyed best a, keyed worst b.
# m2 keys (ecoute): a=6 b=2 c=1 d=5.
# m3 keys: plaisir a=6 b=2 c=4; ecoute a=5 b=2 c=6.


@pytest.mark.parametrize(
    ("best", "worst", "expected"),
    [
        ("a", "b", 1.0),  # +1 +1
        ("a", "c", 0.75),  # +1
        ("d", "c", 0.5),  # 0
        ("b", "c", 0.25),  # -1 (best pick is the keyed worst)
        ("b", "a", 0.0),  # -1 -1
        ("d", "a", 0.25),  # -1 (worst pick is the keyed best)
    ],
)
def test_most_least(best, worst, expected):
    assert scoring.item_score(M1, MostLeast(best, worst), "plaisir") == expected


def test_rating_is_closeness_to_the_key():
    # distances 1, 0, 2, 0 -> mean 0.75 on a 5-point span
    ratings = Ratings({"a": 5, "b": 2, "c": 3, "d": 5})
    assert scoring.item_score(M2, ratings, "ecoute") == pytest.approx(1 - 0.75 / 5)
    perfect = Ratings({"a": 6, "b": 2, "c": 1, "d": 5})
    assert scoring.item_score(M2, perfect, "ecoute") == 1.0


def test_choice_is_the_chosen_key_between_the_lowest_and_the_highest():
    assert scoring.item_score(M3, Choice("c"), "plaisir") == pytest.approx((4 - 2) / (6 - 2))
    assert scoring.item_score(M3, Choice("c"), "ecoute") == 1.0
    assert scoring.item_score(M3, Choice("b"), "ecoute") == 0.0


def test_attempt_scales_and_weighted_composite():
    attempt = scoring.score_attempt(
        FORM,
        {
            "m1": MostLeast("a", "c"),  # plaisir 0.75
            "m2": Ratings({"a": 5, "b": 2, "c": 3, "d": 5}),  # ecoute 0.85
            "m3": Choice("c"),  # plaisir 0.5, ecoute 1.0
        },
    )
    assert attempt.scales["plaisir"].value == pytest.approx(100 * (0.75 + 0.5) / 2)
    assert attempt.scales["plaisir"].n_items == 2
    assert attempt.scales["ecoute"].value == pytest.approx(100 * (0.85 + 1.0) / 2)
    assert attempt.composite == pytest.approx(0.75 * 62.5 + 0.25 * 92.5)
    assert attempt.method == scoring.METHOD


def test_composite_reweights_over_the_scales_that_have_a_score():
    attempt = scoring.score_attempt(FORM, {"m1": MostLeast("a", "b")})
    assert set(attempt.scales) == {"plaisir"}
    assert attempt.composite == pytest.approx(100.0)


def test_standardized_ratings_remove_elevation_and_scatter():
    ratings = {"a": 5, "b": 2, "c": 3, "d": 5}
    keys = {"a": 6, "b": 2, "c": 1, "d": 5}

    def mean_sd(values):
        m = sum(values) / len(values)
        return m, math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))

    rm, rs = mean_sd(list(ratings.values()))
    km, ks = mean_sd(list(keys.values()))
    mapped = {o: min(6, max(1, km + ks * (r - rm) / rs)) for o, r in ratings.items()}
    expected = 1 - sum(abs(mapped[o] - keys[o]) for o in keys) / 4 / 5
    attempt = scoring.score_attempt(FORM, {"m2": Ratings(ratings)}, standardize_ratings=True)
    assert attempt.items["m2"]["ecoute"] == pytest.approx(expected)
    assert attempt.method == scoring.METHOD_STANDARDIZED
    # A person who rates everything one point too high loses nothing once standardized.
    shifted = {o: min(6, k + 1) if k < 6 else 6 for o, k in keys.items()}
    raw_score = scoring.score_attempt(FORM, {"m2": Ratings(shifted)}).items["m2"]["ecoute"]
    std = scoring.score_attempt(FORM, {"m2": Ratings(shifted)}, standardize_ratings=True)
    assert std.items["m2"]["ecoute"] > raw_score


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
